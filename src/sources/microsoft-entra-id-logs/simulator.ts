/**
 * Microsoft Graph audit logs simulator: `GET /v1.0/auditLogs/signIns`, `/directoryAudits`, `/provisioning`
 * behind an Entra ID v2.0 token endpoint (src/sim/microsoft.ts), following Microsoft's documentation:
 *
 * - learn.microsoft.com/graph/api/signin-list ("Optional query parameters", "Response") — `$filter` on createdDateTime with eq/le/ge, `$top` up to
 *   1,000 (the default), `$skiptoken`; newest first; no `$orderby`. resources/signin — record shape; a
 *   tenant without Entra ID P1/P2 gets 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`.
 * - learn.microsoft.com/graph/api/directoryaudit-list, resources/directoryaudit — activityDateTime supports
 *   `$filter` (eq, ge, le) and `$orderby`; record shape (category, activityDisplayName, initiatedBy,
 *   targetResources, additionalDetails, loggedByService, operationType, result).
 * - learn.microsoft.com/graph/api/provisioningobjectsummary-list, resources/provisioningobjectsummary —
 *   `$filter` (eq, contains, gt, lt) on activityDateTime, `$orderby`, `$top`; record shape.
 * - Permissions AuditLog.Read.All (+ Directory.Read.All); learn.microsoft.com/graph/throttling-limits —
 *   "Identity and access reports service limits": 5 requests per 10 seconds per app per tenant, 429 with
 *   Retry-After (enforced as a sliding window: src/sim/microsoft.ts).
 * - Times are DateTimeOffset values printed with 7 fractional digits, e.g. 2021-04-27T12:19:27.7211305Z.
 *
 * Assumed (not documented), decided here: directory audits and provisioning without `$orderby` come newest first like sign-ins;
 * `$top` above the maximum and unsupported filters are 400s; records are kept 30 days.
 */
import {
  appName,
  browser,
  geo,
  ipv4,
  person,
  Rng,
  type SimRequest,
  seedOf,
  stableUuid,
} from '../../sim/kit.ts';
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

export type LogStream = 'signIns' | 'directoryAudits' | 'provisioning';
export const LOG_STREAMS: LogStream[] = ['signIns', 'directoryAudits', 'provisioning'];

interface Entry extends Indexed {
  visibleAt: number;
}

export interface EntraLogsSimulatorOptions extends GraphSimOptions {
  /** Records generated up front per stream (default 50 sign-ins, 30 audits, 20 provisioning). */
  events?: Partial<Record<LogStream, number>>;
  /** Time of the first record (default: records end 5 minutes before now). */
  start?: number;
  /** Gap between records of a stream (default 1000 ms). */
  spacingMs?: number;
  /** Records of about this many bytes of JSON. */
  eventBytes?: number;
  /** false: the tenant has no Entra ID P1/P2 (sign-ins answer 403). */
  premium?: boolean;
  retentionDays?: number;
}

const DAY = 86_400_000;

export class EntraLogsSimulator extends GraphSim {
  private readonly index: Record<LogStream, TimeIndex<Entry>> = {
    signIns: new TimeIndex(),
    directoryAudits: new TimeIndex(),
    provisioning: new TimeIndex(),
  };
  private readonly counters: Record<LogStream, number> = { signIns: 0, directoryAudits: 0, provisioning: 0 };
  private readonly spacing: number;
  private readonly eventBytes?: number;
  premium: boolean;
  private readonly retention: number;

