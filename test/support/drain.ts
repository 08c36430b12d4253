import { validateSettings } from '../../src/config/config-file.ts';
import type { TributaryError } from '../../src/core/errors.ts';
import type { AccountKind, Batch, RawEvent, SourceDef, WindowOptions } from '../../src/core/source.ts';
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

/** A source's settings as a collector would hold them (defaults applied), or the issues thrown. */
export function settingsFor(source: string, raw: Record<string, unknown> = {}): any {
  const r = validateSettings(source, raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
}

/**
 * Reads one stream of `source` to its end (or until `stopAfter` batches: a crash after that batch) with
 * the account's real authorization and the source's error wording, as a run would, without a runner.
 */
export async function drainSource<C>(o: {
  source: SourceDef;
  stream: string;
  kind: AccountKind;
  account: unknown;
  settings?: Record<string, unknown>;
  checkpoint?: C;
  now: () => number;
  lookbackMs: number;
  stopAfter?: number;
  warnings?: TributaryError[];
  maxRetryAfterMs?: number;
}) {
  const http: Http = new Http({
    vendor: o.source.title,
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => o.kind.authorize(o.account, h, { refresh, http, url }),
    explain: o.source.explain,
    rateLimited: o.source.rateLimited,
    ...(o.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: o.maxRetryAfterMs }),
  });
  const ctx = readContext(http, {
    stream: o.stream,
    settings: settingsFor(o.source.id, o.settings),
    account: o.account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: o.lookbackMs },
    warn: (w) => o.warnings?.push(w),
  });
  const batches: Batch<C>[] = [];
  for await (const b of o.source.streams[o.stream].read(ctx) as AsyncIterable<Batch<C>>) {
    batches.push(b);
    if (o.stopAfter !== undefined && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    events: batches.flatMap((b) => b.events),
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}
