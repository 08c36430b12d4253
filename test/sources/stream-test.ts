import type { AckSource, PartitionedSource } from '../../src/engine/stream-consumer.ts';
import type { EventHubSim } from '../../src/sim/event-hub.ts';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';

/**
 * TEST sources (not shipped) on the stream consumer, as an Event Hubs source and an SQS source would
 * declare them: the vendor facts are the partitions, the position (the sequence number last delivered),
 * the id of an event (hub, partition, sequence number: stable across redeliveries) and, for a queue, the
 * message id and the delete that acknowledges it.
 */

export const eventId = (hub: string, partition: string, seq: number) => `${hub}/${partition}/${seq}`;

export function eventHubSource(sim: EventHubSim, hub = 'hub1'): PartitionedSource<number> {
  return {
    kind: 'partitions',
    partitions: async () => sim.partitionIds(),
    read: async (partition, position, o) => {
      const { events, earliest } = sim.read(partition, position, o.max);
      const gap =
        position !== undefined && earliest !== undefined && earliest > position + 1
          ? `sequence numbers ${position + 1} to ${earliest - 1} are past the hub's retention`
          : undefined;
      return {
        records: events.map((e) => ({
          raw: e.body,
          id: eventId(hub, partition, e.sequenceNumber),
          time: e.enqueuedTime,
        })),
        position: events.at(-1)?.sequenceNumber ?? position,
        gap,
      };
    },
  };
}

/** SQS as an ack source: receive, and DeleteMessage as the ack (see src/sim/object-store.ts). */
export function sqsSource(sim: ObjectStoreSim): AckSource {
  return {
    kind: 'acks',
    pull: async (o) =>
      (await sim.queue.receive({ max: Math.min(o.max, 10) })).map((m) => ({
        raw: JSON.parse(m.body),
        id: m.id,
        ackId: m.receipt,
      })),
    ack: async (ids) => {
      for (const id of ids) await sim.queue.delete(id);
    },
  };
}
