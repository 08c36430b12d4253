import type { Destination } from '../../src/core/destination.ts';
import type { Envelope } from '../../src/core/envelope.ts';

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
    this.batches.push(events);
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
