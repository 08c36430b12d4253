import type { HttpClient, ReadContext } from '../../src/core/source.ts';
import { silentLogger } from '../../src/engine/log.ts';

/** A ReadContext for driving one stream directly in a test; override what the test is about. */
export function readContext(http: HttpClient, over: Partial<ReadContext> = {}): ReadContext {
  return {
    collector: 'c',
    stream: 's',
    settings: {},
    account: {},
    checkpoint: undefined,
    http,
    window: { lookbackMs: 3_600_000 },
    signal: new AbortController().signal,
    log: silentLogger,
    now: Date.now,
    warn: () => {},
    ...over,
  };
}
