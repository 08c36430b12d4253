import { hashId } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import type { HttpRequest } from '../../core/source.ts';
import { type PageRequest, type Paginator, type ParamPlace, paginate } from '../../engine/paginate.ts';
import type { RestPollDef } from '../../engine/rest-poll.ts';
import { Template, type Values } from '../../engine/template.ts';
import { parseTime } from '../../engine/time-format.ts';
import { getPath, type TimeWindowOptions, type Window } from '../../engine/time-window.ts';
import { type RestApiSettings, VARIABLES } from './settings.ts';

/**
 * Validated settings mapped onto the engine: the first request of a window rendered from the templates,
 * the engine's paginators (their position placed in the query, or rendered again into the templates
 * from the paginator state the request carries), the records, time and id extractors, and the
 * time-window cursor. `restPoll` then runs it like any other source; nothing here reads or commits.
 */

export interface CompiledRestApi {
  settings: RestApiSettings;
  def: RestPollDef<RestApiSettings, unknown>;
  cursor: TimeWindowOptions;
  firstRequest(window: Window): PageRequest;
  paginator: Paginator;
  /** The records at the records path, or the reason there are none (for preview and errors). */
  findRecords(body: unknown): { records: unknown[] } | { problem: string };
  /** The record's time in epoch ms, or undefined when absent or not in the format. */
  timeOf(record: unknown): number | undefined;
  /** The record's id at the id path, or undefined (the record is then hashed). */
  idOf(record: unknown): string | undefined;
  /** The position a next-page request carries (cursor, offset or page number), for preview. */
  tokenOf(next: PageRequest): string | number | undefined;
}

type Variable = 'cursor' | 'offset' | 'page';

const ORDER = { ascending: 'asc', descending: 'desc', unknown: 'any' } as const;
/** Window renderings coarser than a millisecond: records before the window's start may come back. */
const COARSE = ['iso_seconds', 'epoch_s', 'format'];

const cache = new WeakMap<RestApiSettings, CompiledRestApi>();

/** The full URL of a request, its query included (for display: no credentials are ever in it). */
export function requestUrl(r: Pick<PageRequest, 'url' | 'query'>): string {
  const u = new URL(r.url);
  for (const [k, v] of Object.entries(r.query ?? {})) {
    if (v === undefined) continue;
    u.searchParams.delete(k);
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
  }
  return u.toString();
}

const describeKeys = (body: unknown) =>
  body && typeof body === 'object' && !Array.isArray(body)
    ? `top-level keys: ${Object.keys(body).slice(0, 20).join(', ') || 'none'}`
    : Array.isArray(body)
      ? 'the response is a list: set recordsPath to .'
      : `the response is ${JSON.stringify(body)?.slice(0, 60)}`;

