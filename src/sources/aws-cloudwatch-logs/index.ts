import { z } from 'zod';
import { type AwsAccount, awsCallerIdentity } from '../../accounts/aws.ts';
import { awsErrorCode, awsRateLimited, explainAws, needsAws } from '../../accounts/aws-objects.ts';
import { configError } from '../../core/errors.ts';
import type { HttpClient, ReadContext, StreamDef } from '../../core/source.ts';
import { defineSource } from '../../core/source.ts';
import { type KeyedCheckpoint, keyedStream } from '../../engine/keyed-stream.ts';
import { jsonBodyField, paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Amazon CloudWatch Logs: the events of chosen log groups (by name, or every group under a name prefix),
 * each group read on its own time window with its own watermark (engine/keyed-stream.ts + the REST poller).
 * Vendor facts (CloudWatch Logs API Reference unless named):
 *
 * - Protocol: AWS JSON 1.1, `POST /` to `logs.{region}.amazonaws.com` with `X-Amz-Target:
 *   Logs_20140328.<Action>`, SigV4 for the service `logs` (AWS General Reference, "Amazon CloudWatch
 *   Logs endpoints and quotas").
 * - FilterLogEvents (API_FilterLogEvents.html): `logGroupName`, `startTime` / `endTime` in milliseconds
 *   since the epoch — "Events with a timestamp before this time are not returned" / "later than this
 *   time are not returned" (both inclusive, so a window [a, b) asks endTime b − 1) — `limit` up to
 *   10,000, `nextToken`; "returns as many log events as can fit in 1 MB (up to 10,000 log events) …
 *   This operation can return empty results while there are more log events available through the
 *   token"; events "sorted by event timestamp, the timestamp when the event was ingested …, and the ID
 *   of the PutLogEvents request" (oldest first); each `{logStreamName, timestamp, message,
 *   ingestionTime, eventId}` — `eventId` "The ID of the event" is the id, `timestamp` the time. The
 *   event carries no group name: Tributary adds `logGroupName`.
 * - DescribeLogGroups (API_DescribeLogGroups.html): `logGroupNamePrefix`, `limit` at most 50,
 *   `nextToken`.
 * - Late events: the filter is on the event's own timestamp, and PutLogEvents accepts events up to 14
 *   days in the past (API_PutLogEvents.html: "None of the log events in the batch can be more than 14
 *   days in the past"), so an event ingested later than the lag after its timestamp is missed: the lag
 *   (default 2 minutes) absorbs the usual ingestion delay.
 * - Errors: `ResourceNotFoundException` (the group does not exist), `AccessDeniedException`,
 *   `InvalidParameterException`, `ServiceUnavailableException`, `ThrottlingException` (400, waited out
 *   like a 429), `UnrecognizedClientException` (an unknown key), `ExpiredTokenException`.
 * - Rate limits: FilterLogEvents "has a default quota of 5 transactions per second (TPS) per account
 *   and Region" that cannot be raised (AWS re:Post knowledge center, "How do I determine throttling in
 *   my CloudWatch logs?"); the `aws` account budgets `logs.*` endpoints to it.
 * - Retention: set per log group (1 day to 10 years, or never expire); none is assumed.
 *
 * Early access: the 5 TPS quota is from AWS's knowledge center, not the quotas table, and the event
 * order across log streams was not checked against AWS.
 */

const TARGET = 'Logs_20140328.';
const JSON_11 = 'application/x-amz-json-1.1';
const GROUP = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const DEFAULT_LAG = '2m';

const settings = z
  .object({
    region: z
      .string({ error: 'required: the AWS region of the log groups, such as eu-west-1' })
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1 or eu-west-1')
      .meta({ title: 'Region' })
      .describe('AWS region of the log groups (one collector per region)'),
    logGroupNames: z
      .array(z.string().trim().regex(GROUP, 'expected a log group name: 1–512 of letters, digits and ._-/#'))
      .min(1)
      .max(100)
      .optional()
      .meta({ title: 'Log group names' })
      .describe('The log groups to read, e.g. ["/aws/lambda/payments", "vpc-flow-logs"]'),
    logGroupNamePrefix: z
      .string()
      .trim()
      .regex(GROUP, 'expected a log group name prefix: 1–512 of letters, digits and ._-/#')
      .optional()
      .meta({ title: 'Log group name prefix' })
      .describe(
        'Or: every log group whose name starts with this, e.g. /aws/lambda/ (listed again at every run)',
      ),
    filterPattern: z
      .string()
      .max(1024)
      .optional()
      .meta({ title: 'Filter pattern' })
      .describe('Optional CloudWatch Logs filter pattern: only matching events are collected (default: all)'),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(10_000)
      .meta({ title: 'Events per page' })
      .describe('Events per FilterLogEvents call (at most 10,000; each answer is also capped at 1 MB)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.logGroupNames === !s.logGroupNamePrefix)
      ctx.addIssue({
        code: 'custom',
        path: ['logGroupNames'],
        message: 'expected either logGroupNames (a list of log groups) or logGroupNamePrefix, not both',
      });
  });

export type CloudWatchLogsSettings = z.infer<typeof settings>;

/** The CloudWatch Logs endpoint: the account's `endpoints.logs`, else the region's. */
export function logsEndpoint(account: Pick<AwsAccount, 'endpoints'>, region: string): string {
  const override = account.endpoints?.logs;
  if (override) return `${override.replace(/\/+$/, '')}/`;
  return `https://logs.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}/`;
}

