import type { HttpRequest, HttpResponse } from '../core/source.ts';
import { getPath as get } from './time-window.ts';

/** The request for one page: a URL and its query. */
export interface PageRequest {
  url: string;
  query?: HttpRequest['query'];
}

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
  }): PageRequest | undefined;
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
      next({ response }) {
        const next = parseLinkHeader(response.headers.get('link')).next;
        return next ? { url: new URL(next, response.url).toString() } : undefined;
      },
    };
  },

  /** The next page's URL is in the body (Graph `@odata.nextLink`, `NextPageUri`). */
  nextUrl(path: string | ((body: any) => unknown)): Paginator {
    return {
      next({ body, response }) {
        const next = get(body, path);
        return typeof next === 'string' && next ? { url: new URL(next, response.url).toString() } : undefined;
      },
    };
  },

  /** A cursor token in the body is sent back as a query parameter (Slack, Google, Zoom). */
  cursor(opts: {
    param: string;
    from: string | ((body: any) => unknown);
    hasMore?: (body: any) => boolean;
  }): Paginator {
    return {
      next({ body, request }) {
        const token = get(body, opts.from);
        if (opts.hasMore && !opts.hasMore(body)) return undefined;
        if (token === undefined || token === null || token === '') return undefined;
        return { url: request.url, query: { ...request.query, [opts.param]: String(token) } };
      },
    };
  },

  /** Offset/limit: the next offset is this one plus the records read; a short page is the last. */
  offset(opts: { param: string; size: number; sizeParam?: string }): Paginator {
    return {
      next({ request, records }) {
        if (records.length < opts.size) return undefined;
        const current = Number(request.query?.[opts.param] ?? 0);
        return {
          url: request.url,
          query: {
            ...request.query,
            [opts.param]: current + records.length,
            ...(opts.sizeParam ? { [opts.sizeParam]: opts.size } : {}),
          },
        };
      },
    };
  },

  /** Page numbers: the next page until one comes back empty (or short, when `size` is known). */
  page(opts: { param: string; first?: number; size?: number }): Paginator {
    return {
      next({ request, records }) {
        if (records.length === 0 || (opts.size !== undefined && records.length < opts.size)) return undefined;
        const current = Number(request.query?.[opts.param] ?? opts.first ?? 1);
        return { url: request.url, query: { ...request.query, [opts.param]: current + 1 } };
      },
    };
  },
};

/** A stable key for the loop guard: the full URL with its parameters sorted, however it was given. */
export function pageKey(r: PageRequest): string {
  const u = new URL(r.url);
  for (const [k, v] of Object.entries(r.query ?? {})) {
    if (v === undefined) continue;
    u.searchParams.delete(k);
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
  }
  u.searchParams.sort();
  return u.toString();
}
