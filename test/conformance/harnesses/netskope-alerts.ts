import { netskopeHarness } from './netskope-events.ts';

/** Netskope alerts in the conformance suite: the same iterator protocol, on two alert types. */
export const netskopeAlertsHarness = netskopeHarness('netskope-alerts', ['dlp', 'malware']);
