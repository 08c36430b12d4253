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
  SQS_EXTEND_WRITE,
  SQS_RECEIVE_WRITE,
  sqsQueueAttributes,
} from '../../accounts/aws-objects.ts';
import { configError, TributaryError } from '../../core/errors.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import {
  ELSEWHERE,
  type ObjectReaderDef,
  type ObjectRef,
  type QueueMessage,
  readObjects,
} from '../../engine/object-notification.ts';
import { parquetRecords } from '../../engine/parquet-decode.ts';
import {
  bucketField,
  openBucketQueue,
  queueUrlField,
  regionField,
  waitTimeField,
} from '../aws-object-fields.ts';

/**
 * Amazon Security Lake, as a subscriber with data access: Security Lake writes each source's logs and
 * events, converted to OCSF, as Apache Parquet objects to the data lake bucket, and notifies the
 * subscriber's SQS queue of each new object; the collector reads the objects with the subscriber's role.
 * Vendor facts:
 *
 * - Subscribers (Security Lake User Guide, "Subscriber management in Amazon Security Lake"): data access
 *   subscribers "are notified of new Amazon S3 objects for a source as the objects are written … and
 *   receive notifications of new objects through a subscription endpoint or by polling an Amazon Simple
 *   Queue Service (Amazon SQS) queue" (`accessTypes` `S3`); access only to the source data of the
 *   subscriber's Region (a rollup Region gathers others); "The maximum number of sources that Security
 *   Lake allows to add per subscriber is 10".
 * - Creating one ("Creating a subscriber with data access in Security Lake"): the subscriber's AWS account
 *   ID and an **external ID**; notification details "SQS queue" makes Security Lake create the queue the
 *   subscriber polls. "You can create only one subscriber notification per subscriber"
 *   (CreateSubscriberNotification, Security Lake API Reference). The subscriber assumes the role Security
 *   Lake creates for it, with that external ID: the `aws` account's `roleArn` + `externalId`.
 * - Format ("Source management in Amazon Security Lake"): Security Lake "converts the data to Apache
 *   Parquet format and the OCSF schema"; "Each source gets a separate prefix in your S3 bucket". AWS
 *   sources (AwsLogSourceResource `sourceName`, Security Lake API Reference): `ROUTE53 | VPC_FLOW |
 *   SH_FINDINGS | CLOUD_TRAIL_MGMT | LAMBDA_EXECUTION | S3_DATA | EKS_AUDIT | WAF`; one stream each, and
 *   `custom` for custom sources.
 * - Records (OCSF schema, schema.ocsf.io, "Base Event"): `class_uid` / `class_name` the event class,
 *   `time` the event time in epoch milliseconds, `metadata.uid` a logging-system-assigned unique id
 *   (CloudTrail's `eventID` for CloudTrail sources) when the source has one — the id; otherwise the object
 *   and the row's place.
 * - Notifications are S3 object-created events (plain, SNS- or EventBridge-wrapped), and the S3 and SQS
 *   calls: accounts/aws-objects.ts. Rate limits: as aws-s3 (S3 5,500 GET/s per prefix; SQS standard
 *   queues nearly unlimited): one object at a time needs no budget.
 *
 * Unconfirmed (so `early-access`): the key layout below the source prefix (read as
 * `aws/<SOURCE>/<version>/region=…/accountId=…/eventDay=…/…parquet` and `ext/<name>/…`, from Security
 * Lake's own Glue tables, not a documented contract); the Parquet compression codec (not documented:
 * every codec Parquet defines is read); the exact body of Security Lake's queue messages (every S3
 * notification shape is read).
 */

export interface SecurityLakeSettings {
  bucket: string;
  region: string;
  queueUrl: string;
  waitTimeSeconds: number;
}

/** The streams: Security Lake's AWS source names (AwsLogSourceResource `sourceName`), and custom sources. */
export const SECURITY_LAKE_SOURCES = {
  'cloudtrail-management': {
    source: 'CLOUD_TRAIL_MGMT',
    title: 'CloudTrail management events',
    classes: 'API Activity, Authentication, Account Change',
  },
  'lambda-execution': {
    source: 'LAMBDA_EXECUTION',
    title: 'CloudTrail Lambda data events',
    classes: 'API Activity',
  },
  's3-data': { source: 'S3_DATA', title: 'CloudTrail S3 data events', classes: 'API Activity' },
  'vpc-flow': { source: 'VPC_FLOW', title: 'VPC Flow Logs', classes: 'Network Activity' },
  route53: { source: 'ROUTE53', title: 'Route 53 Resolver query logs', classes: 'DNS Activity' },
  'security-hub': { source: 'SH_FINDINGS', title: 'Security Hub findings', classes: 'Security Finding' },
  'eks-audit': { source: 'EKS_AUDIT', title: 'EKS audit logs', classes: 'API Activity' },
  waf: { source: 'WAF', title: 'AWS WAF logs', classes: 'HTTP Activity' },
  custom: { source: undefined, title: 'Custom sources', classes: 'as each custom source writes' },
} as const;
export type SecurityLakeStream = keyof typeof SECURITY_LAKE_SOURCES;

