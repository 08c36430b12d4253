import { AwsJsonSim, awsJsonError } from '../../sim/aws-json.ts';
import {
  type Clock,
  ipv4,
  json,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
} from '../../sim/kit.ts';

/**
 * Documentation: https://docs.aws.amazon.com/guardduty/latest/APIReference/API_ListFindings.html, API_GetFindings.html and API_ListDetectors.html.
 * Amazon GuardDuty's REST-JSON API, as the GuardDuty API Reference documents it, SigV4-signed for the
 * service `guardduty` (sim/aws-json.ts):
 *
 * - ListDetectors (API_ListDetectors.html): `GET /detector?maxResults=&nextToken=` (maxResults 1–50,
 *   default 50) → `{detectorIds, nextToken}`; one detector per account and Region.
 * - ListFindings (API_ListFindings.html): `POST /detector/{detectorId}/findings` with
 *   `{findingCriteria: {criterion: {"updatedAt": {"greaterThanOrEqual": ms, "lessThan": ms}}},
 *   sortCriteria: {attributeName, orderBy: "ASC" | "DESC"}, maxResults (1–50, default 50), nextToken}` →
 *   `{findingIds, nextToken}` (the legacy `gte`/`lt` condition names are accepted too).
 * - GetFindings (API_GetFindings.html): `POST /detector/{detectorId}/findings/get` with `{findingIds}`
 *   (at most 50: `BadRequestException` above) → `{findings}` shaped like the "Finding" data type (`id`,
 *   `arn`, `type`, `severity`, `title`, `createdAt`, `updatedAt` ISO times, `resource`, `service` with
 *   `count`, `eventFirstSeen`, `eventLastSeen`, `archived`, …); unknown ids are left out.
 * - Findings are updated in place (`update`: a repeated occurrence raises `service.count` and moves
 *   `updatedAt`) and kept 90 days (GuardDuty User Guide, "Understanding Amazon GuardDuty findings":
 *   "findings … are retained for 90 days").
 * - Errors (API reference, each action's Errors): `BadRequestException` 400, `AccessDeniedException` 403
 *   (`deny`), `InternalServerErrorException` 500; a request above the rate limit 429
 *   `TooManyRequestsException` (`throttle`; assumed: the reference lists no throttling error).
 * - Writes: any other route (ArchiveFindings, UpdateFindingsFeedback, CreateDetector, …) is counted in
 *   `writeCalls` and refused.
 *
 * Assumed where the docs are silent: `nextToken` is opaque; here it is the last id and time returned.
 */

const REST_JSON = 'application/json';

export interface SimFinding {
  id: string;
  updatedAt: number;
  createdAt: number;
  count: number;
  type: string;
  severity: number;
  /** When the finding (its latest update) became visible to the API. */
  visibleAt: number;
}

export interface GuardDutySimOptions {
  clock: Clock;
  region?: string;
  accountId?: string;
  seed?: number;
  eventBytes?: number;
}

const TYPES: Array<[string, number]> = [
  ['Recon:EC2/PortProbeUnprotectedPort', 2],
  ['UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS', 8],
  ['CryptoCurrency:EC2/BitcoinTool.B!DNS', 8],
  ['Policy:S3/BucketBlockPublicAccessDisabled', 2],
  ['Discovery:S3/MaliciousIPCaller', 5],
];

const error = (status: number, code: string, message: string) =>
  awsJsonError(status, code, message, REST_JSON);

const before = (a: SimFinding, t: number, id: string) => a.updatedAt < t || (a.updatedAt === t && a.id <= id);

export class GuardDutySimulator extends AwsJsonSim {
  readonly detectorId = '12abc34d567e8fa901bc2d34e56789f0';
  private readonly findings = new Map<string, SimFinding>();
  private readonly seed: number;
  private readonly eventBytes: number;
  private readonly denied = new Set<string>();
  private seq = 0;
  /** Each ListFindings and GetFindings input, in order. */
  readonly inputs: Array<{ action: string; input: Record<string, any> }> = [];

