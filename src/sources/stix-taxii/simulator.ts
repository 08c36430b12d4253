/**
 * TAXII 2.1 / 2.0 server simulator with STIX 2.1 content, following the OASIS specifications:
 *
 * - TAXII 2.1 (docs.oasis-open.org/cti/taxii/v2.1/os/taxii-v2.1-os.html): §1.6.8 media type
 *   `application/taxii+json;version=2.1`, a request whose `Accept` names no supported type answers 406;
 *   §4.1 Server Discovery `GET /taxii2/` (`title`, `default`, `api_roots`); §4.2 API Root (`title`,
 *   `versions`, `max_content_length`); §5.1 Get Collections (`collections`: `id`, `title`, `can_read`,
 *   `can_write`, `media_types`); §5.4 Get Objects: `added_after` (only objects added after it: exclusive),
 *   `limit` (the server may send fewer), `next`, `match[type]` (comma-separated, OR); the envelope
 *   (§3.7) `more`, `next`, `objects`, ordered by date added, ascending (§3.4); headers
 *   `X-TAXII-Date-Added-First` and `X-TAXII-Date-Added-Last` (§3.3.1); the error message (§3.6.1:
 *   `title`, `description`, `error_id`, `error_code`, `http_status`); 401 without valid credentials
 *   (HTTP Basic, §1.6.7), 403 for a collection that may not be read, 404, 429 (§3.6).
 * - TAXII 2.0 (docs.oasis-open.org/cti/taxii/v2.0/cs01/taxii-v2.0-cs01.html): discovery at `/taxii/`,
 *   `application/vnd.oasis.taxii+json; version=2.0`; objects as a STIX bundle
 *   (`application/vnd.oasis.stix+json; version=2.0`), paged by `Range: items=A-B`, answered 206 with
 *   `Content-Range: items A-B/TOTAL` (§3.4).
 * - STIX 2.1 (docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html): indicator (`pattern`,
 *   `pattern_type: "stix"`, `valid_from`, `valid_until`), malware, attack-pattern, relationship,
 *   report; `spec_version`, `id` (`type--uuid`), `created`, `modified`, `revoked`.
 *
 * Assumed where the specifications leave it to the server: `next` is an opaque token (here the
 * position, encoded); a 2.1 page holds at most `pageSize` objects (default 100) whatever `limit` asks;
 * the latest version of an object replaces the older one in the collection (`match[version]=last`, the
 * default). An injected `empty` fault answers an envelope with `more: true`, no objects and a `next` to
 * the same position.
 */
import { randomUUID } from 'node:crypto';
import { json, type SimReply, type SimRequest, SimServer, stableUuid } from '../../sim/kit.ts';

const TAXII21 = 'application/taxii+json;version=2.1';
const TAXII20 = 'application/vnd.oasis.taxii+json; version=2.0';
const STIX20 = 'application/vnd.oasis.stix+json; version=2.0';

interface Stored {
  object: Record<string, unknown>;
  /** Date added to the collection (ms; unique and increasing). */
  added: number;
}

export interface TaxiiSimulatorOptions {
  clock?: () => number;
  /** Indicators and other objects in the collection at start (about half each). */
  objects?: number;
  pageSize?: number;
  eventBytes?: number;
  username?: string;
  password?: string;
}

export class TaxiiSimulator extends SimServer {
  readonly username: string;
  readonly password: string;
  readonly collectionId = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
  readonly hiddenCollectionId = '52892447-4d7e-4f70-b94d-d7f22742ff63';
  private readonly pageSize: number;
  private readonly eventBytes?: number;
  private store: Stored[] = [];
  private lastAdded = 0;
  private n = 0;
  private loops = 0;

  constructor(o: TaxiiSimulatorOptions = {}) {
    super({ clock: o.clock });
    this.pageSize = o.pageSize ?? 100;
    this.eventBytes = o.eventBytes;
    this.username = o.username ?? 'taxii-reader';
    this.password = o.password ?? `pw-${randomUUID()}`;
    this.hooks = {
      errorReply: (req, status) =>
        this.error(req, status, status >= 500 ? 'Internal error' : 'Request failed'),
      rateLimitReply: (req) => this.error(req, 429, 'Too many requests'),
    };
    const now = this.clock();
    const count = o.objects ?? 100;
    for (let i = 0; i < count; i++) this.add(now - 3_600_000 + Math.floor((i * 3_000_000) / count));
    for (const [root, v] of [
      ['/taxii2/', '2.1'],
      ['/taxii/', '2.0'],
    ] as const)
      this.route('GET', root, (req) =>
        this.guard(req, v, false, () =>
          json(
            200,
            { title: 'Simulated TAXII', default: `${req.origin}/api1/`, api_roots: [`${req.origin}/api1/`] },
            this.type(v),
          ),
        ),
      );
    this.route('GET', '/api1/', (req) =>
      this.guard(req, this.versionOf(req), false, () =>
        json(
          200,
          { title: 'API root', versions: [TAXII21], max_content_length: 104_857_600 },
          this.type(this.versionOf(req)),
        ),
      ),
    );
    this.route('GET', '/api1/collections/', (req) =>
      this.guard(req, this.versionOf(req), false, () =>
        json(
          200,
          {
            collections: [
              {
                id: this.collectionId,
                title: 'Indicators and context',
                can_read: true,
                can_write: false,
                media_types: [TAXII21],
              },
              {
                id: this.hiddenCollectionId,
                title: 'Write-only drop box',
                can_read: false,
                can_write: true,
                media_types: [TAXII21],
              },
            ],
          },
          this.type(this.versionOf(req)),
        ),
      ),
    );
    this.route('GET', '/api1/collections/:id/objects/', (req) =>
      this.guard(req, this.versionOf(req), true, () => this.objects(req)),
    );
  }

