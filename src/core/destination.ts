import type { Envelope } from './envelope.ts';

/**
 * A destination acknowledges a batch by resolving `send`. Resolving means the events are durable
 * there (fsynced file, 2xx from the HTTP endpoint); the runtime commits checkpoints only after that.
 * Rejecting with a transient TributaryError makes the runtime wait and retry the same batch.
 */
export interface Destination {
  readonly name: string;
  readonly kind: string;
  send(events: Envelope[], signal: AbortSignal): Promise<void>;
  /** A probe that proves the destination is reachable and writable, where the kind allows it. */
  test?(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
