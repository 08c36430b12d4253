/**
 * SentinelOne Management API v2.1 simulator (activities, threats, cloud-detection alerts). SentinelOne's API
 * reference lives on each console (`https://<console>/api-doc/overview`, behind a login), so the simulator
 * follows what SentinelOne's Cortex XSOAR event collector sends and the answers it recorded:
 *
 * - https://xsoar.pan.dev/docs/reference/integrations/sentinel-one-event-collector (configuration table) — a
 *   console URL (e.g. `https://usea1.sentinelone.net`) and an API token; event types activities, threats and
 *   alerts; "tested with API version 2.1"; "The maximum number of events per fetch should be between 1-1000".
 * - https://github.com/demisto/content/tree/master/Packs/SentinelOne/Integrations/SentinelOneEventCollector
 *   (`SentinelOneEventCollector.py`, `test_data/`) — `Authorization: ApiToken <token>`, API root
 *   `/web/api/v2.1`; `GET /activities`, `/threats`, `/cloud-detection/alerts` with `{field}__gt|__gte|__lt|__lte`
 *   time filters (`createdAt`; `updatedAt` on threats), `sortBy` (`createdAt`, `updatedAt`,
 *   `alertInfoCreatedAt`), `sortOrder` (asc|desc), `limit` (1–1000) and `cursor`; answers `{data, pagination:
 *   {nextCursor, totalItems}}`, `nextCursor` null on the last page. Records shaped like the recorded answers
 *   (activities.json, threats.json, alerts.json); times RFC 3339 with microseconds.
 * - Threats change in place (`threatInfo.updatedAt` moves); the list shows each threat's latest version.
 * - `POST /threats/mitigate/{action}` and `POST /threats/analyst-verdict` (changing threats): routed, so a test
 *   that sees one fails on `writeCalls()`.
 *
 * Decided by the simulator (the public material shows neither): cursors are opaque positions (base64 of the
 * last record's time and sequence) valid only with the filters they came with (400 otherwise); `__gte`/`__lt`
 * inclusive and exclusive; error bodies `{"errors": [{"code", "detail", "title"}]}`; 429 with `Retry-After`; an
 * empty page (the `empty` fault) hands back the request's own position as `nextCursor`.
 */
