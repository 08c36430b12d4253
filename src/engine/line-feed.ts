/**
 * A long-lived HTTP answer read as lines (docs/architecture.md, "Stream consumers"): a vendor feed that stays
 * open and writes one JSON record a line as events happen (CrowdStrike's Event Streams). It is read on demand,
 * never ahead: `take` pulls from the body only until it has `max` lines or `waitMs` passed without a complete
 * line, so what the consumer has not asked for stays in the socket (TCP backpressure), not in memory. A read
 * still pending when `take` returns is kept for the next call, so nothing read is ever dropped.
 */
type Chunk = { done: true; value?: undefined } | { done: false; value: Uint8Array };

export class LineFeed {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private readonly maxLineChars: number;
  private buffer = '';
  private pending: Promise<Chunk> | undefined;
  private done = false;
  /** The body ended cleanly (not cut by an error or `close`): a last line without its end is whole. */
  private clean = false;
  /** Inside a line longer than the limit: its text is dropped up to the next line end. */
  private skipping = false;
  /** Why the feed ended, when it ended with an error (the connection dropped, the timeout fired). */
  error: unknown;
  /** Lines dropped for being longer than the limit. */
  skipped = 0;

  constructor(body: ReadableStream<Uint8Array>, o: { maxLineChars?: number } = {}) {
    this.reader = body.getReader();
    this.maxLineChars = o.maxLineChars ?? 8 * 1024 * 1024;
  }

  /** Whether the feed has ended (its lines taken or not). */
  get ended(): boolean {
    return this.done;
  }

  /**
   * Up to `max` complete lines (without their line ends; empty keep-alive lines are skipped), waiting at most
   * `waitMs` for the first. `ended`: the feed is over and every line it had was returned.
   */
  async take(
    max: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<{ lines: string[]; ended: boolean }> {
    const lines: string[] = [];
    const deadline = Date.now() + waitMs;
    for (;;) {
      this.cut(lines, max);
      if (lines.length >= max) return { lines, ended: false };
      if (this.done) {
        // A clean end's last line may lack its line end; after a drop, the text left is a cut-off line.
        if (this.clean && !this.skipping && this.buffer.trim() && lines.length < max)
          lines.push(this.buffer.replace(/\r$/, ''));
        this.buffer = '';
        return { lines, ended: true };
      }
      if (lines.length > 0 || signal?.aborted) return { lines, ended: false };
      const left = deadline - Date.now();
      if (left <= 0) return { lines, ended: false };
      this.pending ??= this.reader.read() as Promise<Chunk>;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      let r: Chunk | 'timeout';
      try {
        r = await Promise.race([this.pending, timedOut]);
      } catch (err) {
        this.error = err;
        this.done = true;
        this.pending = undefined;
        continue;
      } finally {
        clearTimeout(timer);
      }
      if (r === 'timeout') return { lines, ended: false };
      this.pending = undefined;
      if (r.done) {
        this.done = true;
        this.clean = true;
      } else this.buffer += this.decoder.decode(r.value, { stream: true });
      this.dropLongLine();
    }
  }

  /** Ends reading: the connection is released. */
  async close(): Promise<void> {
    this.done = true;
    this.pending?.catch(() => {});
    try {
      await this.reader.cancel();
    } catch {}
  }

  /**
   * A line past the limit is dropped, not buffered: its text is discarded up to its line end (counted in
   * `skipped`), and reading goes on with the next line.
   */
  private dropLongLine(): void {
    for (;;) {
      if (this.skipping) {
        const nl = this.buffer.indexOf('\n');
        if (nl < 0) {
          this.buffer = '';
          return;
        }
        this.buffer = this.buffer.slice(nl + 1);
        this.skipping = false;
      }
      const nl = this.buffer.indexOf('\n');
      const head = nl < 0 ? this.buffer.length : nl;
      if (head <= this.maxLineChars) return;
      this.skipped++;
      if (nl < 0) {
        this.buffer = '';
        this.skipping = true;
        return;
      }
      this.buffer = this.buffer.slice(nl + 1);
    }
  }

  private cut(into: string[], max: number): void {
    while (into.length < max) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) into.push(line);
    }
  }
}
