/**
 * Microsoft Graph security simulator: `GET /v1.0/security/alerts_v2` and `/v1.0/security/incidents` behind
 * an Entra ID v2.0 token endpoint (src/sim/microsoft.ts), following Microsoft's documentation:
 *
 * - learn.microsoft.com/graph/api/security-list-alerts_v2 ("Optional query parameters") and
 *   resources/security-alert ("Properties") — `$filter` on
 *   lastUpdateDateTime (among others), `$top`, `$skip`, `$count`; `@odata.nextLink` paging; most recent
 *   first; record shape (id, providerAlertId, incidentId, status, severity, classification, determination,
 *   serviceSource, detectionSource, title, category, createdDateTime, lastUpdateDateTime, evidence, …).
 *   Application permission SecurityAlert.Read.All.
 * - learn.microsoft.com/graph/api/security-list-incidents and resources/security-incident — same query
 *   options plus `$expand=alerts`; record shape (id, incidentWebUrl, displayName, status, severity,
 *   assignedTo, classification, determination, createdDateTime, lastUpdateDateTime, comments, …).
 *   Application permission SecurityIncident.Read.All.
 * - learn.microsoft.com/graph/throttling-limits ("Security detections and incidents service limits") — 150
 *   requests a minute per app per tenant.
 * - Alerts and incidents are updated in place: a later read returns the same id with a new
 *   lastUpdateDateTime and the changed properties.
 *
 * - Paging: both list pages document `$skip` and `$top` (alerts: `GET /security/alerts_V2?$top=100&$skip=200`)
 *   and no `$skiptoken`; learn.microsoft.com/graph/query-parameters ("$skip … Also used by some APIs to
 *   implement paging"; "$skipToken … (Some APIs use $skip instead.)"). So `@odata.nextLink` carries the
 *   next `$skip` offset, and an offset counts into the filtered collection as it is when that page is
 *   asked: an alert updated between two pages leaves a `lastUpdateDateTime` window and every later alert
 *   moves up one place (`updateWhilePaging` makes that happen). `$count=true` adds `@odata.count` (both
 *   pages list `$count`).
 *
 * Assumed (not documented), decided here: "most recent first" orders by lastUpdateDateTime; `$orderby` is
 * refused (400) as it is not among the documented options; a missing permission answers 403 `Forbidden`;
 * `@odata.count` is on every page (the nextLink keeps `$count=true`); `$top` up to 2000.
 */
import { appName, Rng, type SimRequest, seedOf, stableUuid } from '../../sim/kit.ts';
import {
  formatODataTime,
  GraphSim,
  type GraphSimOptions,
  graphError,
  type Indexed,
  msToTicks,
  Padding,
  TimeIndex,
} from '../../sim/microsoft.ts';

export type SecurityStream = 'alerts' | 'incidents';

interface Version extends Indexed {
  entity: number;
  version: number;
  visibleAt: number;
}

interface Entity {
  created: bigint;
  versions: Version[];
}

export interface SecuritySimulatorOptions extends GraphSimOptions {
  /** Alerts and incidents generated up front (default 60 and 20). */
  events?: Partial<Record<SecurityStream, number>>;
  start?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** false: `$count=true` is ignored (no `@odata.count`), as a proxy that drops it would answer. */
  odataCount?: boolean;
  /** Added to every `@odata.count` (a count that disagrees with the list). */
  odataCountSkew?: number;
}

const STATUS = ['new', 'inProgress', 'resolved'] as const;

export class SecuritySimulator extends GraphSim {
  private readonly entities: Record<SecurityStream, Entity[]> = { alerts: [], incidents: [] };
  private readonly index: Record<SecurityStream, TimeIndex<Version>> = {
    alerts: new TimeIndex(),
    incidents: new TimeIndex(),
  };
  private seq = 0;
  private readonly churn: Record<SecurityStream, number> = { alerts: 0, incidents: 0 };
  private readonly spacing: number;
  private readonly eventBytes?: number;

  constructor(o: SecuritySimulatorOptions = {}) {
    super(o, {
      permissions: ['SecurityAlert.Read.All', 'SecurityIncident.Read.All'],
      rateLimit: { requests: 150, windowMs: 60_000 },
    });
    this.spacing = o.spacingMs ?? 1000;
    this.eventBytes = o.eventBytes;
    const counts = { alerts: 60, incidents: 20, ...o.events };
    for (const s of ['alerts', 'incidents'] as const) {
      const n = counts[s];
      this.add(s, n, { from: o.start ?? this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.spacing });
    }
    const denied = (permission: string) => (req: SimRequest) =>
      graphError(req, 403, 'Forbidden', `Missing application roles. API required roles: ${permission}.`);
    for (const s of ['alerts', 'incidents'] as const) {
      const permission = s === 'alerts' ? 'SecurityAlert.Read.All' : 'SecurityIncident.Read.All';
      this.get(
        s === 'alerts' ? '/v1.0/security/alerts_v2' : '/v1.0/security/incidents',
        [permission, permission.replace('.Read.', '.ReadWrite.')],
        (req) =>
          this.list(req, {
            context: s === 'alerts' ? 'security/alerts_v2' : 'security/incidents',
            property: 'lastUpdateDateTime',
            ops: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'],
            orderBy: false,
            defaultOrder: 'desc',
            maxTop: 2000,
            defaultTop: s === 'alerts' ? 2000 : 50,
            index: this.index[s],
            visible: (v, now) => v.visibleAt <= now && this.current(s, v.entity, now) === v,
            render: (v) => this.render(s, v),
            paging: 'skip',
            count: o.odataCount ?? true,
            countSkew: o.odataCountSkew,
            afterPage: (items, more) => {
              if (!more || this.churn[s] <= 0 || !items.length) return;
              this.churn[s]--;
              this.update(s, items[0].entity);
            },
          }),
        denied(permission),
      );
    }
  }

