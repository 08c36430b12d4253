/**
 * Recorded Future Connect API simulator for risk lists (and the alert APIs the `recorded-future` source reads).
 * Recorded Future's API reference (https://api.recordedfuture.com, the index of its APIs: Connect, Alert,
 * Playbook Alert, …; https://support.recordedfuture.com/hc/en-us/sections/115000250307-The-Connect-API) needs a
 * customer token, so the simulator follows what public clients send and what they read back:
 *
 * - `GET /v2/{ip|domain|hash|url|vulnerability}/risklist?format=csv/splunk&gzip=true|false&list=…` with the
 *   `X-RFToken` header (the request every published client sends, e.g. the public example
 *   https://gist.github.com/joenorton8014/069847c0e2ad44350c057c476462704f and
 *   https://github.com/recordedfuture/rfapi-python `ConnectApiClient.get_risklist`): a CSV with a header row
 *   `"Name","Risk","RiskString","EvidenceDetails"` (hash lists: `Algorithm`
 *   after `Name`), fields quoted, `EvidenceDetails` a JSON text; gzip-compressed when `gzip=true`. The list
 *   is served as it is at the time of each request (Recorded Future regenerates risk lists; a test changes
 *   it between requests with `add`, `drop` or the `beforeRiskList` hook). No caching or checksum header:
 *   the Connect API documents no ETag, Last-Modified or `X-RF-Content-SHA256` for risk lists (Recorded
 *   Future's own client, recordedfuture/rfapi-python `ConnectApiClient.sync_fusion_file`, compares
 *   `X-RF-Content-SHA256` for Fusion files only, and `get_risklist` reads no header).
 * - `GET /v2/{type}/riskrules`: `{"data": {"results": [{"name", "description", "criticality", …}]}}`.
 * - Alerts (the `recorded-future` source), Alert API v3 as Recorded Future's published integrations call
 *   it: `GET /v3/alerts?triggered=[FROM,TO]&orderby=triggered&direction=asc&from=OFFSET&limit=N` (limit at
 *   most 100) answering `{"data": [alert…], "counts": {"returned", "total"}}`, each alert with `id`,
 *   `title`, `rule` `{id, name}`, `log` `{triggered, status_in_portal}`, `review` `{status}`, `type`.
 * - Playbook alerts (the `recorded-future` source's `playbook-alerts` stream), Playbook Alert API as Recorded
 *   Future's own client psengine calls it (https://github.com/RecordedFuture-ProfessionalServices/psengine:
 *   `endpoints.py`,
 *   `playbook_alerts/playbook_alert_mgr.py`, `playbook_alerts/playbook_alerts.py` `SearchIn`,
 *   `models/search_endpoint.py`, `models/panel_status.py`; the OpenCTI connector's
 *   `external-import/recorded-future/src/rflib/pyrf.py` sends the same body):
 *   `POST /playbook-alert/search` with a JSON body `{from, limit, order_by, direction, category, statuses,
 *   priority, created_range: {from, until}, updated_range: {from, until}}` answering `{"status":
 *   {"status_code": "Ok", "status_message": "Playbook alert search successful"}, "data": [{playbook_alert_id,
 *   alert_rule, status, priority, created, updated, category, title, assignee_name, actions_taken}…],
 *   "counts": {"returned", "total"}}`, the next page at `from` + returned (psengine pages it with `from`);
 *   `POST /playbook-alert/{category endpoint}` `{"playbook_alert_ids": [...]}` answering the alerts whole
 *   (`{data: [{playbook_alert_id, panel_status: {status, priority, created, updated, alert_rule, entity_name,
 *   …}, panel_evidence_summary, panel_log_v2}]}`); `GET /playbook-alert/common/{id}` answering the status panel
 *   with `playbook_alert_id`, `title`, `category`. Changing an alert is `PUT /playbook-alert/common/{id}`
 *   (served, and counted by `writeCalls()` like any call other than the read-only lookups).
 *
 * Decided by the simulator (not documented publicly): a missing or wrong token answers 401 and an unlicensed
 * entity type 403, both `{"error": {"status", "message"}}`; an unknown list 404; rows in descending risk;
 * `triggered=[FROM,TO]` includes both ends, and so do `updated_range` `from` and `until`; a search `limit` above
 * 1000 answers 400; an unknown category path 404. An injected `empty` fault answers the header row alone (a
 * risk list) or `{"data": [], "counts": {"returned": 0, "total": …}}` (alerts and playbook alert searches, the total still counted).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { json, type RecordedRequest, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';
import { PLAYBOOK_CATEGORY_PATHS } from '../recorded-future/categories.ts';

export const RISK_LIST_TYPES = ['ip', 'domain', 'hash', 'url', 'vulnerability'] as const;
export type RiskListType = (typeof RISK_LIST_TYPES)[number];

interface PlaybookAlert {
  id: string;
  n: number;
  category: string;
  created: number;
  updated: number;
  status: string;
}

export interface RiskListSimulatorOptions {
  /** Rows per list at start. */
  rows?: number;
  eventBytes?: number;
}

