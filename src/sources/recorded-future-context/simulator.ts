/**
 * Recorded Future Connect API simulator for risk lists:
 *
 * - `GET /v2/{ip|domain|hash|url|vulnerability}/risklist?format=csv/splunk&gzip=true|false&list=…` with the
 *   `X-RFToken` header (support.recordedfuture.com, "The Connect API"; the request every published client
 *   sends): a CSV with a header row `"Name","Risk","RiskString","EvidenceDetails"` (hash lists: `Algorithm`
 *   after `Name`), fields quoted, `EvidenceDetails` a JSON text; gzip-compressed when `gzip=true`.
 * - `GET /v2/{type}/riskrules`: `{"data": {"results": [{"name", "description", "criticality", …}]}}`.
 * - Alerts (the `recorded-future` source), Alert API v3 as Recorded Future's published integrations call
 *   it: `GET /v3/alerts?triggered=[FROM,TO]&orderby=triggered&direction=asc&from=OFFSET&limit=N` (limit at
 *   most 100) answering `{"data": [alert…], "counts": {"returned", "total"}}`, each alert with `id`,
 *   `title`, `rule` `{id, name}`, `log` `{triggered, status_in_portal}`, `review` `{status}`, `type`.
 *
 * Assumed (not documented publicly), decided here: a missing or wrong token answers 401 and an unlicensed
 * entity type 403, both `{"error": {"status", "message"}}`; an unknown list 404; rows in descending risk;
 * `triggered=[FROM,TO]` includes both ends. An injected `empty` fault answers the header row alone (a
 * risk list) or `{"data": [], "counts": {"returned": 0, "total": …}}` (alerts, the total still counted).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

export const RISK_LIST_TYPES = ['ip', 'domain', 'hash', 'url', 'vulnerability'] as const;
export type RiskListType = (typeof RISK_LIST_TYPES)[number];

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
