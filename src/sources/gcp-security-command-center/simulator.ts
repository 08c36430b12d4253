/**
 * Security Command Center API v2 findings simulator, following Google's documentation:
 *
 * - cloud.google.com/security-command-center/docs/reference/rest/v2/organizations.sources.locations.findings/list:
 *   GET /v2/organizations/{org}/sources/-/locations/{loc}/findings ("To list across all sources provide a
 *   source_id of -") with `filter`, `orderBy`, `pageSize` ("Default is 10, minimum is 1, maximum is 1000"),
 *   `pageToken`; answer {listFindingsResults: [{finding, resource}], readTime, nextPageToken, totalSize}.
 *   Filter: restrictions `<field> <operator> <value>` joined by AND and OR ("OR has higher precedence than
 *   AND"), `-` negates; `event_time` takes `=`, `>`, `<`, `>=`, `<=` with "milliseconds since epoch or an
 *   RFC3339 string"; strings compare with `=` and `:` (substring). orderBy: comma-separated fields with
 *   optional `desc` (event_time among them).
 * - Finding (…/rest/v2/organizations.sources.findings#Finding): name
 *   `organizations/O/sources/S/locations/L/findings/F`, parent, resourceName, state (ACTIVE | INACTIVE),
 *   category, externalUri, sourceProperties, eventTime ("The time the finding was first detected. If an
 *   existing finding is updated, then this is the time the update occurred"), createTime, severity,
 *   findingClass, mute. An update keeps the name and moves eventTime.
 * - Access control (cloud.google.com/security-command-center/docs/access-control-org): reading findings
 *   needs roles/securitycenter.findingsViewer (securitycenter.findings.list) on the organization; 403
 *   PERMISSION_DENIED otherwise. Scope https://www.googleapis.com/auth/cloud-platform. Auth: src/sim/google.ts.
 *
 * Assumed: the page token is an offset bound to the query; a finding updated between pages may move
 * (the reader's window and ids absorb it); findings keep their history here (each update a new eventTime).
 */

import { GoogleApiSimulator, googleError, googleStatusError } from '../../sim/google.ts';
import {
  type Clock,
  json,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  seedOf,
} from '../../sim/kit.ts';

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
const CATEGORIES = [
  ['PUBLIC_BUCKET_ACL', 'HIGH', 'MISCONFIGURATION', 'storage.googleapis.com/Bucket'],
  ['OPEN_FIREWALL', 'HIGH', 'MISCONFIGURATION', 'compute.googleapis.com/Firewall'],
  ['MFA_NOT_ENFORCED', 'MEDIUM', 'MISCONFIGURATION', 'cloudresourcemanager.googleapis.com/Organization'],
  ['Persistence: IAM Anomalous Grant', 'HIGH', 'THREAT', 'cloudresourcemanager.googleapis.com/Project'],
  ['Malware: Bad Domain', 'CRITICAL', 'THREAT', 'compute.googleapis.com/Instance'],
] as const;

interface Version {
  finding: number;
  eventTime: number;
  state: 'ACTIVE' | 'INACTIVE';
  seq: number;
  visible: number;
}

export interface SccSimulatorOptions {
  clock?: Clock;
  seed?: number;
  organization?: string;
  location?: string;
  roles?: string[];
  /** Findings of about this many bytes of JSON (padded in sourceProperties). */
  eventBytes?: number;
}

class FilterError extends Error {}

export class SccSimulator extends GoogleApiSimulator {
  readonly organization: string;
  readonly location: string;
  roles: Set<string>;
  private readonly seed: number;
  private readonly versions: Version[] = [];
  private findings = 0;
  private loopPages = 0;
  private readonly eventBytes?: number;

  constructor(o: SccSimulatorOptions = {}) {
    super({ name: 'securitycenter', clock: o.clock, seed: o.seed ?? 1, projectId: 'acme-security' });
    this.seed = o.seed ?? 1;
    this.organization = o.organization ?? '123456789012';
    this.location = o.location ?? 'global';
    this.eventBytes = o.eventBytes;
    this.roles = new Set(o.roles ?? ['roles/securitycenter.findingsViewer']);
    this.server.route('GET', '/v2/organizations/:org/sources/:source/locations/:loc/findings', (req) =>
      this.list(req),
    );
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/token');
  }
  loopNextLinks(pages: number): void {
    this.loopPages = pages;
  }