export class RecordedFutureSimulator extends SimServer {
  readonly token = `rf${randomUUID().replace(/-/g, '')}`;
  /** Entity types the token may read (others: 403). */
  licensed = new Set<RiskListType>(RISK_LIST_TYPES);
  private readonly lists: Record<RiskListType, string[]>;
  private readonly eventBytes?: number;
  private next = 0;
  /** Alerts, each with the time it triggered (ms). */
  private readonly alerts: Array<{ id: string; at: number; n: number }> = [];
  private readonly playbook: PlaybookAlert[] = [];
  /** Called before each playbook alert search is answered, with how many were answered before it. */
  beforeSearch?: (answered: number) => void;
  /** The JSON bodies of the playbook alert searches answered, in order. */
  readonly searchBodies: any[] = [];
  /** Called before each risk list is answered, with how many were answered before it (to change a list between requests). */
  beforeRiskList?: (type: RiskListType, answered: number) => void;
  private riskListsAnswered = 0;

  constructor(o: RiskListSimulatorOptions = {}) {
    super();
    this.eventBytes = o.eventBytes;
    const rows = o.rows ?? 50;
    this.lists = { ip: [], domain: [], hash: [], url: [], vulnerability: [] };
    for (const t of RISK_LIST_TYPES) this.add(t, rows);
    this.hooks = {
      errorReply: (_req, status) =>
        this.error(status, status >= 500 ? 'Internal Server Error' : 'Request failed'),
      rateLimitReply: () => this.error(429, 'Too many requests'),
    };
    this.route('GET', '/v3/alerts', (req) => this.guard(req, () => this.listAlerts(req), false));
    this.route('POST', '/playbook-alert/search', (req) =>
      this.guard(req, () => this.searchPlaybook(req), false),
    );
    this.route('POST', '/playbook-alert/:path', (req) =>
      this.guard(req, () => this.lookupPlaybook(req), false),
    );
    this.route('GET', '/playbook-alert/common/:id', (req) =>
      this.guard(req, () => this.commonPlaybook(req.params.id), false),
    );
    this.route('PUT', '/playbook-alert/common/:id', (req) =>
      this.guard(req, () => json(200, { status: { status_code: 'Ok', status_message: 'updated' } }), false),
    );
    this.route('GET', '/v2/:type/risklist', (req) => this.guard(req, () => this.riskList(req)));
    this.route('GET', '/v2/:type/riskrules', (req) =>
      this.guard(req, () =>
        json(200, {
          data: {
            results: [
              {
                name: 'default',
                description: 'Default risk list',
                criticality: 1,
                count: this.lists[req.params.type as RiskListType].length,
              },
            ],
          },
          counts: { returned: 1, total: 1 },
        }),
      ),
    );
  }

