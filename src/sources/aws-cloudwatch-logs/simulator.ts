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
 * Documentation: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html and API_DescribeLogGroups.html.
 * Amazon CloudWatch Logs over its AWS JSON 1.1 protocol, as the CloudWatch Logs API Reference documents it:
 *
 * - `POST /` with `X-Amz-Target: Logs_20140328.<Action>` and `Content-Type: application/x-amz-json-1.1`,
 *   SigV4-signed for the service `logs` (sim/aws-json.ts: `UnrecognizedClientException`,
 *   `InvalidSignatureException`, `ExpiredTokenException`).
 * - FilterLogEvents (API_FilterLogEvents.html): `logGroupName` or `logGroupIdentifier` (not both:
 *   `InvalidParameterException`), `startTime` ("Events with a timestamp before this time are not
 *   returned") and `endTime` ("Events with a timestamp later than this time are not returned": both
 *   bounds inclusive), `limit` 1–10,000 (default 10,000), `nextToken`, `filterPattern`; the answer
 *   `{events: [{logStreamName, timestamp, message, ingestionTime, eventId}], nextToken?}`, events
 *   "sorted by event timestamp, the timestamp when the event was ingested by CloudWatch Logs, and the ID
 *   of the PutLogEvents request"; "This operation can return empty results while there are more log
 *   events available through the token" (the `empty` fault); an unknown group is
 *   `ResourceNotFoundException` "The specified log group does not exist.".
 * - DescribeLogGroups (API_DescribeLogGroups.html): `logGroupNamePrefix`, `limit` 1–50 (default 50),
 *   `nextToken`; groups in name order `{logGroupName, arn, creationTime, storedBytes, retentionInDays?}`.
 * - Errors (API reference, "Common Errors" and each action's Errors): `AccessDeniedException` 400 (the
 *   `deny` switch names the IAM action and resource as AWS does), `ThrottlingException` 400 "Rate
 *   exceeded" (the `throttle` switch, and the kit's rate-limit fault), `ServiceUnavailableException` 500.
 *   FilterLogEvents is limited to 5 transactions per second per account and Region (AWS re:Post
 *   knowledge center, "How do I determine throttling in my CloudWatch logs?").
 * - Writes: any other action (PutLogEvents, DeleteLogGroup, …) is counted in `writeCalls` and refused
 *   `UnknownOperationException`.
 *
 * Assumed where the docs are silent: `nextToken` is opaque; here it encodes the last event returned (so
 * an event ingested late inside the window is still found on later pages) and a counter (so an empty
 * page's token differs from the one it answered).
 */

const TARGET = 'Logs_20140328.';
const READS = new Set(['FilterLogEvents', 'DescribeLogGroups']);

export interface SimLogEvent {
  logStreamName: string;
  timestamp: number;
  ingestionTime: number;
  eventId: string;
  /** When the event becomes visible (CloudWatch Logs indexes events after they are ingested). */
  visibleAt: number;
}

interface Group {
  name: string;
  creationTime: number;
  events: SimLogEvent[];
  sorted: boolean;
}

export interface CloudWatchLogsSimOptions {
  clock: Clock;
  region?: string;
  accountId?: string;
  seed?: number;
  /** Approximate size of each event's message (the huge-page check). */
  eventBytes?: number;
}

const order = (a: SimLogEvent, b: SimLogEvent) =>
  a.timestamp - b.timestamp || a.ingestionTime - b.ingestionTime || (a.eventId < b.eventId ? -1 : 1);

export class CloudWatchLogsSimulator extends AwsJsonSim {
  private readonly groups = new Map<string, Group>();
  private readonly seed: number;
  private readonly eventBytes: number;
  private readonly denied = new Set<string>();
  private seq = 0;
  private tokens = 0;

  constructor(o: CloudWatchLogsSimOptions) {
    super({
      clock: o.clock,
      service: 'logs',
      region: o.region,
      accountId: o.accountId,
      accessKeyId: 'AKIATRIBUTARYLOGS001',
      secretAccessKey: 'sim-logs-secret/key+for-tests',
      error: awsJsonError,
      codes: {
        serverError: 'ServiceUnavailableException',
        badRequest: 'InvalidParameterException',
        throttle: { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' },
      },
    });
    this.seed = o.seed ?? 7;
    this.eventBytes = o.eventBytes ?? 0;
    this.server.route('POST', '/', (req) => this.handle(req));
  }

  addGroup(name: string): void {
    if (!this.groups.has(name))
      this.groups.set(name, { name, creationTime: this.server.now() - 86_400_000, events: [], sorted: true });
  }

  /** `n` events in `group`, `spacingMs` apart from `from`; visible `visibleDelayMs` after their time (never before now). */
  addEvents(
    group: string,
    n: number,
    o: { from: number; spacingMs: number; visibleDelayMs?: number },
  ): SimLogEvent[] {
    this.addGroup(group);
    const g = this.groups.get(group)!;
    const now = this.server.now();
    const out: SimLogEvent[] = [];
    for (let i = 0; i < n; i++) {
      const timestamp = o.from + i * o.spacingMs;
      const visibleAt = Math.max(timestamp + (o.visibleDelayMs ?? 0), now);
      const e: SimLogEvent = {
        logStreamName: `2026/11/25/[$LATEST]${(this.seq % 4).toString(16).padStart(32, 'a')}`,
        timestamp,
        ingestionTime: Math.max(visibleAt, timestamp + 200),
        eventId: `3${String(++this.seq).padStart(55, '0')}`,
        visibleAt,
      };
      g.events.push(e);
      out.push(e);
    }
    g.sorted = false;
    return out;
  }

  /** Every event of a group (visible or not yet). */
  events(group: string): SimLogEvent[] {
    return [...(this.groups.get(group)?.events ?? [])];
  }

  /** The IAM action (`logs:FilterLogEvents`, `logs:DescribeLogGroups`) is refused from now on. */
  deny(action: string): void {
    this.denied.add(action);
  }

  /** Requests for any CloudWatch Logs action that is not a read (STS GetCallerIdentity at /sts reads). */
  writeCalls(): RecordedRequest[] {
    return this.server.requests
      .all()
      .filter(
        (r) =>
          !r.path.startsWith('/sts') &&
          !READS.has(String(r.headers['x-amz-target'] ?? '').replace(TARGET, '')),
      );
  }

  /** Each FilterLogEvents and DescribeLogGroups input, in order (what tests assert parameters on). */
  readonly inputs: Array<{ action: string; input: Record<string, any> }> = [];

  /** An event's message, made when it is served (a huge-page run would otherwise hold every one). */
  private message(e: Pick<SimLogEvent, 'timestamp' | 'eventId'>): string {
    const t = e.timestamp;
    const rng = new Rng(this.seed + Number(e.eventId.slice(-12)));
    const base = `${new Date(t).toISOString()} ${rng.pick(['INFO', 'WARN', 'ERROR'])} RequestId: ${rng.int(1e8, 9e8)} src=${ipv4(rng)} action=${rng.pick(['ACCEPT', 'REJECT'])} bytes=${rng.int(40, 9000)}`;
    return this.eventBytes > base.length ? `${base} ${'x'.repeat(this.eventBytes - base.length - 1)}` : base;
  }

  private async handle(req: SimRequest): Promise<SimReply> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith(TARGET) ? target.slice(TARGET.length) : '';
    if (!READS.has(action))
      return awsJsonError(
        400,
        'UnknownOperationException',
        `The operation ${target || '(none)'} is not supported.`,
      );
    const refused = await this.refuse(req);
    if (refused) return refused;
    let input: Record<string, any>;
    try {
      input = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return awsJsonError(400, 'SerializationException', 'The request body is not JSON.');
    }
    this.inputs.push({ action, input });
    return action === 'FilterLogEvents' ? this.filter(req, input) : this.describe(input);
  }

  private deniedReply(action: string, resource: string): SimReply {
    return awsJsonError(
      400,
      'AccessDeniedException',
      `User: arn:aws:iam::${this.accountId}:user/tributary is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    );
  }

  private describe(input: Record<string, any>): SimReply {
    if (this.denied.has('logs:DescribeLogGroups'))
      return this.deniedReply(
        'logs:DescribeLogGroups',
        `arn:aws:logs:${this.region}:${this.accountId}:log-group::log-stream:`,
      );
    const limit = input.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 50)
      return awsJsonError(
        400,
        'InvalidParameterException',
        "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
      );
    const prefix = typeof input.logGroupNamePrefix === 'string' ? input.logGroupNamePrefix : '';
    const after =
      typeof input.nextToken === 'string' ? Buffer.from(input.nextToken, 'base64url').toString('utf8') : '';
    const names = [...this.groups.keys()].filter((n) => n.startsWith(prefix) && n > after).sort();
    const page = names.slice(0, limit);
    return json(
      200,
      {
        logGroups: page.map((name) => ({
          logGroupName: name,
          arn: `arn:aws:logs:${this.region}:${this.accountId}:log-group:${name}:*`,
          creationTime: this.groups.get(name)!.creationTime,
          storedBytes: 0,
        })),
        ...(names.length > limit ? { nextToken: Buffer.from(page.at(-1)!).toString('base64url') } : {}),
      },
      { 'content-type': 'application/x-amz-json-1.1' },
    );
  }

  private filter(req: SimRequest, input: Record<string, any>): SimReply {
    if (input.logGroupName !== undefined && input.logGroupIdentifier !== undefined)
      return awsJsonError(
        400,
        'InvalidParameterException',
        'LogGroupName and LogGroupIdentifier are mutually exclusive.',
      );
    const name = String(input.logGroupName ?? input.logGroupIdentifier ?? '');
    if (!name)
      return awsJsonError(
        400,
        'InvalidParameterException',
        'Either LogGroupName or LogGroupIdentifier is required.',
      );
    const resource = `arn:aws:logs:${this.region}:${this.accountId}:log-group:${name}:log-stream:`;
    if (this.denied.has('logs:FilterLogEvents')) return this.deniedReply('logs:FilterLogEvents', resource);
    const g = this.groups.get(name);
    if (!g) return awsJsonError(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
    const limit = input.limit ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      return awsJsonError(
        400,
        'InvalidParameterException',
        "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
      );
    if (typeof input.nextToken === 'string' && this.looped()) {
      return json(
        200,
        { events: [], nextToken: input.nextToken },
        { 'content-type': 'application/x-amz-json-1.1' },
      );
    }
    let after: { t: number; i: number; id: string } | undefined;
    if (input.nextToken !== undefined) {
      try {
        after = JSON.parse(Buffer.from(String(input.nextToken), 'base64url').toString('utf8')).after;
      } catch {
        return awsJsonError(400, 'InvalidParameterException', 'The nextToken is not valid.');
      }
    }
    if (!g.sorted) {
      g.events.sort(order);
      g.sorted = true;
    }
    const start = typeof input.startTime === 'number' ? input.startTime : 0;
    const end = typeof input.endTime === 'number' ? input.endTime : Number.MAX_SAFE_INTEGER;
    const now = req.at;
    const matching = g.events.filter(
      (e) =>
        e.visibleAt <= now &&
        e.timestamp >= start &&
        e.timestamp <= end &&
        (!after ||
          order(e, { timestamp: after.t, ingestionTime: after.i, eventId: after.id } as SimLogEvent) > 0),
    );
    const token = (last: { t: number; i: number; id: string } | undefined) =>
      Buffer.from(JSON.stringify({ after: last, n: ++this.tokens })).toString('base64url');
    if (req.empty)
      return json(
        200,
        { events: [], nextToken: token(after) },
        { 'content-type': 'application/x-amz-json-1.1' },
      );
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    return json(
      200,
      {
        events: page.map(({ visibleAt: _, ...e }) => ({ ...e, message: this.message(e) })),
        searchedLogStreams: [],
        ...(matching.length > limit && last
          ? { nextToken: token({ t: last.timestamp, i: last.ingestionTime, id: last.eventId }) }
          : {}),
      },
      { 'content-type': 'application/x-amz-json-1.1' },
    );
  }
}
