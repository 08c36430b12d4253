/**
 * Splunk management-port simulator for the `splunk` source. Vendor behaviour, with where Splunk documents
 * it (REST API Reference Manual, "Search endpoints": `search/v2/jobs/export`, `search/jobs` parameters;
 * Search Manual, "Export data using the Splunk REST API"; "Use authentication tokens"):
 *
 * - Authentication: `Authorization: Bearer <authentication token>` or HTTP Basic `user:password`; anything
 *   else 401 `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`.
 * - `POST /services/search/v2/jobs/export` (form body): `search` (SPL, starting with `search` or `|`),
 *   `output_mode=json`, `earliest_time`/`latest_time` (event time) and `index_earliest`/`index_latest`
 *   (index time: earliest inclusive, latest exclusive), epoch seconds here. The answer streams one JSON
 *   object a line as results are found, without a search id kept for later: `{"preview":false,
 *   "offset":N,"result":{…}}`, the last with `"lastrow":true`; events newest `_time` first (the default
 *   order of event searches). Each result carries `_bkt`, `_cd`, `_indextime` (epoch seconds), `_raw`,
 *   `_serial`, `_si`, `_sourcetype`, `_time` (`2026-12-07T05:00:00.000+00:00`), `host`, `index`,
 *   `linecount`, `source`, `sourcetype`, `splunk_server`.
 * - SPL understood: `search index=<name> [sourcetype=<name>] …`; a pipe to an unknown command is 400
 *   `{"messages":[{"type":"FATAL","text":"Error in 'search' command: Unknown search command '…'."}]}`.
 * - Search concurrency: past the role's quota of concurrent historical searches, 503 with
 *   `{"messages":[{"type":"WARN","text":"Search not executed: The maximum number of concurrent historical
 *   searches for this user based on their role quota has been reached."}]}` (the text users report, e.g.
 *   github.com/hasadna/open-bus/issues/177, and the `concurrency_*` fields after it).
 * - `GET /services/authentication/current-context?output_mode=json`: `{entry:[{content:{username, roles,
 *   capabilities}}]}`; a role without the `search` capability cannot run searches (403).
 *
 * Assumed where Splunk is silent: results of one search over a closed index-time window come in the same
 * order every time (newest `_time` first, ties by `_cd`); an injected empty page is an export with no
 * results; the rate-limit fault answers 429 with `Retry-After`.
 */
import {
  type Clock,
  ipv4,
  json,
  person,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimRequest,
  SimServer,
  seedOf,
  streamOf,
  TimedLog,
} from '../../sim/kit.ts';

export interface SplunkSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events in index `main` generated up front (default 40), `spacingMs` apart before now. */
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Concurrent searches the role allows (default 3). */
  maxConcurrent?: number;
  /** The role lacks the `search` capability. */
  noSearchCapability?: boolean;
  host?: string;
  port?: number;
}

const FORBIDDEN_COMMANDS = new Set(['bogus']);
const epoch = (v: string | null) => (v && /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : undefined);

