import { hashId } from '../../core/envelope.ts';
import type { PreviewContext, PreviewPage, RawEvent, ReadContext } from '../../core/source.ts';
import { silentLogger } from '../../engine/log.ts';
import { fetchPage } from '../../engine/rest-poll.ts';
import { getPath, WindowTracker } from '../../engine/time-window.ts';
import { compile, requestUrl } from './request.ts';
import type { RestApiSettings } from './settings.ts';

/**
 * Preview: the first window a new collector would read, ONE page of it, and what the collector would
 * make of it — the envelopes' id, time and raw record, the next page the pagination found, and warnings
 * for what would go wrong. Nothing is committed and nothing reaches a destination: this is the same
 * request, extraction and pagination as a run, stopped after the first page.
 */
export async function previewRestApi(ctx: PreviewContext<RestApiSettings, unknown>): Promise<PreviewPage> {
  const s = ctx.settings;
  const c = compile(s);
  const warnings: string[] = [];
  const tracker = new WindowTracker(
    c.cursor,
    {
      checkpoint: undefined,
      window: ctx.window,
      now: ctx.now,
      warn: (e) => warnings.push(e.message),
      log: silentLogger,
    },
    s.retention,
  );
  const w = tracker.nextWindow();
  if (!w) {
    warnings.push(
      "Nothing to read yet: the first window is empty (the collector's lookback or start is not before now minus the lag).",
    );
    return { stream: 'events', records: 0, events: [], next: null, warnings };
  }
  const window = { start: w.start.toISOString(), end: w.end.toISOString() };
  const request = c.firstRequest(w);
  const readCtx = { http: ctx.http, settings: s, signal: ctx.signal } as ReadContext<
    RestApiSettings,
    unknown
  >;
  const { body, response } = await fetchPage(c.def, readCtx, request);

  const found = c.findRecords(body);
  const records = 'records' in found ? found.records : [];
  if ('problem' in found) warnings.push(`No records at recordsPath "${s.recordsPath}": ${found.problem}.`);
  else if (records.length === 0)
    warnings.push(
      `The page has no records for ${window.start} to ${window.end}: lengthen the collector's lookback (or check the query) to see some.`,
    );

  const events: RawEvent[] = [];
  let noTime = 0;
  let noId = 0;
  let outside = 0;
  let backwards = 0;
  let sample: unknown;
  let prev: number | undefined;
  const start = w.start.getTime();
  const end = w.end.getTime();
  for (const raw of records) {
    const t = c.timeOf(raw);
    if (t === undefined) {
      noTime++;
      sample ??= getPath(raw, s.timePath);
    } else {
      if (prev !== undefined && t < prev) backwards++;
      prev = t;
      if (t < start || t >= end) {
        outside++;
        if (c.cursor.clip) continue; // a run skips it too: it belongs to another window
      }
    }
    const id = c.idOf(raw);
    if (id === undefined && s.idPath) noId++;
    events.push({
      raw,
      id: id ?? hashId(raw),
      time: t === undefined ? undefined : new Date(t).toISOString(),
    });
  }
  const n = records.length;
  if (noTime)
    warnings.push(
      `${noTime} of ${n} records have no time at timePath "${s.timePath}" readable as ${s.timeFormat}${
        sample === undefined ? ' (the field is missing)' : ` (e.g. ${JSON.stringify(sample).slice(0, 80)})`
      }: their events would carry the time they were received, and could not move the position.`,
    );
  if (!s.idPath)
    warnings.push(
      'No idPath: every id is a hash of the record (the same record always gets the same id, so destinations can still de-duplicate).',
    );
  else if (noId)
    warnings.push(
      `${noId} of ${n} records have no id at idPath "${s.idPath}": their ids are hashes of the record.`,
    );
  if (outside)
    warnings.push(
      `${outside} of ${n} records are outside the requested window ${window.start} to ${window.end}${
        c.cursor.clip ? ' and would be skipped' : ''
      }: check the query's time parameters, timeFormat and timeZone.`,
    );
  if (backwards && s.order === 'ascending')
    warnings.push('The records are not oldest first: set order to descending (newest first) or unknown.');

  const next = c.paginator.next({ request, response, body, records });
  const p = s.pagination;
  if (!next && records.length) {
    if (p.type === 'cursor' && getPath(body, p.cursorPath) === undefined)
      warnings.push(
        `No cursor at pagination.cursorPath "${p.cursorPath}": right on a last page; otherwise check the path.`,
      );
    if (p.type === 'next-url' && getPath(body, p.nextUrlPath) === undefined)
      warnings.push(
        `No next-page URL at pagination.nextUrlPath "${p.nextUrlPath}": right on a last page; otherwise check the path.`,
      );
  }
  return {
    stream: 'events',
    request: {
      method: s.method,
      url: requestUrl(request),
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    window,
    records: n,
    events,
    next: next
      ? {
          url: requestUrl(next),
          ...(next.body !== undefined ? { body: next.body } : {}),
          ...(c.tokenOf(next) !== undefined ? { token: c.tokenOf(next) } : {}),
        }
      : null,
    warnings,
  };
}
