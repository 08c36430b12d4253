/**
 * Carbon Black Cloud Alerts v7 simulator, following developer.carbonblack.com:
 * Alerts API (https://developer.carbonblack.com/reference/carbon-black-cloud/platform/latest/alerts-api/,
 * "Authentication", "Search Alerts", RBAC `org.alerts` READ); Guides, "Alert Bulk Export - v7 API"
 * (https://developer.carbonblack.com/reference/carbon-black-cloud/guides/alert-bulk-export/, "Exporting Alerts
 * Continuously via the Alerts API"); Audit Logs API
 * (https://developer.carbonblack.com/reference/carbon-black-cloud/platform/latest/audit-logs/, "API Route",
 * "Access Level"); Audit Log Schema 1.0.0
 * (https://developer.carbonblack.com/reference/carbon-black-cloud/data-forwarder/schema/latest/auditlog-1.0.0,
 * "Fields", "aligned with the Audit Logs API schema"):
 *
 * - `POST /api/alerts/v7/orgs/{org_key}/alerts/_search` with `X-Auth-Token: {API Secret Key}/{API ID}`; body
 *   `time_range {start, end}` (the bulk-export guide: it "searches on the field backend_timestamp", "is always
 *   applied and defaults to the last two weeks"), `criteria`
 *   (`minimum_severity`, `type`), `sort [{field, order}]`, `start`, `rows`; answer `{results, num_found,
 *   num_available}`.
 * - Alerts shaped like the v7 alert schema (id, org_key, type, backend_timestamp, backend_update_timestamp,
 *   detection_timestamp, first/last_event_timestamp, severity, reason, reason_code, threat_id, device_*,
 *   process_*, attack_tactic/technique, workflow {status, …}, determination, alert_url, …).
 * - `POST /api/alerts/v7/orgs/{org_key}/alerts/workflow` (closing alerts) is routed, so a test that sees it
 *   fails on `writeCalls()` — it is a write, unlike `_search`.
 * - `POST /audit_log/v1/orgs/{org_key}/logs/_search` (Platform API, Audit Log; the Carbon Black Cloud SDK's
 *   AuditLogQuery): body `criteria.create_time {start, end}`, `sort [{field: "create_time", order}]`, `start`
 *   (from row 0), `rows`; answer `{num_found, results}`, entries `{actor, actor_ip, create_time, description,
 *   flagged, org_key, request_url, verbose}` (no id). Needs `org.audits` READ.
 * - A key without `org.alerts` (or `org.audits`) READ is refused (the pages name the permission, not the
 *   answer): 403 here; a wrong key 401 and another org key 404 are decided by the simulator.
 *
 * Decided by the simulator (not in the public pages read): `start` counts from 1 (as Broadcom's "How To Use API
 * Pagination", https://knowledge.broadcom.com/external/article/289833/how-to-use-api-pagination.html, shows for
 * the v3 APIs; the v6 guide's example sent `"start": 0`); `start + rows` above 10,000 is refused with
 * 400 (the earlier bulk-export guide gives 10k as the most results a search serves); `time_range.end` exclusive; error bodies `{"error_code", "message", "success": false}`; an empty page
 * (the `empty` fault) answers no results with the true `num_found`.
 */
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
  spacedEvents,
  stableUuid,
} from '../../sim/kit.ts';

export interface CarbonBlackSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Alerts generated up front (default 50), `spacingMs` apart, the last 5 minutes before now. */
  alerts?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** false: the key's access level lacks org.alerts READ (403). */
  alertsRead?: boolean;
  /** false: the key's access level lacks org.audits READ (403 on the audit log). */
  auditsRead?: boolean;
}

interface Alert {
  seq: number;
  t: number;
  vis: number;
}

