import { z } from 'zod';
import type { AwsAccount } from '../../accounts/aws.ts';
import { awsCallerIdentity } from '../../accounts/aws.ts';
import {
  awsRateLimited,
  explainAws,
  needsAws,
  notifiedObjectsIn,
  probeBucket,
  SQS_DELETE_WRITE,
  SQS_RECEIVE_WRITE,
  sqsQueueAttributes,
} from '../../accounts/aws-objects.ts';
import { defineSource } from '../../core/source.ts';
import { readObjects } from '../../engine/object-notification.ts';
import {
  bucketField,
  openBucketQueue,
  queueUrlField,
  regionField,
  waitTimeField,
} from '../aws-object-fields.ts';

/**
 * SentinelOne Cloud Funnel: SentinelOne exports Deep Visibility (EDR/XDR) telemetry to the customer's own
 * S3 bucket; S3 event notifications on an SQS queue announce each new object, which the object reader
 * (engine/object-notification.ts) streams, gunzips and splits into JSON lines. Vendor facts:
 *
 * - Cloud Funnel is "a data subscription that enables you to store your organization's EDR data locally in
 *   your own data lake" (SentinelOne blog, "Feature Spotlight: Introducing Cloud Funnel, the EDR Data
 *   Lake"); the bucket, its policy letting SentinelOne write, and the Cloud Funnel configuration in the
 *   console (Policy & Settings → Integrations → Cloud Funnel) are the customer's.
 * - Objects are gzip-compressed JSON lines, one Deep Visibility 2.0 event per line, fields flat with dotted
 *   names: `event.id` (unique per event), `event.time` (epoch milliseconds), `event.type`
 *   (`ProcessCreation`, …), `event.category` (`process`, `file`, `dns`, `ip`, `registry`, `url`, `logins`,
 *   `indicators`, `module`, `scheduled_task`, `cross_process`, `command_script`,
 *   `threat_intelligence_indicators`), `account.id`, `site.id`, `agent.uuid`, `endpoint.name` — as read by
 *   the public Elastic integration (elastic/integrations, packages/sentinel_one_cloud_funnel, test logs and
 *   ingest pipeline, "tested against … Cloud Funnel version v2"); SentinelOne's own field reference is
 *   behind its customer portal.
 * - One stream: every event type arrives mixed in the same objects (Elastic's integration combines "all of
 *   those in one data stream" for the same reason), and a notification can be deleted only once, so a
 *   stream per event type would have to read every object once per type; each record keeps its
 *   `event.category` and `event.type` for routing downstream.
 * - S3 event notifications and the S3 and SQS calls: accounts/aws-objects.ts. Rate limits: as aws-s3.
 *
 * Unconfirmed (so `early-access`): the key layout SentinelOne writes under the bucket (any key under the
 * prefix is read); the field names from SentinelOne's own documentation (taken from the Elastic
 * integration's samples); whether every event has `event.id` (else the object and line are the id).
 */

export interface CloudFunnelSettings {
  bucket: string;
  region: string;
  queueUrl: string;
  prefix?: string;
  waitTimeSeconds: number;
}

const settings = z
  .object({
    bucket: bucketField(
      'Cloud Funnel bucket',
      'The S3 bucket Cloud Funnel exports to (Policy & Settings → Integrations → Cloud Funnel)',
      's1-cloud-funnel',
    ),
    region: regionField('Bucket region', 'The region of the bucket (and of the queue)'),
    queueUrl: queueUrlField(
      'Notification queue URL',
      'The SQS queue the bucket sends its object-created notifications to',
      'cloud-funnel',
    ),
    prefix: z
      .string()
      .max(1024)
      .regex(/^[^\p{Cc}]*$/u, 'expected a key prefix without control characters')
      .optional()
      .meta({ title: 'Key prefix' })
      .describe('Only keys starting with this are read (the folder Cloud Funnel writes to, if you gave one)'),
    waitTimeSeconds: waitTimeField(),
  })
  .strict();

const field = (r: unknown, name: string) =>
  r && typeof r === 'object' ? (r as Record<string, unknown>)[name] : undefined;

