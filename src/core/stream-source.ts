/**
 * What a long-running stream (family `queue`) declares for the stream consumer (src/engine/stream-consumer.ts;
 * docs/architecture.md, "Stream consumers"): a partitioned stream read from positions the consumer keeps
 * (Event Hubs, Kafka), or a queue whose messages are acknowledged one by one (Pub/Sub, SQS).
 */

/** One record of a stream; `id` should be stable across redeliveries (partition + sequence number, message id). */
export interface StreamRecord {
  raw: unknown;
  id?: string;
  time?: string;
  /**
   * The stream this record belongs to, when one vendor stream carries several (a hub that receives many
   * tables): stamped on its envelope instead of the consumer's stream.
   */
  stream?: string;
}

export interface PartitionedSource<P = unknown> {
  kind: 'partitions';
  /** The stream's partitions (Event Hubs: the hub's partition ids). */
  partitions(o: { signal: AbortSignal }): Promise<string[]>;
  /**
   * Up to `max` records of `partition` after `position` (undefined: where the source starts a partition it
   * never read), and the position after them. Returns promptly with none when there is nothing new.
   * `gap`: records between `position` and the first returned are gone (past the vendor's retention).
   */
  read(
    partition: string,
    position: P | undefined,
    o: { max: number; signal: AbortSignal },
  ): Promise<{ records: StreamRecord[]; position: P | undefined; gap?: string }>;
  /**
   * Called when this consumer no longer owns `partition` (handed over, or its lease lost): release what its
   * reads keep open, so the new owner's connection is the only one.
   */
  release?(partition: string): Promise<void>;
  /** Called once when the consumer ends: release what reads keep open (long-lived connections). */
  close?(): Promise<void>;
}

export interface AckedMessage extends StreamRecord {
  ackId: string;
}

export interface AckSource {
  kind: 'acks';
  /** Up to `max` messages; none when there are none now. */
  pull(o: { max: number; signal: AbortSignal }): Promise<AckedMessage[]>;
  ack(ackIds: string[], o: { signal: AbortSignal }): Promise<void>;
  /** Called once when the consumer ends. */
  close?(): Promise<void>;
  /**
   * Keeps messages being delivered from going back to the vendor (Pub/Sub `modifyAckDeadline`, SQS
   * ChangeMessageVisibility): called as soon as a batch is pulled, then every half `extendSeconds`
   * until the batch is acknowledged or abandoned, each time asking for `extendSeconds` more.
   */
  extend?(ackIds: string[], seconds: number, o: { signal: AbortSignal }): Promise<void>;
  /** How much each extension asks for (the vendor's lease, e.g. 60 s). */
  extendSeconds?: number;
}

export type ConsumerSource = PartitionedSource | AckSource;
