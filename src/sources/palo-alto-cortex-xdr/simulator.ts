/**
 * Cortex XDR public API simulator (incidents, alerts, management audit log), following Palo Alto Networks'
 * Cortex XDR REST API reference:
 *
 * - https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR-REST-API/Get-Started-with-Cortex-XDR-APIs (table of
 *   values; step 1) — standard keys: `Authorization: {key}`, `x-xdr-auth-id: {key_id}`, URIs
 *   `https://api-{fqdn}/public_api/v1/{name of api}/{name of call}/`; the Advanced key "hashes the key using a
 *   nonce, a random string, and a timestamp to prevent replay attacks".
 * - https://docs-cortex.paloaltonetworks.com/r/Cortex-XSIAM-Platform-APIs/Make-your-first-API-call ("Advanced
 *   Key Python 3 Example") — `x-xdr-nonce` (64 letters and digits), `x-xdr-timestamp` (ms), `Authorization:
 *   sha256_hex(key + nonce + timestamp)`. A nonce seen before is refused (the replay the scheme exists to stop).
 * - https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR-REST-API/Get-all-Incidents — `POST
 *   /public_api/v1/incidents/get_incidents` with `{"request_data": {"filters": [{"field", "operator", "value"}],
 *   "search_from", "search_to", "sort": {"field", "keyword"}}}`: filters "concatenated using AND condition (OR is
 *   not supported)", "The maximum result set size is 100", "Offset is the zero-based number of incidents from the
 *   start of the result set"; answers `{"reply": {"total_count", "result_count", "incidents"}}`, incidents shaped
 *   like the page's sample (incident_id, incident_name, creation_time, modification_time, status, severity,
 *   assigned_user_mail, alert_count, hosts, users, xdr_url, …).
 * - https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR-REST-API/Get-Alerts-Multi-Events-v2 — `POST
 *   /public_api/v2/alerts/get_alerts_multi_events`, the same `request_data`, AND, at most 100, zero-based offsets;
 *   `{"reply": {"total_count", "result_count", "alerts"}}`, alerts shaped like the sample (alert_id, name,
 *   category, severity, source, action_pretty, host_name, detection_timestamp, local_insert_ts, events […]).
 * - https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR-REST-API/Get-Audit-Management-Log — `POST
 *   /public_api/v1/audits/management_logs`, the same `request_data` (filters on `timestamp`, `email`, `type`,
 *   `sub_type`, `result`; sort on `timestamp`), AND, at most 100; answers `{"reply": {"total_count",
 *   "result_count", "data"}}`, entries `{AUDIT_ID, AUDIT_OWNER_NAME, AUDIT_OWNER_EMAIL, AUDIT_ASSET_JSON,
 *   AUDIT_ASSET_NAMES, AUDIT_HOSTNAME, AUDIT_RESULT, AUDIT_REASON, AUDIT_DESCRIPTION, AUDIT_ENTITY,
 *   AUDIT_ENTITY_SUBTYPE, AUDIT_CASE_ID, AUDIT_INSERT_TIME}`.
 * - `POST /public_api/v1/incidents/update_incident` and `/public_api/v1/alerts/update_alerts` change data: routed,
 *   so a test that sees one fails on `writeCalls()`.
 *
 * Decided by the simulator (the pages leave it open): error bodies `{"reply": {"err_code", "err_msg",
 * "err_extra"}}` with 401 (unauthorized), 402 (not licensed), 403 (role); a timestamp more than 5 minutes from
 * the real clock is refused (401); a result set over 100, or a bad filter, answers 400; incidents change in place
 * (the list shows each incident's latest version); the alerts' `server_creation_time` filter matches
 * `local_insert_ts`; an empty page (the `empty` fault) answers no records with the true `total_count`.
 */
import { createHash } from 'node:crypto';
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
} from '../../sim/kit.ts';

export interface CortexXdrSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Incidents and alerts generated up front (default 50 each), `spacingMs` apart, the last 5 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  securityLevel?: 'standard' | 'advanced';
  /** false: the key's role may not view (403). */
  viewer?: boolean;
  /** false: the tenant lacks the license (402). */
  licensed?: boolean;
}

interface Version {
  t: number;
  vis: number;
  status: string;
}

interface Item {
  seq: number;
  versions: Version[];
}

type Kind = 'incidents' | 'alerts' | 'audits';

