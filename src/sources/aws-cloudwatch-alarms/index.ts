import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type AwsAccount, awsCallerIdentity } from '../../accounts/aws.ts';
import { awsErrorCode, awsRateLimited, explainAws, needsAws } from '../../accounts/aws-objects.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { jsonBodyField, paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Amazon CloudWatch alarm history: state changes, configuration changes and actions of metric and
 * composite alarms, one stream per history item type. Vendor facts (CloudWatch API Reference,
 * API_DescribeAlarmHistory.html, unless named):
 *
 * - Protocol: AWS JSON 1.0, `POST /` to `monitoring.{region}.amazonaws.com` with `X-Amz-Target:
 *   GraniteServiceVersion20100801.DescribeAlarmHistory`, SigV4 for the service `monitoring` — the protocol
 *   CloudWatch's SDKs moved to from the Query protocol (AWS What's New, July 2025, "Amazon CloudWatch
 *   SDK supports optimized JSON, CBOR protocols"); timestamps are epoch seconds.
 * - Input: `HistoryItemType` (`ConfigurationUpdate`, `StateUpdate`, `Action`), `AlarmTypes` ("If you
 *   omit this parameter, only metric alarms are returned": both are asked), `StartDate`, `EndDate`,
 *   `MaxRecords` 1–100, `NextToken`, `ScanBy` `TimestampAscending` ("the oldest history returned
 *   first").
 * - Output: `AlarmHistoryItems` of `{AlarmName, AlarmType, Timestamp, HistoryItemType, HistorySummary,
 *   HistoryData}` — no id: Tributary's is `{AlarmName}@{Timestamp}#{HistoryItemType}#{sha256 of summary
 *   and data, 16 hex}`, stable when read again; time `Timestamp`.
 * - Retention: alarm history is kept 30 days (CloudWatch User Guide, "Using Amazon CloudWatch alarms":
 *   "CloudWatch keeps alarm history for 30 days").
 * - Errors: `InvalidNextToken` (400), `AccessDenied` (403), `Throttling` (400, waited out like a 429).
 *
 * Early access: whether StartDate and EndDate are inclusive is not documented (windows are clipped to
 * [start, end), so an item is delivered by exactly one window), and no request rate is published for
 * DescribeAlarmHistory.
 */

const TARGET = 'GraniteServiceVersion20100801.DescribeAlarmHistory';
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const TYPES = {
  'state-updates': {
    type: 'StateUpdate',
    title: 'State changes',
    what: 'OK / ALARM / INSUFFICIENT_DATA changes',
  },
  'configuration-updates': {
    type: 'ConfigurationUpdate',
    title: 'Configuration changes',
    what: 'alarms created, changed or deleted',
  },
  actions: {
    type: 'Action',
    title: 'Actions',
    what: 'actions run (SNS notifications, Auto Scaling, EC2, Systems Manager), and their failures',
  },
} as const;
type StreamId = keyof typeof TYPES;

const settings = z
  .object({
    region: z
      .string({ error: 'required: the AWS region of the alarms, such as eu-west-1' })
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1 or eu-west-1')
      .meta({ title: 'Region' })
      .describe('AWS region of the alarms (one collector per region)'),
    alarmName: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .optional()
      .meta({ title: 'Alarm name' })
      .describe('Only this alarm’s history (default: every alarm of the region)'),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .meta({ title: 'Items per page' })
      .describe('History items per DescribeAlarmHistory call (at most 100)'),
  })
  .strict();

export type AlarmSettings = z.infer<typeof settings>;

/** The CloudWatch endpoint: the account's `endpoints.monitoring`, else the region's. */
export function monitoringEndpoint(account: Pick<AwsAccount, 'endpoints'>, region: string): string {
  const override = account.endpoints?.monitoring;
  if (override) return `${override.replace(/\/+$/, '')}/`;
  return `https://monitoring.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}/`;
}