export class SplunkSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly token: string;
  readonly username = 'tributary';
  readonly password: string;
  private readonly o: SplunkSimulatorOptions & { spacingMs: number; maxConcurrent: number };
  private readonly log = new TimedLog(1000);
  private readonly indexes: string[] = [];
  private running = 0;
  /** Exports held open until released (to test concurrency), by count. */
  private hold: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(o: SplunkSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'credentials'));
    this.token = `eyJ${rng.base64url(30)}.eyJ${rng.base64url(60)}.${rng.base64url(43)}`;
    this.password = rng.base62(20);
    this.o = { spacingMs: 60_000, maxConcurrent: 3, ...o };
    this.server = new SimServer({
      name: 'splunk',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) =>
          json(status, {
            messages: [{ type: 'ERROR', text: status >= 500 ? 'Internal server error' : 'error' }],
          }),
        rateLimitReply: () => json(429, { messages: [{ type: 'WARN', text: 'Too many requests' }] }),
      },
    });
    this.server.route('POST', '/services/search/v2/jobs/export', (req) => this.export(req));
    this.server.route('GET', '/services/authentication/current-context', (req) =>
      this.authed(req)
        ? json(200, {
            entry: [
              {
                name: this.username,
                content: {
                  username: this.username,
                  roles: ['tributary_search'],
                  capabilities: o.noSearchCapability ? ['list_inputs'] : ['search', 'list_inputs'],
                },
              },
            ],
          })
        : this.unauthenticated(),
    );
    for (const m of ['POST', 'DELETE'])
      this.server.route(m, '/services/*', () =>
        json(405, { messages: [{ type: 'ERROR', text: 'not allowed' }] }),
      );
    const now = this.clock();
    const n = o.events ?? 40;
    const start = now - 2 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    this.add(
      Array.from(
        { length: n },
        (_, i) => [start + i * this.o.spacingMs, start + i * this.o.spacingMs] as [number, number],
      ),
    );
  }

  override stop(): Promise<void> {
    this.release?.();
    return this.server.stop();
  }

  /** Calls that could change Splunk state: searches through export only read. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/services/search/v2/jobs/export');
  }

  /** Adds events to `main`: `[_time, _indextime]` pairs (ms). */
  add(events: Array<[number, number]>, index = 'main'): void {
    for (const [t, indexed] of events) {
      this.log.add(t, indexed);
      this.indexes.push(index);
    }
  }

  /** Exports answer nothing until `releaseExports` (they count as running searches meanwhile). */
  holdExports(): void {
    this.hold = new Promise((ok) => (this.release = ok));
  }

  releaseExports(): void {
    this.release?.();
    this.hold = undefined;
  }

  /** Ids (`_bkt:_cd`) of every event indexed by `at` in `index`. */
  ids(at = this.clock(), index = 'main'): string[] {
    return this.log
      .ascending()
      .filter((s) => this.log.vis[s] <= at && this.indexes[s] === index)
      .map((s) => this.idOf(s));
  }

  private idOf(seq: number): string {
    const r = this.result(seq);
    return `${r._bkt}:${r._cd}`;
  }

  private authed(req: SimRequest): boolean {
    const a = req.headers.authorization ?? '';
    return (
      a === `Bearer ${this.token}` ||
      a === `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`
    );
  }

  private unauthenticated() {
    return json(401, { messages: [{ type: 'WARN', text: 'call not properly authenticated' }] });
  }

  private async export(req: SimRequest) {
    if (!this.authed(req)) return this.unauthenticated();
    if (this.o.noSearchCapability)
      return json(403, {
        messages: [{ type: 'ERROR', text: 'User tributary does not have the capability to run searches.' }],
      });
    const form = new URLSearchParams(req.body.toString());
    const spl = (form.get('search') ?? '').trim();
    if (form.get('output_mode') !== 'json')
      return json(400, {
        messages: [{ type: 'ERROR', text: 'this simulator answers output_mode=json only' }],
      });
    if (!/^(search\s|\|)/i.test(spl))
      return json(400, { messages: [{ type: 'FATAL', text: 'Unknown search command' }] });
    for (const m of spl.matchAll(/\|\s*(\w+)/g))
      if (FORBIDDEN_COMMANDS.has(m[1].toLowerCase()))
        return json(400, {
          messages: [{ type: 'FATAL', text: `Error in 'search' command: Unknown search command '${m[1]}'.` }],
        });
    if (this.running >= this.o.maxConcurrent)
      return json(503, {
        messages: [
          {
            type: 'WARN',
            text: `Search not executed: The maximum number of concurrent historical searches for this user based on their role quota has been reached., concurrency_category="historical", concurrency_context="user_instance-wide", current_concurrency=${this.running}, concurrency_limit=${this.o.maxConcurrent}`,
          },
        ],
      });
    const index = /\bindex=(\w+)/.exec(spl)?.[1];
    const sourcetype = /\bsourcetype=(\S+)/.exec(spl)?.[1];
    const ie = epoch(form.get('index_earliest')) ?? -Infinity;
    const il = epoch(form.get('index_latest')) ?? Infinity;
    const te = epoch(form.get('earliest_time')) ?? -Infinity;
    const tl = epoch(form.get('latest_time')) ?? Infinity;
    const now = this.clock();
    const seqs = req.empty
      ? []
      : this.log
          .ascending()
          .filter(
            (s) =>
              this.log.vis[s] <= now &&
              this.log.vis[s] >= ie &&
              this.log.vis[s] < il &&
              this.log.t[s] >= te &&
              this.log.t[s] < tl &&
              (!index || this.indexes[s] === index) &&
              (!sourcetype || sourcetype === 'linux_secure'),
          )
          .reverse(); // newest _time first
    this.running++;
    if (this.hold) await this.hold;
    const self = this;
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: streamOf(function* () {
        try {
          for (let i = 0; i < seqs.length; i++)
            yield `${JSON.stringify({
              preview: false,
              offset: i,
              ...(i === seqs.length - 1 ? { lastrow: true } : {}),
              result: self.result(seqs[i]),
            })}\n`;
        } finally {
          self.running--;
        }
      }),
    };
  }

  private result(seq: number): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'event', seq));
    const t = this.log.t[seq];
    const indexed = Math.floor(this.log.vis[seq] / 1000);
    const who = person(rng, 'acme.com');
    const ip = ipv4(rng);
    const pad = this.o.eventBytes ? ` ${'x'.repeat(Math.max(0, this.o.eventBytes - 700))}` : '';
    const time = new Date(t).toISOString().replace('Z', '+00:00');
    const index = this.indexes[seq];
    return {
      _bkt: `${index}~${Math.floor(t / 86_400_000) % 1000}~6F1D2C9B-2A4E-4C52-9E5A-0D6E2B1F${String(this.seed % 10000).padStart(4, '0')}`,
      _cd: `${Math.floor(t / 86_400_000) % 1000}:${seq}`,
      _indextime: String(indexed),
      _raw: `${new Date(t).toUTCString()} web01 sshd[${rng.int(1000, 9999)}]: Accepted publickey for ${who.login} from ${ip} port ${rng.int(1024, 65535)} ssh2${pad}`,
      _serial: String(seq),
      _si: ['idx01', index],
      _sourcetype: 'linux_secure',
      _time: time,
      host: 'web01',
      index,
      linecount: '1',
      source: '/var/log/secure',
      sourcetype: 'linux_secure',
      splunk_server: 'idx01',
    };
  }
}