/** Where each kind's list answers, and its time filter fields. */
const LISTS: Record<Kind, { reply: string; fields: string[] }> = {
  incidents: { reply: 'incidents', fields: ['modification_time', 'creation_time'] },
  alerts: { reply: 'alerts', fields: ['server_creation_time', 'creation_time'] },
  audits: { reply: 'data', fields: ['timestamp'] },
};

export class CortexXdrSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly apiKeyId: number;
  readonly apiKey: string;
  private readonly o: CortexXdrSimulatorOptions & { spacingMs: number };
  private readonly items: Record<Kind, Item[]> = { incidents: [], alerts: [], audits: [] };
  private readonly nonces = new Set<string>();

  constructor(o: CortexXdrSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'key'));
    this.apiKeyId = rng.int(2, 999);
    this.apiKey = rng.base62(128);
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => xdrError(status),
        rateLimitReply: () => xdrError(429),
      },
    });
    this.server.route('POST', '/public_api/v1/incidents/get_incidents', (r) =>
      this.guard(r, () => this.list(r, 'incidents')),
    );
    this.server.route('POST', '/public_api/v2/alerts/get_alerts_multi_events', (r) =>
      this.guard(r, () => this.list(r, 'alerts')),
    );
    this.server.route('POST', '/public_api/v1/audits/management_logs', (r) =>
      this.guard(r, () => this.list(r, 'audits')),
    );
    this.server.route('POST', '/public_api/v1/incidents/update_incident', () => json(200, { reply: true }));
    this.server.route('POST', '/public_api/v1/alerts/update_alerts', () =>
      json(200, { reply: { alerts_ids: [] } }),
    );
    const now = this.clock();
    const n = o.records ?? 50;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const kind of ['incidents', 'alerts', 'audits'] as const)
      for (let i = 0; i < n; i++) this.add(kind, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  /** Calls that change Cortex XDR data; the list calls are read-only POSTs. */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => !/\/(get_incidents|get_alerts_multi_events|management_logs)\/?$/.test(r.path));
  }

  account(): { url: string; apiKeyId: number; apiKey: string; securityLevel: 'standard' | 'advanced' } {
    return {
      url: this.url,
      apiKeyId: this.apiKeyId,
      apiKey: this.apiKey,
      securityLevel: this.o.securityLevel ?? 'advanced',
    };
  }

  /** Adds `n` incidents or alerts (with `seq`, new versions of that incident); returns their event ids. */
  addRecords(kind: Kind, n: number, o: SpacedEvents & { seq?: number; status?: string } = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      if (o.seq !== undefined) {
        const item = this.items[kind][o.seq];
        item.versions.push({ t, vis, status: o.status ?? 'under_investigation' });
        return this.eventId(kind, item, item.versions.length - 1);
      }
      const item = this.add(kind, t, vis);
      return this.eventId(kind, item, 0);
    });
  }

  expectedIds(kind: Kind): string[] {
    return this.items[kind].flatMap((item) =>
      kind === 'incidents'
        ? item.versions.map((_, i) => this.eventId(kind, item, i))
        : [this.eventId(kind, item, 0)],
    );
  }

  // -------------------------------------------------------------------------------------------

  private add(kind: Kind, t: number, vis: number): Item {
    const item: Item = { seq: this.items[kind].length, versions: [{ t, vis, status: 'new' }] };
    this.items[kind].push(item);
    return item;
  }

  private idOf(kind: Kind, item: Item): string {
    return String({ incidents: 1000, alerts: 200_000, audits: 5_000_000 }[kind] + item.seq);
  }

  private eventId(kind: Kind, item: Item, v: number): string {
    const id = this.idOf(kind, item);
    return kind === 'incidents' ? `${id}@${item.versions[v].t}` : id;
  }

  private guard(req: SimRequest, next: () => SimReply): SimReply {
    const h = req.headers;
    if (String(h['x-xdr-auth-id'] ?? '') !== String(this.apiKeyId)) return xdrError(401);
    if ((this.o.securityLevel ?? 'advanced') === 'standard') {
      if (h.authorization !== this.apiKey) return xdrError(401);
    } else {
      const nonce = String(h['x-xdr-nonce'] ?? '');
      const timestamp = String(h['x-xdr-timestamp'] ?? '');
      const expected = createHash('sha256').update(`${this.apiKey}${nonce}${timestamp}`).digest('hex');
      if (!/^[A-Za-z0-9]{64}$/.test(nonce) || !/^\d+$/.test(timestamp) || h.authorization !== expected)
        return xdrError(401);
      if (Math.abs(Date.now() - Number(timestamp)) > 5 * 60_000)
        return xdrError(401, 'Timestamp out of range');
      if (this.nonces.has(nonce)) return xdrError(401, 'Nonce already used');
      this.nonces.add(nonce);
    }
    if (this.o.licensed === false) return xdrError(402);
    if (this.o.viewer === false) return xdrError(403);
    return next();
  }

  private current(item: Item, now: number): Version | undefined {
    let v: Version | undefined;
    for (const x of item.versions) if (x.vis <= now) v = x;
    return v;
  }

  private list(req: SimRequest, kind: Kind): SimReply {
    let rd: any;
    try {
      rd = JSON.parse(req.body.toString('utf8') || '{}').request_data ?? {};
    } catch {
      return xdrError(400, 'Invalid JSON');
    }
    const from = Number(rd.search_from ?? 0);
    const to = Number(rd.search_to ?? 100);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to - from > 100)
      return xdrError(400, 'The maximum result set size is 100');
    const timeField = LISTS[kind].fields;
    const tests: Array<(v: Version, item: Item) => boolean> = [];
    for (const f of Array.isArray(rd.filters) ? rd.filters : []) {
      if (
        !timeField.includes(f?.field) ||
        !['gte', 'lte'].includes(f?.operator) ||
        typeof f?.value !== 'number'
      )
        return xdrError(400, `Unsupported filter ${JSON.stringify(f)}`);
      const created = f.field === 'creation_time';
      tests.push((v, item) => {
        const t = created ? item.versions[0].t : v.t;
        return f.operator === 'gte' ? t >= f.value : t <= f.value;
      });
    }
    const now = this.clock();
    const hits: Array<{ item: Item; v: Version }> = [];
    for (const item of this.items[kind]) {
      const v = this.current(item, now);
      if (v && tests.every((t) => t(v, item))) hits.push({ item, v });
    }
    hits.sort((a, b) => a.v.t - b.v.t || a.item.seq - b.item.seq);
    if (rd.sort?.keyword !== 'asc') hits.reverse();
    const page = req.empty ? [] : hits.slice(from, to);
    return json(200, {
      reply: {
        total_count: hits.length,
        result_count: page.length,
        [LISTS[kind].reply]: page.map(({ item, v }) => this.record(kind, item, v)),
      },
    });
  }

  private record(kind: Kind, item: Item, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, kind, item.seq));
    const host = `acme-ws-${rng.int(100, 999)}`;
    const user = `acme\\user${rng.int(1, 300)}`;
    const created = item.versions[0].t;
    const sev = rng.pick(['low', 'medium', 'high', 'critical']);
    let r: Record<string, unknown>;
    if (kind === 'audits') {
      const a = rng.pick(AUDITS);
      r = {
        AUDIT_ID: Number(this.idOf(kind, item)),
        AUDIT_OWNER_NAME: 'SOC Analyst',
        AUDIT_OWNER_EMAIL: 'analyst@acme.example',
        AUDIT_ASSET_JSON: null,
        AUDIT_ASSET_NAMES: a.entity === 'INCIDENT_MANAGEMENT' ? '' : host,
        AUDIT_HOSTNAME: null,
        AUDIT_RESULT: 'SUCCESS',
        AUDIT_REASON: null,
        AUDIT_DESCRIPTION: a.description,
        AUDIT_ENTITY: a.entity,
        AUDIT_ENTITY_SUBTYPE: a.subtype,
        AUDIT_CASE_ID: a.entity === 'INCIDENT_MANAGEMENT' ? rng.int(1000, 1100) : null,
        AUDIT_INSERT_TIME: v.t,
      };
    } else if (kind === 'incidents') {
      const name = rng.pick(INCIDENTS);
      r = {
        incident_id: this.idOf(kind, item),
        incident_name: null,
        creation_time: created,
        modification_time: v.t,
        detection_time: null,
        status: v.status,
        severity: sev,
        description: `'${name}' generated by XDR Agent detected on host ${host} involving user ${user}`,
        assigned_user_mail: v.status === 'new' ? null : 'analyst@acme.example',
        assigned_user_pretty_name: v.status === 'new' ? null : 'SOC Analyst',
        alert_count: rng.int(1, 6),
        low_severity_alert_count: 0,
        med_severity_alert_count: 1,
        high_severity_alert_count: 1,
        critical_severity_alert_count: 0,
        user_count: 1,
        host_count: 1,
        notes: null,
        resolve_comment: null,
        manual_severity: null,
        manual_description: null,
        xdr_url: `https://acme.xdr.us.paloaltonetworks.com/incident-view?caseId=${this.idOf(kind, item)}`,
        starred: false,
        hosts: [`${host}:${rng.hex(32)}`],
        users: [user],
        incident_sources: ['XDR Agent'],
        rule_based_score: null,
        manual_score: null,
        aggregated_score: rng.int(10, 90),
        mitre_tactics_ids_and_names: ['TA0002 - Execution'],
        mitre_techniques_ids_and_names: ['T1059.001 - Command and Scripting Interpreter: PowerShell'],
        alert_categories: ['Malware'],
      };
    } else {
      const a = rng.pick(ALERTS);
      r = {
        external_id: rng.hex(32),
        severity: sev,
        matching_status: 'MATCHED',
        end_match_attempt_ts: null,
        local_insert_ts: v.t,
        last_modified_ts: null,
        bioc_indicator: null,
        matching_service_rule_id: null,
        attempt_counter: 0,
        bioc_category_enum_key: null,
        is_whitelisted: false,
        starred: false,
        deduplicate_tokens: null,
        filter_rule_id: null,
        mitre_technique_id_and_name: [a.technique],
        mitre_tactic_id_and_name: [a.tactic],
        agent_version: '8.4.0.12345',
        agent_ip_addresses_v6: null,
        agent_device_domain: 'acme.example',
        events: [
          {
            agent_install_type: 'STANDARD',
            agent_host_boot_time: null,
            event_sub_type: null,
            module_id: a.module,
            association_strength: 50,
            dst_association_strength: null,
            story_id: null,
            event_id: rng.base62(22),
            event_type: 'Process Execution',
            event_timestamp: created - 2000,
            actor_process_image_name: a.process,
            actor_process_command_line: a.cmdline,
            actor_process_image_sha256: rng.hex(64),
            causality_actor_process_image_name: 'explorer.exe',
            os_actor_process_image_name: a.process,
            user_name: user,
          },
        ],
        alert_id: this.idOf(kind, item),
        detection_timestamp: created - 2000,
        name: a.name,
        category: a.category,
        endpoint_id: rng.hex(32),
        description: a.description,
        host_ip: [`10.3.${rng.int(0, 255)}.${rng.int(1, 254)}`],
        host_name: host,
        mac_addresses: null,
        source: 'XDR Agent',
        action: 'BLOCKED',
        action_pretty: 'Prevented (Blocked)',
      };
    }
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(r).length;
      if (left > 0) r.padding = 'x'.repeat(left);
    }
    return r;
  }
}

