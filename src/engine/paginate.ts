import type { HttpRequest, HttpResponse } from '../core/source.ts';
import { getPath as get, type Window } from './time-window.ts';

/** The request for one page: a URL and its query (and the body of a read-only POST query). */
export interface PageRequest {
  url: string;
  query?: HttpRequest['query'];
  /** The body of a read-only POST query, sent with this page (and kept with a saved position). */
  body?: string;
  /**
   * What a paginator keeps with the request to build the next one, not sent (the values a templated
   * request was rendered from: its window, cursor, offset or page number).
   */
  state?: Record<string, string | number>;
  /**
   * This request's method when it differs from the definition's (a query job: POST to start it, then GET
   * its results).
   */
  method?: 'GET' | 'POST';
  /**
   * Wait this long before sending (a query job still running, polled again: Snowflake's 202 answers), so
   * the poll does not spin; the wait ends early when the run is stopped.
   */
  delayMs?: number;
}

/**
 * Where a paginator reads and writes its position in a request: a query parameter by default; a source
 * whose requests are templates (the generic REST API collector) renders the position into its query or
 * body instead.
 */
export interface ParamPlace {
  get(request: PageRequest): string | number | undefined;
  set(request: PageRequest, value: string | number): PageRequest;
}

/** The position in the query parameter `name`. */
export function queryParam(name: string): ParamPlace {
  return {
    get: (r) => {
      const v = r.query?.[name];
      return typeof v === 'string' || typeof v === 'number' ? v : undefined;
    },
    set: (r, value) => ({ ...r, query: { ...r.query, [name]: value } }),
  };
}

/**
 * The position in the field `name` of a JSON request body (a read-only POST query such as Cloud Logging's
 * `entries.list`): set last among the body's fields, the rest kept as they were.
 */
export function jsonBodyField(name: string): ParamPlace {
  const parse = (r: PageRequest): Record<string, unknown> => (r.body ? JSON.parse(r.body) : {});
  return {
    get: (r) => {
      const v = parse(r)[name];
      return typeof v === 'string' || typeof v === 'number' ? v : undefined;
    },
    set: (r, value) => {
      const { [name]: _, ...rest } = parse(r);
      return { ...r, body: JSON.stringify({ ...rest, [name]: value }) };
    },
  };
}

/**
 * The position in the GraphQL variable `name` of a JSON request body `{query, variables}` (Relay connections
 * page with `after: $after`): the query and the other variables are kept as they were.
 */
export function graphqlVariable(name: string): ParamPlace {
  const parse = (r: PageRequest): { query?: unknown; variables?: Record<string, unknown> } =>
    r.body ? JSON.parse(r.body) : {};
  return {
    get: (r) => {
      const v = parse(r).variables?.[name];
      return typeof v === 'string' || typeof v === 'number' ? v : undefined;
    },
    set: (r, value) => {
      const sent = parse(r);
      return { ...r, body: JSON.stringify({ ...sent, variables: { ...sent.variables, [name]: value } }) };
    },
  };
}

const placeOf = (o: { param?: string; place?: ParamPlace }): ParamPlace => {
  if (o.place) return o.place;
  if (!o.param) throw new Error('a paginator needs a param or a place');
  return queryParam(o.param);
};

/**
 * A pagination strategy: given the page just read, the request for the next one, or undefined at the
 * end. Strategies are pure; the loop guard and checkpointing live in the runtime.
 */
export interface Paginator {
  next(page: {
    request: PageRequest;
    response: HttpResponse;
    body: any;
    records: unknown[];
    /**
     * The time window being read (time-window cursors): for a vendor whose pages run on past the window's end
     * (Meraki's network events page forward to now), where its pages stop.
     */
    window?: Window;
  }): PageRequest | undefined;
  /**
   * Reads nothing of `records` but their number (the engine's paginators): a page may then be scanned rather
   * than parsed (restPoll `shape`), its records handed over as their JSON text.
   */
  countsOnly?: boolean;
}

/** RFC 8288 Link header: `<https://…>; rel="next"`. */
export function parseLinkHeader(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*(.*)/.exec(part.trim());
    if (!m) continue;
    const rel = /rel="?([^";]+)"?/i.exec(m[2]);
    if (rel) for (const r of rel[1].split(/\s+/)) out[r.toLowerCase()] = m[1];
  }
  return out;
}

export const paginate = {
  /** The next page's absolute URL is in the Link header (Okta, GitHub). */
  linkHeader(): Paginator {
    return {
      countsOnly: true,
      next({ response }) {
        const next = parseLinkHeader(response.headers.get('link')).next;
        return next ? { url: new URL(next, response.url).toString() } : undefined;
      },
    };
  },

  /** The next page's URL is in the body (Graph `@odata.nextLink`, `NextPageUri`). */
  nextUrl(path: string | ((body: any) => unknown)): Paginator {
    return {
      countsOnly: true,
      next({ body, response }) {
        const next = get(body, path);
        return typeof next === 'string' && next ? { url: new URL(next, response.url).toString() } : undefined;
      },
    };
  },

  /** A cursor token in the body is sent back as a query parameter (Slack, Google, Zoom) or at `place`. */
  cursor(opts: {
    param?: string;
    place?: ParamPlace;
    from: string | ((body: any) => unknown);
    hasMore?: (body: any) => boolean;
  }): Paginator {
    const at = placeOf(opts);
    return {
      countsOnly: true,
      next({ body, request }) {
        const token = get(body, opts.from);
        if (opts.hasMore && !opts.hasMore(body)) return undefined;
        if (token === undefined || token === null || token === '') return undefined;
        return at.set(request, String(token));
      },
    };
  },

  /** Offset/limit: the next offset is this one plus the records read; a short page is the last. */
  offset(opts: { param?: string; place?: ParamPlace; size: number; sizeParam?: string }): Paginator {
    const at = placeOf(opts);
    return {
      countsOnly: true,
      next({ request, records }) {
        if (records.length < opts.size) return undefined;
        const current = Number(at.get(request) ?? 0);
        const next = at.set(request, current + records.length);
        return opts.sizeParam ? { ...next, query: { ...next.query, [opts.sizeParam]: opts.size } } : next;
      },
    };
  },

  /** Page numbers: the next page until one comes back empty (or short, when `size` is known). */
  page(opts: { param?: string; place?: ParamPlace; first?: number; size?: number }): Paginator {
    const at = placeOf(opts);
    return {
      countsOnly: true,
      next({ request, records }) {
        if (records.length === 0 || (opts.size !== undefined && records.length < opts.size)) return undefined;
        const current = Number(at.get(request) ?? opts.first ?? 1);
        return at.set(request, current + 1);
      },
    };
  },
};

/**
 * A stable key for the loop guard: the full URL with its parameters sorted, however it was given. A
 * paginator that polls a job until it completes (BigQuery's getQueryResults while `jobComplete` is false)
 * numbers its polls in `state.poll`: each poll is a new request, not a repeated cursor.
 */
export function pageKey(r: PageRequest): string {
  const u = new URL(r.url);
  for (const [k, v] of Object.entries(r.query ?? {})) {
    if (v === undefined) continue;
    u.searchParams.delete(k);
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
  }
  u.searchParams.sort();
  const key = r.state?.poll === undefined ? u.toString() : `${u.toString()}\npoll=${r.state.poll}`;
  return r.body === undefined ? key : `${key}\n${r.body}`;
}
