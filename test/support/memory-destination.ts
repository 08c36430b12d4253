import type { Destination } from '../../src/core/destination.ts';
import { type Envelope, RawJson } from '../../src/core/envelope.ts';

/**
 * A destination that keeps what it acknowledged in memory. `failOn(n, fn)` runs `fn` on the n-th send
 * instead of acknowledging it (a crash, an outage): that batch is not counted as delivered.
 */
export class MemoryDestination implements Destination {
  readonly name: string;
  readonly kind = 'memory';
  readonly batches: Envelope[][] = [];
  private sends = 0;
  private hooks = new Map<number, () => void>();

  constructor(name = 'memory') {
    this.name = name;
  }

  failOn(sendNumber: number, fn: () => void): void {
    this.hooks.set(sendNumber, fn);
  }

  async send(events: Envelope[]): Promise<void> {
    this.sends++;
    const hook = this.hooks.get(this.sends);
    if (hook) {
      this.hooks.delete(this.sends);
      hook(); // throws: not acknowledged
    }
    // Kept with each record as a destination writes it: a vendor's JSON text (RawJson) parsed back.
    this.batches.push(
      events.map((e) => (e.raw instanceof RawJson ? { ...e, raw: JSON.parse(e.raw.text) } : e)),
    );
  }

  get events(): Envelope[] {
    return this.batches.flat();
  }

  ids(): string[] {
    return this.events.map((e) => e.id);
  }

  /** The ids of records: every envelope but context streams' end-of-snapshot markers (`op: end`). */
  recordIds(): string[] {
    return this.events.filter((e) => e.op !== 'end').map((e) => e.id);
  }

  /** The end-of-snapshot markers delivered (docs/architecture.md, "Context records"). */
  markers(): Envelope[] {
    return this.events.filter((e) => e.op === 'end');
  }

  async close(): Promise<void> {}
}

/**
 * A process killed while it delivers batch `k`: the destination `dest` wrote that batch (`written`) or not,
 * the acknowledgement never arrives, and `crash` is aborted (the run's signal). Later sends go to `dest`.
 * `inFlight()` names the events of the batch the crash interrupted.
 */
export function crashingAt(
  k: number,
  written: boolean,
  dest: MemoryDestination,
  crash: AbortController,
): Destination & { inFlight(): string[] } {
  let inFlight: string[] = [];
  return {
    name: 'crashing',
    kind: 'memory',
    send: async (events) => {
      if (!crash.signal.aborted && dest.batches.length + 1 === k) {
        if (written) await dest.send(events); // the destination wrote it, the ack never arrived
        inFlight = events.map((e) => e.id);
        crash.abort();
        throw new Error('process killed');
      }
      return dest.send(events);
    },
    close: async () => {},
    inFlight: () => inFlight,
  };
}
