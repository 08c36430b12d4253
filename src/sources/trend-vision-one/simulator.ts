/**
 * Trend Vision One API v3.0 simulator (workbench alerts, OAT detections, audit logs), following Trend's
 * Automation Center guides and API reference (as Trend's SDK, github.com/TrendATI/pytmv1 `src/pytmv1/core.py`,
 * and the integrations cited in ./index.ts call it) and the account kind's regional domains:
 *
 * - https://automation.trendmicro.com/xdr/Guides/Authentication — `Authorization: Bearer <authentication
 *   token>` (the page's example is `GET /v3.0/workbench/alerts`); "Each API method requires a specific set of
 *   access permissions" ("Account Role Permissions": Workbench, Observed Attack Techniques, Audit Logs, each
 *   "View, filter, and search"). 401 for a wrong key, 403 when the key's role lacks the permission.
 * - https://automation.trendmicro.com/xdr/Guides/API-Request-Limits — rate is counted over 60 seconds; past it
 *   "the API returns the HTTP status code 429 with the message Too many API requests" (the injected
 *   `rate-limit` fault).
 * - https://automation.trendmicro.com/xdr/api-v3 (Workbench, Observed Attack Techniques, Audit Logs) — `GET
 *   /v3.0/workbench/alerts?startDateTime&endDateTime&dateTimeTarget=createdDateTime|updatedDateTime&top`, `GET
 *   /v3.0/oat/detections?detectedStartDateTime&detectedEndDateTime&top`, `GET
 *   /v3.0/audit/logs?startDateTime&endDateTime&top`; times `YYYY-MM-DDThh:mm:ssZ`; answers `{totalCount, count,
 *   items, nextLink}` with `nextLink` an absolute URL carrying `skip` and `top`, absent on the last page.
 *   Records shaped like the reference's examples: workbench alerts (`id` "WB-…", `schemaVersion`, `model`,
 *   `severity`, `score`, `createdDateTime`, `updatedDateTime`, `investigationStatus`, `status`,
 *   `impactScope`, `indicators`, `matchedRules`, `workbenchLink`), OAT detections (`uuid`, `source`,
 *   `detectedDateTime`, `ingestedDateTime`, `filters`, `entityType`, `endpoint`, `detail`), audit logs
 *   (`loggedDateTime`, `loggedUser`, `loggedRole`, `category`, `activity`, `access`, `result`, `details`).
 * - `PATCH /v3.0/workbench/alerts/{id}` (status changes) is routed, so a test that sees it fails on `writeCalls()`.
 *
 * Decided by the simulator (the public pages leave it open): bounds inclusive at whole seconds; lists newest
 * first; `top` at most 200 (400 above); error bodies `{"error": {"code", "message"}}`; a 429 carries
 * `Retry-After: 1`; alerts change in place (the list shows each alert's latest version); an empty page (the
 * `empty` fault) answers no items with the request's own `nextLink`.
 */

import { hashId } from '../../core/envelope.ts';
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

export type VisionOneList = 'workbench' | 'oat' | 'audit';

export interface VisionOneSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records of each list generated up front (default 50 each), `spacingMs` apart, the last 5 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  apiKey?: string;
  /** Lists the key's role may not view (403). */
  forbidden?: VisionOneList[];
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

