/**
 * LastPass Enterprise API simulator: `POST /enterpriseapi.php`, command `reporting`. Vendor behaviour, with
 * where it is documented (https://support.lastpass.com/help/event-reporting-via-lastpass-api, "Event
 * Reporting via LastPass API": Additional details, Request sample, Response sample):
 *
 * - The body is `{cid, provhash, cmd: "reporting", data: {from, to, user, admin, next}}`; `cid` is "a
 *   mandatory integer parameter", `provhash` the "Company specific provisioning hash"
 *   (https://support.lastpass.com/help/enable-users-via-lastpass-api, "Enable users via LastPass API",
 *   Request). The `search` filter the reporting page also lists is not simulated (the source sends none).
 * - `from`/`to` are `YYYY-MM-DD HH:MM:SS`; "All times should be represented in this time zone: US/Eastern"
 *   (request and answer alike). `user: "allusers"` for every user; `admin: "1"` for admin events only.
 * - "Events are sorted by time, in descending order"; at most 10,000 per answer; `next` "serves as a
 *   paginator when more than 10,000 events occur in the time interval … It's a timestamp with microsecond
 *   precision. Respond with those events that occur within this time or earlier. The response also
 *   contains a 'next' field that is to be used as the value of this parameter" (`null` when there is no
 *   more).
 * - The answer: `{status: "OK", next, data: {Event1: {Time, Username, IP_Address, Action, Data}, …}}`.
 * - Errors are HTTP 200 answers whose `status` is not OK, with an optional `error` "Description of the error
 *   if there was any" (the provisioning commands' Response sections, e.g.
 *   https://support.lastpass.com/help/disable-users-via-lastpass-api, Response).
 *
 * Decided by the simulator where LastPass is silent: `from` and `to` are both inclusive, to the second; `next` is the
 * microsecond time just before the oldest event answered (in US/Eastern, `YYYY-MM-DD HH:MM:SS.ffffff`), so
 * no event is answered twice; a wrong cid or provhash is `{"status": "FAIL", "error": ["Authorization
 * Error"]}`; an empty answer is `data: []` (PHP's empty array); 429 has a Retry-After (LastPass documents
 * no rate limit). Every command other than `reporting` and `getuserdata` changes the account and counts as
 * a write call.
 */
import { formatTime, parseTime } from '../../engine/time-format.ts';
import {
  type Clock,
  ipv4,
  json,
  person,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from '../../sim/kit.ts';

export const EASTERN = 'America/New_York';
/** LastPass's largest answer (support.lastpass.com, "Event Reporting via LastPass API"). */
export const LASTPASS_MAX_EVENTS = 10_000;

const READ_COMMANDS = new Set(['reporting', 'getuserdata']);

export interface LastPassSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events generated up front (default 30), `spacingMs` apart, the last a minute before now. */
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Events per answer before `next` (default 10,000 as documented; smaller in tests). */
  maxPerAnswer?: number;
}

interface Ev {
  seq: number;
  /** UTC ms (LastPass keeps microseconds; answers show whole seconds). */
  t: number;
  vis: number;
  admin: boolean;
}