export class CarbonBlackSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly orgKey: string;
  readonly apiId: string;
  readonly apiSecret: string;
  private readonly o: CarbonBlackSimulatorOptions & { spacingMs: number };
  private readonly alerts: Alert[] = [];
  private readonly audits: Alert[] = [];
  /** The JSON bodies of the searches received, in order (the request log keeps no bodies). */
  readonly searches: any[] = [];

  constructor(o: CarbonBlackSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'key'));
    this.orgKey = rng.base62(8).toUpperCase();
    this.apiId = rng.base62(10).toUpperCase();
    this.apiSecret = rng.base62(24).toUpperCase();
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => cbError(status),
        rateLimitReply: () => cbError(429),
      },
    });
    this.server.route('POST', '/api/alerts/v7/orgs/:org/alerts/_search', (r) =>
      this.guard(r, () => this.search(r)),
    );
    this.server.route('POST', '/audit_log/v1/orgs/:org/logs/_search', (r) =>
      this.guard(r, () => (this.o.auditsRead === false ? cbError(403) : this.auditSearch(r)), true),
    );
    this.server.route('POST', '/api/alerts/v7/orgs/:org/alerts/workflow', () =>
      json(200, { request_id: 'write' }),
    );
    const now = this.clock();
    const n = o.alerts ?? 50;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (let i = 0; i < n; i++) this.add(first + i * this.o.spacingMs, first + i * this.o.spacingMs);
    for (let i = 0; i < n; i++) {
      const t = first + i * this.o.spacingMs + 7;
      this.audits.push({ seq: i, t, vis: t });
    }
  }

  /** Calls that could change Carbon Black data: every POST but the read-only `_search`. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => !/\/(alerts|logs)\/_search$/.test(r.path));
  }

  account(): { url: string; orgKey: string; apiId: string; apiSecret: string } {
    return { url: this.url, orgKey: this.orgKey, apiId: this.apiId, apiSecret: this.apiSecret };
  }

  addAlerts(n: number, o: SpacedEvents = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => this.idOf(this.add(t, vis)));
  }

  expectedIds(): string[] {
    return this.alerts.map((a) => this.idOf(a));
  }

  addAudits(n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o))
      this.audits.push({ seq: this.audits.length, t, vis });
  }

  /** Every audit log entry, as Carbon Black sends it. */
  auditRecords(): Array<Record<string, unknown>> {
    return this.audits.map((a) => this.auditRecord(a));
  }

  // -------------------------------------------------------------------------------------------

  private add(t: number, vis: number): Alert {
    const a = { seq: this.alerts.length, t, vis };
    this.alerts.push(a);
    return a;
  }

  private idOf(a: Alert): string {
    return stableUuid(7, a.seq, this.seed);
  }

  private guard(req: SimRequest, next: () => SimReply, audit = false): SimReply {
    if (req.headers['x-auth-token'] !== `${this.apiSecret}/${this.apiId}`) return cbError(401);
    if (req.params.org !== this.orgKey) return cbError(404);
    if (!audit && this.o.alertsRead === false) return cbError(403);
    return next();
  }

  private auditSearch(req: SimRequest): SimReply {
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return cbError(400, 'Unable to parse the request body as JSON');
    }
    const rows = body.rows ?? 100;
    const start = body.start ?? 0;
    if (!Number.isInteger(rows) || rows < 0 || rows > 10_000)
      return cbError(400, 'rows must be between 0 and 10000');
    if (!Number.isInteger(start) || start < 0) return cbError(400, 'start must be 0 or more');
    if (start + rows > 10_000) return cbError(400, 'start + rows must not exceed 10000');
    const now = this.clock();
    const range = body.criteria?.create_time;
    const from = range?.start ? Date.parse(range.start) : now - 14 * 86_400_000;
    const to = range?.end ? Date.parse(range.end) : now;
    if (!Number.isFinite(from) || !Number.isFinite(to))
      return cbError(400, 'create_time start and end must be ISO 8601');
    const sort = body.sort?.[0];
    if (sort && sort.field !== 'create_time') return cbError(400, `unsupported sort field ${sort.field}`);
    const hits = this.audits
      .filter((a) => a.vis <= now && a.t >= from && a.t < to)
      .sort((x, y) => x.t - y.t || x.seq - y.seq);
    if (String(sort?.order ?? 'DESC').toUpperCase() === 'DESC') hits.reverse();
    const page = req.empty ? [] : hits.slice(start, start + rows);
    return json(200, { num_found: hits.length, results: page.map((a) => this.auditRecord(a)) });
  }

  private auditRecord(a: Alert): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'audit', a.seq));
    const e = rng.pick(AUDITS);
    const r: Record<string, unknown> = {
      actor: e.api ? this.apiId : `analyst${rng.int(1, 9)}@acme.example`,
      actor_ip: `203.0.113.${rng.int(1, 254)}`,
      create_time: new Date(a.t).toISOString(),
      description: e.description,
      flagged: false,
      org_key: this.orgKey,
      request_url: e.api
        ? `https://defense.conferdeploy.net/appservices/v6/orgs/${this.orgKey}/device_actions`
        : null,
      verbose: false,
    };
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(r).length;
      if (left > 0) r.description = `${e.description} ${'x'.repeat(left)}`;
    }
    return r;
  }

  private search(req: SimRequest): SimReply {
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8') || '{}');
      this.searches.push(body);
    } catch {
      return cbError(400, 'Unable to parse the request body as JSON');
    }
    const rows = body.rows ?? 100;
    const start = body.start ?? 1;
    if (!Number.isInteger(rows) || rows < 0 || rows > 10_000)
      return cbError(400, 'rows must be between 0 and 10000');
    if (!Number.isInteger(start) || start < 1) return cbError(400, 'start must be at least 1');
    if (start + rows - 1 > 10_000) return cbError(400, 'start + rows must not exceed 10000');
    const now = this.clock();
    const from = body.time_range?.start ? Date.parse(body.time_range.start) : now - 14 * 86_400_000;
    const to = body.time_range?.end ? Date.parse(body.time_range.end) : now;
    if (!Number.isFinite(from) || !Number.isFinite(to))
      return cbError(400, 'time_range start and end must be ISO 8601');
    const minSeverity = Number(body.criteria?.minimum_severity ?? 1);
    const hits = this.alerts
      .filter((a) => a.vis <= now && a.t >= from && a.t < to)
      .map((a) => this.record(a))
      .filter((r) => (r.severity as number) >= minSeverity);
    const sort = body.sort?.[0];
    if (sort && sort.field !== 'backend_timestamp')
      return cbError(400, `unsupported sort field ${sort.field}`);
    hits.sort(
      (x, y) =>
        String(x.backend_timestamp).localeCompare(String(y.backend_timestamp)) ||
        String(x.id).localeCompare(String(y.id)),
    );
    if (String(sort?.order ?? 'DESC').toUpperCase() === 'DESC') hits.reverse();
    const page = req.empty ? [] : hits.slice(start - 1, start - 1 + rows);
    return json(200, { results: page, num_found: hits.length, num_available: Math.min(hits.length, 10_000) });
  }

  private record(a: Alert): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'alert', a.seq));
    const kind = rng.pick(KINDS);
    const id = this.idOf(a);
    const at = (ms: number) => new Date(ms).toISOString();
    const host = `ACME-WS-${rng.int(100, 999)}`;
    const r: Record<string, unknown> = {
      org_key: this.orgKey,
      alert_url: `defense.conferdeploy.net/alerts?s[c][query_string]=id:${id}&orgKey=${this.orgKey}`,
      id,
      type: kind.type,
      backend_timestamp: at(a.t),
      user_update_timestamp: null,
      backend_update_timestamp: at(a.t),
      detection_timestamp: at(a.t - 3000),
      first_event_timestamp: at(a.t - 60_000),
      last_event_timestamp: at(a.t - 3000),
      severity: rng.int(1, 10),
      reason: kind.reason,
      reason_code: `R_${rng.hex(6).toUpperCase()}`,
      threat_id: rng.hex(32).toUpperCase(),
      primary_event_id: rng.base62(22),
      policy_applied: rng.pick(['APPLIED', 'NOT_APPLIED']),
      run_state: rng.pick(['RAN', 'DID_NOT_RUN']),
      sensor_action: rng.pick(['DENY', 'ALLOW', 'TERMINATE']),
      workflow: {
        change_timestamp: at(a.t),
        changed_by_type: 'SYSTEM',
        changed_by: 'ALERT_CREATION',
        closure_reason: 'NO_REASON',
        status: 'OPEN',
      },
      determination: {
        change_timestamp: at(a.t),
        value: 'NONE',
        changed_by_type: 'SYSTEM',
        changed_by: 'ALERT_CREATION',
      },
      tags: null,
      device_id: 6_000_000 + (a.seq % 50),
      device_name: `ACME\\${host}`,
      device_os: 'WINDOWS',
      device_os_version: 'Windows 11 x64',
      device_policy: 'Standard',
      device_username: `user${rng.int(1, 300)}@acme.example`,
      device_internal_ip: `10.2.${rng.int(0, 255)}.${rng.int(1, 254)}`,
      device_external_ip: `203.0.113.${rng.int(1, 254)}`,
      process_name: kind.process,
      process_sha256: rng.hex(64),
      process_cmdline: kind.cmdline,
      process_guid: `${this.orgKey}-${rng.hex(8)}-${rng.hex(8)}-00000000-1d9${rng.hex(5)}`,
      process_username: `ACME\\user${rng.int(1, 300)}`,
      attack_tactic: kind.tactic,
      attack_technique: kind.technique,
      mdr_alert: false,
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(r).length;
      if (left > 0) r.process_cmdline = `${r.process_cmdline} ${'x'.repeat(left)}`;
    }
    return r;
  }
}

