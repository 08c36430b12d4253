/** Moved to the engine, where sources' SDK adapters use it too; kept here for the destinations' imports. */
export { egressAgents, egressLookup } from '../engine/egress-agents.ts';
