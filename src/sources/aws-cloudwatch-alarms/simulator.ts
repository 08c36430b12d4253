import { AwsJsonSim, awsJsonError } from '../../sim/aws-json.ts';
import { type Clock, json, type RecordedRequest, type SimReply, type SimRequest } from '../../sim/kit.ts';

/**
 * Documentation: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html.
 * Amazon CloudWatch's DescribeAlarmHistory over the AWS JSON 1.0 protocol (CloudWatch API Reference,
 * API_DescribeAlarmHistory.html; the protocol CloudWatch's SDKs use since AWS moved it off the Query
 * protocol: "Amazon CloudWatch now supports … AWS JSON 1.0", What's New, July 2025):
 *
 * - `POST /`, `X-Amz-Target: GraniteServiceVersion20100801.DescribeAlarmHistory`, `Content-Type:
 *   application/x-amz-json-1.0`, SigV4 for the service `monitoring` (sim/aws-json.ts).
 * - Input: `AlarmName`, `AlarmTypes` (`MetricAlarm`, `CompositeAlarm`; default MetricAlarm only: "If you
 *   omit this parameter, only metric alarms are returned"), `HistoryItemType` (`ConfigurationUpdate |
 *   StateUpdate | Action`; all when omitted), `StartDate`, `EndDate` (timestamps, epoch seconds in JSON),
 *   `MaxRecords` 1–100, `NextToken`, `ScanBy` (`TimestampDescending` default, or `TimestampAscending`:
 *   "specify TimestampAscending to have the oldest history returned first").
 * - Output: `{AlarmHistoryItems: [{AlarmName, AlarmType, Timestamp, HistoryItemType, HistorySummary,
 *   HistoryData}], NextToken}`; `HistoryData` is a JSON document as a string.
 * - Errors: `InvalidNextToken` 400; `AccessDenied` 403 (the `deny` switch); `Throttling` 400 "Rate
 *   exceeded" (`throttle`, and the kit's rate-limit fault); `InternalServiceError` 500; with the Query
 *   compatible `x-amzn-query-error` header.
 * - "CloudWatch retains the history of an alarm for 30 days" (CloudWatch User Guide, "Alarm history"):
 *   older items are not returned.
 * - Writes: any other action is counted in `writeCalls` and refused `UnknownOperationException`.
 *
 * Assumed where the docs are silent: StartDate and EndDate are both inclusive; `NextToken` encodes the
 * last item returned.
 */

const TARGET = 'GraniteServiceVersion20100801.';
const JSON_10 = 'application/x-amz-json-1.0';
const DAY = 86_400_000;

export interface SimHistoryItem {
  AlarmName: string;
  AlarmType: 'MetricAlarm' | 'CompositeAlarm';
  /** Epoch milliseconds (answered in epoch seconds). */
  t: number;
  HistoryItemType: 'StateUpdate' | 'ConfigurationUpdate' | 'Action';
  HistorySummary: string;
  HistoryData: string;
  visibleAt: number;
  seq: number;
}

const error = (status: number, code: string, message: string): SimReply => {
  const r = awsJsonError(status, code, message, JSON_10);
  r.headers = { ...r.headers, 'x-amzn-query-error': `${code};Sender` };
  return r;
};

export class CloudWatchAlarmsSimulator extends AwsJsonSim {
  private readonly items: SimHistoryItem[] = [];
  private denied = false;
  private seq = 0;
  private readonly eventBytes: number;
  readonly inputs: Array<Record<string, any>> = [];

