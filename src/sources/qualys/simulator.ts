/**
 * Qualys API v2 simulator: Host List Detection (XML) and the activity log (CSV), following the Qualys API
 * (VM, PC) reference on docs.qualys.com (and the facts cited in ./index.ts and the `qualys` account kind):
 *
 * - https://docs.qualys.com/en/vm/api/assets/get_started/authentication.htm ("Basic Authentication") — Basic
 *   credentials; "The "X-Requested-With" header parameter must be included in all API v2 calls". A wrong
 *   password → 401 `SIMPLE_RETURN` (`CODE` 2000, "Bad Login/Password", the text Qualys' troubleshooting note
 *   https://discussions.qualys.com/docs/DOC-7025-troubleshooting-qualys-api shows).
 * - https://docs.qualys.com/en/vm/api/scans/get_started/get_started.htm ("HTTP Response Headers") — every
 *   answer carries `X-RateLimit-Limit`, `X-RateLimit-Window-Sec`, `X-RateLimit-Remaining`,
 *   `X-RateLimit-ToWait-Sec`, `X-Concurrency-Limit-Limit`, `X-Concurrency-Limit-Running`; "409 Conflict" for
 *   API calls that were blocked. https://docs.qualys.com/en/vm/qweb-all-api/appendix/appendix_d.htm (Appendix D,
 *   "Error Codes/Descriptions") — 1965 "The requested operation is blocked by one or more existing Business
 *   Objects", "Too many other API requests have run recently (i.e. rate limit)"; the table prints "400
 *   Conflict" for 1965, the headers page's 409 is served. A blocked call (an injected rate-limit fault, or
 *   `blockNext`) → 409 with `X-RateLimit-ToWait-Sec` and that `SIMPLE_RETURN`.
 * - https://docs.qualys.com/en/vm/api/assets/host_lists/host_detection.htm ("Host Detection List") — `GET
 *   /api/2.0/fo/asset/host/vm/detection/?action=list&vm_processed_after&vm_processed_before&truncation_limit&
 *   show_results`: hosts whose current processing time is in the range, by host ID; past `truncation_limit`
 *   hosts a `WARNING` (`CODE` 1980, `TEXT`, `URL` with `id_min`) ends the answer. Each host has
 *   `detectionsPerHost` detections, all processed at the host's time.
 * - https://docs.qualys.com/en/vm/api/users/activity/export_activity.htm ("Export User Activity Log", the
 *   input parameters table) — `GET /api/2.0/fo/activity_log/?action=list` (required) exports "the user
 *   activity log for a subscription to CSV format"; optional `user_action`, `action_details`, `username`,
 *   `user_role` filters (served unfiltered here) and `since_datetime` / `until_datetime` "in the format
 *   YYYY-MM-DD HH:ii:ss", since "less than or equal to today's date", until "more than or equal to
 *   since_datetime, and less than or equal to today's date" (otherwise 400, `CODE` 1905).
 * - Anything but GET is routed (`POST /api/2.0/fo/scan/?action=launch`) and reported by `writeCalls()`.
 *
 * Decided by the simulator (the pages leave it open, or ./index.ts assumes it): both bounds inclusive; detection
 * bounds as `YYYY-MM-DDTHH:MM:SSZ` (400, 1905 otherwise); activity bounds read as UTC, and a bound later than
 * now refused (stricter than "today's date"); a missing `X-Requested-With` → 400 (`CODE` 2003); a missing
 * permission → 403 (`CODE` 2002); an activity-log parameter the page does not list (other than the simulator's
 * own `id_max`) → 400 (`CODE` 1905, "Unrecognized parameter"). The activity CSV: `content-type: text/csv`,
 * the rows between `----BEGIN_RESPONSE_BODY_CSV` and `----END_RESPONSE_BODY_CSV` lines, a header row `Date`,
 * `Action`, `Module`, `Details`, `User Name`, `User Role`, `User IP`, every field quoted, `Date` as
 * `YYYY-MM-DDTHH:MM:SSZ`, newest entry (highest log id) first; past `activityPageSize` rows (default 1000) the
 * answer is truncated and a footer (`----BEGIN_RESPONSE_FOOTER_CSV`, `WARNING`, `"CODE","TEXT","URL"`, the
 * 1980 row, `----END_RESPONSE_FOOTER_CSV`) gives the next page's URL: the request with `id_max` = the log id of
 * the next (older) entry.
 */

