/**
 * Cylance PROTECT User API v2 simulator: the token exchange and the threats, detections and devices lists,
 * following the Cylance User API guide (docs.blackberry.com, "Cylance API user guide"; the same pages now at
 * docs.arcticwolf.com, "Aurora Endpoint Defense API") and the facts cited in ./index.ts and the `cylance`
 * account kind:
 *
 * - `POST /auth/v2/token` with `{"auth_token": <JWT>}` ("Authentication token",
 *   https://docs.blackberry.com/en/unified-endpoint-security/blackberry-ues/Cylance-API-user-guide/RESTful_API/Authentication/Authentication-token):
 *   the JWT is signed with the application secret (HS256 here) and carries `iss` "http://cylance.com", `sub`
 *   the application ID, `tid` the tenant ID, `jti` ("Unique ID for the token, which can be used to prevent
 *   reply attacks"), `iat` and `exp`; "The longest time-span honored by the service is 30 minutes from the
 *   value specified in the iat claim. Specifying a longer time-span will result in an HTTP 400 (Bad Request)".
 *   Answers `{"access_token": …}`.
 * - Lists need `Authorization: Bearer <access token>` with the list's scope encoded (each list's page,
 *   "Request headers"); `page` from 1; answers `{page_number, page_size, total_pages, total_number_of_items,
 *   page_items}` ("Get threats",
 *   https://docs.arcticwolf.com/en/developer-and-oem/aurora-endpoint-defense-api/threat-api/get-threats,
 *   "Response JSON schema"); `page_size` at most 200 ("Get device threat",
 *   https://docs.blackberry.com/en/unified-endpoint-security/blackberry-ues/Cylance-API-user-guide/Device-API/Get_Device_Threat:
 *   "The maximum page size that can be specified is 200 entries per page"), default 10 (20 for detections).
 * - `GET /detections/v2?start&end` ("Get detections",
 *   https://docs.blackberry.com/en/unified-endpoint-security/blackberry-ues/Cylance-API-user-guide/Detections_API/Get_Detections):
 *   "sorted in descending order (most recent detection listed first)", default page size 20; records
 *   `{Id, PhoneticId, OccurrenceTime, ReceivedTime, Severity, Status, Device, DetectionDescription}`.
 * - Threats are listed with `last_found` ("the date and time (in UTC) when the threat was last found"), newest
 *   first; times of threats and devices carry no zone (UTC), detections' end in Z.
 * - Writes (`PUT /devices/v2/{id}`, `POST /globallists/v2`) are routed and reported by `writeCalls()`.
 *
 * Decided by the simulator: every other refusal of the auth token (signature, alg, iss, sub/tid, a `jti` seen
 * before, `exp` already past — checked against the real clock, as Cylance checks the sender's) is 401; a
 * missing or unknown access token, or one issued before `expireTokens()`, is 401; a list the application may
 * not read is 403; `page_size` above 200 is 400; detections' `start`/`end` filter `OccurrenceTime`, both
 * inclusive; threats and devices are not filtered (the threats page documents `start_time`/`end_time` on the
 * detection date, which the simulator does not serve); a threat found again moves to its new `last_found`; an
 * empty page (`empty` fault) claims the page before it, so the client asks the same page again.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type Clock,
  json,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  stableUuid,
} from '../../sim/kit.ts';
import { padRecord, type VersionedRecord, VersionedRecords } from '../../sim/versioned.ts';

export type CylanceList = 'threats' | 'detections' | 'devices';

export interface CylanceSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records of each list generated up front (default 30), `spacingMs` apart, ending 5 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  forbidden?: CylanceList[];
}

type Item = VersionedRecord;
type Version = Item['versions'][number];

const zoneless = (ms: number) => new Date(ms).toISOString().slice(0, 19);

export class CylanceSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly tenantId: string;
  readonly appId: string;
  readonly appSecret: string;
  /** The claims of each accepted auth token (for tests). */
  readonly claims: Array<Record<string, unknown>> = [];
  /** Why each refused auth token was refused (for tests). */
  readonly refusals: string[] = [];
  private readonly o: CylanceSimulatorOptions & { spacingMs: number };
  private readonly lists: Record<CylanceList, VersionedRecords> = {
    threats: new VersionedRecords(1000),
    detections: new VersionedRecords(1000),
    devices: new VersionedRecords(1000),
  };
  private readonly jtis = new Set<string>();
  private issued = 0;
  private validFrom = 1;
  private loopPages = 0;

  constructor(o: CylanceSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.tenantId = stableUuid(80, 1, this.seed);
    this.appId = stableUuid(80, 2, this.seed);
    this.appSecret = new Rng(seedOf(this.seed, 'secret')).base62(36);
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => json(status, { message: status === 401 ? 'Unauthorized' : 'Error' }),
        rateLimitReply: () => json(429, { message: 'Too Many Requests' }),
      },
    });
    this.server.route('POST', '/auth/v2/token', (r) => this.token(r));
    for (const list of ['threats', 'detections', 'devices'] as const)
      this.server.route('GET', `/${list}/v2`, (r) => this.list(r, list));
    this.server.route('PUT', '/devices/v2/:id', () => ({ status: 200 }));
    this.server.route('POST', '/globallists/v2', () => ({ status: 200 }));
    const now = this.clock();
    const n = o.records ?? 30;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const list of ['threats', 'detections', 'devices'] as const)
      for (let i = 0; i < n; i++) {
        const t = first + i * this.o.spacingMs;
        this.lists[list].add(t, t, {});
      }
  }

  account(): { tenantId: string; appId: string; appSecret: string; url: string } {
    return { tenantId: this.tenantId, appId: this.appId, appSecret: this.appSecret, url: this.url };
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/auth/v2/token');
  }

  expireTokens(): void {
    this.validFrom = this.issued + 1;
  }

  tokensIssued(): number {
    return this.issued;
  }

  loopPagesNext(pages = 1): void {
    this.loopPages = pages;
  }

  /** New records (with `seq`, a threat found again). */
  addRecords(list: CylanceList, n: number, o: SpacedEvents & { seq?: number } = {}): string[] {
    return this.lists[list]
      .spaced(n, this.clock(), this.o.spacingMs, o, {})
      .map(({ record, version }) => this.eventId(list, record, version));
  }

  expectedIds(list: CylanceList): string[] {
    return this.lists[list].records.flatMap((item) =>
      list === 'threats'
        ? item.versions.map((_, v) => this.eventId(list, item, v))
        : [this.eventId(list, item, 0)],
    );
  }

  // -------------------------------------------------------------------------------------------

  private sha(item: Item): string {
    return new Rng(seedOf(this.seed, 'sha', item.seq)).hex(64).toUpperCase();
  }

  private eventId(list: CylanceList, item: Item, v: number): string {
    if (list === 'threats') return `${this.sha(item)}@${zoneless(item.versions[v].t)}Z`;
    return stableUuid(list === 'detections' ? 81 : 82, item.seq, this.seed);
  }

  private token(req: SimRequest): SimReply {
    let jwt: unknown;
    try {
      jwt = JSON.parse(req.body.toString()).auth_token;
    } catch {
      jwt = undefined;
    }
    const refuse = (why: string) => {
      this.refusals.push(why);
      return json(401, { message: 'Unauthorized' });
    };
    if (typeof jwt !== 'string') return refuse('no auth_token');
    const [h, p, sig] = jwt.split('.');
    const expected = createHmac('sha256', this.appSecret).update(`${h}.${p}`).digest();
    const got = Buffer.from(sig ?? '', 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return refuse('signature');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const c = JSON.parse(Buffer.from(p, 'base64url').toString());
    if (header.alg !== 'HS256') return refuse('alg');
    if (c.iss !== 'http://cylance.com') return refuse('iss');
    if (c.sub !== this.appId || c.tid !== this.tenantId) return refuse('sub/tid');
    if (typeof c.jti !== 'string' || this.jtis.has(c.jti)) return refuse('jti');
    const now = Date.now() / 1000;
    if (!Number.isInteger(c.exp) || !Number.isInteger(c.iat) || c.exp <= now) return refuse('exp');
    if (c.exp - c.iat > 1800) {
      // "Specifying a longer time-span will result in an HTTP 400 (Bad Request)" (Authentication token).
      this.refusals.push('lifetime');
      return json(400, { message: 'Bad Request' });
    }
    this.jtis.add(c.jti);
    this.claims.push(c);
    return json(200, { access_token: `cyl-token-${++this.issued}` });
  }

  private list(req: SimRequest, list: CylanceList): SimReply {
    const m = /^Bearer cyl-token-(\d+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m || Number(m[1]) < this.validFrom || Number(m[1]) > this.issued)
      return json(401, { message: 'Unauthorized' });
    if (this.o.forbidden?.includes(list)) return json(403, { message: 'Forbidden' });
    const page = Number(req.query.get('page') ?? 1);
    const size = Number(req.query.get('page_size') ?? (list === 'detections' ? 20 : 10));
    if (!Number.isInteger(page) || page < 1) return json(400, { message: 'Invalid page' });
    if (!Number.isInteger(size) || size < 1 || size > 200) return json(400, { message: 'Invalid page_size' });
    const now = this.clock();
    let lo = -Infinity;
    let hi = Infinity;
    if (list === 'detections') {
      const s = req.query.get('start');
      const e = req.query.get('end');
      lo = s ? Date.parse(s) : -Infinity;
      hi = e ? Date.parse(e) : Infinity;
      if (Number.isNaN(lo) || Number.isNaN(hi)) return json(400, { message: 'Invalid start or end' });
    }
    const hits = this.lists[list]
      .listed(now)
      .filter(({ v }) => v.t >= lo && v.t <= hi)
      .map(({ record, v }) => ({ item: record, v }));
    hits.sort((a, b) => b.v.t - a.v.t || b.item.seq - a.item.seq);
    const totalPages = Math.max(1, Math.ceil(hits.length / size));
    const items = req.empty ? [] : hits.slice((page - 1) * size, page * size);
    // An empty answer (the `empty` fault) claims the page before, so the same page is asked again.
    let pageNumber = req.empty ? page - 1 : page;
    if (!req.empty && this.loopPages > 0 && page < totalPages) {
      this.loopPages--;
      pageNumber = page - 1; // the answer claims the page before: its "next" is this one again
    }
    return json(200, {
      page_number: pageNumber,
      page_size: size,
      total_pages: totalPages,
      total_number_of_items: hits.length,
      page_items: items.map(({ item, v }) => this.record(list, item, v)),
    });
  }

  private record(list: CylanceList, item: Item, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, list, item.seq));
    const host = `CORP-WS-${String(item.seq).padStart(4, '0')}`;
    let r: Record<string, unknown>;
    if (list === 'threats') {
      r = {
        name: rng.pick(['invoice.exe', 'setup_x64.exe', 'update.dll']),
        sha256: this.sha(item),
        md5: rng.hex(32).toUpperCase(),
        cylance_score: -1,
        av_industry: null,
        classification: 'Malware',
        sub_classification: rng.pick(['Trojan', 'Ransom', 'Dropper']),
        global_quarantined: false,
        safelisted: false,
        file_size: rng.int(10_000, 5_000_000),
        unique_to_cylance: true,
        last_found: zoneless(v.t),
      };
    } else if (list === 'detections') {
      r = {
        Id: this.eventId(list, item, 0),
        PhoneticId: `${rng.pick(['ALPHA', 'BRAVO', 'CHARLIE'])}-${rng.int(100, 999)}`,
        OccurrenceTime: `${zoneless(v.t)}Z`,
        ReceivedTime: `${zoneless(v.t + 20_000)}Z`,
        Severity: rng.pick(['Low', 'Medium', 'High']),
        Status: 'New',
        DetectionDescription: 'Suspicious PowerShell command line',
        Device: { CylanceId: stableUuid(83, item.seq % 9, this.seed), Name: host, OsVersion: 'Windows 11' },
      };
    } else {
      r = {
        id: this.eventId(list, item, 0),
        name: host,
        state: 'Online',
        agent_version: '3.1.1001',
        policy: { id: stableUuid(84, 1, this.seed), name: 'Default' },
        date_first_registered: zoneless(v.t),
        ip_addresses: [`10.9.${rng.int(0, 255)}.${rng.int(1, 254)}`],
        mac_addresses: ['00-50-56-AA-BB-CC'],
      };
    }
    return padRecord(r, this.o.eventBytes);
  }
}