  constructor(o: { clock: Clock; region?: string; eventBytes?: number }) {
    super({
      clock: o.clock,
      service: 'monitoring',
      region: o.region,
      accessKeyId: 'AKIATRIBUTARYCWALM01',
      secretAccessKey: 'sim-cloudwatch-secret/key+for-tests',
      error,
      codes: {
        serverError: 'InternalServiceError',
        badRequest: 'InvalidParameterValue',
        throttle: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
      },
    });
    this.eventBytes = o.eventBytes ?? 0;
    this.server.route('POST', '/', async (req) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== `${TARGET}DescribeAlarmHistory`)
        return error(
          400,
          'UnknownOperationException',
          `The operation ${target || '(none)'} is not supported.`,
        );
      return (await this.refuse(req)) ?? this.history(req);
    });
  }

  /** `n` history items `spacingMs` apart from `from`, cycling through the three types and two alarms. */
  addItems(n: number, o: { from: number; spacingMs: number; visibleDelayMs?: number }): SimHistoryItem[] {
    const now = this.server.now();
    const out: SimHistoryItem[] = [];
    for (let i = 0; i < n; i++) {
      const seq = ++this.seq;
      const t = o.from + i * o.spacingMs;
      const type = (['StateUpdate', 'ConfigurationUpdate', 'Action'] as const)[seq % 3]!;
      const name = seq % 5 === 0 ? 'service-health' : `cpu-high-${seq % 4}`;
      const from = seq % 2 ? 'OK' : 'ALARM';
      const to = from === 'OK' ? 'ALARM' : 'OK';
      const summary =
        type === 'StateUpdate'
          ? `Alarm updated from ${from} to ${to}`
          : type === 'Action'
            ? `Successfully executed action arn:aws:sns:${this.region}:${this.accountId}:ops-alerts`
            : 'Alarm "' + name + '" updated';
      const data = JSON.stringify({
        version: '1.0',
        oldState: {
          stateValue: from,
          stateReason: `Threshold Crossed: 1 datapoint [${seq}.0] ${from === 'OK' ? 'was not' : 'was'} greater than the threshold (80.0).`,
        },
        newState: {
          stateValue: to,
          stateReasonData: { version: '1.0', queryDate: new Date(t).toISOString(), threshold: 80 },
        },
        ...(this.eventBytes ? { padding: 'x'.repeat(this.eventBytes) } : {}),
      });
      const item: SimHistoryItem = {
        AlarmName: name,
        AlarmType: seq % 5 === 0 ? 'CompositeAlarm' : 'MetricAlarm',
        t,
        HistoryItemType: type,
        HistorySummary: summary,
        HistoryData: data,
        visibleAt: Math.max(t + (o.visibleDelayMs ?? 0), now),
        seq,
      };
      this.items.push(item);
      out.push(item);
    }
    return out;
  }

  all(): SimHistoryItem[] {
    return [...this.items];
  }

  deny(): void {
    this.denied = true;
  }
  writeCalls(): RecordedRequest[] {
    return this.server.requests
      .all()
      .filter(
        (r) => !r.path.startsWith('/sts') && r.headers['x-amz-target'] !== `${TARGET}DescribeAlarmHistory`,
      );
  }

  /** An item as the API answers it (AlarmHistoryItem; Timestamp in epoch seconds). */
  apiItem(i: SimHistoryItem): Record<string, unknown> {
    return {
      AlarmName: i.AlarmName,
      AlarmType: i.AlarmType,
      Timestamp: i.t / 1000,
      HistoryItemType: i.HistoryItemType,
      HistorySummary: i.HistorySummary,
      HistoryData: i.HistoryData,
    };
  }

  private history(req: SimRequest): SimReply {
    let input: Record<string, any>;
    try {
      input = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return error(400, 'SerializationException', 'The request body is not JSON.');
    }
    this.inputs.push(input);
    if (this.denied)
      return error(
        403,
        'AccessDenied',
        `User: arn:aws:iam::${this.accountId}:user/tributary is not authorized to perform: cloudwatch:DescribeAlarmHistory`,
      );
    const max = input.MaxRecords ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 100)
      return error(
        400,
        'InvalidParameterValue',
        'The value for parameter MaxRecords must be between 1 and 100.',
      );
    if (typeof input.NextToken === 'string' && this.looped()) {
      return json(200, { AlarmHistoryItems: [], NextToken: input.NextToken }, { 'content-type': JSON_10 });
    }
    let after: number | undefined;
    if (input.NextToken !== undefined) {
      after = Number(Buffer.from(String(input.NextToken), 'base64url').toString('utf8'));
      if (!Number.isFinite(after))
        return error(400, 'InvalidNextToken', 'The service cannot decode the NextToken.');
    }
    const types: string[] = Array.isArray(input.AlarmTypes) ? input.AlarmTypes : ['MetricAlarm'];
    const start = typeof input.StartDate === 'number' ? input.StartDate * 1000 : Number.NEGATIVE_INFINITY;
    const end = typeof input.EndDate === 'number' ? input.EndDate * 1000 : Number.POSITIVE_INFINITY;
    const kept = req.at - 30 * DAY;
    const asc = input.ScanBy === 'TimestampAscending';
    const order = (a: SimHistoryItem, b: SimHistoryItem) => (a.t - b.t || a.seq - b.seq) * (asc ? 1 : -1);
    const matching = this.items
      .filter(
        (i) =>
          i.visibleAt <= req.at &&
          i.t >= Math.max(start, kept) &&
          i.t <= end &&
          types.includes(i.AlarmType) &&
          (!input.HistoryItemType || i.HistoryItemType === input.HistoryItemType) &&
          (!input.AlarmName || i.AlarmName === input.AlarmName),
      )
      .sort(order);
    const from = after === undefined ? 0 : matching.findIndex((i) => i.seq === after) + 1;
    const page = matching.slice(from, from + max);
    const last = page.at(-1);
    return json(
      200,
      {
        AlarmHistoryItems: page.map((i) => this.apiItem(i)),
        ...(matching.length > from + max && last
          ? { NextToken: Buffer.from(String(last.seq)).toString('base64url') }
          : {}),
      },
      { 'content-type': JSON_10 },
    );
  }
}