export class LastPassSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly cid: number;
  readonly provhash: string;
  private readonly o: LastPassSimulatorOptions & { spacingMs: number; maxPerAnswer: number };
  private readonly log: Ev[] = [];
  private seq = 0;
  private loopPages = 0;
  private readonly writes: Array<{ cmd: unknown; at: number }> = [];

  constructor(o: LastPassSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.cid = rng.int(10_000_000, 99_999_999);
    this.provhash = rng.hex(64);
    this.o = { spacingMs: 60_000, maxPerAnswer: LASTPASS_MAX_EVENTS, ...o };
    this.server = new SimServer({
      name: 'lastpass',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => json(status, { status: 'FAIL', error: [`HTTP ${status}`] }),
        rateLimitReply: () => json(429, { status: 'FAIL', error: ['Too many requests'] }),
      },
    });
    this.server.route('POST', '/enterpriseapi.php', (r) => this.api(r));
    const n = o.events ?? 30;
    this.addEvents(n, { from: this.clock() - 60_000 - (n - 1) * this.o.spacingMs });
  }

  account(): Record<string, unknown> {
    return { cid: String(this.cid), provhash: this.provhash, apiUrl: this.url };
  }

  /**
   * Calls that could change the account: any method but GET, HEAD and the Enterprise API's POST, and
   * every Enterprise API command but the reading ones (user and group provisioning): none may be sent.
   */
  writeCalls(): unknown[] {
    return [...this.server.writeCalls().filter((r) => r.path !== '/enterpriseapi.php'), ...this.writes];
  }

  /** Repeats the request's own `next` (or a first page's) instead of moving on, for `pages` answers. */
  loopNext(pages = 1): void {
    this.loopPages = pages;
  }

  /** Every event held, as LastPass answers it (the source's ids are computed from these). */
  records(): Array<Record<string, unknown>> {
    return this.log.map((e) => this.event(e));
  }

  addEvents(n: number, o: SpacedEvents & { admin?: boolean } = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o))
      this.log.push({ seq: this.seq++, t, vis, admin: o.admin ?? this.seq % 5 === 0 });
    this.log.sort((a, b) => b.t - a.t || b.seq - a.seq); // newest first, as LastPass answers
  }

  // -------------------------------------------------------------------------------------------

  private api(req: SimRequest): SimReply {
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return json(200, { status: 'FAIL', error: ['Invalid JSON'] });
    }
    if (body?.cid !== this.cid || body?.provhash !== this.provhash)
      return json(200, { status: 'FAIL', error: ['Authorization Error'] });
    if (!READ_COMMANDS.has(body.cmd)) {
      this.writes.push({ cmd: body.cmd, at: req.at });
      return json(200, { status: 'OK' });
    }
    if (body.cmd !== 'reporting') return json(200, { status: 'OK', data: {} });
    const d = body.data ?? {};
    const from = parseTime(d.from, '%Y-%m-%d %H:%M:%S', EASTERN);
    const to = parseTime(d.to, '%Y-%m-%d %H:%M:%S', EASTERN);
    if (from === undefined || to === undefined)
      return json(200, { status: 'FAIL', error: ['Invalid date range'] });
    let nextMicro = Number.POSITIVE_INFINITY;
    if (d.next !== undefined && d.next !== null) {
      const m = /^(.*)\.(\d{6})$/.exec(String(d.next));
      const sec = m ? parseTime(m[1], '%Y-%m-%d %H:%M:%S', EASTERN) : undefined;
      if (sec === undefined) return json(200, { status: 'FAIL', error: ['Invalid next'] });
      nextMicro = sec * 1000 + Number(m![2]);
    }
    const now = this.clock();
    const inRange = this.log.filter((e) => {
      const second = Math.floor(e.t / 1000) * 1000;
      return (
        e.vis <= now &&
        second >= from &&
        second <= to &&
        e.t * 1000 <= nextMicro &&
        (d.admin !== '1' || e.admin) &&
        (!d.user || d.user === 'allusers' || this.username(e) === d.user)
      );
    });
    if (req.empty) return json(200, { status: 'OK', next: null, data: [] });
    const page = inRange.slice(0, this.o.maxPerAnswer);
    let next: string | null = null;
    if (inRange.length > page.length) {
      const micro = page.at(-1)!.t * 1000 - 1;
      next = `${formatTime(Math.floor(micro / 1000), '%Y-%m-%d %H:%M:%S', EASTERN)}.${String(((micro % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0')}`;
    }
    if (this.loopPages > 0 && page.length > 0) {
      this.loopPages--;
      next = d.next ?? `${formatTime(to, '%Y-%m-%d %H:%M:%S', EASTERN)}.999999`;
    }
    const data: Record<string, unknown> = {};
    page.forEach((e, i) => {
      data[`Event${i + 1}`] = this.event(e);
    });
    return json(200, { status: 'OK', next, data: page.length ? data : [] });
  }

  private username(e: Ev): string {
    return person(new Rng(seedOf(this.seed, 'user', e.seq % 17)), 'acme.example').email;
  }

  private event(e: Ev): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, e.seq));
    const action = e.admin
      ? rng.pick(['Policy Changed', 'Added User', 'Admin Console Login', 'Shared Folder Permissions Changed'])
      : rng.pick(['Log in', 'Failed Login Attempt', 'Site Added', 'Open Secure Note', 'Data Export']);
    const ev: Record<string, unknown> = {
      Time: formatTime(e.t, '%Y-%m-%d %H:%M:%S', EASTERN),
      Username: this.username(e),
      IP_Address: ipv4(rng),
      Action: action,
      Data: action === 'Site Added' ? `site-${e.seq}.example.com` : `ref ${e.seq}`,
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(ev).length;
      if (left > 0) ev.Data = `${ev.Data} ${'x'.repeat(left)}`;
    }
    return ev;
  }
}