  /** Adds `n` entities to a list; returns their names. */
  add(type: RiskListType, n: number): string[] {
    const names = Array.from({ length: n }, () => this.entityName(type, this.next++));
    this.lists[type].push(...names);
    return names;
  }

  /** Removes an entity from its list (its risk fell below the list's threshold). */
  drop(type: RiskListType, name: string): void {
    this.lists[type] = this.lists[type].filter((x) => x !== name);
  }

  /** Ids as the source delivers them: `{type}:{Name}`. */
  ids(types: readonly RiskListType[] = RISK_LIST_TYPES): string[] {
    return types.flatMap((t) => this.lists[t].map((n) => `${t}:${n}`));
  }

  private entityName(type: RiskListType, i: number): string {
    switch (type) {
      case 'ip':
        return i < 250 ? `203.0.113.${i}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      case 'domain':
        return `evil${i}.example.org`;
      case 'hash':
        return i.toString(16).padStart(64, '0');
      case 'url':
        return `https://evil${i}.example.org/payload`;
      case 'vulnerability':
        return `CVE-2026-${String(10000 + i)}`;
    }
  }

  /** Alerts triggered at `at` (ms), one per entry; returns their ids. */
  addAlerts(times: number[]): string[] {
    return times.map((at) => {
      const n = this.alerts.length;
      const id = `rf-alert-${String(n).padStart(6, '0')}`;
      this.alerts.push({ id, at, n });
      return id;
    });
  }

  alertIds(): string[] {
    return this.alerts.map((a) => a.id);
  }

  /** Playbook alerts updated at `times` (ms), created then too; returns their event ids (`{id}@{updated}`). */
  addPlaybookAlerts(times: number[], category = 'domain_abuse'): string[] {
    return times.map((at) => {
      const n = this.playbook.length;
      const a = {
        id: `task:pba-${String(n).padStart(6, '0')}`,
        n,
        category,
        created: at,
        updated: at,
        status: 'New',
      };
      this.playbook.push(a);
      return this.versionId(a);
    });
  }

  /** An analyst changes a playbook alert at `at` (ms): its `updated` moves; returns the new version's id. */
  updatePlaybookAlert(id: string, at: number, status = 'InProgress'): string {
    const a = this.playbook.find((x) => x.id === id);
    if (!a) throw new Error(`no playbook alert ${id}`);
    a.updated = at;
    a.status = status;
    return this.versionId(a);
  }

  /** The current version of every playbook alert, oldest update first. */
  playbookIds(): string[] {
    return [...this.playbook]
      .sort((a, b) => a.updated - b.updated || a.n - b.n)
      .map((a) => this.versionId(a));
  }

  /** Lookups and searches are read-only POSTs; anything else that is not a GET changes alerts. */
  override writeCalls(): RecordedRequest[] {
    const reads = new Set(
      ['search', ...Object.values(PLAYBOOK_CATEGORY_PATHS)].map((p) => `/playbook-alert/${p}`),
    );
    return super.writeCalls().filter((r) => !(r.method === 'POST' && reads.has(r.path)));
  }

  private versionId(a: PlaybookAlert): string {
    return `${a.id}@${new Date(a.updated).toISOString()}`;
  }