  loopNext(times: number): void {
    this.loops = times;
  }

  /** Adds `n` objects (alternately an indicator and another object), dated `at` (default now). */
  addObjects(n: number, at = this.clock()): string[] {
    return Array.from({ length: n }, () => String(this.add(at).id));
  }

  /** A new version of indicator `id`, revoked (STIX §3.2), added now. */
  revoke(id: string): void {
    this.replace(id, (o) => ({ ...o, revoked: true }));
  }

  /** A new version of indicator `id` whose validity ended a minute ago, added now. */
  expire(id: string): void {
    this.replace(id, (o) => ({ ...o, valid_until: new Date(this.clock() - 60_000).toISOString() }));
  }

  /** The current version of an object. */
  objectById(id: string): Record<string, unknown> | undefined {
    return this.store.find((s) => s.object.id === id)?.object;
  }

  indicatorIds(): string[] {
    return this.store.filter((s) => s.object.type === 'indicator').map((s) => String(s.object.id));
  }
  /** Ids of the other objects as the source delivers them: `id@modified`. */
  otherIds(): string[] {
    return this.store
      .filter((s) => s.object.type !== 'indicator')
      .map((s) => `${s.object.id}@${s.object.modified}`);
  }

  private nextAdded(at: number): number {
    this.lastAdded = Math.max(at, this.lastAdded + 1);
    return this.lastAdded;
  }

  private add(at: number): Record<string, unknown> {
    const i = this.n++;
    const object = i % 2 === 0 ? this.indicator(i, at) : this.other(i, at);
    this.store.push({ object, added: this.nextAdded(at) });
    return object;
  }

  private replace(id: string, change: (o: Record<string, unknown>) => Record<string, unknown>): void {
    const at = this.store.findIndex((s) => s.object.id === id);
    const old = this.store[at];
    this.store.splice(at, 1);
    const modified = new Date(
      Math.max(this.clock(), Date.parse(String(old.object.modified)) + 1),
    ).toISOString();
    this.store.push({ object: { ...change(old.object), modified }, added: this.nextAdded(this.clock()) });
  }

