import { configError, transientError } from '../core/errors.ts';
import type { Batch, RawEvent, ReadContext } from '../core/source.ts';
import { LoopGuard } from '../engine/http.ts';

/**
 * TAXII 2.1 and 2.0 clients' reading (shared by `stix-taxii` and `anomali`). Protocol facts:
 *
 * - TAXII 2.1 (docs.oasis-open.org/cti/taxii/v2.1/os/taxii-v2.1-os.html): media type
 *   `application/taxii+json;version=2.1` in `Accept` (§1.6.8; 406 otherwise); Server Discovery `GET
 *   /taxii2/` lists `api_roots` (§4.1); `GET {api-root}/collections/` lists collections with `id`,
 *   `can_read` (§5.1); Get Objects `GET {api-root}/collections/{id}/objects/` with `added_after`
 *   (exclusive), `limit`, `next`, `match[type]` (§5.4, §3.4) answers an envelope `{more, next, objects}`
 *   (§3.7) sorted by date added, ascending, with `X-TAXII-Date-Added-First` and `X-TAXII-Date-Added-Last`
 *   headers (§3.3.1); errors are `{title, description, error_id, error_code, http_status}` (§3.6.1);
 *   401, 403, 404, 406, 429 (§3.6).
 * - TAXII 2.0 (docs.oasis-open.org/cti/taxii/v2.0/cs01/taxii-v2.0-cs01.html): media types
 *   `application/vnd.oasis.taxii+json; version=2.0` and, for objects, `application/vnd.oasis.stix+json;
 *   version=2.0` (§1.4.8); objects come as a STIX bundle `{type: "bundle", objects}`; pagination by
 *   `Range: items=START-END` answered 206 with `Content-Range: items START-END/TOTAL` (§3.4);
 *   `added_after` and `X-TAXII-Date-Added-Last` as in 2.1.
 *
 * Decisions: the position per collection is the `added_after` of the request in progress with its `next`
 * (2.1) or its item offset (2.0): the uncommitted page is asked again exactly. When a collection's pages
 * end, its `added_after` becomes the last page's `X-TAXII-Date-Added-Last` (the date added of its newest
 * object); a server that omits the header leaves it where it was (the objects are asked again and keep
 * their ids). Objects are kept whole in `raw`; the id is the STIX `id` with its `modified` time when it
 * has one (each version once), or the `id` alone (`stableIds`: context records, one per entity).
 */

export type TaxiiVersion = '2.1' | '2.0';

export interface TaxiiSettings {
  /** A discovery URL (`…/taxii2/`) or an API root URL (`…/api1/`). */
  url: string;
  version: TaxiiVersion;
  /** Collection ids; default: every readable collection of every API root. */
  collections?: string[];
  limit: number;
}

export const TAXII_MEDIA: Record<TaxiiVersion, string> = {
  '2.1': 'application/taxii+json;version=2.1',
  '2.0': 'application/vnd.oasis.taxii+json; version=2.0',
};
const STIX_20 = 'application/vnd.oasis.stix+json; version=2.0';

interface Position {
  /** The `added_after` of the request in progress, or of the next one. */
  addedAfter?: string;
  /** 2.1: the server's `next` of the page to ask next. */
  next?: string;
  /** 2.0: the item offset of the page to ask next. */
  offset?: number;
}

export interface TaxiiCheckpoint {
  /** Per collection URL (`{api-root}/collections/{id}/`). */
  collections: Record<string, Position>;
}

export interface TaxiiReadOptions {
  /** Only these STIX types (`match[type]`). */
  types?: string[];
  /** Objects of these types are not delivered (another stream has them). */
  skipTypes?: string[];
  /** Only objects this accepts are delivered (a source's choice of indicator kinds). */
  keep?: (object: any) => boolean;
  /** Where a collection read for the first time starts (`added_after`); undefined: from the beginning. */
  from: string | undefined;
  /** One id per STIX object (its `id`), rather than one per version. */
  stableIds?: boolean;
}

const slash = (u: string) => (u.endsWith('/') ? u : `${u}/`);

