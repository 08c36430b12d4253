import { z } from 'zod';
import { type AwsAccount, awsCallerIdentity } from '../../accounts/aws.ts';
import { awsErrorCode, explainAws, needsAws } from '../../accounts/aws-objects.ts';
import { configError } from '../../core/errors.ts';
import type { HttpClient, RawEvent, ReadContext, StreamDef } from '../../core/source.ts';
import { defineSource } from '../../core/source.ts';
import { type KeyedCheckpoint, keyedStream } from '../../engine/keyed-stream.ts';
import { jsonBodyField, paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Amazon GuardDuty findings, per region (GuardDuty API Reference unless named):
 *
 * - Protocol: REST-JSON at `guardduty.{region}.amazonaws.com`, SigV4 for the service `guardduty`
 *   (AWS General Reference, "Amazon GuardDuty endpoints and quotas").
 * - ListDetectors (API_ListDetectors.html): `GET /detector` → `detectorIds` (one detector per account and
 *   Region: GuardDuty User Guide, "Getting started"), `maxResults` 1–50, `nextToken`.
 * - ListFindings (API_ListFindings.html): `POST /detector/{detectorId}/findings` with `findingCriteria:
 *   {criterion: {updatedAt: {greaterThanOrEqual, lessThan}}}` (epoch milliseconds), `sortCriteria:
 *   {attributeName: "updatedAt", orderBy: "ASC"}`, `maxResults` ("The default value is 50. The maximum
 *   value is 50"), `nextToken` → `findingIds`.
 * - GetFindings (API_GetFindings.html): `POST /detector/{detectorId}/findings/get` with `findingIds`
 *   ("Array Members: Minimum number of 0 items. Maximum number of 50 items") → `findings` (the Finding
 *   data type: `id`, `type`, `severity`, `createdAt`, `updatedAt` as ISO 8601 strings, `resource`,
 *   `service.count`, …).
 * - Findings are updated in place when the activity recurs (GuardDuty User Guide, "Finding
 *   aggregation": "subsequent occurrences … are aggregated into the original finding" and `updatedAt`
 *   moves), so every version is an event: id `{id}@{updatedAt}`, time `updatedAt`.
 * - Retention: "findings … are retained for 90 days" (GuardDuty User Guide, "Understanding Amazon
 *   GuardDuty findings").
 * - Errors: `BadRequestException` (400), `AccessDeniedException` (403), `InternalServerErrorException`
 *   (500). No rate limit or throttling error is published for these actions (429 is honoured).
 *
 * Early access: the throttling answer (429) and the stability of ListFindings pages while findings are
 * updated during paging were not confirmed in AWS's documentation.
 */

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const JSON_HEADERS = { 'content-type': 'application/json' };

const settings = z
  .object({
    regions: z
      .array(z.string().trim().regex(REGION, 'expected an AWS region code such as us-east-1 or eu-west-1'))
      .min(1, 'expected at least one region')
      .max(40)
      .meta({ title: 'Regions' })
      .describe('The regions whose GuardDuty detector is read, e.g. ["us-east-1", "eu-west-1"]'),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(50)
      .meta({ title: 'Findings per page' })
      .describe('Findings per ListFindings / GetFindings call (at most 50)'),
  })
  .strict();

export type GuardDutySettings = z.infer<typeof settings>;

/** The GuardDuty endpoint of a region: the account's `endpoints.guardduty`, else AWS's. */
export function guardDutyEndpoint(account: Pick<AwsAccount, 'endpoints'>, region: string): string {
  const override = account.endpoints?.guardduty;
  if (override) return override.replace(/\/+$/, '');
  return `https://guardduty.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** The detectors of a region (ListDetectors, every page). */
export async function detectorsOf(http: HttpClient, base: string): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  const seen = new Set<string>();
  do {
    const { body } = await http.getJson(`${base}/detector`, { maxResults: 50, nextToken });
    for (const id of (body as { detectorIds?: unknown[] })?.detectorIds ?? [])
      if (typeof id === 'string') ids.push(id);
    nextToken = (body as { nextToken?: string })?.nextToken || undefined;
    if (nextToken && seen.has(nextToken))
      throw configError(
        'pagination_loop',
        'GuardDuty repeated a ListDetectors nextToken.',
        'Retry later; if it persists, report it with the logs.',
      );
    if (nextToken) seen.add(nextToken);
  } while (nextToken);
  return ids;
}

/** A finding's event: every version its own id. */
export function findingEvent(f: any): RawEvent {
  const ok = typeof f?.id === 'string' && typeof f?.updatedAt === 'string';
  return { raw: f, id: ok ? `${f.id}@${f.updatedAt}` : (undefined as unknown as string), time: f?.updatedAt };
}

/** GetFindings for the ids of one ListFindings page (at most 50, as the page is). */
async function findingsOf(
  http: HttpClient,
  base: string,
  detector: string,
  ids: string[],
): Promise<RawEvent[]> {
  if (!ids.length) return [];
  const { body } = await http.requestJson({
    method: 'POST',
    readOnly: true,
    url: `${base}/detector/${encodeURIComponent(detector)}/findings/get`,
    headers: JSON_HEADERS,
    body: JSON.stringify({ findingIds: ids, sortCriteria: { attributeName: 'updatedAt', orderBy: 'ASC' } }),
  });
  const findings = (body as { findings?: unknown[] })?.findings;
  return Array.isArray(findings) ? findings.map(findingEvent) : [];
}

/** One detector's findings: ListFindings over the window on updatedAt, each page's findings fetched. */
function detectorStream(region: string, detector: string): StreamDef<GuardDutySettings, AwsAccount> {
  const base = (ctx: ReadContext<GuardDutySettings, AwsAccount>) => guardDutyEndpoint(ctx.account, region);
  const url = (ctx: ReadContext<GuardDutySettings, AwsAccount>) =>
    `${base(ctx)}/detector/${encodeURIComponent(detector)}/findings`;
  return restPoll<GuardDutySettings, AwsAccount>({
    title: `${region} ${detector}`,
    method: 'POST',
    url,
    request: (ctx, w) => ({
      url: url(ctx),
      body: JSON.stringify({
        findingCriteria: {
          criterion: { updatedAt: { greaterThanOrEqual: w.start.getTime(), lessThan: w.end.getTime() } },
        },
        sortCriteria: { attributeName: 'updatedAt', orderBy: 'ASC' },
        maxResults: ctx.settings.pageSize,
      }),
    }),
    headers: () => JSON_HEADERS,
    records: (body) => body?.findingIds,
    paginate: paginate.cursor({ place: jsonBodyField('nextToken'), from: 'nextToken' }),
    cursor: { time: 'updatedAt', order: 'asc', lag: '2m' },
    eventId: () => undefined,
    expandPage: (ctx, ids) => findingsOf(ctx.http, base(ctx), detector, ids as string[]),
    missingId: 'finding has no id or updatedAt',
  });
}

const findings: StreamDef<GuardDutySettings, AwsAccount, KeyedCheckpoint> = keyedStream<
  GuardDutySettings,
  AwsAccount,
  { region: string; detector: string }
>({
  title: 'Findings',
  description:
    'Every version of every GuardDuty finding of the chosen regions; id {id}@{updatedAt}, time updatedAt.',
  // Each region's detector on its own window and watermark.
  async parts(ctx) {
    const parts: Array<{ region: string; detector: string }> = [];
    for (const region of ctx.settings.regions)
      for (const detector of await detectorsOf(ctx.http, guardDutyEndpoint(ctx.account, region)))
        parts.push({ region, detector });
    return parts;
  },
  key: (p) => `${p.region}/${p.detector}`,
  stream: (p) => detectorStream(p.region, p.detector),
});

export default defineSource<GuardDutySettings, AwsAccount>({
  id: 'aws-guardduty',
  title: 'Amazon GuardDuty',
  account: 'aws',
  stability: 'early-access',
  family: 'rest-time-window',
  retention: '90d',
  description:
    'Amazon GuardDuty findings (EC2, IAM, S3, EKS, malware, runtime threats) of one or more regions, every time a finding is created or updated.',
  setupGuide: `**Prerequisites in AWS** (GuardDuty API Reference, ListDetectors / ListFindings / GetFindings; GuardDuty User Guide, "Managing access"):

1. GuardDuty enabled in each region to read (GuardDuty → Settings shows the **detector ID**). In an organization, use the **delegated administrator** account: its detector lists the member accounts' findings too.
2. An IAM identity for Tributary (a user with an access key, or a role it assumes with an external ID) with this policy:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow",
      "Action": ["guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings"],
      "Resource": "*" }
  ]
}
\`\`\`

(\`ListFindings\` and \`GetFindings\` can be limited to \`arn:aws:guardduty:REGION:ACCOUNT:detector/DETECTOR_ID\`; \`ListDetectors\` needs \`*\`.)

Copy into Tributary: an \`aws\` account (access key ID and secret, optionally the role ARN and external ID), and in the collector the **regions**.

**What each event is**: the finding as GuardDuty's API gives it (\`id\`, \`type\`, \`severity\`, \`title\`, \`resource\`, \`service\` with \`count\`, \`eventFirstSeen\`, \`eventLastSeen\`, …). A finding is updated in place when its activity recurs, so each update is a new event: id \`{id}@{updatedAt}\`, time \`updatedAt\`. Findings are kept 90 days.

**Unconfirmed** (early access): GuardDuty publishes no request rate or throttling answer for these actions (a 429 is waited out); whether ListFindings pages shift when a finding is updated while they are read was not checked.`,
  settings: settings as unknown as z.ZodType<GuardDutySettings>,
  streams: { findings },
  explain(ctx) {
    const code = awsErrorCode(ctx.body);
    if (code === 'AccessDeniedException')
      return {
        type: 'config',
        code: 'aws_access_denied',
        action:
          "Allow guardduty:ListDetectors, guardduty:ListFindings and guardduty:GetFindings in the IAM policy of the account's identity or role, as the setup guide shows.",
      };
    if (code === 'BadRequestException')
      return {
        type: 'config',
        code: 'aws_bad_request',
        action:
          "Check the collector's regions (GuardDuty must be enabled there) and the account's endpoints.guardduty.",
      };
    return explainAws(ctx);
  },
  async test({ http, account, settings: s }) {
    await awsCallerIdentity(account);
    for (const region of s.regions) {
      const base = guardDutyEndpoint(account, region);
      const detectors = await needsAws('guardduty:ListDetectors', `GuardDuty in ${region}`, () =>
        detectorsOf(http, base),
      );
      if (!detectors.length)
        throw configError(
          'aws_guardduty_not_enabled',
          `GuardDuty has no detector in ${region}: it is not enabled there.`,
          `Enable GuardDuty in ${region} (GuardDuty → Get started), or remove ${region} from the collector's regions.`,
        );
      const d = detectors[0]!;
      const list = await needsAws('guardduty:ListFindings', `detector ${d} in ${region}`, () =>
        http.requestJson({
          method: 'POST',
          readOnly: true,
          url: `${base}/detector/${encodeURIComponent(d)}/findings`,
          headers: JSON_HEADERS,
          body: JSON.stringify({ maxResults: 1 }),
        }),
      );
      const ids = (list.body as { findingIds?: string[] })?.findingIds ?? [];
      if (ids.length)
        await needsAws('guardduty:GetFindings', `detector ${d} in ${region}`, () =>
          findingsOf(http, base, d, ids.slice(0, 1)),
        );
    }
  },
});