const headers = (action: string) => ({ 'content-type': JSON_11, 'x-amz-target': `${TARGET}${action}` });

async function logsCall<T>(http: HttpClient, url: string, action: string, body: object): Promise<T> {
  return (
    await http.requestJson({
      method: 'POST',
      readOnly: true,
      url,
      headers: headers(action),
      body: JSON.stringify(body),
    })
  ).body as T;
}

/** The log groups under a prefix (DescribeLogGroups, every page), in name order. */
export async function groupsUnder(
  http: HttpClient,
  url: string,
  prefix: string,
  max = Infinity,
): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await logsCall<{ logGroups?: Array<{ logGroupName?: string }>; nextToken?: string }>(
      http,
      url,
      'DescribeLogGroups',
      { logGroupNamePrefix: prefix, limit: 50, ...(nextToken ? { nextToken } : {}) },
    );
    for (const g of page.logGroups ?? []) if (g.logGroupName) names.push(g.logGroupName);
    nextToken = page.nextToken || undefined;
    if (nextToken && seen.has(nextToken))
      throw configError(
        'pagination_loop',
        'CloudWatch Logs repeated a DescribeLogGroups nextToken.',
        'Retry later; if it persists, report it with the logs.',
      );
    if (nextToken) seen.add(nextToken);
  } while (nextToken && names.length < max);
  return names;
}

/** One log group's events: FilterLogEvents over the group's time window, oldest first. */
function groupStream(group: string): StreamDef<CloudWatchLogsSettings, AwsAccount> {
  const url = (ctx: ReadContext<CloudWatchLogsSettings, AwsAccount>) =>
    logsEndpoint(ctx.account, ctx.settings.region);
  return restPoll<CloudWatchLogsSettings, AwsAccount>({
    title: group,
    method: 'POST',
    url,
    request: (ctx, w) => ({
      url: url(ctx),
      body: JSON.stringify({
        logGroupName: group,
        startTime: w.start.getTime(),
        endTime: w.end.getTime() - 1,
        limit: ctx.settings.pageSize,
        ...(ctx.settings.filterPattern ? { filterPattern: ctx.settings.filterPattern } : {}),
      }),
    }),
    headers: () => headers('FilterLogEvents'),
    records: (body) =>
      (Array.isArray(body?.events)
        ? body.events.map((e: object) => ({ ...e, logGroupName: group }))
        : undefined) as unknown[],
    // An empty answer with a token means "still searching": the next page is asked.
    paginate: paginate.cursor({ place: jsonBodyField('nextToken'), from: 'nextToken' }),
    cursor: { time: 'timestamp', order: 'asc', lag: DEFAULT_LAG },
    eventId: (e) => (typeof e?.eventId === 'string' && e.eventId ? e.eventId : undefined),
    missingId: 'log event has no eventId',
  });
}

const events: StreamDef<CloudWatchLogsSettings, AwsAccount, KeyedCheckpoint> = keyedStream<
  CloudWatchLogsSettings,
  AwsAccount,
  string
>({
  title: 'Log events',
  description: 'Every event of the chosen log groups (logGroupName added); id eventId, time timestamp.',
  // Each log group on its own window and watermark.
  parts: async ({ settings: s, http, account }) =>
    s.logGroupNames ?? (await groupsUnder(http, logsEndpoint(account, s.region), s.logGroupNamePrefix ?? '')),
  key: (group) => group,
  stream: (group) => groupStream(group),
});