  constructor(o: EntraLogsSimulatorOptions = {}) {
    super(o, {
      permissions: ['AuditLog.Read.All', 'Directory.Read.All'],
      rateLimit: { requests: 5, windowMs: 10_000 },
    });
    this.spacing = o.spacingMs ?? 1000;
    this.eventBytes = o.eventBytes;
    this.premium = o.premium ?? true;
    this.retention = (o.retentionDays ?? 30) * DAY;
    const counts = { signIns: 50, directoryAudits: 30, provisioning: 20, ...o.events };
    for (const s of LOG_STREAMS) {
      const n = counts[s];
      const start = o.start ?? this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.spacing;
      this.add(s, n, { from: start, visibleDelayMs: 0 });
    }

    const visible = (i: Entry, now: number) =>
      i.visibleAt <= now && Number(i.t / 10_000n) >= now - this.retention;
    const permissionMissing = (permission: string) => (req: SimRequest) =>
      graphError(
        req,
        403,
        'Authentication_MSGraphPermissionMissing',
        `Calling principal does not have required MSGraph permissions ${permission}`,
      );
    this.get(
      '/v1.0/auditLogs/signIns',
      ['AuditLog.Read.All'],
      (req) => {
        if (!this.premium)
          return graphError(
            req,
            403,
            'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
            "Neither tenant is B2C or tenant doesn't have premium license",
          );
        return this.list(req, {
          context: 'auditLogs/signIns',
          property: 'createdDateTime',
          ops: ['eq', 'le', 'ge'],
          orderBy: false,
          defaultOrder: 'desc',
          maxTop: 1000,
          defaultTop: 1000,
          index: this.index.signIns,
          visible,
          render: (i) => this.render('signIns', i),
        });
      },
      permissionMissing('AuditLog.Read.All'),
    );
    this.get(
      '/v1.0/auditLogs/directoryAudits',
      ['AuditLog.Read.All'],
      (req) =>
        this.list(req, {
          context: 'auditLogs/directoryAudits',
          property: 'activityDateTime',
          ops: ['eq', 'ge', 'le'],
          orderBy: true,
          defaultOrder: 'desc',
          maxTop: 1000,
          defaultTop: 1000,
          index: this.index.directoryAudits,
          visible,
          render: (i) => this.render('directoryAudits', i),
        }),
      permissionMissing('AuditLog.Read.All'),
    );
    this.get(
      '/v1.0/auditLogs/provisioning',
      ['AuditLog.Read.All'],
      (req) =>
        this.list(req, {
          context: 'auditLogs/provisioning',
          property: 'activityDateTime',
          ops: ['eq', 'gt', 'lt'],
          orderBy: true,
          defaultOrder: 'desc',
          maxTop: 1000,
          defaultTop: 1000,
          index: this.index.provisioning,
          visible,
          render: (i) => this.render('provisioning', i),
        }),
      permissionMissing('AuditLog.Read.All'),
    );
  }