/** The id of a history item (it has none of its own): see the header comment. */
export function historyItemId(i: any): string | undefined {
  if (
    typeof i?.AlarmName !== 'string' ||
    typeof i?.Timestamp !== 'number' ||
    typeof i?.HistoryItemType !== 'string'
  )
    return undefined;
  const digest = createHash('sha256')
    .update(`${i.HistorySummary ?? ''}\n${i.HistoryData ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  return `${i.AlarmName}@${new Date(Math.round(i.Timestamp * 1000)).toISOString()}#${i.HistoryItemType}#${digest}`;
}

const HEADERS = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': TARGET };

/** A DescribeAlarmHistory body. */
export function historyBody(s: AlarmSettings, type: string, start: number, end: number, max: number): string {
  return JSON.stringify({
    HistoryItemType: type,
    AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    ...(s.alarmName ? { AlarmName: s.alarmName } : {}),
    StartDate: start / 1000,
    EndDate: end / 1000,
    MaxRecords: max,
    ScanBy: 'TimestampAscending',
  });
}

function stream(id: StreamId): StreamDef<AlarmSettings, AwsAccount> {
  const t = TYPES[id];
  return restPoll<AlarmSettings, AwsAccount>({
    title: t.title,
    description: `Alarm history items of type ${t.type}: ${t.what}.`,
    method: 'POST',
    url: (ctx) => monitoringEndpoint(ctx.account, ctx.settings.region),
    request: (ctx, w) => ({
      url: monitoringEndpoint(ctx.account, ctx.settings.region),
      body: historyBody(ctx.settings, t.type, w.start.getTime(), w.end.getTime() - 1, ctx.settings.pageSize),
    }),
    headers: () => HEADERS,
    records: (body) => body?.AlarmHistoryItems ?? [],
    paginate: paginate.cursor({ place: jsonBodyField('NextToken'), from: 'NextToken' }),
    cursor: { time: 'Timestamp', order: 'asc', lag: '1m', clip: true },
    eventId: historyItemId,
    missingId: 'alarm history item has no AlarmName, Timestamp or HistoryItemType',
  });
}

export default defineSource<AlarmSettings, AwsAccount>({
  id: 'aws-cloudwatch-alarms',
  title: 'Amazon CloudWatch alarms',
  account: 'aws',
  stability: 'early-access',
  family: 'rest-time-window',
  retention: '30d',
  description:
    'CloudWatch alarm history of a region: state changes (OK, ALARM, INSUFFICIENT_DATA), configuration changes and actions of metric and composite alarms.',
  setupGuide: `**Prerequisites in AWS** (CloudWatch API Reference, DescribeAlarmHistory; CloudWatch User Guide, "CloudWatch permissions reference"):

1. Note the **region** of the alarms (CloudWatch → Alarms). One collector reads one region; alarm history is kept 30 days.
2. An IAM identity for Tributary (a user with an access key, or a role it assumes with an external ID) with this policy:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarmHistory"], "Resource": "*" }
  ]
}
\`\`\`

(\`Resource\` can name alarms: \`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME\`.)

Copy into Tributary: an \`aws\` account (access key ID and secret, optionally the role ARN and external ID; \`endpoints.monitoring\` for a VPC endpoint), and in the collector the region. Streams: \`state-updates\`, \`configuration-updates\`, \`actions\` (all by default).

**What each event is**: the history item \`{"AlarmName", "AlarmType", "Timestamp", "HistoryItemType", "HistorySummary", "HistoryData"}\` (\`HistoryData\` is a JSON document as a string: old and new state with the reason). Items have no id of their own: Tributary's is the alarm name, time, type and a digest of the summary and data. Time \`Timestamp\`.

**Unconfirmed** (early access): whether StartDate and EndDate are inclusive (Tributary clips each window itself), and the request rate AWS allows for DescribeAlarmHistory (\`Throttling\` is waited out).`,
  settings: settings as unknown as z.ZodType<AlarmSettings>,
  streams: Object.fromEntries((Object.keys(TYPES) as StreamId[]).map((id) => [id, stream(id)])),
  explain(ctx) {
    const code = awsErrorCode(ctx.body);
    if (code === 'AccessDenied')
      return {
        type: 'config',
        code: 'aws_access_denied',
        action:
          "Allow cloudwatch:DescribeAlarmHistory in the IAM policy of the account's identity or role, as the setup guide shows.",
      };
    if (code === 'InvalidNextToken')
      return {
        type: 'transient',
        code: 'aws_invalid_next_token',
        action:
          'None needed: the next run reads the window again from its start (delivered items are not repeated).',
      };
    return explainAws(ctx);
  },
  rateLimited: awsRateLimited,
  async test({ http, account, settings: s }) {
    await awsCallerIdentity(account);
    const now = Date.now();
    await needsAws('cloudwatch:DescribeAlarmHistory', `alarms in ${s.region}`, () =>
      http.requestJson({
        method: 'POST',
        readOnly: true,
        url: monitoringEndpoint(account, s.region),
        headers: HEADERS,
        body: historyBody(s, 'StateUpdate', now - 3_600_000, now, 1),
      }),
    );
  },
});