  private searchPlaybook(req: SimRequest): SimReply {
    this.beforeSearch?.(this.searchBodies.length);
    let q: any;
    try {
      q = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return this.error(400, 'Malformed JSON body');
    }
    this.searchBodies.push(q);
    const range = (r: any) => {
      const from = r?.from === undefined ? Number.NEGATIVE_INFINITY : Date.parse(r.from);
      const until = r?.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(r.until);
      return Number.isNaN(from) || Number.isNaN(until) ? undefined : { from, until };
    };
    const updated = range(q.updated_range);
    const created = range(q.created_range);
    if (!updated || !created) return this.error(400, 'updated_range and created_range take ISO times');
    const limit = q.limit ?? 10;
    const from = q.from ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return this.error(400, 'limit must be 1 to 1000');
    if (!Number.isInteger(from) || from < 0) return this.error(400, 'from must be a non-negative integer');
    const key = q.order_by === 'created' ? 'created' : 'updated';
    const sign = q.direction === 'desc' ? -1 : 1;
    const all = this.playbook
      .filter(
        (a) =>
          a.updated >= updated.from &&
          a.updated <= updated.until &&
          a.created >= created.from &&
          a.created <= created.until &&
          (!Array.isArray(q.category) || q.category.includes(a.category)) &&
          (!Array.isArray(q.statuses) || q.statuses.includes(a.status)),
      )
      .sort((a, b) => sign * (a[key] - b[key]) || a.n - b.n);
    const page = req.empty ? [] : all.slice(from, from + limit);
    return json(200, {
      status: { status_code: 'Ok', status_message: 'Playbook alert search successful' },
      data: page.map((a) => ({
        playbook_alert_id: a.id,
        alert_rule: { id: 'report:rule-1', label: 'Domain Abuse', name: 'Typosquat monitoring' },
        status: a.status,
        priority: 'Moderate',
        reopen: 'Never',
        created: new Date(a.created).toISOString(),
        updated: new Date(a.updated).toISOString(),
        category: a.category,
        title: `evil${a.n}.example.org`,
        assignee_name: null,
        assignee_id: null,
        actions_taken: [],
      })),
      counts: { returned: page.length, total: all.length },
    });
  }

  /** An alert whole, as the category lookups answer it. */
  private playbookDetail(a: PlaybookAlert): Record<string, unknown> {
    const note = this.eventBytes ? 'x'.repeat(Math.max(0, this.eventBytes - 900)) : undefined;
    return {
      playbook_alert_id: a.id,
      panel_status: {
        status: a.status,
        priority: 'Moderate',
        reopen: 'Never',
        assignee_name: null,
        created: new Date(a.created).toISOString(),
        updated: new Date(a.updated).toISOString(),
        case_rule_id: 'report:rule-1',
        case_rule_label: 'Domain Abuse',
        alert_rule: { id: 'report:rule-1', label: 'Domain Abuse', name: 'Typosquat monitoring' },
        entity_id: `idn:evil${a.n}.example.org`,
        entity_name: `evil${a.n}.example.org`,
        actions_taken: [],
      },
      panel_evidence_summary: {
        explanation: `Domain registered resembling example.org${note ? ` ${note}` : ''}`,
        resolved_record_list: [{ entity: 'ip:203.0.113.9', risk_score: 65, record_type: 'A' }],
      },
      panel_log_v2: [],
    };
  }

  private lookupPlaybook(req: SimRequest): SimReply {
    const category = Object.keys(PLAYBOOK_CATEGORY_PATHS).find(
      (c) => PLAYBOOK_CATEGORY_PATHS[c] === req.params.path,
    );
    if (!category) return this.error(404, `Unknown playbook alert category ${req.params.path}`);
    let ids: unknown;
    try {
      ids = JSON.parse(req.body.toString('utf8') || '{}').playbook_alert_ids;
    } catch {
      return this.error(400, 'Malformed JSON body');
    }
    if (!Array.isArray(ids)) return this.error(400, 'playbook_alert_ids is required');
    const data = this.playbook
      .filter((a) => a.category === category && ids.includes(a.id))
      .map((a) => this.playbookDetail(a));
    return json(200, {
      status: { status_code: 'Ok', status_message: 'Playbook alert bulk lookup successful.' },
      data,
    });
  }

  private commonPlaybook(id: string): SimReply {
    const a = this.playbook.find((x) => x.id === id);
    if (!a) return this.error(404, `No playbook alert ${id}`);
    const d = this.playbookDetail(a);
    return json(200, {
      status: { status_code: 'Ok', status_message: 'Playbook alert single lookup successful.' },
      data: {
        playbook_alert_id: a.id,
        title: `evil${a.n}.example.org`,
        category: a.category,
        ...(d.panel_status as object),
      },
    });
  }