export default defineSource<CloudWatchLogsSettings, AwsAccount>({
  id: 'aws-cloudwatch-logs',
  title: 'Amazon CloudWatch Logs',
  account: 'aws',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Log events of CloudWatch Logs log groups (Lambda, VPC flow logs, Route 53 Resolver, application logs) with FilterLogEvents, each group on its own watermark.',
  setupGuide: `**Prerequisites in AWS** (CloudWatch Logs User Guide, "Identity-based policy examples for CloudWatch Logs"; API Reference, FilterLogEvents):

1. Note the **region** of the log groups and their **names** (CloudWatch → Logs → Log groups), or a **name prefix** that covers them (e.g. \`/aws/lambda/\`). One collector reads one region.
2. An IAM identity for Tributary (a user with an access key, or a role it assumes with an external ID) with this policy:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow",
      "Action": ["logs:FilterLogEvents"],
      "Resource": "arn:aws:logs:REGION:ACCOUNT:log-group:LOG_GROUP_NAME_OR_PREFIX*" },
    { "Effect": "Allow",
      "Action": ["logs:DescribeLogGroups"],
      "Resource": "*" }
  ]
}
\`\`\`

\`logs:DescribeLogGroups\` is needed only with a name prefix. Log groups encrypted with a KMS key need \`kms:Decrypt\` on it too.

Copy into Tributary: an \`aws\` account (access key ID and secret, optionally the role ARN and external ID; \`endpoints.logs\` for a VPC endpoint), and in the collector the region and the log group names or prefix.

**What each event is**: \`{"logGroupName", "logStreamName", "timestamp", "message", "ingestionTime", "eventId"}\` — the message as logged (a string). Id \`eventId\`, time \`timestamp\`.

**Limits**: FilterLogEvents allows 5 requests per second per account and region (not raisable), shared with everything else in the account that calls it; Tributary keeps to that for AWS endpoints and waits out \`ThrottlingException\`. Events are found by their own timestamp: an event that reaches CloudWatch Logs later than the collector's lag (default 2 minutes) after its timestamp is missed — raise the collector's lag for sources that buffer (agents, Firehose).

**Unconfirmed** (early access): the 5 TPS quota comes from AWS's knowledge center; the ordering of events across log streams was not checked against AWS.`,
  settings: settings as unknown as z.ZodType<CloudWatchLogsSettings>,
  streams: { events },
  explain(ctx) {
    const code = awsErrorCode(ctx.body);
    if (code === 'ResourceNotFoundException')
      return {
        type: 'config',
        code: 'aws_log_group_not_found',
        action:
          "Check the collector's log group names and region: CloudWatch Logs has no such log group there.",
      };
    if (code === 'InvalidParameterException')
      return {
        type: 'config',
        code: 'aws_invalid_parameter',
        action:
          "Check the collector's filter pattern and log group names: CloudWatch Logs refused the request.",
      };
    if (code === 'AccessDeniedException')
      return {
        type: 'config',
        code: 'aws_access_denied',
        action:
          "Allow logs:FilterLogEvents on the log groups (and logs:DescribeLogGroups with a name prefix) in the IAM policy of the account's identity or role, as the setup guide shows.",
      };
    return explainAws(ctx);
  },
  rateLimited: awsRateLimited,
  async test({ http, account, settings: s }) {
    await awsCallerIdentity(account);
    const url = logsEndpoint(account, s.region);
    const groups =
      s.logGroupNames ??
      (await needsAws('logs:DescribeLogGroups', '*', () =>
        groupsUnder(http, url, s.logGroupNamePrefix ?? '', 1),
      ));
    if (!groups.length)
      throw configError(
        'aws_log_group_not_found',
        `CloudWatch Logs has no log group whose name starts with ${s.logGroupNamePrefix} in ${s.region}.`,
        "Check the collector's log group name prefix and region.",
      );
    const since = Date.now() - 3_600_000;
    for (const group of groups.slice(0, 10))
      await needsAws('logs:FilterLogEvents', `log group ${group}`, () =>
        logsCall(http, url, 'FilterLogEvents', { logGroupName: group, startTime: since, limit: 1 }),
      );
  },
});