import { hashId } from '../../core/envelope.ts';
import {
  type Clock,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from '../../sim/kit.ts';

export interface QualysSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Hosts and activity entries generated up front (default 30 each), `spacingMs` apart, ending 5 min before now. */
  records?: number;
  spacingMs?: number;
  detectionsPerHost?: number;
  eventBytes?: number;
  /** Streams the user may not read (403). */
  forbidden?: Array<'detections' | 'activity'>;
  /** Activity-log rows per answer before it is truncated with a next-page URL (default 1000). */
  activityPageSize?: number;
}

interface Version {
  t: number;
  vis: number;
}

interface Item {
  seq: number;
  versions: Version[];
}

const DETECTION_PATH = '/api/2.0/fo/asset/host/vm/detection/';
const ACTIVITY_PATH = '/api/2.0/fo/activity_log/';
const SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** "Date must be in the format YYYY-MM-DD HH:ii:ss" (Export User Activity Log). */
const ACTIVITY_SECONDS = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const ACTIVITY_PARAMS = new Set([
  'action',
  'user_action',
  'action_details',
  'username',
  'since_datetime',
  'until_datetime',
  'user_role',
  'id_max',
]);
const ACTIVITY_COLUMNS = ['Date', 'Action', 'Module', 'Details', 'User Name', 'User Role', 'User IP'];
const quoted = (fields: string[]) => fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',');
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class QualysSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly username: string;
  readonly password: string;
  private readonly o: QualysSimulatorOptions & { spacingMs: number; detectionsPerHost: number };
  private readonly hosts: Item[] = [];
  private readonly activity: Item[] = [];
  private loopPages = 0;
  private blocked = 0;

  constructor(o: QualysSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'user'));
    this.username = `acme${rng.int(10, 99)}_tr`;
    this.password = rng.base62(24);
    this.o = { spacingMs: 60_000, detectionsPerHost: 2, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => simpleReturn(status, status === 401 ? 2000 : 999, 'Error'),
        rateLimitReply: (_req, wait) => this.blockedReply(wait),
        decorate: (_req, reply) => {
          reply.headers = { ...rateHeaders(reply.status === 409), ...reply.headers };
        },
      },
    });
    this.server.route('GET', DETECTION_PATH, (r) => this.guard(r, 'detections', () => this.detections(r)));
    this.server.route('GET', ACTIVITY_PATH, (r) => this.guard(r, 'activity', () => this.activityLog(r)));
    this.server.route('POST', '/api/2.0/fo/scan/', () => simpleReturn(200, 0, 'New vm scan launched'));
    const now = this.clock();
    const n = o.records ?? 30;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (let i = 0; i < n; i++) {
      const t = Math.floor((first + i * this.o.spacingMs) / 1000) * 1000;
      this.hosts.push({ seq: i, versions: [{ t, vis: t }] });
      this.activity.push({ seq: i, versions: [{ t, vis: t }] });
    }
  }

  account(): { username: string; password: string; url: string } {
    return { username: this.username, password: this.password, url: this.url };
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** The next `pages` truncated answers give the request's own URL again (a looping vendor). */
  loopWarnings(pages = 1): void {
    this.loopPages = pages;
  }

  /** The next `calls` calls are blocked by the rate limit (409, wait 1 s). */
  blockNext(calls = 1): void {
    this.blocked = calls;
  }

  /** New hosts (or, with `seq`, a new processing of that host: its detections processed again). */
  addHosts(n: number, o: SpacedEvents & { seq?: number } = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).flatMap(([t0, vis]) => {
      const t = Math.floor(t0 / 1000) * 1000;
      const item = o.seq !== undefined ? this.hosts[o.seq] : { seq: this.hosts.length, versions: [] };
      if (o.seq === undefined) this.hosts.push(item);
      item.versions.push({ t, vis });
      return this.hostIds(item, item.versions.length - 1);
    });
  }

  addActivity(n: number, o: SpacedEvents = {}): void {
    for (const [t0, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o)) {
      const t = Math.floor(t0 / 1000) * 1000;
      this.activity.push({ seq: this.activity.length, versions: [{ t, vis }] });
    }
  }

  expectedIds(list: 'detections' | 'activity'): string[] {
    if (list === 'activity') return this.activity.map((item) => hashId(this.activityRecord(item)));
    return this.hosts.flatMap((item) => item.versions.flatMap((_, v) => this.hostIds(item, v)));
  }

  // -------------------------------------------------------------------------------------------

  /** An activity entry's log id: entries are numbered as they are logged. */
  private logId(item: Item): number {
    return 500000 + item.seq;
  }

  private hostId(item: Item): number {
    return 100000 + item.seq * 7;
  }

  private vulnId(item: Item, d: number): string {
    return String(9000000 + item.seq * 100 + d);
  }

  private hostIds(item: Item, v: number): string[] {
    return Array.from(
      { length: this.o.detectionsPerHost },
      (_, d) => `${this.vulnId(item, d)}@${iso(item.versions[v].t)}`,
    );
  }

  private blockedReply(wait: number): SimReply {
    const reply = simpleReturn(
      409,
      1965,
      'The requested operation is blocked by one or more existing Business Objects',
      `<ITEM_LIST><ITEM><KEY>SECONDS_TO_WAIT</KEY><VALUE>${wait}</VALUE></ITEM></ITEM_LIST>`,
    );
    reply.headers = { ...reply.headers, ...rateHeaders(true), 'x-ratelimit-towait-sec': String(wait) };
    return reply;
  }

  private guard(req: SimRequest, list: 'detections' | 'activity', next: () => SimReply): SimReply {
    const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return simpleReturn(401, 2000, 'Bad Login/Password');
    if (!req.headers['x-requested-with'])
      return simpleReturn(400, 2003, 'Missing required header: X-Requested-With');
    if (this.o.forbidden?.includes(list)) return simpleReturn(403, 2002, 'User does not have permission');
    if (this.blocked > 0) {
      this.blocked--;
      return this.blockedReply(1);
    }
    if (req.query.get('action') !== 'list')
      return simpleReturn(400, 1903, 'Missing required parameter action');
    return next();
  }

  private current(item: Item, now: number): Version | undefined {
    let v: Version | undefined;
    for (const x of item.versions) if (x.vis <= now) v = x;
    return v;
  }

  private range(req: SimRequest, after: string, before: string): [number, number] | SimReply {
    const a = req.query.get(after);
    const b = req.query.get(before);
    for (const [k, v] of [
      [after, a],
      [before, b],
    ] as const)
      if (v !== null && !SECONDS.test(v))
        return simpleReturn(400, 1905, `Invalid ${k}: expected YYYY-MM-DDTHH:MM:SSZ`);
    return [a ? Date.parse(a) : -Infinity, b ? Date.parse(b) : Infinity];
  }

  private limit(req: SimRequest): number | SimReply {
    const n = Number(req.query.get('truncation_limit') ?? 1000);
    return Number.isInteger(n) && n >= 0
      ? n || Infinity
      : simpleReturn(400, 1905, 'Invalid truncation_limit');
  }

  private warning(req: SimRequest, param: string, value: number): string {
    const u = new URL(req.url.toString());
    u.searchParams.set(param, String(value));
    return `<WARNING><CODE>1980</CODE><TEXT>${'1000'} record limit exceeded. Use URL to get next batch of results.</TEXT><URL><![CDATA[${u.toString()}]]></URL></WARNING>`;
  }

  private detections(req: SimRequest): SimReply {
    const range = this.range(req, 'vm_processed_after', 'vm_processed_before');
    if (!Array.isArray(range)) return range;
    const limit = this.limit(req);
    if (typeof limit !== 'number') return limit;
    const idMin = Number(req.query.get('id_min') ?? 0);
    const now = this.clock();
    const hits: Array<{ item: Item; v: Version }> = [];
    for (const item of this.hosts) {
      const v = this.current(item, now);
      if (v && v.t >= range[0] && v.t <= range[1] && this.hostId(item) >= idMin) hits.push({ item, v });
    }
    hits.sort((a, b) => this.hostId(a.item) - this.hostId(b.item));
    const page = req.empty ? [] : hits.slice(0, limit);
    let tail = '';
    if (req.empty) tail = this.warning(req, 'id_min', idMin);
    else if (hits.length > page.length) {
      const looping = this.loopPages > 0;
      if (looping) this.loopPages--;
      tail = this.warning(req, 'id_min', looping ? idMin : this.hostId(hits[page.length].item));
    }
    const hosts = page.map(({ item, v }) => this.hostXml(item, v)).join('');
    return xml(
      200,
      `<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd">\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>${iso(now)}</DATETIME>${hosts ? `<HOST_LIST>${hosts}</HOST_LIST>` : ''}${tail}</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`,
    );
  }

  private hostXml(item: Item, v: Version): string {
    const rng = new Rng(seedOf(this.seed, 'host', item.seq));
    const ip = `10.30.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    const dns = `host-${item.seq}.acme.example`;
    const pad = this.o.eventBytes
      ? `<ASSET_NOTE>${'x'.repeat(Math.max(0, this.o.eventBytes - 1500))}</ASSET_NOTE>`
      : '';
    const detections = Array.from({ length: this.o.detectionsPerHost }, (_, d) => {
      const qid = 38000 + ((item.seq * 13 + d * 7) % 900);
      return `<DETECTION><UNIQUE_VULN_ID>${this.vulnId(item, d)}</UNIQUE_VULN_ID><QID>${qid}</QID><TYPE>Confirmed</TYPE><SEVERITY>${1 + ((item.seq + d) % 5)}</SEVERITY><PORT>443</PORT><PROTOCOL>tcp</PROTOCOL><SSL>1</SSL><RESULTS><![CDATA[TLSv1.0 is supported & <weak> ciphers: ${esc('RC4-SHA')}]]></RESULTS><STATUS>${v === item.versions[0] ? 'New' : 'Active'}</STATUS><FIRST_FOUND_DATETIME>${iso(item.versions[0].t)}</FIRST_FOUND_DATETIME><LAST_FOUND_DATETIME>${iso(v.t)}</LAST_FOUND_DATETIME><TIMES_FOUND>${item.versions.indexOf(v) + 1}</TIMES_FOUND><LAST_TEST_DATETIME>${iso(v.t)}</LAST_TEST_DATETIME><LAST_UPDATE_DATETIME>${iso(v.t)}</LAST_UPDATE_DATETIME><IS_IGNORED>0</IS_IGNORED><IS_DISABLED>0</IS_DISABLED><LAST_PROCESSED_DATETIME>${iso(v.t)}</LAST_PROCESSED_DATETIME></DETECTION>`;
    }).join('');
    return `<HOST><ID>${this.hostId(item)}</ID><IP>${ip}</IP><TRACKING_METHOD>IP</TRACKING_METHOD><OS><![CDATA[Ubuntu Linux 22.04]]></OS><DNS><![CDATA[${dns}]]></DNS><NETBIOS><![CDATA[HOST-${item.seq}]]></NETBIOS><LAST_SCAN_DATETIME>${iso(v.t - 300_000)}</LAST_SCAN_DATETIME><LAST_VM_SCANNED_DATE>${iso(v.t - 300_000)}</LAST_VM_SCANNED_DATE><LAST_VM_SCANNED_DURATION>512</LAST_VM_SCANNED_DURATION>${pad}<DETECTION_LIST>${detections}</DETECTION_LIST></HOST>`;
  }

  private activityRecord(item: Item): Record<string, string> {
    const rng = new Rng(seedOf(this.seed, 'activity', item.seq));
    return {
      Date: iso(item.versions[0].t),
      Action: rng.pick(['login', 'launch', 'edit', 'create', 'request']),
      Module: rng.pick(['auth', 'scan', 'user', 'option_profile']),
      Details: `entry ${item.seq}: ${rng.pick(['user_logged in', 'vm scan launched: "Weekly, DMZ"', 'option profile updated'])}${'.'.repeat(Math.max(0, (this.o.eventBytes ?? 0) - 300))}`,
      'User Name': `acme_${rng.pick(['ad', 'jm', 'tr'])}${rng.int(1, 9)}`,
      'User Role': rng.pick(['Manager', 'Scanner', 'Reader']),
      'User IP': `198.51.100.${rng.int(1, 254)}`,
    };
  }

  private activityLog(req: SimRequest): SimReply {
    for (const k of req.query.keys())
      if (!ACTIVITY_PARAMS.has(k)) return simpleReturn(400, 1905, `Unrecognized parameter(s): ${k}`);
    const now = this.clock();
    const bounds: number[] = [];
    for (const k of ['since_datetime', 'until_datetime']) {
      const v = req.query.get(k);
      if (v === null) continue;
      if (!ACTIVITY_SECONDS.test(v))
        return simpleReturn(400, 1905, `Invalid ${k}: Date must be in the format YYYY-MM-DD HH:ii:ss`);
      const t = Date.parse(`${v.replace(' ', 'T')}Z`);
      if (t > now) return simpleReturn(400, 1905, `Invalid ${k}: must be less than or equal to today's date`);
      bounds.push(t);
    }
    const since = req.query.has('since_datetime') ? bounds[0] : -Infinity;
    const until = req.query.has('until_datetime') ? (bounds.at(-1) as number) : Infinity;
    if (until < since)
      return simpleReturn(400, 1905, 'Invalid until_datetime: must be more than or equal to since_datetime');
    const idMax = req.query.has('id_max') ? Number(req.query.get('id_max')) : Infinity;
    if (Number.isNaN(idMax)) return simpleReturn(400, 1905, 'Invalid id_max');
    const hits = this.activity
      .filter((item) => {
        const v = item.versions[0];
        return v.vis <= now && v.t >= since && v.t <= until && this.logId(item) <= idMax;
      })
      .sort((a, b) => this.logId(b) - this.logId(a));
    const size = this.o.activityPageSize ?? 1000;
    const page = req.empty ? [] : hits.slice(0, size);
    let next: number | undefined;
    if (req.empty) next = Number.isFinite(idMax) ? idMax : hits[0] ? this.logId(hits[0]) : undefined;
    else if (hits.length > page.length) {
      const looping = this.loopPages > 0;
      if (looping) this.loopPages--;
      next = looping && Number.isFinite(idMax) ? idMax : this.logId(hits[page.length]);
    }
    const lines = ['----BEGIN_RESPONSE_BODY_CSV', quoted(ACTIVITY_COLUMNS)];
    for (const item of page) {
      const r = this.activityRecord(item);
      lines.push(quoted(ACTIVITY_COLUMNS.map((c) => r[c])));
    }
    lines.push('----END_RESPONSE_BODY_CSV');
    if (next !== undefined) {
      const u = new URL(req.url.toString());
      u.searchParams.set('id_max', String(next));
      lines.push(
        '----BEGIN_RESPONSE_FOOTER_CSV',
        'WARNING',
        quoted(['CODE', 'TEXT', 'URL']),
        quoted([
          '1980',
          `${size} record limit exceeded. Use URL to get next batch of results.`,
          u.toString(),
        ]),
        '----END_RESPONSE_FOOTER_CSV',
      );
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/csv;charset=UTF-8' },
      body: `${lines.join('\n')}\n`,
    };
  }
}

function rateHeaders(blocked: boolean): Record<string, string> {
  return {
    'x-ratelimit-limit': '300',
    'x-ratelimit-window-sec': '3600',
    'x-ratelimit-remaining': blocked ? '0' : '299',
    'x-ratelimit-towait-sec': '0',
    'x-concurrency-limit-limit': '2',
    'x-concurrency-limit-running': '1',
  };
}

function xml(status: number, body: string): SimReply {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8" ?>\n${body}`,
  };
}

function simpleReturn(status: number, code: number, text: string, extra = ''): SimReply {
  return xml(
    status,
    `<!DOCTYPE SIMPLE_RETURN SYSTEM "https://qualysapi.qualys.com/api/2.0/simple_return.dtd">\n<SIMPLE_RETURN><RESPONSE><DATETIME>${iso(Date.now())}</DATETIME><CODE>${code}</CODE><TEXT>${esc(text)}</TEXT>${extra}</RESPONSE></SIMPLE_RETURN>`,
  );
}