const read = readObjects<CloudFunnelSettings, AwsAccount>({
  mode: 'notifications',
  open: openBucketQueue,
  objectsOf: (m, s) => notifiedObjectsIn(m, s.bucket, (r) => !s.prefix || r.key.startsWith(s.prefix)),
  format: 'ndjson',
  compression: 'auto',
  eventId: (r) => {
    const id = field(r, 'event.id');
    return typeof id === 'string' && id ? id : undefined;
  },
  eventTime: (r, ref) => field(r, 'event.time') ?? ref.lastModified,
});

export default defineSource<CloudFunnelSettings, AwsAccount>({
  id: 'sentinelone-cloud-funnel',
  title: 'SentinelOne Cloud Funnel',
  account: 'aws',
  stability: 'early-access',
  family: 'object-storage',
  description:
    'Deep Visibility (EDR/XDR) telemetry that SentinelOne Cloud Funnel exports to your S3 bucket: gzip JSON lines announced by S3 event notifications on SQS.',
  setupGuide: `**Prerequisites** (SentinelOne: Cloud Funnel is a paid add-on; S3 User Guide, "Amazon S3 Event Notifications"):

1. An S3 bucket for the export, in the region of your choice. In the SentinelOne console: **Policy & Settings → Integrations → Cloud Funnel**: follow its steps to give SentinelOne write access to the bucket (the bucket policy it shows), enter the bucket name, choose the telemetry to export (event types, filters) and enable the export.
2. An SQS standard queue in the bucket's region, with an access policy letting S3 send to it (\`sqs:SendMessage\` for the principal \`s3.amazonaws.com\`, condition \`aws:SourceArn\` = the bucket's ARN) and a visibility timeout longer than reading one object takes (5 minutes).
3. On the bucket: **Properties → Event notifications → Create**: **All object create events**, the prefix Cloud Funnel writes to (if any), destination the queue. S3's \`s3:TestEvent\` is skipped.
4. An IAM identity for Tributary (user with an access key, or a role it assumes) with this policy:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/*" },
    { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::BUCKET" },
    { "Effect": "Allow",
      "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      "Resource": "arn:aws:sqs:REGION:ACCOUNT:QUEUE" }
  ]
}
\`\`\`

If the bucket is encrypted with your own KMS key, also allow \`kms:Decrypt\` on it.

Copy into Tributary: an \`aws\` account (access key, optionally a role ARN and external ID) and, in the collector, the bucket, its region, the queue URL and the prefix.

**Records**: one event per line, fields as Cloud Funnel writes them (flat dotted names): id \`event.id\`, time \`event.time\`; \`event.category\` and \`event.type\` say the kind (process, file, dns, ip, registry, url, logins, indicators, module, scheduled_task, cross_process, command_script, threat_intelligence_indicators). One stream: the types arrive mixed in the same objects. Cloud Funnel volumes are high: choose the exported types in SentinelOne's Cloud Funnel settings.

**What the collector changes in AWS**: it receives notifications (hiding them for the queue's visibility timeout) and deletes each one after every line of its objects was delivered.

**Unconfirmed** (early access): the key layout SentinelOne writes (every key under the prefix is read); the field names (from the public Elastic integration's samples of Cloud Funnel 2.0, not SentinelOne's own reference).`,
  settings: settings as unknown as z.ZodType<CloudFunnelSettings>,
  vendorWrites: [SQS_RECEIVE_WRITE, SQS_DELETE_WRITE],
  explain: explainAws,
  rateLimited: awsRateLimited,
  streams: {
    events: {
      title: 'Deep Visibility events',
      description:
        'Every Deep Visibility event of every exported object, once; id event.id, time event.time; event.category and event.type name its kind.',
      read,
    },
  },
  async test({ http, account, settings: s }) {
    await awsCallerIdentity(account); // the credentials (and role) first: GetCallerIdentity needs no permission
    await needsAws('sqs:GetQueueAttributes', s.queueUrl, () => sqsQueueAttributes(http, account, s.queueUrl));
    await probeBucket(http, account, { bucket: s.bucket, region: s.region, prefix: s.prefix ?? '' });
  },
});