function cbError(status: number, message?: string): SimReply {
  const text =
    message ??
    { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' }[status] ??
    'Internal Server Error';
  return json(
    status,
    { success: false, error_code: String(status), message: text },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}

const KINDS = [
  {
    type: 'CB_ANALYTICS',
    reason: 'The application powershell.exe executed a fileless script.',
    process: 'c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe',
    cmdline: 'powershell.exe -ExecutionPolicy Bypass -enc SQBFAFgA',
    tactic: 'TA0002',
    technique: 'T1059.001',
  },
  {
    type: 'WATCHLIST',
    reason:
      'Process rundll32.exe was detected by the report "Credential theft via comsvcs" in watchlist "ATT&CK Framework"',
    process: 'c:\\windows\\system32\\rundll32.exe',
    cmdline: 'rundll32.exe comsvcs.dll MiniDump 644 lsass.dmp full',
    tactic: 'TA0006',
    technique: 'T1003.001',
  },
  {
    type: 'DEVICE_CONTROL',
    reason: 'Access attempted on unapproved USB device SanDisk Cruzer.',
    process: 'c:\\windows\\explorer.exe',
    cmdline: 'explorer.exe',
    tactic: 'TA0010',
    technique: 'T1052',
  },
] as const;

const AUDITS = [
  { description: 'Logged in successfully', api: false },
  { description: 'Updated policy "Standard": enabled "Block ransomware"', api: false },
  { description: 'Requested quarantine of device 6000012 via API', api: true },
  { description: 'Failed login attempt', api: false },
] as const;
