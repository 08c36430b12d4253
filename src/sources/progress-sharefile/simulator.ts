/**
 * Progress ShareFile simulator: the OAuth token endpoint and the Reports API a recurring Activity report's
 * runs are read from. Vendor behaviour, with where it is documented:
 *
 * - `POST /oauth/token` (form) `grant_type=password`, `client_id`, `client_secret`, `username`, `password` →
 *   `{access_token, refresh_token, token_type, apicp, appcp, subdomain, expires_in}` ("OAuth2 Password Grant",
 *   Access Token Acquisition: https://api.sharefile.com/gettingstarted/oauth2password); OAuth errors
 *   `{error, error_description}` with 400/401 (RFC 6749 §5.2: the page shows no error answer).
 * - Reports ("Reports", https://api.sharefile.com/html/docs/Reports.html: Get Report by ID, Get all Records
 *   by Report ID, Get Report Record by ID, Create Report, Execute): `GET /sf/v3/Reports({id})` → the Report;
 *   `GET /sf/v3/Reports({id})/Records` → `{"odata.count", value: [ReportRecord]}`; `GET
 *   /sf/v3/Reports/Record({id})/GetJsonData` → the run's data. `POST /sf/v3/Reports` and
 *   `POST /sf/v3/Reports({id})/Execute` change the account (routed: the tests fail on any write).
 * - Models: ReportRecord "an individual execution of a ShareFile Report" with `StartDate`/`EndDate` (the
 *   range it runs against) and `StartRunTime`/`EndRunTime` (when it began and finished processing)
 *   (https://api.sharefile.com/html/docs/ShareFile.Api.Models.ReportRecord.html); Report with
 *   `ReportType` Activity, `ActivityTypes` (Login, LoginFail, Download, Upload, Item_Delete, …), `IsRecurring`
 *   (https://api.sharefile.com/html/docs/ShareFile.Api.Models.Report.html).
 * - Errors `{"code": "<HTTP status name>", "message": {"lang": "en-US", "value": "..."}}` ("Troubleshooting
 *   API Issues", https://api.sharefile.com/guides/troubleshooting: "An unsuccessful ShareFile request will
 *   always return" Code, Message.Lang, Message.Value).
 *
 * Decided by the simulator where ShareFile is silent: GetJsonData is a JSON array of rows with
 * `ActivityDate`, `UserEmail`, `UserFullName`, `Activity`, `ItemName`, `ItemPath`, `IPAddress`; a record
 * still running has no `EndRunTime`; the token lives 8 hours; 429 with Retry-After. An injected `empty`
 * fault empties the run list (no run finished yet); a finished run's data is never served empty (its rows do
 * not change).
 */

import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
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
  seedOf,
} from '../../sim/kit.ts';

export interface ShareFileSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Report runs made up front (default 3), each of `rowsPerRun` rows, an hour apart, the last 2 minutes ago. */
  runs?: number;
  rowsPerRun?: number;
  runSpacingMs?: number;
  eventBytes?: number;
  tokenTtlS?: number;
}

interface Run {
  id: string;
  start: number;
  end: number;
  /** When the run finished (EndRunTime): until then it is listed without one. */
  finished: number;
  rows: number;
  seq: number;
}

