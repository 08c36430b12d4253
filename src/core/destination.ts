import type { Envelope } from './envelope.ts';

/**
 * Events a destination refused for good, each with the target's reason (an Elasticsearch mapping
 * error, a Splunk "invalid data format" event, an event larger than the target's request limit). The
 * runner records them as dead letters of the batch; retrying would never change the answer.
 */
export interface SendResult {
  rejected?: Array<{ event: Envelope; reason: string }>;
}

/**
 * A destination acknowledges a batch by resolving `send`. Resolving means the events are durable
 * there (fsynced file, 2xx from the HTTP endpoint, an indexer acknowledgement) or, for the events it
 * lists in `rejected`, refused for good; the runtime commits checkpoints (and those dead letters) only
 * after that. Rejecting with a transient TributaryError makes the runtime wait and retry the same batch.
 */
export interface Destination {
  readonly name: string;
  readonly kind: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: kinds that never refuse an event keep returning nothing
  send(events: Envelope[], signal: AbortSignal): Promise<void | SendResult>;
  /** A probe that proves the destination is reachable and writable, where the kind allows it. */
  test?(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