function xdrError(status: number, message?: string): SimReply {
  const msg =
    message ??
    {
      400: 'Bad Request',
      401: 'Public API request unauthorized',
      402: 'User is not licensed',
      403: 'Permission denied',
      429: 'Too many requests',
    }[status] ??
    'Internal server error';
  return json(
    status,
    { reply: { err_code: status, err_msg: msg, err_extra: null } },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}

const AUDITS = [
  {
    entity: 'INCIDENT_MANAGEMENT',
    subtype: 'Change Status',
    description: "Incident status changed to 'Under Investigation'",
  },
  { entity: 'RESPONSE', subtype: 'Isolate', description: 'Endpoint isolation initiated' },
  { entity: 'AUTH', subtype: 'Login', description: 'User logged in' },
  { entity: 'POLICY_PROFILES', subtype: 'Edit Profile', description: "Malware profile 'Default' edited" },
] as const;

const INCIDENTS = ['Behavioral Threat', 'WildFire Malware', 'Suspicious Process Creation'] as const;

const ALERTS = [
  {
    name: 'Behavioral Threat',
    category: 'Malware',
    description: 'Suspicious PowerShell command line',
    module: ['Behavioral Threat Protection'],
    process: 'powershell.exe',
    cmdline: 'powershell.exe -nop -w hidden -enc SQBFAFgA',
    tactic: 'TA0002 - Execution',
    technique: 'T1059.001 - PowerShell',
  },
  {
    name: 'WildFire Malware',
    category: 'Malware',
    description: 'Suspicious executable detected',
    module: ['WildFire'],
    process: 'invoice.exe',
    cmdline: 'C:\\Users\\bob\\Downloads\\invoice.exe',
    tactic: 'TA0002 - Execution',
    technique: 'T1204.002 - Malicious File',
  },
] as const;
