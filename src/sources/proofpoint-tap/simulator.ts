/**
 * Proofpoint TAP SIEM API simulator, following
 * https://help.proofpoint.com/Threat_Insight_Dashboard/API_Documentation/SIEM_API:
 *
 * - "General Service Notes": at most one hour of data per request; "No paging support is available; all the
 *   applicable events in the requested time period will be returned"; results "may not be in any logical
 *   order"; requests "may be throttled"; timestamps are UTC. How far back: item 8, "The maximum time into the
 *   past that can be queried is 7 days with a maximum fetch time of 1 hour" (an older version of the page said
 *   twelve hours): a start (`interval`'s, `sinceTime`, or `sinceSeconds` back) more than 7 days ago → 400.
 * - "Security": SSL, service credentials, HTTP Basic, GET only.
 * - Endpoints `/v2/siem/clicks/blocked`, `/v2/siem/clicks/permitted`, `/v2/siem/messages/blocked`,
 *   `/v2/siem/messages/delivered`, `/v2/siem/issues` (permitted clicks and delivered messages) and
 *   `/v2/siem/all`, each with `format=json|syslog` and one of `interval=<ISO start>/<ISO end>`,
 *   `sinceSeconds`, `sinceTime` (the end then being the server's time rounded to the minute).
 * - "Standard Responses": 200 when at least one record matched, the JSON body
 *   `{"queryEndTime": …, "clicksBlocked": […], …}` holding the arrays the endpoint serves; 204 when none.
 * - Records shaped like the page's samples: messages (`GUID`, `id`, `messageTime`, `sender`, `recipient`,
 *   `subject`, `threatsInfoMap`, scores, …) and clicks (`id`, `GUID`, `clickTime`, `clickIP`, `url`,
 *   `threatURL`, `classification`, …).
 * - Not on Proofpoint's page, from integrations' documentation: the window selects events by the time they were
 *   *created* — the later of the message time and the time its threat was recognized — not the time they
 *   happened, and an interval is 30 seconds to 1 hour long (Okta Workflows' Proofpoint connector reference,
 *   "The events returned for a specified range are based on the time that the event was created"); the
 *   SIEM endpoints "share 1800 calls per rolling 24 hours" (Kestra's Proofpoint SIEM trigger,
 *   https://kestra.io/plugins/plugin-ee-proofpoint/proofpoint-siem/io.kestra.plugin.ee.proofpoint.siem.trigger).
 *
 * Decided by the simulator (the page leaves it open): interval start inclusive and end exclusive; error
 * bodies as plain text; 400 for an interval longer than an hour or shorter than 30 s; 429 past 1,800 requests
 * in 24 hours, without Retry-After.
 */
import { randomUUID } from 'node:crypto';
import { basicAuthorization } from '../../accounts/basic.ts';
import {
  type Clock,
  ipv4,
  json,
  person,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
  stableUuid,
  text,
} from '../../sim/kit.ts';

export const TAP_KINDS = [
  'messagesDelivered',
  'messagesBlocked',
  'clicksPermitted',
  'clicksBlocked',
] as const;
export type TapKind = (typeof TAP_KINDS)[number];

const ENDPOINTS: Record<string, TapKind[]> = {
  'messages/delivered': ['messagesDelivered'],
  'messages/blocked': ['messagesBlocked'],
  'clicks/permitted': ['clicksPermitted'],
  'clicks/blocked': ['clicksBlocked'],
  issues: ['clicksPermitted', 'messagesDelivered'],
  all: [...TAP_KINDS],
};

export interface ProofpointTapSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events generated up front (default 80), `spacingMs` apart, spread over the four kinds. */
  events?: number;
  spacingMs?: number;
  /** Each event is created (listed) this long after it happened (default 0). */
  creationDelayMs?: number;
  eventBytes?: number;
  principal?: string;
  secret?: string;
  /** Requests allowed in any 24 hours (default 1,800). */
  dailyLimit?: number;
}

interface TapEvent {
  kind: TapKind;
  t: number;
  created: number;
  seq: number;
}

const HOUR = 3_600_000;
/** "The maximum time into the past that can be queried is 7 days" (General Service Notes, item 8). */
const RETENTION_MS = 7 * 24 * HOUR;