const PATHS: Record<VisionOneList, string> = {
  workbench: '/v3.0/workbench/alerts',
  oat: '/v3.0/oat/detections',
  audit: '/v3.0/audit/logs',
};
const BOUNDS: Record<VisionOneList, [string, string]> = {
  workbench: ['startDateTime', 'endDateTime'],
  oat: ['detectedStartDateTime', 'detectedEndDateTime'],
  audit: ['startDateTime', 'endDateTime'],
};
const SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export class VisionOneSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly apiKey: string;
  private readonly o: VisionOneSimulatorOptions & { spacingMs: number };
  private readonly lists: Record<VisionOneList, Item[]> = { workbench: [], oat: [], audit: [] };
  private loopPages = 0;

  constructor(o: VisionOneSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.apiKey =
      o.apiKey ?? `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.${new Rng(seedOf(this.seed, 'key')).base62(120)}`;
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => v1Error(status),
        rateLimitReply: () => v1Error(429),
      },
    });
    for (const list of Object.keys(PATHS) as VisionOneList[])
      this.server.route('GET', PATHS[list], (r) => this.guard(r, list, () => this.list(r, list)));
    this.server.route('PATCH', '/v3.0/workbench/alerts/:id', () => ({ status: 204 }));
    const now = this.clock();
    const n = o.records ?? 50;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const list of Object.keys(PATHS) as VisionOneList[])
      for (let i = 0; i < n; i++) this.add(list, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** The next `pages` answers that have a next page name their own page again (a looping vendor). */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  addRecords(
    list: VisionOneList,
    n: number,
    o: SpacedEvents & { seq?: number; status?: string } = {},
  ): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      if (o.seq !== undefined) {
        const item = this.lists[list][o.seq];
        item.versions.push({ t, vis, status: o.status ?? 'Closed' });
        return this.eventId(list, item, item.versions.length - 1);
      }
      const item = this.add(list, t, vis);
      return this.eventId(list, item, 0);
    });
  }

  expectedIds(list: VisionOneList): string[] {
    return this.lists[list].flatMap((item) =>
      list === 'workbench'
        ? item.versions.map((_, i) => this.eventId(list, item, i))
        : [this.eventId(list, item, 0)],
    );
  }

  // -------------------------------------------------------------------------------------------

  private add(list: VisionOneList, t: number, vis: number): Item {
    // Whole seconds, as the API prints; distinct records never share a second.
    const item: Item = {
      seq: this.lists[list].length,
      versions: [{ t: Math.floor(t / 1000) * 1000, vis, status: 'Open' }],
    };
    this.lists[list].push(item);
    return item;
  }

  private eventId(list: VisionOneList, item: Item, v: number): string {
    if (list === 'workbench') return `${this.alertId(item)}@${iso(item.versions[v].t)}`;
    if (list === 'oat') return this.oatId(item);
    return hashId(this.record('audit', item, item.versions[v]));
  }

  private alertId(item: Item): string {
    return `WB-${String(9000 + (this.seed % 1000)).padStart(4, '0')}-20261125-${String(item.seq).padStart(5, '0')}`;
  }

  private oatId(item: Item): string {
    return stableUuid(11, item.seq, this.seed);
  }

  private guard(req: SimRequest, list: VisionOneList, next: () => SimReply): SimReply {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return v1Error(401);
    if (this.o.forbidden?.includes(list)) return v1Error(403);
    return next();
  }

  private current(item: Item, now: number): Version | undefined {
    let v: Version | undefined;
    for (const x of item.versions) if (x.vis <= now) v = x;
    return v;
  }

  private list(req: SimRequest, list: VisionOneList): SimReply {
    const [startKey, endKey] = BOUNDS[list];
    const q = req.query;
    const from = q.get(startKey);
    const to = q.get(endKey);
    for (const [k, v] of [
      [startKey, from],
      [endKey, to],
    ] as const)
      if (v !== null && !SECONDS.test(v)) return v1Error(400, `Invalid ${k}: expected YYYY-MM-DDThh:mm:ssZ`);
    const top = Number(q.get('top') ?? 50);
    if (!Number.isInteger(top) || top < 1 || top > 200) return v1Error(400, 'Invalid top: 1 to 200');
    const skip = Number(q.get('skip') ?? 0);
    if (list === 'workbench') {
      const target = q.get('dateTimeTarget') ?? 'createdDateTime';
      if (target !== 'createdDateTime' && target !== 'updatedDateTime')
        return v1Error(400, 'Invalid dateTimeTarget');
    }
    const lo = from ? Date.parse(from) : -Infinity;
    const hi = to ? Date.parse(to) : Infinity;
    const byCreated =
      list === 'workbench' && (q.get('dateTimeTarget') ?? 'createdDateTime') === 'createdDateTime';
    const now = this.clock();
    const hits: Array<{ item: Item; v: Version }> = [];
    for (const item of this.lists[list]) {
      const v = this.current(item, now);
      if (!v) continue;
      const t = byCreated ? item.versions[0].t : v.t;
      if (t >= lo && t <= hi) hits.push({ item, v });
    }
    hits.sort((a, b) => b.v.t - a.v.t || b.item.seq - a.item.seq); // newest first
    const page = req.empty ? [] : hits.slice(skip, skip + top);
    const nextUrl = (s: number) => {
      const u = new URL(req.url.toString());
      u.searchParams.set('skip', String(s));
      u.searchParams.set('top', String(top));
      return u.toString();
    };
    const body: Record<string, unknown> = {
      totalCount: hits.length,
      count: page.length,
      items: page.map(({ item, v }) => this.record(list, item, v)),
    };
    if (req.empty) body.nextLink = nextUrl(skip);
    else if (skip + page.length < hits.length) {
      const looping = this.loopPages > 0 && skip > 0;
      if (looping) this.loopPages--;
      body.nextLink = nextUrl(looping ? skip : skip + page.length);
    }
    return json(200, body);
  }

  private record(list: VisionOneList, item: Item, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, list, item.seq));
    const host = `acme-ws-${rng.int(100, 999)}`;
    const user = `user${rng.int(1, 300)}@acme.example`;
    const created = item.versions[0].t;
    let r: Record<string, unknown>;
    if (list === 'workbench') {
      const model = rng.pick(MODELS);
      const id = this.alertId(item);
      r = {
        schemaVersion: '1.14',
        id,
        investigationResult: v.status === 'Closed' ? 'True Positive' : 'No Findings',
        investigationStatus: v.status === 'Closed' ? 'Closed' : 'New',
        status: v.status,
        workbenchLink: `https://portal.xdr.trendmicro.com/index.html#/workbench/alerts/${id}`,
        alertProvider: 'SAE',
        modelId: stableUuid(12, item.seq % 7, this.seed),
        model: model.name,
        modelType: 'preset',
        score: rng.int(20, 90),
        severity: rng.pick(['low', 'medium', 'high', 'critical']),
        createdDateTime: iso(created),
        updatedDateTime: iso(v.t),
        firstInvestigatedDateTime: null,
        incidentId: `IC-${String(item.seq).padStart(5, '0')}`,
        description: model.description,
        impactScope: {
          desktopCount: 1,
          serverCount: 0,
          accountCount: 1,
          emailAddressCount: 0,
          entities: [
            {
              entityType: 'account',
              entityValue: user,
              entityId: user,
              relatedEntities: [],
              relatedIndicatorIds: [1],
              provenance: ['Alert'],
            },
            {
              entityType: 'host',
              entityValue: {
                guid: rng.hex(32),
                name: host,
                ips: [`10.4.${rng.int(0, 255)}.${rng.int(1, 254)}`],
              },
              entityId: rng.hex(32),
              relatedEntities: [user],
              relatedIndicatorIds: [1],
              provenance: ['Alert'],
            },
          ],
        },
        matchedRules: [
          {
            id: stableUuid(13, item.seq % 5, this.seed),
            name: model.name,
            matchedFilters: [
              {
                id: rng.hex(8),
                name: model.filter,
                matchedDateTime: iso(created - 5000),
                mitreTechniqueIds: [model.technique],
                matchedEvents: [],
              },
            ],
          },
        ],
        indicators: [
          {
            id: 1,
            type: 'command_line',
            field: 'processCmd',
            value: model.cmdline,
            relatedEntities: [host],
            filterIds: [],
            provenance: ['Alert'],
          },
        ],
      };
    } else if (list === 'oat') {
      r = {
        source: 'endpointActivityData',
        uuid: this.oatId(item),
        filters: [
          {
            id: `F${rng.int(1000, 9999)}`,
            name: rng.pick(['Suspicious PowerShell', 'Credential Dumping via Comsvcs']),
            description: 'Observed attack technique',
            highlightedObjects: [],
            mitreTacticIds: ['TA0002'],
            mitreTechniqueIds: ['T1059.001'],
            riskLevel: rng.pick(['low', 'medium', 'high']),
            type: 'preset',
          },
        ],
        detectedDateTime: iso(v.t),
        ingestedDateTime: iso(v.t + 30_000),
        entityType: 'endpoint',
        entityName: `${host}(10.4.0.1)`,
        endpoint: { endpointName: host, agentGuid: rng.hex(32), ips: ['10.4.0.1'] },
        detail: {
          eventId: '1',
          processName: 'powershell.exe',
          processCmd: 'powershell.exe -nop -enc SQBFAFgA',
          objectUser: user,
          endpointHostName: host,
        },
      };
    } else {
      const a = rng.pick(AUDIT);
      r = {
        loggedDateTime: iso(v.t),
        loggedUser: user,
        loggedRole: rng.pick(['Master Administrator', 'SOC Analyst']),
        category: a.category,
        activity: a.activity,
        access: rng.pick(['Console', 'API']),
        result: 'Successful',
        details: { seq: item.seq, source: `198.51.100.${rng.int(1, 254)}` },
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

function v1Error(status: number, message?: string): SimReply {
  const code =
    { 400: 'BadRequest', 401: 'Unauthorized', 403: 'AccessDenied', 404: 'NotFound', 429: 'TooManyRequests' }[
      status
    ] ?? 'InternalServerError';
  return json(
    status,
    { error: { code, message: message ?? (status === 429 ? 'Too many API requests' : code) } },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}

const MODELS = [
  {
    name: 'Possible Credential Dumping via Registry',
    description: 'A process dumped the SAM hive.',
    filter: 'Registry Hive Dump',
    technique: 'T1003.002',
    cmdline: 'reg.exe save HKLM\\SAM sam.hiv',
  },
  {
    name: 'Suspicious PowerShell Execution',
    description: 'PowerShell ran an encoded command.',
    filter: 'Encoded PowerShell',
    technique: 'T1059.001',
    cmdline: 'powershell.exe -nop -enc SQBFAFgA',
  },
] as const;

const AUDIT = [
  { category: 'Logon and Logoff', activity: 'Sign in to the Trend Vision One console' },
  { category: 'Workbench', activity: 'Update alert status' },
  { category: 'API Keys', activity: 'Add API key' },
] as const;