  constructor(o: GuardDutySimOptions) {
    super({
      clock: o.clock,
      service: 'guardduty',
      region: o.region,
      accountId: o.accountId,
      accessKeyId: 'AKIATRIBUTARYGDUTY01',
      secretAccessKey: 'sim-guardduty-secret/key+for-tests',
      error,
      codes: {
        serverError: 'InternalServerErrorException',
        badRequest: 'BadRequestException',
        throttle: { status: 429, code: 'TooManyRequestsException', message: 'Too Many Requests' },
      },
    });
    this.seed = o.seed ?? 11;
    this.eventBytes = o.eventBytes ?? 0;
    const signed =
      (handler: (req: SimRequest) => SimReply) =>
      async (req: SimRequest): Promise<SimReply> =>
        (await this.refuse(req)) ?? handler(req);
    this.server.route(
      'GET',
      '/detector',
      signed((req) => this.listDetectors(req)),
    );
    this.server.route(
      'POST',
      '/detector/:d/findings',
      signed((req) => this.listFindings(req)),
    );
    this.server.route(
      'POST',
      '/detector/:d/findings/get',
      signed((req) => this.getFindings(req)),
    );
  }

  /** `n` new findings `spacingMs` apart from `from`, visible `visibleDelayMs` after their time (never before now). */
  addFindings(n: number, o: { from: number; spacingMs: number; visibleDelayMs?: number }): SimFinding[] {
    const now = this.server.now();
    const out: SimFinding[] = [];
    for (let i = 0; i < n; i++) {
      const t = o.from + i * o.spacingMs;
      const n = ++this.seq;
      const [type, severity] = TYPES[n % TYPES.length]!;
      const f: SimFinding = {
        id: `${(n * 2654435761).toString(16).padStart(8, '0')}${String(n).padStart(24, '0')}`,
        createdAt: t,
        updatedAt: t,
        count: 1,
        type,
        severity,
        visibleAt: Math.max(t + (o.visibleDelayMs ?? 0), now),
      };
      this.findings.set(f.id, f);
      out.push(f);
    }
    return out;
  }

  /** The finding occurred again: `service.count` up, `updatedAt` now (a new version to collect). */
  update(id: string): SimFinding {
    const f = this.findings.get(id)!;
    f.count++;
    f.updatedAt = this.server.now();
    f.visibleAt = f.updatedAt;
    return f;
  }

  /** Every finding's current version id, `{id}@{updatedAt}`. */
  versionIds(): string[] {
    return [...this.findings.values()].map((f) => `${f.id}@${new Date(f.updatedAt).toISOString()}`);
  }

  all(): SimFinding[] {
    return [...this.findings.values()];
  }

  deny(action: 'guardduty:ListDetectors' | 'guardduty:ListFindings' | 'guardduty:GetFindings'): void {
    this.denied.add(action);
  }

  /** Requests to any route but the three reads and STS GetCallerIdentity. */
  writeCalls(): RecordedRequest[] {
    return this.server.requests
      .all()
      .filter(
        (r) =>
          !(r.method === 'GET' && r.path.replace(/\/$/, '') === '/detector') &&
          !(r.method === 'POST' && /^\/detector\/[^/]+\/findings(\/get)?\/?$/.test(r.path)) &&
          !r.path.startsWith('/sts'),
      );
  }

  private deniedReply(action: string): SimReply {
    return error(
      403,
      'AccessDeniedException',
      `User: arn:aws:iam::${this.accountId}:user/tributary is not authorized to perform: ${action} on resource: arn:aws:guardduty:${this.region}:${this.accountId}:detector/${this.detectorId}`,
    );
  }

  private body(req: SimRequest): Record<string, any> | undefined {
    try {
      return JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return undefined;
    }
  }

  private listDetectors(req: SimRequest): SimReply {
    if (this.denied.has('guardduty:ListDetectors')) return this.deniedReply('guardduty:ListDetectors');
    const max = Number(req.query.get('maxResults') ?? 50);
    if (!Number.isInteger(max) || max < 1 || max > 50)
      return error(400, 'BadRequestException', 'The request is rejected because maxResults is out of range.');
    return json(200, { detectorIds: [this.detectorId] });
  }