  private listAlerts(req: SimRequest): SimReply {
    const m = /^\[([^,\]]*),([^\]]*)\]$/.exec(req.query.get('triggered') ?? '');
    const from = m?.[1] ? Date.parse(m[1]) : Number.NEGATIVE_INFINITY;
    const to = m?.[2] ? Date.parse(m[2]) : Number.POSITIVE_INFINITY;
    if (!m || Number.isNaN(from) || Number.isNaN(to)) return this.error(400, 'triggered must be [FROM,TO]');
    const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? 10) || 10));
    const offset = Math.max(0, Number(req.query.get('from') ?? 0) || 0);
    const all = this.alerts
      .filter((a) => a.at >= from && a.at <= to)
      .sort((a, b) => a.at - b.at || a.n - b.n);
    const page = req.empty ? [] : all.slice(offset, offset + limit);
    const note = this.eventBytes ? 'x'.repeat(Math.max(0, this.eventBytes - 600)) : null;
    return json(200, {
      data: page.map((a) => ({
        id: a.id,
        title: `Leaked credentials - ${a.n}`,
        type: 'ENTITY',
        rule: { id: `rule-${a.n % 3}`, name: 'Leaked Credentials Monitoring' },
        log: { triggered: new Date(a.at).toISOString(), status_in_portal: 'New' },
        review: { status: 'no-action', assignee: null, note },
      })),
      counts: { returned: page.length, total: all.length },
    });
  }

  private guard(req: SimRequest, serve: () => SimReply, typed = true): SimReply {
    if (req.headers['x-rftoken'] !== this.token)
      return this.error(401, 'Unauthorized: invalid or missing X-RFToken');
    if (!typed) return serve();
    const type = req.params.type as RiskListType;
    if (!RISK_LIST_TYPES.includes(type)) return this.error(404, `Unknown entity type ${type}`);
    if (!this.licensed.has(type)) return this.error(403, `Forbidden: no access to ${type} risk lists`);
    return serve();
  }

  private riskList(req: SimRequest): SimReply {
    const type = req.params.type as RiskListType;
    this.beforeRiskList?.(type, this.riskListsAnswered++);
    const list = req.query.get('list') ?? '';
    if (list !== '' && list !== 'default') return this.error(404, `No risk list ${list}`);
    if (req.query.get('format') !== 'csv/splunk') return this.error(400, 'Unsupported format');
    const names = req.empty ? [] : [...this.lists[type]];
    const hash = type === 'hash';
    const pad = this.eventBytes ? 'x'.repeat(Math.max(0, this.eventBytes - 300)) : '';
    const q = (v: string) => `"${v.replace(/"/g, '""')}"`;
    function* rows() {
      yield `${['Name', ...(hash ? ['Algorithm'] : []), 'Risk', 'RiskString', 'EvidenceDetails'].map(q).join(',')}\n`;
      for (const [i, name] of names.entries()) {
        const evidence = JSON.stringify({
          EvidenceDetails: [
            {
              Rule: 'Recently Reported by Insikt Group',
              Criticality: 3,
              EvidenceString: `Seen in campaign ${i}${pad}`,
              Timestamp: '2026-11-30T10:00:00.000Z',
            },
          ],
        });
        yield `${[name, ...(hash ? ['SHA-256'] : []), String(99 - (i % 60)), `${1 + (i % 5)}/64`, evidence].map(q).join(',')}\n`;
      }
    }
    const gzip = req.query.get('gzip') === 'true';
    return {
      status: 200,
      headers: { 'content-type': gzip ? 'application/gzip' : 'text/csv' },
      body: () => {
        const source = Readable.from(rows());
        return gzip ? source.pipe(createGzip()) : source;
      },
    };
  }

  private error(status: number, message: string): SimReply {
    return json(status, { error: { status, message } });
  }
}
