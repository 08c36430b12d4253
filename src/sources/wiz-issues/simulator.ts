/**
 * Wiz simulator: the client-credentials token endpoint and the tenant GraphQL endpoint with the four lists the
 * Wiz sources read (`issuesV2`, `auditLogEntries`, `vulnerabilityFindings`, `detections`). Wiz's reference
 * (docs.wiz.io, "Using the Wiz API") needs a customer login; the simulator follows what public pages quote of it
 * and the queries Wiz's integrations send (facts also cited in ./shared.ts, ./index.ts, ../wiz-api/index.ts and
 * the `wiz` account kind):
 *
 * - `POST /oauth/token` (form: `grant_type=client_credentials`, `client_id`, `client_secret`, `audience=wiz-api`;
 *   https://explained.tines.com/en/articles/8623326-wiz-integration-guide, "Manual credential creation") →
 *   `{access_token, expires_in: 86400, token_type: "Bearer"}` (the "Using the Wiz API" response sample, public
 *   copy https://www.scribd.com/document/810029023/Using-the-Wiz-API, "Authentication").
 * - `POST /graphql` with `{query, variables}` and `Authorization: Bearer …` (same page: "make a POST request
 *   with a JSON payload. The payload must contain a string called query"). A Relay connection per list:
 *   `nodes`, `pageInfo {hasNextPage endCursor}`, `totalCount`; `after` is the previous page's `endCursor`
 *   (https://github.com/demisto/content/blob/master/Packs/Wiz/Integrations/Wiz/Wiz.py, `PULL_ISSUES_QUERY`);
 *   "Pagination is cursor-based using pageInfo.endCursor, with a maximum page size of 500"
 *   (https://www.stitchflow.com/user-management/wiz/api): `first` above 500 → a `BAD_USER_INPUT` error.
 * - `filterBy: {<time field>: {after, before}}`: `issuesV2` by `statusChangedAt` (Wiz.py's mirroring query),
 *   `auditLogEntries` by `timestamp`, `vulnerabilityFindings` by `updatedAt`, `detections` by `createdAt`.
 * - Errors in a 200 answer as `{"errors": [{message, extensions: {code}}]}` (Wiz.py `checkAPIerrors` reads
 *   `errors` before `data`). Wiz publishes no rate limits ("Wiz does not publicly document rate limit
 *   thresholds", stitchflow above).
 * - Any GraphQL `mutation` (and any method but GET/POST) is recorded and refused, so a test that sees one fails
 *   on `writeCalls()`.
 *
 * Decided by the simulator (the public material leaves it open): a wrong secret → 401 `{error:
 * "access_denied"}`; a missing or expired token → 401; both `after` and `before` exclusive (the strictest
 * reading); records listed oldest first; the error codes (see ./shared.ts): a list the service account's
 * scopes do not cover → `FORBIDDEN`; a rate limit → HTTP 429 with the same body, or (`rateLimitInBody`) a 200
 * answer with `RATE_LIMIT_EXCEEDED`; issues and vulnerability findings change in place, each list showing a
 * record's latest visible version.
 */

import {
  json,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  type SpacedEvents,
  seedOf,
  stableUuid,
} from '../../sim/kit.ts';
import {
  padRecord,
  VersionedListSim,
  type VersionedListSimOptions,
  type VersionedRecord,
} from '../../sim/versioned.ts';

export type WizListName = 'issues' | 'audit' | 'vulnerabilities' | 'detections';

const FIELDS: Record<WizListName, { field: string; time: string }> = {
  issues: { field: 'issuesV2', time: 'statusChangedAt' },
  audit: { field: 'auditLogEntries', time: 'timestamp' },
  vulnerabilities: { field: 'vulnerabilityFindings', time: 'updatedAt' },
  detections: { field: 'detections', time: 'createdAt' },
};
const NAMES = Object.keys(FIELDS) as WizListName[];

/** `forbidden`: lists the service account's scopes do not cover (a FORBIDDEN error). */
export type WizSimulatorOptions = VersionedListSimOptions<WizListName>;

type Item = VersionedRecord<{ status: string }>;
type Version = Item['versions'][number];

const MAX_FIRST = 500;