const BY_SOURCE = new Map<string, SecurityLakeStream>(
  Object.entries(SECURITY_LAKE_SOURCES)
    .filter(([, v]) => v.source)
    .map(([k, v]) => [v.source as string, k as SecurityLakeStream]),
);
// Security Lake 1.0 named CloudTrail's management events CLOUD_TRAIL.
BY_SOURCE.set('CLOUD_TRAIL', 'cloudtrail-management');

/** The stream an object belongs to, from its key's source prefix; undefined when it is no Security Lake data. */
export function streamOfKey(key: string): SecurityLakeStream | undefined {
  const [top, name] = key.split('/');
  if (top === 'ext' && name) return 'custom';
  if (top === 'aws' && name) return BY_SOURCE.get(name);
  return undefined;
}

/** The prefix a stream's objects are under (Test Connection lists it). */
export function streamPrefix(stream: SecurityLakeStream): string {
  const s = SECURITY_LAKE_SOURCES[stream].source;
  return s ? `aws/${s}/` : 'ext/';
}

/**
 * The objects of a notification for `stream`: its own, or `ELSEWHERE` when they are another stream's
 * (one queue serves every source of the subscriber). A key of no source, or a message naming several
 * sources' objects, cannot be read by one stream: it throws (a dead letter).
 */
export function lakeObjectsOf(
  m: QueueMessage,
  bucket: string,
  stream: SecurityLakeStream,
): ObjectRef[] | typeof ELSEWHERE {
  const refs = notifiedObjectsIn(m, bucket);
  if (!refs.length) return refs;
  const streams = new Set(
    refs.map((r) => {
      const s = streamOfKey(r.key);
      if (!s)
        throw new Error(
          `object ${r.key} is under no Security Lake source prefix (aws/<SOURCE>/ or ext/<name>/)`,
        );
      return s;
    }),
  );
  if (streams.size > 1) throw new Error(`it names objects of several sources: ${[...streams].join(', ')}`);
  return streams.has(stream) ? refs : ELSEWHERE;
}

const settings = z
  .object({
    bucket: bucketField(
      'Data lake bucket',
      'The Security Lake bucket of the subscriber’s Region (aws-security-data-lake-<region>-…), shown on the subscriber’s details page',
      'aws-security-data-lake-us-east-1-abcdef0123456789',
    ),
    region: regionField('Region', 'The Region the subscriber was created in (the bucket’s and the queue’s)'),
    queueUrl: queueUrlField(
      'Subscriber queue URL',
      'The SQS queue Security Lake created for the subscriber’s notifications',
      'AmazonSecurityLake-…-Main-Queue',
    ),
    waitTimeSeconds: waitTimeField(),
  })
  .strict();

function stream(id: SecurityLakeStream): StreamDef<SecurityLakeSettings, AwsAccount> {
  const def: ObjectReaderDef<SecurityLakeSettings, AwsAccount> = {
    mode: 'notifications',
    open: openBucketQueue,
    objectsOf: (m, s) => lakeObjectsOf(m, s.bucket, id),
    format: parquetRecords(),
    compression: 'none',
    eventId: (r) => {
      const uid = (r as { metadata?: { uid?: unknown } } | null)?.metadata?.uid;
      return typeof uid === 'string' && uid ? uid : undefined;
    },
    eventTime: (r, ref) => (r as { time?: unknown } | null)?.time ?? ref.lastModified,
  };
  const s = SECURITY_LAKE_SOURCES[id];
  return {
    title: s.title,
    description: `${s.source ? `Source ${s.source}` : 'Custom sources (ext/)'}: OCSF ${s.classes}; id metadata.uid (else the object and row), time \`time\`.`,
    read: readObjects(def),
  };
}