  private listFindings(req: SimRequest): SimReply {
    if (req.params.d !== this.detectorId)
      return error(
        400,
        'BadRequestException',
        'The request is rejected because the input detectorId is not owned by the current account.',
      );
    if (this.denied.has('guardduty:ListFindings')) return this.deniedReply('guardduty:ListFindings');
    const input = this.body(req);
    if (!input) return error(400, 'BadRequestException', 'The request body is not JSON.');
    this.inputs.push({ action: 'ListFindings', input });
    const max = input.maxResults ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 50)
      return error(400, 'BadRequestException', 'The request is rejected because maxResults is out of range.');
    const c = input.findingCriteria?.criterion?.updatedAt ?? {};
    const gte = c.greaterThanOrEqual ?? c.gte ?? Number.NEGATIVE_INFINITY;
    const lt = c.lessThan ?? c.lt ?? Number.POSITIVE_INFINITY;
    const desc = input.sortCriteria?.orderBy === 'DESC';
    if (input.sortCriteria && input.sortCriteria.attributeName !== 'updatedAt')
      return error(400, 'BadRequestException', 'The simulator sorts on updatedAt only.');
    if (typeof input.nextToken === 'string' && this.looped()) {
      return json(200, { findingIds: [], nextToken: input.nextToken });
    }
    let after: { t: number; id: string } | undefined;
    if (typeof input.nextToken === 'string') {
      try {
        after = JSON.parse(Buffer.from(input.nextToken, 'base64url').toString('utf8'));
      } catch {
        return error(
          400,
          'BadRequestException',
          'The request is rejected because the nextToken is not valid.',
        );
      }
    }
    const now = req.at;
    const matching = [...this.findings.values()]
      .filter((f) => f.visibleAt <= now && f.updatedAt >= gte && f.updatedAt < lt)
      .sort((a, b) => a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : 1));
    if (desc) matching.reverse();
    const a = after;
    const rest = a
      ? matching.filter((f) =>
          desc ? f.updatedAt < a.t || (f.updatedAt === a.t && f.id < a.id) : !before(f, a.t, a.id),
        )
      : matching;
    const page = rest.slice(0, max);
    const last = page.at(-1);
    return json(200, {
      findingIds: page.map((f) => f.id),
      ...(rest.length > max && last
        ? { nextToken: Buffer.from(JSON.stringify({ t: last.updatedAt, id: last.id })).toString('base64url') }
        : {}),
    });
  }

  private getFindings(req: SimRequest): SimReply {
    if (this.denied.has('guardduty:GetFindings')) return this.deniedReply('guardduty:GetFindings');
    const input = this.body(req);
    const ids: unknown = input?.findingIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 50)
      return error(
        400,
        'BadRequestException',
        'The request is rejected because findingIds must hold 1 to 50 ids.',
      );
    this.inputs.push({ action: 'GetFindings', input: input! });
    const findings = ids.flatMap((id) => {
      const f = this.findings.get(String(id));
      return f && f.visibleAt <= req.at ? [this.finding(f)] : [];
    });
    return json(200, { findings });
  }

  /** A finding shaped like the API's "Finding" data type. */
  private finding(f: SimFinding): Record<string, unknown> {
    const rng = new Rng(this.seed + Number.parseInt(f.id.slice(-8), 10));
    const instance = `i-${f.id.slice(0, 17)}`;
    const out: Record<string, unknown> = {
      accountId: this.accountId,
      arn: `arn:aws:guardduty:${this.region}:${this.accountId}:detector/${this.detectorId}/finding/${f.id}`,
      createdAt: new Date(f.createdAt).toISOString(),
      description: `EC2 instance ${instance} is behaving unexpectedly (${f.type}).`,
      id: f.id,
      partition: 'aws',
      region: this.region,
      resource: {
        resourceType: 'Instance',
        instanceDetails: {
          instanceId: instance,
          instanceType: rng.pick(['t3.micro', 'm5.large', 'c6g.xlarge']),
          networkInterfaces: [
            { privateIpAddress: `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}`, publicIp: ipv4(rng) },
          ],
        },
      },
      schemaVersion: '2.0',
      service: {
        archived: false,
        count: f.count,
        detectorId: this.detectorId,
        eventFirstSeen: new Date(f.createdAt).toISOString(),
        eventLastSeen: new Date(f.updatedAt).toISOString(),
        serviceName: 'guardduty',
        action: {
          actionType: 'NETWORK_CONNECTION',
          networkConnectionAction: { remoteIpDetails: { ipAddressV4: ipv4(rng) } },
        },
      },
      severity: f.severity,
      title: `${f.type.split('/')[0]} finding on ${instance}`,
      type: f.type,
      updatedAt: new Date(f.updatedAt).toISOString(),
    };
    if (this.eventBytes > 0) out.description = `${out.description} ${'x'.repeat(this.eventBytes)}`;
    return out;
  }
}
