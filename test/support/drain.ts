import type { AccountKind, RawEvent, SourceDef, WindowOptions } from '../../src/core/source.ts';
import { Http } from '../../src/engine/http.ts';
import { readContext } from './read-context.ts';

/**
 * Reads one stream of a source directly (no runner, no store), with the account's own credentials, and
 * sorts what came back: context records, end-of-snapshot markers (`op: end`), the last checkpoint.
 * `stopAfter` batches: a run stopped part-way, whose checkpoint a test resumes from.
 */
export async function drainStream(
  source: SourceDef,
  accountKind: AccountKind,
  stream: string,
  o: {
    account: unknown;
    settings: unknown;
    now: () => number;
    checkpoint?: unknown;
    stopAfter?: number;
    window?: WindowOptions;
  },
) {
  const http: Http = new Http({
    vendor: source.title,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    explain: source.explain,
    authorize: (h, refresh, url) => accountKind.authorize(o.account, h, { refresh, http, url }),
    now: o.now,
  });
  const ctx = readContext(http, {
    stream,
    settings: o.settings,
    account: o.account,
    checkpoint: o.checkpoint,
    now: o.now,
    ...(o.window ? { window: o.window } : {}),
  });
  const events: RawEvent[] = [];
  let checkpoint: unknown;
  let batches = 0;
  for await (const b of source.streams[stream].read(ctx)) {
    events.push(...b.events);
    checkpoint = b.checkpoint;
    if (o.stopAfter && ++batches >= o.stopAfter) break;
  }
  const records = events.filter((e) => e.context?.op !== 'end');
  return {
    records,
    ids: records.map((e) => e.id!),
    markers: events.filter((e) => e.context?.op === 'end'),
    checkpoint,
  };
}