export function compile(s: RestApiSettings): CompiledRestApi {
  const hit = cache.get(s);
  if (hit) return hit;
  const zone = s.timeZone;
  const p = s.pagination;
  const url = Template.compile(s.url, VARIABLES);
  const query = Object.entries(s.query).map(([k, v]) => [k, Template.compile(v, VARIABLES)] as const);
  const body = s.method === 'POST' && s.body !== undefined ? Template.compile(s.body, VARIABLES) : undefined;
  const templates = [url, ...query.map(([, t]) => t), ...(body ? [body] : [])];
  const limit = p.type === 'offset' || p.type === 'page' ? p.limit : undefined;
  // The paginator's position goes into the templates ({{cursor}}, …) unless a query parameter is named.
  const templated: Variable | undefined =
    (p.type === 'cursor' || p.type === 'offset' || p.type === 'page') && p.param === undefined
      ? p.type
      : undefined;

  const withBase = (target: string): string => {
    if (!s.baseUrl) return target;
    const u = new URL(target);
    const b = new URL(s.baseUrl);
    return `${b.origin}${b.pathname.replace(/\/+$/, '')}${u.pathname}${u.search}`;
  };

  const render = (state: Record<string, string | number>): Omit<PageRequest, 'state'> => {
    const values: Values = {
      'window.start': state.start,
      'window.end': state.end,
      cursor: state.cursor,
      offset: state.offset,
      page: state.page,
      limit,
    };
    const q: HttpRequest['query'] = {};
    for (const [k, t] of query) {
      const v = t.render(values, { zone });
      if (v !== '') q[k] = v; // an empty value (the cursor of a first page) is left out
    }
    const out: Omit<PageRequest, 'state'> = { url: withBase(url.render(values, { context: 'url', zone })) };
    if (Object.keys(q).length) out.query = q;
    if (body) out.body = body.render(values, { context: 'json', zone });
    return out;
  };

  /** The position lives in the request's state and is rendered into its templates. */
  const statePlace = (name: Variable): ParamPlace => ({
    get: (r) => r.state?.[name],
    set: (r, value) => {
      const state = { ...r.state, [name]: value };
      return { ...render(state), state };
    },
  });

  const firstRequest = (w: Window): PageRequest => {
    const state: Record<string, string | number> = { start: w.start.getTime(), end: w.end.getTime() };
    if (templated === 'cursor') state.cursor = '';
    if (templated === 'offset') state.offset = 0;
    if (templated === 'page' && p.type === 'page') state.page = p.firstPage;
    const r: PageRequest = render(state);
    if (templated) return { ...r, state };
    if ((p.type === 'offset' || p.type === 'page') && p.param !== undefined) {
      const extra: Record<string, number> = { [p.param]: p.type === 'offset' ? 0 : p.firstPage };
      if (p.limitParam !== undefined && p.limit !== undefined) extra[p.limitParam] = p.limit;
      r.query = { ...r.query, ...extra };
    }
    return r;
  };

  const place = (name: Variable) =>
    templated ? { place: statePlace(name) } : { param: (p as { param: string }).param };
  /** Link and next-URL pages of a POST query keep its body. */
  const keepBody = (inner: Paginator): Paginator => ({
    next(page) {
      const n = inner.next(page);
      return n && n.body === undefined && page.request.body !== undefined
        ? { ...n, body: page.request.body }
        : n;
    },
  });
  let paginator: Paginator;
  switch (p.type) {
    case 'none':
      paginator = { next: () => undefined };
      break;
    case 'link-header':
      paginator = keepBody(paginate.linkHeader());
      break;
    case 'next-url':
      paginator = keepBody(paginate.nextUrl(p.nextUrlPath));
      break;
    case 'cursor': {
      const more = p.hasMorePath;
      paginator = paginate.cursor({
        ...place('cursor'),
        from: p.cursorPath,
        hasMore: more ? (b) => truthy(getPath(b, more)) : undefined,
      });
      break;
    }
    case 'offset':
      paginator = paginate.offset({ ...place('offset'), size: p.limit });
      break;
    case 'page':
      paginator = paginate.page({ ...place('page'), first: p.firstPage, size: p.limit });
      break;
  }

  const findRecords = (b: unknown): { records: unknown[] } | { problem: string } => {
    if (s.recordsPath === '.') {
      return Array.isArray(b)
        ? { records: b }
        : { problem: `the response is not a list, so recordsPath "." finds no records (${describeKeys(b)})` };
    }
    const v = getPath(b, s.recordsPath);
    if (v === null) return { records: [] };
    if (v === undefined)
      return { problem: `the response has no field ${s.recordsPath} (${describeKeys(b)})` };
    if (!Array.isArray(v))
      return {
        problem: `${s.recordsPath} in the response is ${typeof v === 'object' ? 'an object' : `a ${typeof v}`}, not a list of records`,
      };
    return { records: v };
  };

  const timeOf = (r: unknown) => parseTime(getPath(r, s.timePath), s.timeFormat, zone);
  const idOf = (r: unknown): string | undefined => {
    if (!s.idPath) return undefined;
    const v = getPath(r, s.idPath);
    if (typeof v === 'string') return v === '' ? undefined : v;
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    return undefined;
  };
  const coarse = templates.some((t) =>
    t.placeholders.some(
      (ph) => ph.variable.startsWith('window.') && ph.filters.some((f) => COARSE.includes(f)),
    ),
  );
  const cursor: TimeWindowOptions = {
    time: (r: unknown) => {
      const ms = timeOf(r);
      return ms === undefined ? undefined : new Date(ms).toISOString();
    },
    lag: s.lag,
    order: ORDER[s.order],
    maxWindow: s.maxWindow,
    // A window rendered to the second (or the day) brings back records before its start: they belong
    // to the window before, and are skipped here rather than delivered twice.
    clip: coarse,
  };
  const given = { ...s.publicHeaders, ...s.headers };
  const hasAccept = Object.keys(given).some((k) => k.toLowerCase() === 'accept');
  const headers = hasAccept ? given : { accept: 'application/json', ...given };

  const def: RestPollDef<RestApiSettings, unknown> = {
    title: 'Events',
    description: 'The records of the configured endpoint.',
    url: () => withBase(url.render({ 'window.start': 0, 'window.end': 0 }, { context: 'url', zone })),
    method: s.method,
    headers: () => headers,
    request: (_ctx, w) => firstRequest(w),
    records: (b) => {
      const found = findRecords(b);
      if ('records' in found) return found.records;
      throw configError(
        'records_not_found',
        `No records where the collector expects them: ${found.problem}.`,
        'Check settings.recordsPath against a response of the API (Preview shows one); use . for a top-level list.',
      );
    },
    paginate: paginator,
    cursor,
    eventId: (r) => idOf(r) ?? hashId(r),
    retention: s.retention,
  };

  const tokenOf = (next: PageRequest): string | number | undefined => {
    if (templated) return next.state?.[templated];
    if (p.type === 'cursor' || p.type === 'offset' || p.type === 'page') {
      const v = next.query?.[(p as { param: string }).param];
      return typeof v === 'string' || typeof v === 'number' ? v : undefined;
    }
    return undefined;
  };

  const compiled: CompiledRestApi = {
    settings: s,
    def,
    cursor,
    firstRequest,
    paginator,
    findRecords,
    timeOf,
    idOf,
    tokenOf,
  };
  cache.set(s, compiled);
  return compiled;
}

function truthy(v: unknown): boolean {
  if (typeof v === 'string') return v !== '' && v.toLowerCase() !== 'false' && v !== '0';
  return Boolean(v);
}