export class ShareFileSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username = 'collector.admin@acme.example';
  readonly password: string;
  readonly reportId: string;
  private readonly o: ShareFileSimulatorOptions & {
    tokenTtlMs: number;
    rowsPerRun: number;
    runSpacingMs: number;
  };
  private readonly runs: Run[] = [];
  private seq = 0;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;

  constructor(o: ShareFileSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.clientId = rng.base62(32);
    this.clientSecret = rng.base62(44);
    this.password = `pw-${rng.base62(16)}`;
    this.reportId = `rs${rng.hex(6)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}`;
    this.o = { rowsPerRun: 10, runSpacingMs: 3_600_000, ...o, tokenTtlMs: (o.tokenTtlS ?? 28_800) * 1000 };
    this.server = new SimServer({
      name: 'sharefile',
      clock: this.clock,
      hooks: {
        // "Code: the standard http response code, e.g, Forbidden, Not Found" (Troubleshooting guide).
        errorReply: (_req, status) =>
          json(status, {
            code: (STATUS_CODES[status] ?? 'Error').replace(/\W/g, ''),
            message: { lang: 'en-US', value: `HTTP ${status}` },
          }),
        rateLimitReply: () =>
          json(429, { code: 'TooManyRequests', message: { lang: 'en-US', value: 'Too many requests' } }),
      },
    });
    this.server.route('POST', '/oauth/token', (r) => this.token(r));
    this.server.route('GET', '/sf/v3/:report/Records', (r) => this.records(r));
    this.server.route('GET', '/sf/v3/Reports/:record/GetJsonData', (r) => this.data(r));
    this.server.route('GET', '/sf/v3/:report', (r) => this.report(r));
    // Creating and running reports change the account: routed so a test that sees one fails on writeCalls().
    this.server.route('POST', '/sf/v3/Reports', () => json(200, {}));
    this.server.route('POST', '/sf/v3/:report/Execute', () => json(200, {}));
    const n = o.runs ?? 3;
    for (let i = 0; i < n; i++) {
      const end = this.clock() - 120_000 - (n - 1 - i) * this.o.runSpacingMs;
      this.addRun(this.o.rowsPerRun, { end });
    }
  }

  account(): Record<string, string> {
    return {
      subdomain: 'acme',
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      username: this.username,
      password: this.password,
      tokenUrl: `${this.url}/oauth/token`,
      apiUrl: `${this.url}/sf/v3`,
    };
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/oauth/token');
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  /** Every row id of every run (`{recordId}:{row}`). */
  ids(): string[] {
    return this.runs.flatMap((r) => Array.from({ length: r.rows }, (_, i) => `${r.id}:${i}`));
  }

  /**
   * A run of the recurring report covering the hour before `end`, with `rows` rows; it finishes (gets its
   * EndRunTime) `finishDelayMs` after `end` (default: 30 s).
   */
  addRun(rows: number, o: { end?: number; finishDelayMs?: number } = {}): string {
    const end = o.end ?? this.clock();
    const seq = this.seq++;
    const id = `rr${new Rng(seedOf(this.seed, 'run', seq)).hex(6)}-${seq.toString(16).padStart(4, '0')}`;
    this.runs.push({
      id,
      start: end - this.o.runSpacingMs,
      end,
      finished: end + (o.finishDelayMs ?? 30_000),
      rows,
      seq,
    });
    return id;
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const f = new URLSearchParams(req.body.toString('utf8'));
    if (f.get('client_id') !== this.clientId || f.get('client_secret') !== this.clientSecret)
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    if (f.get('grant_type') !== 'password') return json(400, { error: 'unsupported_grant_type' });
    if (f.get('username') !== this.username || f.get('password') !== this.password)
      return json(400, { error: 'invalid_grant', error_description: 'Invalid username or password' });
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, this.clock() + this.o.tokenTtlMs);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      refresh_token: randomBytes(24).toString('hex'),
      token_type: 'bearer',
      expires_in: Math.round(this.o.tokenTtlMs / 1000),
      appcp: 'sharefile.com',
      apicp: 'sf-api.com',
      subdomain: 'acme',
    });
  }

  private authorized(req: SimRequest): SimReply | undefined {
    const auth = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (expires === undefined || expires <= this.clock())
      return json(401, { code: 'Unauthorized', message: { lang: 'en-US', value: 'Unauthorized' } });
    return undefined;
  }

  private notFound(): SimReply {
    return json(404, { code: 'NotFound', message: { lang: 'en-US', value: 'Item not found' } });
  }

  private report(req: SimRequest): SimReply {
    const denied = this.authorized(req);
    if (denied) return denied;
    if (req.params.report !== `Reports(${this.reportId})`) return this.notFound();
    return json(200, {
      Id: this.reportId,
      Title: 'Tributary activity',
      ReportType: 'Activity',
      ObjectType: 'Account',
      DateOption: 'Yesterday',
      IsRecurring: true,
      'odata.type': 'ShareFile.Api.Models.Report',
    });
  }

  private records(req: SimRequest): SimReply {
    const denied = this.authorized(req);
    if (denied) return denied;
    if (req.params.report !== `Reports(${this.reportId})`) return this.notFound();
    const now = this.clock();
    const value = req.empty
      ? []
      : this.runs
          .filter((r) => r.end <= now)
          .map((r) => ({
            Id: r.id,
            StartDate: new Date(r.start).toISOString(),
            EndDate: new Date(r.end).toISOString(),
            StartRunTime: new Date(r.end).toISOString(),
            EndRunTime: r.finished <= now ? new Date(r.finished).toISOString() : null,
            'odata.type': 'ShareFile.Api.Models.ReportRecord',
          }));
    return json(200, { 'odata.count': value.length, value });
  }

  private data(req: SimRequest): SimReply {
    const denied = this.authorized(req);
    if (denied) return denied;
    const id = /^Record\((.+)\)$/.exec(req.params.record)?.[1];
    const run = this.runs.find((r) => r.id === id && r.finished <= this.clock());
    if (!run) return this.notFound();
    return json(
      200,
      Array.from({ length: run.rows }, (_, i) => this.row(run, i)),
    );
  }

  private row(run: Run, i: number): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, run.seq, i));
    const who = person(rng, 'acme.example');
    const activity = rng.pick(['Login', 'LoginFail', 'Download', 'View', 'Upload', 'Item_Delete', 'Move']);
    const at = run.start + Math.floor(((i + 0.5) * (run.end - run.start)) / Math.max(1, run.rows));
    const row: Record<string, unknown> = {
      ActivityDate: new Date(at).toISOString(),
      UserFullName: who.displayName,
      UserEmail: who.email,
      Activity: activity,
      ItemName: activity.startsWith('Login') ? '' : `Q${rng.int(1, 4)} report ${rng.int(1, 99)}.xlsx`,
      ItemPath: activity.startsWith('Login') ? '' : '/Shared Folders/Finance',
      IPAddress: ipv4(rng),
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(row).length;
      if (left > 0) row.Detail = 'x'.repeat(left);
    }
    return row;
  }
}