  /** Adds `n` alerts or incidents created `spacingMs` apart from `from`; returns their version ids. */
  add(
    stream: SecurityStream,
    n: number,
    o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {},
  ): string[] {
    const now = this.clock();
    const spacing = o.spacingMs ?? this.spacing;
    const from = o.from ?? now - n * spacing;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const ms = from + i * spacing;
      const entity = this.entities[stream].length;
      const t = msToTicks(ms) + BigInt(seedOf(this.seed, stream, entity) % 10_000);
      const v: Version = {
        t,
        seq: this.seq++,
        entity,
        version: 0,
        visibleAt: Math.max(ms + (o.visibleDelayMs ?? 0), now),
      };
      this.entities[stream].push({ created: t, versions: [v] });
      this.index[stream].add(v);
      out.push(this.versionIdOf(stream, v));
    }
    return out;
  }

  /**
   * Updates alert/incident `entity` (its status moves on, a comment is added) at `at` (default now):
   * Graph then returns it with the new lastUpdateDateTime. Returns the new version id.
   */
  update(stream: SecurityStream, entity: number, at = this.clock()): string {
    const e = this.entities[stream][entity];
    const v: Version = {
      t: msToTicks(at) + 1234n,
      seq: this.seq++,
      entity,
      version: e.versions.length,
      visibleAt: at,
    };
    e.versions.push(v);
    this.index[stream].add(v);
    return this.versionIdOf(stream, v);
  }

  /**
   * After each of the next `pages` pages that have a next page, the first alert (incident) the page held
   * is updated (an analyst triaging while a collector pages): it leaves a lastUpdateDateTime window being
   * paged, and every later `$skip` offset moves up by one.
   */
  updateWhilePaging(stream: SecurityStream, pages = 1): void {
    this.churn[stream] = pages;
  }

  idOf(stream: SecurityStream, entity: number): string {
    const rng = new Rng(seedOf(this.seed, stream, entity, 'id'));
    return stream === 'alerts'
      ? `da${rng.int(100_000_000, 999_999_999)}${rng.int(100_000_000, 999_999_999)}_${rng.bool() ? '-' : ''}${rng.int(100_000_000, 2_147_483_647)}`
      : String(1_000_000 + entity * 7 + (seedOf(this.seed, entity) % 7));
  }

  private versionIdOf(stream: SecurityStream, v: Version): string {
    return `${this.idOf(stream, v.entity)}@${formatODataTime(v.t)}`;
  }

  /** The envelope ids a full drain must deliver: the current version of every alert/incident. */
  eventIds(streams: SecurityStream[] = ['alerts', 'incidents']): string[] {
    return streams.flatMap((s) =>
      this.entities[s].map((e) => this.versionIdOf(s, e.versions[e.versions.length - 1])),
    );
  }

  /** Current records of a stream, as Graph returns them. */
  records(stream: SecurityStream): any[] {
    return this.entities[stream].map((e) =>
      JSON.parse(this.render(stream, e.versions[e.versions.length - 1])),
    );
  }

  private current(stream: SecurityStream, entity: number, now: number): Version | undefined {
    const vs = this.entities[stream][entity].versions;
    for (let i = vs.length - 1; i >= 0; i--) if (vs[i].visibleAt <= now) return vs[i];
    return undefined;
  }

  private render(stream: SecurityStream, v: Version): string {
    const e = this.entities[stream][v.entity];
    const rng = new Rng(seedOf(this.seed, stream, v.entity, 'rec'));
    const id = this.idOf(stream, v.entity);
    const status = STATUS[Math.min(v.version, STATUS.length - 1)];
    const created = formatODataTime(e.created);
    const updated = formatODataTime(v.t);
    const comments = Array.from({ length: v.version }, (_, i) => ({
      comment: i === 0 ? 'Investigating.' : 'Remediated: device isolated and credentials reset.',
      createdByDisplayName: 'SOC analyst',
      createdDateTime: updated,
    }));
    const tenantId = this.tenantId;
    if (stream === 'incidents') {
      const record = {
        '@odata.type': '#microsoft.graph.security.incident',
        id,
        incidentWebUrl: `https://security.microsoft.com/incidents/${id}?tid=${tenantId}`,
        redirectIncidentId: null,
        tenantId,
        displayName: rng.pick([
          'Multi-stage incident involving Initial access & Command and control on multiple endpoints reported by multiple sources',
          'Suspicious sign-in activity and mailbox rule creation involving one user',
          'Ransomware activity on one endpoint',
        ]),
        createdDateTime: created,
        lastUpdateDateTime: updated,
        assignedTo: v.version > 0 ? 'soc@contoso.com' : null,
        classification: status === 'resolved' ? 'truePositive' : 'unknown',
        determination: status === 'resolved' ? 'malware' : 'unknown',
        status: status === 'new' ? 'active' : status === 'inProgress' ? 'inProgress' : 'resolved',
        severity: rng.pick(['low', 'medium', 'high']),
        customTags: [] as string[],
        systemTags: [] as string[],
        description: null,
        comments,
      };
      return INCIDENT_PADDING.fill(JSON.stringify(record), 'comments', this.eventBytes);
    }
    const service = rng.pick([
      ['microsoftDefenderForEndpoint', 'antivirus', 'DefenseEvasion', 'Suspicious execution of hidden file'],
      [
        'microsoftDefenderForOffice365',
        'microsoftDefenderForOffice365',
        'InitialAccess',
        'Email messages containing malicious URL removed after delivery',
      ],
      ['azureAdIdentityProtection', 'azureAdIdentityProtection', 'InitialAccess', 'Atypical travel'],
      [
        'microsoftDefenderForCloudApps',
        'microsoftDefenderForCloudApps',
        'Exfiltration',
        'Mass download by a single user',
      ],
    ] as const);
    const evidence = [
      {
        '@odata.type': '#microsoft.graph.security.userEvidence',
        createdDateTime: created,
        verdict: 'unknown',
        remediationStatus: 'none',
        remediationStatusDetails: null,
        roles: ['compromised'],
        tags: [],
        userAccount: {
          accountName: 'kai',
          domainName: 'CONTOSO',
          userSid: `S-1-5-21-${rng.int(1e8, 9e8)}-${rng.int(1e8, 9e8)}-${rng.int(1000, 9999)}`,
          azureAdUserId: stableUuid(4, rng.int(0, 1_000_000), 7),
          userPrincipalName: 'kai@contoso.com',
          displayName: 'Kai Carter',
        },
      },
    ];
    const incidentId = String(1_000_000 + (v.entity % 17) * 7);
    const record = {
      '@odata.type': '#microsoft.graph.security.alert',
      id,
      providerAlertId: id,
      incidentId,
      status,
      severity: rng.pick(['informational', 'low', 'medium', 'high']),
      classification: status === 'resolved' ? 'truePositive' : null,
      determination: status === 'resolved' ? 'malware' : null,
      serviceSource: service[0],
      detectionSource: service[1],
      detectorId: rng.uuid(),
      tenantId,
      title: service[3],
      description: `${service[3]} was detected by ${appName(rng)} telemetry.`,
      recommendedActions: 'Collect artifacts and determine scope.',
      category: service[2],
      assignedTo: v.version > 0 ? 'soc@contoso.com' : null,
      alertWebUrl: `https://security.microsoft.com/alerts/${id}?tid=${tenantId}`,
      incidentWebUrl: `https://security.microsoft.com/incidents/${incidentId}?tid=${tenantId}`,
      actorDisplayName: null,
      threatDisplayName: null,
      threatFamilyName: null,
      mitreTechniques: ['T1564.001'],
      createdDateTime: created,
      lastUpdateDateTime: updated,
      resolvedDateTime: status === 'resolved' ? updated : null,
      firstActivityDateTime: created,
      lastActivityDateTime: created,
      comments,
      evidence,
      systemTags: [] as string[],
    };
    return EVIDENCE_PADDING.fill(JSON.stringify(record), 'evidence', this.eventBytes);
  }
}

// Realistic detail entries that pad records to a requested size (benchmarks, the huge-page check).
const pool = new Rng('security-padding');
const EVIDENCE_PADDING = new Padding(
  Array.from({ length: 16 }, (_, i) => ({
    '@odata.type': '#microsoft.graph.security.fileEvidence',
    createdDateTime: '2026-11-25T10:00:00.0000000Z',
    verdict: 'suspicious',
    remediationStatus: 'none',
    detectionStatus: 'detected',
    roles: [],
    tags: [],
    fileDetails: {
      sha1: pool.hex(40),
      sha256: pool.hex(64),
      fileName: `payload${i}.exe`,
      filePath: 'C:\\Users\\kai\\AppData\\Local\\Temp',
      fileSize: pool.int(1e4, 1e7),
      filePublisher: null,
      signer: null,
      issuer: null,
    },
  })),
);
const INCIDENT_PADDING = new Padding(
  Array.from({ length: 16 }, (_, i) => ({
    comment: `Triage note ${i}: ${pool.base64url(180)}`,
    createdByDisplayName: 'SOC analyst',
    createdDateTime: '2026-11-25T10:00:00.0000000Z',
  })),
);