export class ProofpointTapSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly principal: string;
  readonly secret: string;
  private readonly o: ProofpointTapSimulatorOptions & { spacingMs: number; dailyLimit: number };
  private readonly events: TapEvent[] = [];
  private readonly served: number[] = [];

  constructor(o: ProofpointTapSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.principal = o.principal ?? randomUUID();
    this.secret = o.secret ?? new Rng(this.seed).hex(64);
    this.o = { spacingMs: 30_000, dailyLimit: 1800, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => text(status, MESSAGES[status] ?? `Error ${status}`),
        rateLimitReply: () => text(429, MESSAGES[429]),
      },
    });
    this.server.route('GET', '/v2/siem/*', (r) => this.siem(r));
    const n = o.events ?? 80;
    const now = this.clock();
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (let i = 0; i < n; i++) {
      const t = first + i * this.o.spacingMs;
      this.add(TAP_KINDS[i % 4], t, t + (o.creationDelayMs ?? 0));
    }
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** Adds `n` events of `kind` (round-robin over the four without one); created at their visible time. */
  addEvents(n: number, o: SpacedEvents & { kind?: TapKind } = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis], i) =>
      this.idOf(this.add(o.kind ?? TAP_KINDS[(this.events.length + i) % 4], t, vis)),
    );
  }

  /** Every event id of these kinds (default all four). */
  eventIds(kinds: readonly TapKind[] = TAP_KINDS): string[] {
    return this.events.filter((e) => kinds.includes(e.kind)).map((e) => this.idOf(e));
  }

  // -------------------------------------------------------------------------------------------

  private add(kind: TapKind, t: number, created: number): TapEvent {
    const e = { kind, t: Math.floor(t / 1000) * 1000, created, seq: this.events.length };
    this.events.push(e);
    return e;
  }

  private idOf(e: TapEvent): string {
    return stableUuid(2, e.seq, this.seed);
  }

  private siem(req: SimRequest): SimReply {
    if (req.headers.authorization !== basicAuthorization(this.principal, this.secret))
      return text(401, MESSAGES[401]);
    const now = this.clock();
    while (this.served.length && this.served[0] <= now - 24 * HOUR) this.served.shift();
    if (this.served.length >= this.o.dailyLimit) return text(429, MESSAGES[429]);
    this.served.push(now);
    const kinds = ENDPOINTS[req.params['*']];
    if (!kinds) return text(404, MESSAGES[404]);
    const format = req.query.get('format') ?? 'syslog';
    if (format !== 'json') return text(400, 'Only format=json is simulated.');
    const range = this.range(req, now);
    if (typeof range === 'string') return text(400, range);
    const [from, to] = range;
    const body: Record<string, unknown> = { queryEndTime: new Date(to).toISOString() };
    let found = 0;
    for (const k of kinds) {
      const list = req.empty
        ? []
        : this.events
            .filter((e) => e.kind === k && e.created >= from && e.created < to && e.created <= now)
            .map((e) => this.record(e));
      found += list.length;
      body[k] = list;
    }
    if (found === 0) return { status: 204 };
    return json(200, body);
  }

  /** The requested [from, to) in ms, or why it is refused. */
  private range(req: SimRequest, now: number): [number, number] | string {
    const q = req.query;
    const given = ['interval', 'sinceSeconds', 'sinceTime'].filter((k) => q.has(k));
    if (given.length !== 1) return 'Exactly one of interval, sinceSeconds or sinceTime is required.';
    const serverEnd = Math.round(now / 60_000) * 60_000;
    let from: number;
    let to: number;
    if (q.has('interval')) {
      const [a, b, extra] = (q.get('interval') ?? '').split('/');
      from = Date.parse(a ?? '');
      to = Date.parse(b ?? '');
      if (
        extra !== undefined ||
        !Number.isFinite(from) ||
        !Number.isFinite(to) ||
        !/Z|[+-]\d\d:?\d\d$/.test(a + b)
      )
        return 'The interval must be two ISO 8601 date-times with a zone, start/end.';
    } else if (q.has('sinceSeconds')) {
      const s = Number(q.get('sinceSeconds'));
      if (!Number.isInteger(s) || s <= 0) return 'sinceSeconds must be a positive integer.';
      from = serverEnd - s * 1000;
      to = serverEnd;
    } else {
      from = Date.parse(q.get('sinceTime') ?? '');
      to = serverEnd;
      if (!Number.isFinite(from)) return 'sinceTime must be an ISO 8601 date-time.';
    }
    if (from < now - RETENTION_MS) return 'The requested start time is too far into the past.';
    if (to - from > HOUR) return 'The requested interval is too long: at most one hour may be requested.';
    if (to - from < 30_000) return 'The requested interval is too short: at least 30 seconds.';
    return [from, to];
  }

  private record(e: TapEvent): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'tap', e.seq));
    const victim = person(rng, 'acme.example');
    const sender = person(rng, rng.pick(['docs-share.example', 'secure-mail.example', 'pay-portal.example']));
    const guid = `${rng.base62(8)}-${rng.base62(12)}`;
    const threatID = rng.hex(64);
    const threatUrl = `https://threatinsight.proofpoint.com/${randomish(rng)}/threat/email/${threatID}`;
    const classification = rng.pick(['malware', 'phish', 'spam', 'impostor']);
    const id = this.idOf(e);
    const time = new Date(e.t).toISOString();
    let r: Record<string, unknown>;
    if (e.kind.startsWith('clicks')) {
      const host = `${rng.base62(7).toLowerCase()}.example`;
      r = {
        campaignId: rng.bool(0.3) ? rng.uuid() : null,
        classification,
        clickIP: ipv4(rng),
        clickTime: time,
        GUID: guid,
        id,
        recipient: victim.email,
        sender: sender.email,
        senderIP: ipv4(rng),
        threatID,
        threatTime: new Date(e.t - 600_000).toISOString(),
        threatURL: threatUrl,
        threatStatus: 'active',
        url: `http://${host}/login.php`,
        userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
      };
    } else {
      const blocked = e.kind === 'messagesBlocked';
      r = {
        GUID: guid,
        QID: `r2FNwRHF00${rng.int(1000, 9999)}`,
        ccAddresses: [],
        cluster: 'pharmtech_hosted',
        completelyRewritten: true,
        fromAddress: [sender.email],
        headerFrom: `"${sender.displayName}" <${sender.email}>`,
        headerReplyTo: null,
        id,
        impostorScore: 0,
        malwareScore: classification === 'malware' ? 100 : 0,
        messageID: `<${rng.hex(12)}@${sender.email.split('@')[1]}>`,
        messageParts: [
          {
            contentType: 'text/plain',
            disposition: 'inline',
            filename: 'text.txt',
            md5: rng.hex(32),
            oContentType: 'text/plain',
            sandboxStatus: 'unsupported',
            sha256: rng.hex(64),
          },
        ],
        messageSize: rng.int(2_000, 400_000),
        messageTime: time,
        modulesRun: ['pdr', 'sandbox', 'spam', 'urldefense'],
        phishScore: classification === 'phish' ? 100 : rng.int(0, 40),
        policyRoutes: ['default_inbound'],
        quarantineFolder: blocked ? 'Attachment Defense' : null,
        quarantineRule: blocked ? 'module.sandbox.threat' : null,
        recipient: [victim.email],
        replyToAddress: [],
        sender: sender.email,
        senderIP: ipv4(rng),
        spamScore: classification === 'spam' ? 100 : rng.int(0, 40),
        subject: rng.pick([
          'Invoice overdue',
          'Shared document',
          'Password expiry notice',
          'Voicemail received',
        ]),
        threatsInfoMap: [
          {
            campaignID: null,
            classification,
            threat: `http://${rng.base62(6).toLowerCase()}.example/x`,
            threatID,
            threatStatus: 'active',
            threatTime: new Date(e.t - 60_000).toISOString(),
            threatType: rng.pick(['url', 'attachment', 'messageText']),
            threatUrl,
          },
        ],
        toAddresses: [victim.email],
        xmailer: null,
      };
    }
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(r).length;
      if (left > 0) r.modulesRun = [...((r.modulesRun as string[] | undefined) ?? []), 'x'.repeat(left)];
    }
    return r;
  }
}

function randomish(rng: Rng): string {
  return `#/${rng.hex(8)}`;
}

const MESSAGES: Record<number, string> = {
  400: 'The request is missing a mandatory request parameter, a parameter contains data which is incorrectly formatted, or the API does not have enough information to determine the identity of the customer.',
  401: 'There is no authorization information included in the request, the authorization information is incorrect, or the user is not authorized.',
  404: 'Not Found',
  429: 'The user has made too many requests over the past 24 hour period and has been throttled.',
  500: 'The service has encountered an unexpected situation and is unable to give a better response to the request.',
  503: 'Service Unavailable',
};
