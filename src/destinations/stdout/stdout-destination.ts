import type { Writable } from 'node:stream';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, encodeLine } from '../../core/envelope.ts';

/** NDJSON on standard output (or any writable stream); acknowledges once the stream took the bytes. */
export class StdoutDestination implements Destination {
  readonly kind = 'stdout';
  readonly name: string;
  private readonly out: Writable;

  constructor(name: string, out: Writable = process.stdout) {
    this.name = name;
    this.out = out;
  }

  send(events: Envelope[], _signal?: AbortSignal): Promise<void> {
    let text = '';
    for (const e of events) text += `${encodeLine(e)}\n`;
    return new Promise((ok, fail) => {
      this.out.write(text, (err) => (err ? fail(err) : ok()));
    });
  }

  async close(): Promise<void> {}
}