/** The collection URLs to read: from the settings, or discovered (API roots → readable collections). */
export async function taxiiCollections(s: TaxiiSettings, ctx: Pick<ReadContext, 'http'>): Promise<string[]> {
  const accept = { accept: TAXII_MEDIA[s.version] };
  const base = slash(s.url);
  let roots: string[];
  if (/\/taxii2?\/$/.test(new URL(base).pathname) || new URL(base).pathname === '/taxii/') {
    const { body, response } = await ctx.http.getJson(base, undefined, accept);
    const listed = (body as { api_roots?: unknown })?.api_roots;
    if (!Array.isArray(listed) || listed.length === 0)
      throw configError(
        'taxii_no_api_roots',
        `The TAXII server's discovery answer at ${base} lists no API roots.`,
        'Set url to an API root of the server (e.g. https://taxii.example.com/api1/) instead of its discovery URL.',
      );
    roots = listed.map((r) => slash(new URL(String(r), response.url).toString()));
  } else roots = [base];
  const out: string[] = [];
  for (const root of roots) {
    if (s.collections?.length) {
      // Named collections are looked for in every root; a name found nowhere is an error below.
      const { body } = await ctx.http.getJson(`${root}collections/`, undefined, accept);
      const ids = new Set(
        ((body as { collections?: Array<{ id: string }> })?.collections ?? []).map((c) => c.id),
      );
      for (const id of s.collections) if (ids.has(id)) out.push(`${root}collections/${id}/`);
      continue;
    }
    const { body } = await ctx.http.getJson(`${root}collections/`, undefined, accept);
    for (const c of (body as { collections?: Array<{ id: string; can_read?: boolean }> })?.collections ?? [])
      if (c.can_read !== false) out.push(`${root}collections/${encodeURIComponent(c.id)}/`);
  }
  if (s.collections?.length) {
    const found = new Set(out.map((u) => decodeURIComponent(u.split('/collections/')[1].replace(/\/$/, ''))));
    const missing = s.collections.filter((c) => !found.has(c));
    if (missing.length)
      throw configError(
        'taxii_collection_not_found',
        `The TAXII server has no readable collection ${missing.join(', ')} under ${s.url}.`,
        'Check settings.collections against the collection ids the server lists (its Collections endpoint), and that the account may read them.',
      );
  }
  return out;
}

/** The objects of every collection after each one's position, one batch per page. */
export async function* readTaxii(
  s: TaxiiSettings,
  ctx: ReadContext<unknown, unknown, TaxiiCheckpoint>,
  o: TaxiiReadOptions,
): AsyncGenerator<Batch<TaxiiCheckpoint>> {
  const collections = await taxiiCollections(s, ctx);
  const positions: Record<string, Position> = { ...ctx.checkpoint?.collections };
  for (const url of collections) {
    let pos: Position = positions[url] ?? { addedAfter: o.from };
    const guard = new LoopGuard();
    guard.check(JSON.stringify(pos), ctx.stream);
    for (;;) {
      ctx.signal.throwIfAborted();
      const page =
        s.version === '2.1' ? await page21(s, ctx, url, pos, o) : await page20(s, ctx, url, pos, o);
      const objects = page.objects.filter(
        (x) => !o.skipTypes?.includes(String(x?.type)) && (o.keep?.(x) ?? true),
      );
      const events: RawEvent[] = objects.map((x) => ({
        raw: x,
        id: o.stableIds || !x.modified ? String(x.id) : `${x.id}@${x.modified}`,
        time:
          typeof x.modified === 'string' ? x.modified : typeof x.created === 'string' ? x.created : undefined,
      }));
      const nextPos: Position = page.more
        ? { addedAfter: pos.addedAfter, ...page.position }
        : { addedAfter: page.addedLast ?? pos.addedAfter };
      // A server that hands out the same position again would loop: an error, not a loop.
      if (page.more) guard.check(JSON.stringify(nextPos), ctx.stream, page.objects.length === 0);
      pos = nextPos;
      positions[url] = pos;
      yield { events, checkpoint: { collections: { ...positions } }, pages: 1 };
      if (!page.more) break;
    }
  }
}

interface Page {
  objects: any[];
  more: boolean;
  position: Position;
  addedLast?: string;
}