  private indicator(i: number, at: number): Record<string, unknown> {
    const kinds = [
      `[ipv4-addr:value = '198.51.100.${i % 250}']`,
      `[domain-name:value = 'bad${i}.example.net']`,
      `[url:value = 'https://bad${i}.example.net/login']`,
      `[file:hashes.'SHA-256' = '${stableUuid(3, i).replace(/-/g, '').padEnd(64, 'a')}']`,
      `[ipv6-addr:value = '2001:db8::${i.toString(16)}']`,
    ];
    const t = new Date(at).toISOString();
    return {
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--${stableUuid(1, i)}`,
      created: t,
      modified: t,
      name: `Indicator ${i}`,
      indicator_types: ['malicious-activity'],
      pattern: kinds[(i / 2) % kinds.length],
      pattern_type: 'stix',
      valid_from: t,
      ...(this.eventBytes ? { description: 'x'.repeat(Math.max(0, this.eventBytes - 500)) } : {}),
    };
  }

  private other(i: number, at: number): Record<string, unknown> {
    const t = new Date(at).toISOString();
    const type = ['malware', 'attack-pattern', 'report', 'relationship'][Math.floor(i / 2) % 4];
    const base = { type, spec_version: '2.1', id: `${type}--${stableUuid(2, i)}`, created: t, modified: t };
    const extra =
      type === 'malware'
        ? { name: `Malware ${i}`, is_family: true, malware_types: ['ransomware'] }
        : type === 'attack-pattern'
          ? {
              name: `Phishing ${i}`,
              external_references: [{ source_name: 'capec', external_id: 'CAPEC-98' }],
            }
          : type === 'report'
            ? {
                name: `Report ${i}`,
                published: t,
                report_types: ['threat-report'],
                object_refs: [`indicator--${stableUuid(1, i - 1)}`],
              }
            : {
                relationship_type: 'indicates',
                source_ref: `indicator--${stableUuid(1, i - 1)}`,
                target_ref: `malware--${stableUuid(2, i)}`,
              };
    return {
      ...base,
      ...extra,
      ...(this.eventBytes ? { description: 'x'.repeat(Math.max(0, this.eventBytes - 500)) } : {}),
    };
  }

  private versionOf(req: SimRequest): '2.1' | '2.0' {
    return /version=2\.0/.test(String(req.headers.accept ?? '')) ? '2.0' : '2.1';
  }

  private type(v: '2.1' | '2.0', objects = false) {
    return { 'content-type': v === '2.1' ? TAXII21 : objects ? STIX20 : TAXII20 };
  }

  private guard(req: SimRequest, v: '2.1' | '2.0', objects: boolean, serve: () => SimReply): SimReply {
    const accept = String(req.headers.accept ?? '');
    const ok =
      v === '2.1'
        ? /application\/taxii\+json/.test(accept)
        : accept.includes(objects ? 'stix+json' : 'taxii+json');
    if (!ok) return this.error(req, 406, 'The media type in Accept is not supported');
    const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return this.error(req, 401, 'Authentication required');
    if (req.params.id === this.hiddenCollectionId)
      return this.error(req, 403, 'The collection may not be read');
    if (req.params.id !== undefined && req.params.id !== this.collectionId)
      return this.error(req, 404, 'No such collection');
    return serve();
  }

  private objects(req: SimRequest): SimReply {
    const v = this.versionOf(req);
    const after = req.query.get('added_after');
    const afterMs = after ? Date.parse(after) : Number.NEGATIVE_INFINITY;
    if (Number.isNaN(afterMs)) return this.error(req, 400, 'added_after is not a timestamp');
    const types = req.query.get('match[type]')?.split(',');
    const all = this.store
      .filter((s) => s.added > afterMs && (!types || types.includes(String(s.object.type))))
      .sort((a, b) => a.added - b.added);
    if (v === '2.0') return this.bundle(req, all);
    let start = 0;
    const next = req.query.get('next');
    if (next) {
      const pos = Number(Buffer.from(next, 'base64url').toString());
      start = all.findIndex((s) => s.added > pos);
      if (start < 0) start = all.length;
    }
    const limit = Math.min(
      this.pageSize,
      Math.max(1, Number(req.query.get('limit') ?? this.pageSize) || this.pageSize),
    );
    const token = (ms: number) => Buffer.from(String(ms)).toString('base64url');
    if (req.empty)
      return json(
        200,
        { more: true, next: next ?? token(afterMs === Number.NEGATIVE_INFINITY ? 0 : afterMs - 1) },
        this.type('2.1'),
      );
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    const body: Record<string, unknown> = { more };
    if (more && this.loops > 0 && next) {
      this.loops--;
      body.next = next; // the same position again: a pagination loop
    } else if (more) body.next = token(page.at(-1)!.added);
    if (page.length) body.objects = page.map((s) => s.object);
    const headers: Record<string, string> = this.type('2.1');
    if (page.length) {
      headers['x-taxii-date-added-first'] = new Date(page[0].added).toISOString();
      headers['x-taxii-date-added-last'] = new Date(page.at(-1)!.added).toISOString();
    }
    return json(200, body, headers);
  }

  private bundle(req: SimRequest, all: Stored[]): SimReply {
    const m = /items=(\d+)-(\d+)/.exec(String(req.headers.range ?? ''));
    const start = m ? Number(m[1]) : 0;
    const end = Math.min(all.length - 1, m ? Number(m[2]) : all.length - 1, start + this.pageSize - 1);
    const page = all.slice(start, end + 1);
    const headers: Record<string, string> = this.type('2.0', true);
    if (page.length) {
      headers['x-taxii-date-added-first'] = new Date(page[0].added).toISOString();
      headers['x-taxii-date-added-last'] = new Date(page.at(-1)!.added).toISOString();
    }
    const body = {
      type: 'bundle',
      id: `bundle--${randomUUID()}`,
      spec_version: '2.0',
      objects: page.map((s) => s.object),
    };
    if (!m) return json(200, body, headers);
    headers['content-range'] = `items ${start}-${start + page.length - 1}/${all.length}`;
    return json(206, body, headers);
  }

  private error(req: SimRequest, status: number, title: string): SimReply {
    const v = this.versionOf(req);
    const headers: Record<string, string> = this.type(v);
    if (status === 401) headers['www-authenticate'] = 'Basic realm="TAXII"';
    return json(
      status,
      {
        title,
        description: `${title} (${req.path})`,
        error_id: randomUUID(),
        error_code: String(status),
        http_status: String(status),
      },
      headers,
    );
  }
}