  /**
   * Adds `n` records to a stream, `spacingMs` apart from `from` (default: ending one spacing before now).
   * With `visibleDelayMs`, each is visible only from its time + the delay (Entra's reporting latency).
   * Returns their ids.
   */
  add(
    stream: LogStream,
    n: number,
    o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {},
  ): string[] {
    const now = this.clock();
    const spacing = o.spacingMs ?? this.spacing;
    const from = o.from ?? now - n * spacing;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const ms = from + i * spacing;
      const seq = this.counters[stream]++;
      // Sub-millisecond ticks as Graph prints them; deterministic per record.
      const t = msToTicks(ms) + BigInt(seedOf(this.seed, stream, seq) % 10_000);
      this.index[stream].add({ t, seq, visibleAt: Math.max(ms + (o.visibleDelayMs ?? 0), now) });
      ids.push(this.idOf(stream, seq));
    }
    return ids;
  }

  /** Ids of every record of the streams (visible or not), oldest first. */
  eventIds(streams: LogStream[] = LOG_STREAMS): string[] {
    return streams.flatMap((s) => this.index[s].all().map((e) => this.idOf(s, e.seq)));
  }

  /** Every record of a stream as Graph returns it, oldest first. */
  records(stream: LogStream): any[] {
    return this.index[stream].all().map((e) => JSON.parse(this.render(stream, e)));
  }

  idOf(stream: LogStream, seq: number): string {
    const salt = seedOf(this.seed, stream);
    if (stream === 'directoryAudits') {
      const rng = new Rng(seedOf(salt, seq, 'id'));
      return `Directory_${stableUuid(2, seq, salt)}_${rng.base62(5).toUpperCase()}_${rng.int(10_000_000, 999_999_999)}`;
    }
    return stableUuid(stream === 'signIns' ? 1 : 3, seq, salt);
  }

  private render(stream: LogStream, e: Entry): string {
    const rng = new Rng(seedOf(this.seed, stream, e.seq, 'rec'));
    const time = formatODataTime(e.t);
    const id = this.idOf(stream, e.seq);
    const record =
      stream === 'signIns'
        ? signIn(rng, id, time)
        : stream === 'directoryAudits'
          ? audit(rng, id, time)
          : provisioning(rng, id, time, this.tenantId);
    const [field, padding] = PADDING[stream];
    return padding.fill(JSON.stringify(record), field, this.eventBytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Records

const domain = 'contoso.com';

function signIn(rng: Rng, id: string, time: string) {
  const p = person(rng, domain);
  const g = geo(rng);
  const b = browser(rng);
  const app = appName(rng);
  const fail = rng.bool(0.1);
  const failure = rng.pick([
    [50126, 'Error validating credentials due to invalid username or password.'],
    [50074, 'Strong Authentication is required.'],
    [53003, 'Access has been blocked by Conditional Access policies.'],
    [
      50053,
      'Account is locked because user tried to sign in too many times with an incorrect user ID or password.',
    ],
  ] as const);
  const policies = rng.sample(CA_POLICIES, rng.int(0, 3));
  const record = {
    id,
    createdDateTime: time,
    userDisplayName: p.displayName,
    userPrincipalName: p.email,
    userId: stableUuid(4, rng.int(0, 1_000_000), 7),
    appId: stableUuid(5, rng.int(0, 200), 7),
    appDisplayName: app,
    ipAddress: ipv4(rng),
    clientAppUsed: rng.pick(['Browser', 'Mobile Apps and Desktop clients', 'Exchange ActiveSync']),
    correlationId: rng.uuid(),
    conditionalAccessStatus: fail && failure[0] === 53003 ? 'failure' : rng.pick(['success', 'notApplied']),
    isInteractive: true,
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: rng.pick(['none', 'none', 'low', 'medium']),
    riskState: 'none',
    riskEventTypes: [] as string[],
    riskEventTypes_v2: [] as string[],
    resourceDisplayName: rng.pick([
      'Office 365 Exchange Online',
      'Microsoft Graph',
      'Windows Azure Service Management API',
    ]),
    resourceId: stableUuid(6, rng.int(0, 50), 7),
    status: fail
      ? { errorCode: failure[0], failureReason: failure[1], additionalDetails: null }
      : { errorCode: 0, failureReason: 'Other.', additionalDetails: null },
    deviceDetail: {
      deviceId: '',
      displayName: null,
      operatingSystem: b.os,
      browser: b.browser,
      isCompliant: false,
      isManaged: false,
      trustType: null,
    },
    location: {
      city: g.city,
      state: g.state,
      countryOrRegion: g.countryCode,
      geoCoordinates: { altitude: null, latitude: g.lat, longitude: g.lon },
    },
    appliedConditionalAccessPolicies: policies,
  };
  return record;
}

function audit(rng: Rng, id: string, time: string) {
  const actor = person(rng, domain);
  const target = person(rng, domain);
  const [category, activity, op] = rng.pick([
    ['UserManagement', 'Add user', 'Add'],
    ['UserManagement', 'Update user', 'Update'],
    ['UserManagement', 'Reset user password', 'Update'],
    ['GroupManagement', 'Add member to group', 'Assign'],
    ['ApplicationManagement', 'Consent to application', 'Assign'],
    ['RoleManagement', 'Add member to role', 'Assign'],
    ['Policy', 'Update conditional access policy', 'Update'],
  ] as const);
  const details = [{ key: 'User-Agent', value: browser(rng).raw }];
  const record = {
    id,
    category,
    correlationId: rng.uuid(),
    result: rng.bool(0.95) ? 'success' : 'failure',
    resultReason: '',
    activityDisplayName: activity,
    activityDateTime: time,
    loggedByService: category === 'Policy' ? 'Conditional Access' : 'Core Directory',
    operationType: op,
    initiatedBy: {
      app: null,
      user: {
        id: stableUuid(4, rng.int(0, 1_000_000), 7),
        displayName: null,
        userPrincipalName: actor.email,
        ipAddress: ipv4(rng),
        userType: null,
        homeTenantId: null,
        homeTenantName: null,
      },
    },
    targetResources: [
      {
        id: stableUuid(4, rng.int(0, 1_000_000), 9),
        displayName: null,
        type: category === 'GroupManagement' ? 'Group' : 'User',
        userPrincipalName: target.email,
        groupType: null,
        modifiedProperties: [
          { displayName: 'AccountEnabled', oldValue: '[]', newValue: '[true]' },
          { displayName: 'Included Updated Properties', oldValue: null, newValue: '"AccountEnabled"' },
        ],
      },
    ],
    additionalDetails: details,
  };
  return record;
}

function provisioning(rng: Rng, id: string, time: string, tenantId: string) {
  const p = person(rng, domain);
  const app = appName(rng);
  const action = rng.pick(['create', 'update', 'disable', 'delete', 'other']);
  const changes = [
    { displayName: 'accountEnabled', oldValue: null, newValue: 'True' },
    { displayName: 'userPrincipalName', oldValue: null, newValue: p.email },
  ];
  const record = {
    id,
    activityDateTime: time,
    tenantId,
    jobId: `${app.replace(/\W/g, '')}.${rng.hex(32)}.${rng.hex(32)}`,
    cycleId: rng.uuid(),
    changeId: rng.uuid(),
    provisioningAction: action,
    durationInMilliseconds: rng.int(200, 9000),
    initiatedBy: { id: '', displayName: 'Azure AD Provisioning Service', initiatorType: 'system' },
    servicePrincipal: { id: stableUuid(5, rng.int(0, 200), 7), displayName: app },
    sourceSystem: { id: stableUuid(9, 1, 7), displayName: 'Azure Active Directory', details: {} },
    targetSystem: { id: stableUuid(9, 2, 7), displayName: app, details: { ApplicationId: rng.uuid() } },
    sourceIdentity: {
      id: stableUuid(4, rng.int(0, 1_000_000), 7),
      displayName: p.displayName,
      identityType: 'User',
      details: {},
    },
    targetIdentity: {
      id: rng.hex(24),
      displayName: p.displayName,
      identityType: 'urn:ietf:params:scim:schemas:core:2.0:User',
      details: {},
    },
    provisioningStatusInfo: rng.bool(0.9)
      ? { status: 'success', errorInformation: null }
      : {
          status: 'failure',
          errorInformation: {
            errorCode: 'SystemForCrossDomainIdentityManagementServiceIncompatible',
            reason: 'The SCIM endpoint returned an unexpected response.',
            additionalDetails: null,
            errorCategory: 'NonServiceFailure',
            recommendedAction: null,
          },
        },
    provisioningSteps: [
      {
        name: 'EntryImport',
        provisioningStepType: 'import',
        status: 'success',
        description: `Retrieved ${p.email} from Azure Active Directory`,
        details: {},
      },
      {
        name: 'EntryExportAdd',
        provisioningStepType: 'export',
        status: 'success',
        description: `User '${p.email}' was created in ${app}`,
        details: {},
      },
    ],
    modifiedProperties: changes,
  };
  return record;
}

// Realistic detail entries that pad records to a requested size (benchmarks, the huge-page check).
const pool = new Rng('entra-logs-padding');
const CA_POLICIES = Array.from({ length: 16 }, (_, i) => ({
  id: stableUuid(8, i, 7),
  displayName: `CA${String(i).padStart(3, '0')} - ${pool.pick(['Require MFA for admins', 'Block legacy authentication', 'Require compliant device', 'Block high-risk sign-ins'])}`,
  enforcedGrantControls: pool.pick([['Mfa'], ['Block'], ['RequireCompliantDevice']]),
  enforcedSessionControls: [],
  result: pool.pick(['success', 'notApplied', 'notEnabled', 'reportOnlyNotApplied']),
}));
const PADDING: Record<LogStream, [string, Padding]> = {
  signIns: ['appliedConditionalAccessPolicies', new Padding(CA_POLICIES)],
  directoryAudits: [
    'additionalDetails',
    new Padding(
      Array.from({ length: 16 }, (_, i) => ({ key: `AdditionalInfo${i}`, value: pool.base64url(220) })),
    ),
  ],
  provisioning: [
    'modifiedProperties',
    new Padding(
      Array.from({ length: 16 }, (_, i) => ({
        displayName: `extensionAttribute${i + 1}`,
        oldValue: null,
        newValue: pool.base64url(200),
      })),
    ),
  ],
};