  /** Adds `n` new findings with event times `spacingMs` apart from `from`. */
  addFindings(n: number, o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {}): void {
    const now = this.clock();
    const spacing = o.spacingMs ?? 60_000;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const eventTime = from + i * spacing;
      this.versions.push({
        finding: this.findings++,
        eventTime,
        state: 'ACTIVE',
        seq: this.versions.length,
        visible: Math.max(eventTime + (o.visibleDelayMs ?? 0), now),
      });
    }
  }

  /** An existing finding changes state now (a new version with a new eventTime, same name). */
  update(finding: number, state: 'ACTIVE' | 'INACTIVE', at = this.clock()): void {
    this.versions.push({ finding, eventTime: at, state, seq: this.versions.length, visible: at });
  }

  /** `{name}@{eventTime}` of every version held. */
  ids(): string[] {
    return this.versions.map((v) => `${this.nameOf(v.finding)}@${new Date(v.eventTime).toISOString()}`);
  }

  private nameOf(f: number): string {
    const source = 1000 + (f % 3);
    return `organizations/${this.organization}/sources/${source}/locations/${this.location}/findings/${seedOf(this.seed, 'finding', f).toString(16).padStart(12, '0')}`;
  }

  protected statusError(status: number): SimReply {
    return googleStatusError(status, {
      429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
    });
  }

  private invalid(message: string): SimReply {
    return googleError(400, message, 'INVALID_ARGUMENT', 'badRequest');
  }

  private list(req: SimRequest): SimReply {
    const auth = this.tokens.authenticate(req, SCOPES);
    if (!auth.ok) return auth.reply;
    if (req.params.org !== this.organization || req.params.loc !== this.location)
      return googleError(404, 'Requested entity was not found.', 'NOT_FOUND', 'notFound');
    if (req.params.source !== '-' && !/^\d+$/.test(req.params.source))
      return this.invalid('Invalid source id.');
    if (
      !this.roles.has('roles/securitycenter.findingsViewer') &&
      !this.roles.has('roles/securitycenter.adminViewer')
    )
      return googleError(
        403,
        "Permission 'securitycenter.findings.list' denied on resource.",
        'PERMISSION_DENIED',
      );
    const q = req.query;
    const pageSize = q.get('pageSize') === null ? 10 : Number(q.get('pageSize'));
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
      return this.invalid('page_size must be between 1 and 1000.');
    const orderBy = q.get('orderBy') ?? '';
    if (orderBy && !/^\s*(event_time|name|category|state)(\s+desc)?\s*$/.test(orderBy))
      return this.invalid(`Invalid order by: ${orderBy}`);
    const filterText = q.get('filter') ?? '';
    let test: (v: Version) => boolean;
    try {
      test = this.compile(filterText);
    } catch (err) {
      return this.invalid(`Invalid filter: ${(err as Error).message}`);
    }
    const now = req.at;
    const h = seedOf(filterText, orderBy, req.params.source).toString(36);
    let offset = 0;
    const token = q.get('pageToken');
    if (token) {
      const [th, to] = Buffer.from(token, 'base64url').toString('utf8').split(':');
      if (th !== h || !/^\d+$/.test(to ?? '')) return this.invalid('Invalid page token.');
      offset = Number(to);
    }
    const desc = /desc/.test(orderBy);
    const matched = this.versions
      .filter((v) => v.visible <= now)
      .filter((v) => req.params.source === '-' || 1000 + (v.finding % 3) === Number(req.params.source))
      .filter(test)
      .sort((a, b) => (a.eventTime - b.eventTime || a.seq - b.seq) * (desc ? -1 : 1));
    if (req.empty) return json(200, { readTime: new Date(now).toISOString(), totalSize: matched.length });
    const page = matched.slice(offset, offset + pageSize);
    let next = offset + pageSize < matched.length ? offset + pageSize : undefined;
    if (this.loopPages > 0) {
      this.loopPages--;
      next = offset;
    }
    return json(200, {
      listFindingsResults: page.map((v) => this.result(v)),
      readTime: new Date(now).toISOString(),
      ...(next !== undefined ? { nextPageToken: Buffer.from(`${h}:${next}`).toString('base64url') } : {}),
      totalSize: matched.length,
    });
  }

  /** The documented filter subset: restrictions joined by AND and OR (OR binds tighter), `-` negates. */
  private compile(text: string): (v: Version) => boolean {
    if (!text.trim()) return () => true;
    const ands = text.split(/\s+AND\s+/).map((part) =>
      part.split(/\s+OR\s+/).map((r) => {
        const m = /^\s*(-?)([\w.]+)\s*(>=|<=|=|>|<|:)\s*(".*"|[\w.:+-]+)\s*$/.exec(r);
        if (!m) throw new FilterError(`cannot parse restriction "${r.trim()}"`);
        const [, neg, field, op, raw] = m;
        const value = raw.startsWith('"') ? raw.slice(1, -1) : raw;
        let check: (v: Version) => boolean;
        if (field === 'event_time') {
          if (op === ':') throw new FilterError('operator : does not apply to event_time');
          const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
          if (!Number.isFinite(t))
            throw new FilterError(`event_time needs milliseconds or RFC3339, got ${value}`);
          check = (v) => cmp(v.eventTime, t, op);
        } else if (['state', 'category', 'severity', 'finding_class'].includes(field)) {
          check = (v) => {
            const got = String(this.finding(v)[field === 'finding_class' ? 'findingClass' : field]);
            return op === ':' ? got.includes(value) : op === '=' ? got === value : false;
          };
        } else throw new FilterError(`unsupported field ${field}`);
        return neg ? (v: Version) => !check(v) : check;
      }),
    );
    return (v) => ands.every((ors) => ors.some((c) => c(v)));
  }

  private finding(v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'finding', v.finding));
    const [category, severity, findingClass, assetType] = CATEGORIES[rng.int(0, CATEGORIES.length - 1)];
    const name = this.nameOf(v.finding);
    const project = `acme-${rng.pick(['prod', 'dev', 'data'])}`;
    const created = this.versions.find((x) => x.finding === v.finding)!.eventTime;
    return {
      name,
      canonicalName: name.replace(`organizations/${this.organization}`, `projects/${rng.int(1e11, 9e11)}`),
      parent: name.slice(0, name.indexOf('/locations/')),
      resourceName: `//${assetType.split('/')[0]}/projects/${project}/${rng.hex(8)}`,
      state: v.state,
      category,
      externalUri: `https://console.cloud.google.com/security/command-center/findings?organizationId=${this.organization}`,
      sourceProperties: {
        ScannerName: findingClass === 'THREAT' ? 'EVENT_THREAT_DETECTION' : 'SECURITY_HEALTH_ANALYTICS',
        ...(this.eventBytes ? { Explanation: 'x'.repeat(Math.max(0, this.eventBytes - 1500)) } : {}),
      },
      securityMarks: { name: `${name}/securityMarks` },
      eventTime: new Date(v.eventTime).toISOString(),
      createTime: new Date(created).toISOString(),
      severity,
      findingClass,
      mute: 'UNDEFINED',
      description: `${category} detected on a resource of ${project}.`,
    };
  }

  private result(v: Version): Record<string, unknown> {
    const finding = this.finding(v);
    return {
      finding,
      resource: {
        name: finding.resourceName,
        displayName: String(finding.resourceName).split('/').pop(),
        type: CATEGORIES.find((c) => c[0] === finding.category)![3],
        cloudProvider: 'GOOGLE_CLOUD_PLATFORM',
      },
    };
  }
}

function cmp(a: number, b: number, op: string): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    default:
      throw new FilterError(`operator ${op} does not apply to event_time`);
  }
}