/** 40 records of each list up front unless `records` says otherwise. */
export class WizSimulator extends VersionedListSim<{ status: string }, WizListName, WizSimulatorOptions> {
  readonly clientId: string;
  readonly clientSecret: string;
  private readonly mutations: RecordedRequest[] = [];
  private issued = 0;
  private validFrom = 1;
  private loopPages = 0;
  private bodyLimits = 0;
  private generation = 0;
  readonly audiences: string[] = [];

  constructor(o: WizSimulatorOptions = {}) {
    super(o, {
      name: 'wiz',
      lists: NAMES,
      hooks: {
        errorReply: (_req, status) =>
          gqlError(status, status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL_SERVER_ERROR'),
        rateLimitReply: () => gqlError(429, 'RATE_LIMIT_EXCEEDED', 'Rate limit exceeded'),
      },
      records: 40,
      first: { status: 'OPEN' },
    });
    const rng = new Rng(seedOf(this.seed, 'client'));
    this.clientId = rng.base62(32);
    this.clientSecret = rng.base62(64);
    this.server.route('POST', '/oauth/token', (r) => this.token(r));
    this.server.route('POST', '/graphql', (r) => this.graphql(r));
  }

  /** The `wiz` account for this simulator. */
  account(): { clientId: string; clientSecret: string; apiUrl: string; tokenUrl: string } {
    return {
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      apiUrl: `${this.url}/graphql`,
      tokenUrl: `${this.url}/oauth/token`,
    };
  }

  writeCalls(): RecordedRequest[] {
    return [
      ...this.mutations,
      ...this.server.requests.all().filter((r) => r.method !== 'POST' && r.method !== 'GET'),
    ];
  }

  /** Every token issued so far is refused from now on (as an expired one). */
  expireTokens(): void {
    this.validFrom = this.issued + 1;
  }

  tokensIssued(): number {
    return this.issued;
  }

  /** The next `pages` answers that have a next page give the request's own cursor again (a looping vendor). */
  loopCursors(pages = 1): void {
    this.loopPages = pages;
  }

  /** Every page cursor handed out so far is refused from now on (`BAD_USER_INPUT`, "Invalid cursor"; assumed). */
  expireCursors(): void {
    this.generation++;
  }

  /** The next `answers` GraphQL answers are a rate-limit error in a 200 body. */
  rateLimitInBody(answers = 1): void {
    this.bodyLimits = answers;
  }

  /** Adds records (new ones, or with `seq` a new version of that record: a status change). */
  addRecords(
    list: WizListName,
    n: number,
    o: SpacedEvents & { seq?: number; status?: string } = {},
  ): string[] {
    return this.addVersions(list, n, o, { status: o.status ?? (o.seq === undefined ? 'OPEN' : 'RESOLVED') });
  }

  // -------------------------------------------------------------------------------------------

  private idOf(list: WizListName, item: Item): string {
    return stableUuid(20 + NAMES.indexOf(list), item.seq, this.seed);
  }

  protected versioned(list: WizListName): boolean {
    return list === 'issues' || list === 'vulnerabilities';
  }

  protected eventId(list: WizListName, item: Item, v: number): string {
    const id = this.idOf(list, item);
    return this.versioned(list) ? `${id}@${new Date(item.versions[v].t).toISOString()}` : id;
  }

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString());
    if (form.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'grant_type' });
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      return json(401, { error: 'access_denied', error_description: 'Unauthorized' });
    this.audiences.push(String(form.get('audience')));
    if (form.get('audience') !== 'wiz-api')
      return json(400, { error: 'invalid_request', error_description: 'Service not found: audience' });
    return json(200, { access_token: `wiz-token-${++this.issued}`, expires_in: 86400, token_type: 'Bearer' });
  }

  private graphql(req: SimRequest): SimReply {
    const m = /^Bearer wiz-token-(\d+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m || Number(m[1]) < this.validFrom || Number(m[1]) > this.issued)
      return gqlError(401, 'UNAUTHENTICATED');
    let sent: { query?: unknown; variables?: Record<string, any> };
    try {
      sent = JSON.parse(req.body.toString());
    } catch {
      return gqlError(400, 'BAD_REQUEST', 'Body is not JSON');
    }
    const query = String(sent.query ?? '');
    if (/^\s*mutation\b/i.test(query)) {
      const { server, path, query: q, headers, at } = req;
      this.mutations.push({ server, method: 'MUTATION', path, query: q, headers, at });
      return gqlError(200, 'FORBIDDEN', 'Mutations are not allowed for this test');
    }
    const list = NAMES.find((l) => new RegExp(`\\b${FIELDS[l].field}\\s*\\(`).test(query));
    if (!list) return gqlError(200, 'GRAPHQL_VALIDATION_FAILED', 'Cannot query field on type "Query"');
    if (this.bodyLimits > 0) {
      this.bodyLimits--;
      return gqlError(200, 'RATE_LIMIT_EXCEEDED', 'Rate limit exceeded, retry later');
    }
    if (this.forbids(list))
      return gqlError(200, 'FORBIDDEN', 'You are not authorized to perform this action');
    const v = sent.variables ?? {};
    const first = v.first ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST)
      return gqlError(200, 'BAD_USER_INPUT', `first must be between 1 and ${MAX_FIRST}`);
    let offset = 0;
    if (v.after !== undefined && v.after !== null) {
      const o = decodeCursor(v.after, this.generation);
      if (o === undefined) return gqlError(200, 'BAD_USER_INPUT', 'Invalid cursor');
      offset = o;
    }
    const range = v.filterBy?.[FIELDS[list].time] ?? {};
    const lo = range.after ? Date.parse(range.after) : -Infinity;
    const hi = range.before ? Date.parse(range.before) : Infinity;
    if (Number.isNaN(lo) || Number.isNaN(hi))
      return gqlError(200, 'BAD_USER_INPUT', `filterBy.${FIELDS[list].time}: expected ISO-8601 times`);
    const now = this.clock();
    const hits = this.lists[list]
      .listed(now)
      .filter(({ v }) => v.t > lo && v.t < hi)
      .map(({ record, v }) => ({ item: record, v }));
    hits.sort((a, b) => a.v.t - b.v.t || a.item.seq - b.item.seq); // oldest first
    const page = req.empty ? [] : hits.slice(offset, offset + first);
    let hasNextPage = req.empty || offset + page.length < hits.length;
    let endCursor: string | null = req.empty
      ? encodeCursor(offset, this.generation)
      : page.length
        ? encodeCursor(offset + page.length, this.generation)
        : null;
    if (hasNextPage && !req.empty && this.loopPages > 0) {
      this.loopPages--;
      endCursor = encodeCursor(offset, this.generation);
    }
    if (!endCursor) hasNextPage = false;
    const connection: Record<string, unknown> = {
      nodes: page.map(({ item, v: ver }) => this.record(list, item, ver)),
      pageInfo: { hasNextPage, endCursor },
    };
    if (/\btotalCount\b/.test(query)) connection.totalCount = hits.length;
    return json(200, { data: { [FIELDS[list].field]: connection } });
  }

  private record(list: WizListName, item: Item, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, list, item.seq));
    const id = this.idOf(list, item);
    const iso = (t: number) => new Date(t).toISOString();
    const created = iso(item.versions[0].t);
    const subscription = {
      subscriptionExternalId: `${rng.int(100000000000, 999999999999)}`,
      subscriptionName: 'prod-payments',
    };
    const resource = {
      id: stableUuid(30, item.seq % 17, this.seed),
      type: 'VIRTUAL_MACHINE',
      nativeType: 'virtualMachine',
      name: `i-${rng.hex(17)}`,
      cloudPlatform: 'AWS',
      region: rng.pick(['us-east-1', 'eu-west-1']),
    };
    let r: Record<string, unknown>;
    if (list === 'issues') {
      r = {
        id,
        type: rng.pick(['TOXIC_COMBINATION', 'CLOUD_CONFIGURATION', 'THREAT_DETECTION']),
        status: v.extra.status,
        severity: rng.pick(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
        createdAt: created,
        updatedAt: iso(v.t),
        statusChangedAt: iso(v.t),
        resolvedAt: v.extra.status === 'RESOLVED' ? iso(v.t) : null,
        dueAt: null,
        resolutionReason: v.extra.status === 'RESOLVED' ? 'OBJECT_DELETED' : null,
        sourceRule: {
          __typename: 'Control',
          id: `wc-id-${rng.int(100, 999)}`,
          name: 'Publicly exposed VM instance with effective global admin permissions',
          description: 'This VM is exposed to the internet and has admin permissions.',
          resolutionRecommendation: 'Restrict ingress and remove the instance profile.',
        },
        entitySnapshot: {
          ...resource,
          status: 'Active',
          providerId: `arn:aws:ec2:us-east-1:${subscription.subscriptionExternalId}:instance/${resource.name}`,
          resourceGroupExternalId: null,
          ...subscription,
          externalId: resource.name,
          tags: { env: 'prod' },
        },
        projects: [
          { id: stableUuid(31, 1, this.seed), name: 'Payments', slug: 'payments', businessUnit: 'Finance' },
        ],
        serviceTickets: [],
        notes: [],
      };
    } else if (list === 'audit') {
      r = {
        id,
        action: rng.pick(['Login', 'UpdateIssue', 'CreateServiceAccount', 'CreateReport']),
        requestId: rng.hex(32),
        status: 'SUCCESS',
        timestamp: iso(v.t),
        actionParameters: { input: { id: rng.hex(8) } },
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)',
        sourceIP: `203.0.113.${rng.int(1, 254)}`,
        serviceAccount: null,
        user: { id: `user${rng.int(1, 99)}@acme.example`, name: 'Ada Admin' },
      };
    } else if (list === 'vulnerabilities') {
      r = {
        id,
        name: `CVE-2026-${rng.int(1000, 49999)}`,
        detailedName: 'openssl',
        description: 'A flaw in the TLS handshake allows a remote attacker to cause a denial of service.',
        severity: rng.pick(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
        status: v.extra.status,
        fixedVersion: '3.0.15',
        detectionMethod: 'PACKAGE',
        hasExploit: rng.int(0, 1) === 1,
        hasCisaKevExploit: false,
        firstDetectedAt: created,
        lastDetectedAt: iso(v.t),
        resolvedAt: v.extra.status === 'RESOLVED' ? iso(v.t) : null,
        updatedAt: iso(v.t),
        score: 7.5,
        vendorSeverity: 'HIGH',
        link: 'https://nvd.nist.gov/vuln/detail/CVE-2026-0001',
        vulnerableAsset: {
          ...resource,
          providerUniqueId: resource.name,
          subscriptionExternalId: subscription.subscriptionExternalId,
        },
      };
    } else {
      r = {
        id,
        createdAt: created,
        startedAt: iso(v.t - 60_000),
        endedAt: iso(v.t - 1000),
        severity: rng.pick(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
        description: 'Suspicious IAM activity: access key used from a Tor exit node',
        ruleMatch: {
          rule: { id: stableUuid(32, item.seq % 5, this.seed), name: 'Access from Tor exit node' },
        },
        primaryResource: {
          ...resource,
          cloudAccount: {
            id: rng.hex(8),
            name: 'prod',
            cloudProvider: 'AWS',
            externalId: subscription.subscriptionExternalId,
          },
        },
        actors: [{ id: rng.hex(8), name: 'ci-deployer', type: 'USER_ACCOUNT' }],
        issue: { id: stableUuid(20, item.seq, this.seed) },
      };
    }
    return padRecord(r, this.o.eventBytes);
  }
}

const encodeCursor = (offset: number, generation: number) =>
  Buffer.from(JSON.stringify({ offset, generation })).toString('base64');

function decodeCursor(c: unknown, generation: number): number | undefined {
  if (typeof c !== 'string') return undefined;
  try {
    const o = JSON.parse(Buffer.from(c, 'base64').toString());
    return Number.isInteger(o.offset) && o.offset >= 0 && o.generation === generation ? o.offset : undefined;
  } catch {
    return undefined;
  }
}

function gqlError(status: number, code: string, message?: string): SimReply {
  return json(
    status,
    {
      errors: [{ message: message ?? code.toLowerCase().replace(/_/g, ' '), extensions: { code } }],
      data: null,
    },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}