export default defineSource<SecurityLakeSettings, AwsAccount>({
  id: 'aws-security-lake',
  title: 'Amazon Security Lake',
  account: 'aws',
  stability: 'early-access',
  family: 'object-storage',
  description:
    'OCSF events from Amazon Security Lake as a subscriber with data access: Parquet objects announced on the subscriber’s SQS queue, one stream per source (CloudTrail, VPC Flow Logs, Route 53, Security Hub, EKS, WAF, custom).',
  setupGuide: `**Prerequisites in AWS** (Security Lake User Guide, "Subscriber management in Amazon Security Lake" and "Creating a subscriber with data access in Security Lake"):

1. In the account that administers Security Lake, open the Security Lake console in the Region whose data Tributary should read (a rollup Region gathers other Regions' data).
2. **Subscribers → Create subscriber**: a name; **Log and event sources**: the sources Tributary reads (at most 10 per subscriber); **Data access method**: **S3**; **Subscriber credentials**: the AWS account ID Tributary's credentials belong to, and an **external ID** of your choice; **Notification details**: **SQS queue**.
3. Open the subscriber: copy the **role ARN** Security Lake created for it (\`AmazonSecurityLake-…\`), the **SQS queue URL** (its queue is named after the subscriber) and the data lake **bucket** (\`aws-security-data-lake-<region>-…\`).
4. In the subscriber's account, an IAM identity for Tributary (user with an access key, or a role) allowed to assume that role:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "sts:AssumeRole",
      "Resource": "arn:aws:iam::LAKE_ACCOUNT:role/AmazonSecurityLake-SUBSCRIBER_ROLE" }
  ]
}
\`\`\`

The role Security Lake creates allows reading the subscribed sources' objects and receiving, deleting and changing the visibility of the queue's messages (\`s3:GetObject\`, \`s3:ListBucket\`, \`sqs:ReceiveMessage\`, \`sqs:DeleteMessage\`, \`sqs:ChangeMessageVisibility\`, \`sqs:GetQueueAttributes\`); if the bucket is encrypted with your own KMS key, the role also needs \`kms:Decrypt\` on it.

Copy into Tributary: an \`aws\` account with the access key, the **role ARN** and the **external ID**; in the collector the bucket, the Region and the queue URL.

**Streams**: one per Security Lake source — \`cloudtrail-management\` (CLOUD_TRAIL_MGMT), \`lambda-execution\`, \`s3-data\`, \`vpc-flow\`, \`route53\`, \`security-hub\` (SH_FINDINGS), \`eks-audit\`, \`waf\`, and \`custom\` for custom sources (\`ext/\`). The subscriber's one queue serves every source: each stream reads its own objects and hands the others' notifications straight back to the queue. **Enable a stream for every source the subscriber has**: a source without an enabled stream keeps its notifications on the queue until the queue's retention drops them; and give the queue no redrive policy with a low maximum receive count (a notification may be received by other streams first).

**Records**: each Parquet row as a JSON object in OCSF (nested objects kept, 64-bit integers as numbers when exact, timestamps as ISO 8601). Id \`metadata.uid\` when the source fills it, else the object and row; time \`time\`.

**What the collector changes in AWS**: it receives notifications (hiding them for the queue's visibility timeout), hands another stream's straight back (visibility 0), and deletes each one after every row of its object was delivered.

**Unconfirmed** (early access): the key layout under each source's prefix (read as \`aws/<SOURCE>/<version>/region=…/accountId=…/eventDay=…/\`); the Parquet compression codec Security Lake uses (every Parquet codec is read: Snappy, GZIP, ZSTD, Brotli, LZ4); the exact body of Security Lake's notifications (every S3 notification shape is read).`,
  settings: settings as unknown as z.ZodType<SecurityLakeSettings>,
  vendorWrites: [SQS_RECEIVE_WRITE, SQS_DELETE_WRITE, SQS_EXTEND_WRITE],
  explain: explainAws,
  rateLimited: awsRateLimited,
  streams: Object.fromEntries(
    (Object.keys(SECURITY_LAKE_SOURCES) as SecurityLakeStream[]).map((id) => [id, stream(id)]),
  ),
  async test({ http, account, settings: s, streams }) {
    await awsCallerIdentity(account); // the credentials (and role) first: GetCallerIdentity needs no permission
    await needsAws('sqs:GetQueueAttributes', s.queueUrl, () => sqsQueueAttributes(http, account, s.queueUrl));
    // Each enabled stream's source prefix: a subscriber reads only the sources it was given.
    const enabled = streams.filter((x): x is SecurityLakeStream => x in SECURITY_LAKE_SOURCES);
    for (const id of enabled.length ? enabled : (['cloudtrail-management'] as const)) {
      try {
        await probeBucket(http, account, { bucket: s.bucket, region: s.region, prefix: streamPrefix(id) });
      } catch (err) {
        if (!(err instanceof TributaryError) || err.code !== 'aws_access_denied') throw err;
        const source = SECURITY_LAKE_SOURCES[id].source ?? 'custom sources';
        throw configError(
          'aws_access_denied',
          `${err.message} (stream ${id}, Security Lake source ${source}, prefix ${streamPrefix(id)})`,
          `Add ${source} to the subscriber's sources in Security Lake (Subscribers → the subscriber → Edit), or disable the ${id} stream. ${err.action}`,
          err.status,
        );
      }
    }
  },
});