async function page21(
  s: TaxiiSettings,
  ctx: ReadContext,
  url: string,
  pos: Position,
  o: TaxiiReadOptions,
): Promise<Page> {
  const { body, response } = await ctx.http.getJson(
    `${url}objects/`,
    {
      added_after: pos.addedAfter,
      limit: s.limit,
      next: pos.next,
      'match[type]': o.types?.join(','),
    },
    { accept: TAXII_MEDIA['2.1'] },
  );
  if (body === null || typeof body !== 'object') throw unexpected(ctx.stream);
  const objects = (body as { objects?: unknown }).objects ?? []; // an empty envelope may omit it (§3.7)
  if (!Array.isArray(objects)) throw unexpected(ctx.stream);
  const addedLast = response.headers.get('x-taxii-date-added-last') ?? undefined;
  const more = (body as { more?: boolean }).more === true;
  const next = (body as { next?: unknown }).next;
  if (!more) return { objects, more, position: {}, addedLast };
  // More with a `next`: ask for it; more without one: ask again after the newest object of this page.
  if (typeof next === 'string' && next) return { objects, more, position: { next }, addedLast };
  if (!addedLast) throw unexpected(ctx.stream);
  return { objects, more, position: { addedAfter: addedLast }, addedLast };
}

async function page20(
  s: TaxiiSettings,
  ctx: ReadContext,
  url: string,
  pos: Position,
  o: TaxiiReadOptions,
): Promise<Page> {
  const start = pos.offset ?? 0;
  const { body, response } = await ctx.http.getJson(
    `${url}objects/`,
    { added_after: pos.addedAfter, 'match[type]': o.types?.join(',') },
    { accept: STIX_20, range: `items=${start}-${start + s.limit - 1}` },
  );
  const objects = (body as { objects?: unknown })?.objects ?? [];
  if (!Array.isArray(objects)) throw unexpected(ctx.stream);
  // Content-Range: items START-END/TOTAL (a server that ignores Range answers 200 with everything).
  const range = /items\s+(\d+)-(\d+)\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '');
  const end = range ? Number(range[2]) : start + objects.length - 1;
  const total = range && range[3] !== '*' ? Number(range[3]) : undefined;
  const more = response.status === 206 && objects.length > 0 && (total === undefined || end + 1 < total);
  return {
    objects,
    more,
    position: { offset: end + 1 },
    addedLast: response.headers.get('x-taxii-date-added-last') ?? undefined,
  };
}

function unexpected(stream: string) {
  return transientError(
    'unexpected_response',
    `The TAXII server's answer for ${stream} was not an envelope or bundle of objects.`,
    'Check the url points at a TAXII 2.1 (or 2.0, with version 2.0) server; Tributary retries on the next run.',
  );
}

/**
 * The entity an indicator's STIX pattern is about (docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html
 * §9 Patterning, §6 cyber-observable objects): `ip` (ipv4-addr / ipv6-addr), `domain` (domain-name),
 * `url`, `hash` (file:hashes), else `indicator`.
 */
export function patternEntity(indicator: any): string {
  const pattern = typeof indicator?.pattern === 'string' ? indicator.pattern : '';
  if (indicator?.pattern_type !== undefined && indicator.pattern_type !== 'stix') return 'indicator';
  if (/\[\s*ipv[46]-addr:value\s*=/.test(pattern)) return 'ip';
  if (/\[\s*domain-name:value\s*=/.test(pattern)) return 'domain';
  if (/\[\s*url:value\s*=/.test(pattern)) return 'url';
  if (/\[\s*file:hashes\./.test(pattern)) return 'hash';
  return 'indicator';
}

/** An indicator that no longer holds: revoked (STIX §3.2 `revoked`) or past its `valid_until`. */
export function indicatorOp(indicator: any, now: number): 'upsert' | 'delete' {
  if (indicator?.revoked === true) return 'delete';
  const until = typeof indicator?.valid_until === 'string' ? Date.parse(indicator.valid_until) : Number.NaN;
  return Number.isFinite(until) && until <= now ? 'delete' : 'upsert';
}