import {
  type Clock,
  isoMicros,
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

export type SentinelOneList = 'activities' | 'threats' | 'alerts';

export interface SentinelOneSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records of each list generated up front (default 50 each), `spacingMs` apart, the last 5 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  token?: string;
  /** false: the token's user may not read (403). */
  viewer?: boolean;
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

const PATHS: Record<SentinelOneList, string> = {
  activities: '/web/api/v2.1/activities',
  threats: '/web/api/v2.1/threats',
  alerts: '/web/api/v2.1/cloud-detection/alerts',
};
const FILTER_FIELD: Record<SentinelOneList, string> = {
  activities: 'createdAt',
  threats: 'updatedAt',
  alerts: 'createdAt',
};
const SORT_FIELDS: Record<SentinelOneList, string[]> = {
  activities: ['createdAt', 'id'],
  threats: ['updatedAt', 'createdAt'],
  alerts: ['alertInfoCreatedAt', 'alertInfoUpdatedAt'],
};

export class SentinelOneSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly token: string;
  private readonly o: SentinelOneSimulatorOptions & { spacingMs: number };
  private readonly lists: Record<SentinelOneList, Item[]> = { activities: [], threats: [], alerts: [] };
  private loopPages = 0;

  constructor(o: SentinelOneSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.token = o.token ?? new Rng(seedOf(this.seed, 'token')).base62(80);
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => s1Error(status),
        rateLimitReply: () => s1Error(429),
      },
    });
    for (const list of Object.keys(PATHS) as SentinelOneList[])
      this.server.route('GET', PATHS[list], (r) => this.guard(r, () => this.list(r, list)));
    // Changing threats exists; Tributary must never call it.
    this.server.route('POST', '/web/api/v2.1/threats/mitigate/:action', () =>
      json(200, { data: { affected: 1 } }),
    );
    this.server.route('POST', '/web/api/v2.1/threats/analyst-verdict', () =>
      json(200, { data: { affected: 1 } }),
    );
    const now = this.clock();
    const n = o.records ?? 50;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const list of Object.keys(PATHS) as SentinelOneList[])
      for (let i = 0; i < n; i++) this.add(list, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** The next `pages` answers hand back the request's own cursor (a looping vendor). */
  loopNextCursors(pages = 1): void {
    this.loopPages = pages;
  }

  /** Adds `n` records to `list` (with `seq`, new versions of that threat); returns their event ids. */
  add(list: SentinelOneList, t: number, vis: number): Item {
    const item: Item = { seq: this.lists[list].length, versions: [{ t, vis, status: 'unresolved' }] };
    this.lists[list].push(item);
    return item;
  }

  addRecords(
    list: SentinelOneList,
    n: number,
    o: SpacedEvents & { seq?: number; status?: string } = {},
  ): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      if (o.seq !== undefined) {
        const item = this.lists[list][o.seq];
        item.versions.push({ t, vis, status: o.status ?? 'resolved' });
        return this.eventId(list, item, item.versions.length - 1);
      }
      const item = this.add(list, t, vis);
      return this.eventId(list, item, 0);
    });
  }

  /** Every event id a complete drain of `list` must deliver. */
  expectedIds(list: SentinelOneList): string[] {
    return this.lists[list].flatMap((item) =>
      list === 'threats'
        ? item.versions.map((_, i) => this.eventId(list, item, i))
        : [this.eventId(list, item, 0)],
    );
  }

  // -------------------------------------------------------------------------------------------

  private idOf(list: SentinelOneList, item: Item): string {
    const base = {
      activities: 1_700_000_000_000_000_000n,
      threats: 1_800_000_000_000_000_000n,
      alerts: 1_900_000_000_000_000_000n,
    }[list];
    return String(base + BigInt(item.seq) * 7919n + BigInt(this.seed % 1000));
  }

  private eventId(list: SentinelOneList, item: Item, version: number): string {
    const id = this.idOf(list, item);
    return list === 'threats' ? `${id}@${isoMicros(item.versions[version].t, item.seq)}` : id;
  }

  private guard(req: SimRequest, next: () => SimReply): SimReply {
    if (String(req.headers.authorization ?? '') !== `ApiToken ${this.token}`) return s1Error(401);
    if (this.o.viewer === false) return s1Error(403);
    return next();
  }

  private current(item: Item, now: number): Version | undefined {
    let v: Version | undefined;
    for (const x of item.versions) if (x.vis <= now) v = x;
    return v;
  }

  private list(req: SimRequest, list: SentinelOneList): SimReply {
    const q = req.query;
    const limit = Number(q.get('limit') ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return s1Error(400, 'limit: Must be between 1 and 1000.');
    const sortBy = q.get('sortBy');
    if (sortBy !== null && !SORT_FIELDS[list].includes(sortBy))
      return s1Error(400, `sortBy: Invalid value ${sortBy}.`);
    const desc = q.get('sortOrder') === 'desc';
    const field = FILTER_FIELD[list];
    const bounds: Array<(t: number) => boolean> = [];
    for (const [op, test] of [
      ['gt', (t: number, b: number) => t > b],
      ['gte', (t: number, b: number) => t >= b],
      ['lt', (t: number, b: number) => t < b],
      ['lte', (t: number, b: number) => t <= b],
    ] as const) {
      const v = q.get(`${field}__${op}`);
      if (v === null) continue;
      const b = Date.parse(v);
      if (!Number.isFinite(b)) return s1Error(400, `${field}__${op}: Not a valid datetime.`);
      bounds.push((t) => test(t, b));
    }
    const filterKey = [...q.entries()]
      .filter(([k]) => k !== 'cursor' && k !== 'limit')
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    let after: { t: number; seq: number } | undefined;
    const cursor = q.get('cursor');
    if (cursor !== null) {
      try {
        const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
        if (c.f !== filterKey) return s1Error(400, 'cursor: Cursor does not match the query filters.');
        after = c.start ? undefined : { t: c.t, seq: c.seq };
      } catch {
        return s1Error(400, 'cursor: Invalid cursor.');
      }
    }
    const now = this.clock();
    const hits: Array<{ item: Item; v: Version }> = [];
    for (const item of this.lists[list]) {
      const v = this.current(item, now);
      if (v && bounds.every((b) => b(v.t))) hits.push({ item, v });
    }
    hits.sort((a, b) => a.v.t - b.v.t || a.item.seq - b.item.seq);
    if (desc) hits.reverse();
    const key = (h: { item: Item; v: Version }) => [h.v.t, h.item.seq] as const;
    const rest = after
      ? hits.filter((h) => {
          const [t, s] = key(h);
          const cmp = t - after.t || s - after.seq;
          return desc ? cmp < 0 : cmp > 0;
        })
      : hits;
    const page = req.empty ? [] : rest.slice(0, limit);
    const encode = (c: object) => Buffer.from(JSON.stringify({ f: filterKey, ...c })).toString('base64url');
    let next: string | null = null;
    if (this.loopPages > 0 && cursor !== null) {
      this.loopPages--;
      next = cursor;
    } else if (req.empty) next = cursor ?? encode({ start: true });
    else if (rest.length > page.length) {
      const last = page[page.length - 1];
      next = encode({ t: last.v.t, seq: last.item.seq });
    }
    return json(200, {
      data: page.map(({ item, v }) => this.record(list, item, v)),
      pagination: { nextCursor: next, totalItems: hits.length },
    });
  }

  private record(list: SentinelOneList, item: Item, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, list, item.seq));
    const id = this.idOf(list, item);
    const created = isoMicros(item.versions[0].t, item.seq);
    const updated = isoMicros(v.t, item.seq);
    const host = `DESKTOP-${rng.base62(7).toUpperCase()}`;
    const agentId = String(1_559_342_436_290_084_702n + BigInt(item.seq % 13));
    const site = {
      accountId: '433241117337583618',
      accountName: 'Acme Corp',
      siteId: '433241117354360835',
      siteName: 'Default site',
    };
    let r: Record<string, unknown>;
    if (list === 'activities') {
      const a = rng.pick(ACTIVITIES);
      r = {
        ...site,
        activityType: a.type,
        activityUuid: `${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}`,
        agentId: a.agent ? agentId : null,
        agentUpdatedVersion: null,
        comments: null,
        createdAt: created,
        data: {
          accountName: site.accountName,
          fullScopeDetails: 'Account Acme Corp',
          username: `analyst${rng.int(1, 9)}@acme.example`,
          computerName: a.agent ? host : null,
        },
        description: null,
        groupId: null,
        groupName: null,
        hash: null,
        id,
        osFamily: a.agent ? 'windows' : null,
        primaryDescription: a.text.replace('{host}', host),
        secondaryDescription: null,
        threatId: null,
        updatedAt: created,
        userId: String(1_503_807_937_830_229_037n + BigInt(rng.int(0, 9))),
      };
    } else if (list === 'threats') {
      const th = rng.pick(THREATS);
      r = {
        id,
        agentDetectionInfo: {
          ...site,
          agentDomain: 'ACME',
          agentIpV4: `10.1.${rng.int(0, 255)}.${rng.int(1, 254)}`,
          agentMitigationMode: 'protect',
          agentOsName: 'Windows 11 Pro',
          agentUuid: rng.hex(32),
          agentVersion: '23.4.2.14',
          externalIp: `198.51.100.${rng.int(1, 254)}`,
          groupName: 'Default Group',
        },
        agentRealtimeInfo: {
          ...site,
          agentComputerName: host,
          agentId,
          agentInfected: true,
          agentIsActive: true,
          agentMachineType: 'desktop',
          agentNetworkStatus: 'connected',
          agentOsType: 'windows',
          agentVersion: '23.4.2.14',
        },
        indicators: [
          {
            category: th.category,
            description: th.indicator,
            tactics: [
              {
                name: th.tactic,
                source: 'MITRE',
                techniques: [
                  { name: th.technique, link: `https://attack.mitre.org/techniques/${th.technique}/` },
                ],
              },
            ],
          },
        ],
        mitigationStatus: [
          {
            action: 'kill',
            status: 'success',
            lastUpdate: updated,
            mitigationStartedAt: created,
            mitigationEndedAt: created,
          },
        ],
        threatInfo: {
          analystVerdict: v.status === 'resolved' ? 'true_positive' : 'undefined',
          classification: th.classification,
          confidenceLevel: 'malicious',
          createdAt: created,
          detectionType: 'dynamic',
          engines: ['SentinelOne Cloud'],
          filePath: th.path,
          identifiedAt: created,
          incidentStatus: v.status,
          initiatedBy: 'agent_policy',
          mitigationStatus: 'mitigated',
          sha1: rng.hex(40),
          storyline: rng.hex(16).toUpperCase(),
          threatId: id,
          threatName: th.name,
          updatedAt: updated,
        },
        whiteningOptions: ['hash', 'path'],
      };
    } else {
      const al = rng.pick(ALERTS);
      r = {
        agentDetectionInfo: {
          machineType: 'desktop',
          name: host,
          osFamily: 'windows',
          osName: 'Windows 11 Pro',
          siteId: site.siteId,
          uuid: rng.hex(32),
          version: '23.4.2.14',
        },
        agentRealtimeInfo: {
          id: agentId,
          infected: false,
          isActive: true,
          machineType: 'desktop',
          name: host,
          os: 'windows',
          uuid: rng.hex(32),
        },
        alertInfo: {
          alertId: id,
          analystVerdict: 'Undefined',
          createdAt: created,
          dvEventId: `01${rng.hex(24).toUpperCase()}`,
          eventType: al.eventType,
          hitType: 'Events',
          incidentStatus: 'Unresolved',
          isEdr: true,
          reportedAt: isoMicros(item.versions[0].t + 4000, item.seq),
          source: 'STAR',
          updatedAt: created,
        },
        ruleInfo: {
          id: String(1_600_000_000_000_000_000n + BigInt(rng.int(0, 9))),
          name: al.rule,
          queryLang: '2.0',
          queryType: 'events',
          s1ql: al.s1ql,
          scopeLevel: 'account',
          severity: al.severity,
          treatAsThreat: 'UNDEFINED',
        },
        sourceProcessInfo: {
          commandline: al.cmdline,
          fileHashSha256: rng.hex(64),
          filePath: al.path,
          name: al.path.split('\\').pop(),
          pid: String(rng.int(1000, 9000)),
          storyline: rng.hex(16).toUpperCase(),
          user: `ACME\\user${rng.int(1, 400)}`,
        },
        targetProcessInfo: { tgtFilePath: null, tgtProcCmdLine: null, tgtProcName: null },
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

function s1Error(status: number, detail?: string): SimReply {
  const title =
    {
      400: 'Validation Error',
      401: 'Authentication Failed',
      403: 'Insufficient Permissions',
      404: 'Not Found',
      429: 'Too Many Requests',
    }[status] ?? 'Server Error';
  return json(
    status,
    { errors: [{ code: status * 10_000 + 10, detail: detail ?? title, title }] },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}

const ACTIVITIES = [
  { type: 27, text: 'User analyst logged in to management console', agent: false },
  { type: 5020, text: 'Exclusion added to the site policy', agent: false },
  { type: 52, text: 'Agent {host} disconnected from network', agent: true },
  { type: 18, text: 'Threat detected on {host}', agent: true },
] as const;

const THREATS = [
  {
    name: 'invoice_2026.exe',
    classification: 'Trojan',
    category: 'Malware',
    indicator: 'Known malicious file',
    tactic: 'Execution',
    technique: 'T1204',
    path: '\\Device\\HarddiskVolume3\\Users\\bob\\Downloads\\invoice_2026.exe',
  },
  {
    name: 'powershell.exe',
    classification: 'Malware',
    category: 'Evasion',
    indicator: 'Obfuscated script executed',
    tactic: 'Defense Evasion',
    technique: 'T1027',
    path: '\\Device\\HarddiskVolume3\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  },
  {
    name: 'locker.dll',
    classification: 'Ransomware',
    category: 'Ransomware',
    indicator: 'Mass file encryption',
    tactic: 'Impact',
    technique: 'T1486',
    path: '\\Device\\HarddiskVolume3\\ProgramData\\locker.dll',
  },
] as const;

const ALERTS = [
  {
    rule: 'Credential dumping via comsvcs',
    severity: 'Critical',
    eventType: 'PROCESSCREATION',
    s1ql: 'TgtProcCmdLine ContainsCIS "comsvcs.dll, MiniDump"',
    cmdline: 'rundll32.exe comsvcs.dll, MiniDump 624 l.dmp full',
    path: 'C:\\Windows\\System32\\rundll32.exe',
  },
  {
    rule: 'Run key persistence',
    severity: 'High',
    eventType: 'REGVALUEMODIFIED',
    s1ql: 'RegistryKeyPath ContainsCIS "CurrentVersion\\Run"',
    cmdline: 'reg.exe add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v upd',
    path: 'C:\\Windows\\System32\\reg.exe',
  },
] as const;
