import { z } from 'zod';
import { type AwsAccount, awsCallerIdentity } from '../../accounts/aws.ts';
import {
  awsRateLimited,
  explainAws,
  needsAws,
  notifiedObjectsIn,
  probeBucket,
  SQS_DELETE_WRITE,
  SQS_RECEIVE_WRITE,
  s3ObjectStore,
  sqsQueue,
  sqsQueueAttributes,
} from '../../accounts/aws-objects.ts';
import { defineSource } from '../../core/source.ts';
import { detectedFormat, OBJECT_FORMATS, type ObjectFormat } from '../../engine/object-decode.ts';
import { type ObjectReaderDef, type ObjectRef, readObjects } from '../../engine/object-notification.ts';

/**
 * Amazon S3 log objects: any logs written as objects to a bucket (ALB/ELB access logs, WAF logs, VPC flow
 * logs, third-party exports), named by S3 event notifications on an SQS queue (plain, SNS- or
 * EventBridge-wrapped; accounts/aws-objects.ts) or found by listing a prefix, read by the
 * object-notification reader (engine/object-notification.ts). Vendor facts:
 *
 * - S3 event notifications, GetObject, ListObjectsV2 (with `LastModified`), SQS: accounts/aws-objects.ts.
 * - Object formats differ per writer, so the collector names one or lets the reader detect it
 *   (engine/object-decode.ts, `detectedFormat`): gzip by its magic bytes; `[` a JSON array; `{"Records":[`
 *   CloudTrail-like; other `{` NDJSON (WAF logs: "each log record is a JSON object", AWS WAF Developer
 *   Guide, "Log fields for protection pack (web ACL) traffic"); `.csv` keys CSV with a header row; anything
 *   else plain lines kept as their text (ALB access log entries are fields delimited by spaces, ELB User
 *   Guide for Application Load Balancers, "Access log entries" → "Syntax"; an ALB set to the JSON output
 *   format, CloudWatch Observability Admin API, ELBLoadBalancerLoggingParameters `OutputFormat` plain |
 *   json, is detected as NDJSON; VPC flow logs are space-separated fields under a header line, VPC User Guide,
 *   "Flow log records").
 * - Rate limits: S3 serves at least 5,500 GET/HEAD requests per second per partitioned prefix and answers
 *   503 `SlowDown` above it (S3 User Guide, "Best practices design patterns: optimizing Amazon S3
 *   performance"); one object at a time is far below it, so no budget is set.
 *
 * Unconfirmed (so `early-access`): the exact log formats per AWS service are the writers', not S3's, and
 * were not each checked against a sample; whether EventBridge keys are URL-encoded (read as written).
 */

export interface S3LogSettings {
  bucket: string;
  region: string;
  queueUrl?: string;
  prefix?: string;
  startAfter?: string;
  include: string[];
  exclude: string[];
  format: 'auto' | (typeof OBJECT_FORMATS)[number];
  idField?: string;
  timeField?: string;
  waitTimeSeconds: number;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;

/**
 * A key pattern (glob, matched against the whole key): `*` any characters but `/`, `**` any characters
 * (slashes too), `?` one character but `/`; every other character stands for itself.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

const glob = z
  .string()
  .min(1, 'expected a key pattern such as AWSLogs/*/elasticloadbalancing/**.log.gz')
  .max(1024, 'expected a key pattern of at most 1,024 characters (the longest S3 key)')
  .regex(/^[^\p{Cc}]*$/u, 'expected a key pattern without control characters');

const FIELD = /^[^.\s][^\s]*$/;

const settings = z
  .object({
    bucket: z
      .string()
      .trim()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'expected an S3 bucket name: 3–63 lower-case letters, digits, dots and hyphens',
      )
      .meta({ title: 'Bucket' })
      .describe('The S3 bucket the logs are written to'),
    region: z
      .string()
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1')
      .meta({ title: 'Bucket region' })
      .describe('The region of the bucket (and of the queue)'),
    queueUrl: z
      .string()
      .trim()
      .regex(
        /^https:\/\/[^/\s]+\/\d{12}\/[\w-]{1,80}(\.fifo)?$/,
        'expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/111122223333/s3-logs',
      )
      .optional()
      .meta({ title: 'Notification queue URL' })
      .describe(
        'The SQS queue the bucket sends its object-created notifications to (directly, through SNS or through EventBridge). Leave empty to list the prefix instead',
      ),
    prefix: z
      .string()
      .max(1024)
      .regex(/^[^\p{Cc}]*$/u, 'expected a key prefix without control characters')
      .optional()
      .meta({ title: 'Key prefix' })
      .describe(
        'Only keys starting with this are read (listing: the prefix listed), such as AWSLogs/111122223333/elasticloadbalancing/',
      ),
    startAfter: z
      .string()
      .max(1024)
      .optional()
      .meta({ title: 'Start after key (listing)' })
      .describe('Listing only: a first run reads keys after this one (in key order); default all'),
    include: z
      .array(glob)
      .max(50)
      .default([])
      .meta({ title: 'Include keys' })
      .describe(
        'Glob patterns on the whole key (* within a folder, ** across folders, ? one character); when given, only matching keys are read',
      ),
    exclude: z
      .array(glob)
      .max(50)
      .default([])
      .meta({ title: 'Exclude keys' })
      .describe('Glob patterns on the whole key; matching keys are never read (wins over include)'),
    format: z
      .enum(['auto', ...OBJECT_FORMATS])
      .default('auto')
      .meta({ title: 'Object format' })
      .describe(
        'auto detects per object (JSON array, {"Records":[…]}, NDJSON, CSV for .csv keys, else plain lines); or name one: ndjson, json-array, records, csv (header row), lines. Gzip is undone either way',
      ),
    idField: z
      .string()
      .trim()
      .regex(FIELD, 'expected a field name or dotted path such as requestId or httpRequest.requestId')
      .optional()
      .meta({ title: 'Id field' })
      .describe(
        'A record field (dotted path) holding a unique id; default the object and the record’s place in it',
      ),
    timeField: z
      .string()
      .trim()
      .regex(FIELD, 'expected a field name or dotted path such as timestamp or time')
      .optional()
      .meta({ title: 'Time field' })
      .describe('A record field (dotted path) holding its time; default the object’s LastModified'),
    waitTimeSeconds: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(1)
      .meta({ title: 'Receive wait (seconds)' })
      .describe('SQS long-poll wait per receive, 0–20 (a short poll, 0, can miss waiting messages)'),
  })
  .strict();

/** Whether a key is read: under the prefix, matching an include pattern (if any) and no exclude pattern. */
export function keyFilter(
  s: Pick<S3LogSettings, 'prefix' | 'include' | 'exclude'>,
): (key: string) => boolean {
  const include = s.include.map(globToRegExp);
  const exclude = s.exclude.map(globToRegExp);
  return (key) =>
    (!s.prefix || key.startsWith(s.prefix)) &&
    (!include.length || include.some((r) => r.test(key))) &&
    !exclude.some((r) => r.test(key));
}

/** A field by dotted path (`httpRequest.requestId`); a record's own key with dots wins. */
export function fieldOf(record: unknown, path: string): unknown {
  if (!record || typeof record !== 'object') return undefined;
  const r = record as Record<string, unknown>;
  if (path in r) return r[path];
  let v: unknown = r;
  for (const p of path.split('.')) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

const filters = new WeakMap<S3LogSettings, (key: string) => boolean>();
const accepts = (s: S3LogSettings, key: string) => {
  let f = filters.get(s);
  if (!f) filters.set(s, (f = keyFilter(s)));
  return f(key);
};

const base = (): Omit<ObjectReaderDef<S3LogSettings, AwsAccount>, 'mode' | 'format'> => ({
  open: (ctx) => ({
    objects: s3ObjectStore(ctx.http, ctx.account, {
      bucket: ctx.settings.bucket,
      region: ctx.settings.region,
    }),
    queue: ctx.settings.queueUrl
      ? sqsQueue(ctx.http, ctx.account, {
          queueUrl: ctx.settings.queueUrl,
          waitTimeSeconds: ctx.settings.waitTimeSeconds,
        })
      : undefined,
  }),
  compression: 'auto',
});

function reader(s: S3LogSettings, mode: 'notifications' | 'listing') {
  const format = (ref: ObjectRef): ObjectFormat => (s.format === 'auto' ? detectedFormat(ref.key) : s.format);
  return readObjects<S3LogSettings, AwsAccount>({
    ...base(),
    mode,
    format,
    eventId: s.idField
      ? (r) => {
          const v = fieldOf(r, s.idField!);
          return (typeof v === 'string' && v) || typeof v === 'number' ? String(v) : undefined;
        }
      : undefined,
    // Without a time field every record takes the object's LastModified: nothing is read from the record,
    // so an NDJSON line goes on unparsed (only checked).
    eventTime: s.timeField ? (r) => fieldOf(r, s.timeField!) : undefined,
    objectTime: true,
    objectsOf: (m, st) => notifiedObjectsIn(m, st.bucket, (r) => accepts(st, r.key)),
    accept: (ref, st) => accepts(st, ref.key),
    prefix: (st) => st.prefix ?? '',
    firstAfter: (ctx) => ctx.settings.startAfter,
  });
}

export default defineSource<S3LogSettings, AwsAccount>({
  id: 'aws-s3',
  title: 'Amazon S3 (log objects)',
  account: 'aws',
  stability: 'early-access',
  family: 'object-storage',
  description:
    'Log objects of any kind (ALB/ELB, WAF, VPC flow logs, third-party exports) from an S3 bucket, announced by S3 event notifications on SQS (plain, via SNS or via EventBridge) or found by listing a prefix; gzip, NDJSON, JSON arrays, {"Records":[…]}, CSV and plain lines.',
  setupGuide: `**Prerequisites in AWS** (S3 User Guide, "Amazon S3 Event Notifications"; SQS Developer Guide, "Amazon SQS visibility timeout"):

1. The bucket the logs are written to. Note its name, its region and the key prefix of the logs (ALB: \`[prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/…\`; VPC flow logs: \`AWSLogs/<account>/vpcflowlogs/<region>/…\`).
2. An SQS standard queue in the bucket's region (SQS → Create queue), with an access policy letting S3 send to it (\`sqs:SendMessage\` for the principal \`s3.amazonaws.com\`, condition \`aws:SourceArn\` = the bucket's ARN), and a visibility timeout longer than reading the largest object takes (5 minutes is safe for most logs).
3. On the bucket: Properties → Event notifications → Create: event type **All object create events** (\`s3:ObjectCreated:*\`), the logs' prefix, destination the queue. S3 sends one \`s3:TestEvent\`, which the collector skips. Delivery through an SNS topic or through EventBridge (rule on "Object Created" → the queue) works too.
4. An IAM identity for Tributary (user with an access key, or a role it assumes) with this policy:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/PREFIX*" },
    { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::BUCKET" },
    { "Effect": "Allow",
      "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      "Resource": "arn:aws:sqs:REGION:ACCOUNT:QUEUE" }
  ]
}
\`\`\`

If the objects are encrypted with a KMS key (SSE-KMS), also allow \`kms:Decrypt\` on that key.

Copy into Tributary: an \`aws\` account (access key ID, secret access key, optionally the role ARN and external ID), and in the collector the bucket, its region, the **queue URL** (SQS → the queue → Details → URL) and the key prefix. Narrow further with **include** / **exclude** glob patterns on the whole key (\`*\` within a folder, \`**\` across folders, \`?\` one character), such as \`**/*.log.gz\`.

**Format**: \`auto\` detects each object's (after gzip): a JSON array, \`{"Records":[…]}\`, NDJSON, CSV with a header row for \`.csv\` keys, else plain lines kept as their text (ALB and VPC flow logs: one event per line, not split into fields). Name a format to force it. Ids are the object and the record's place in it unless an **id field** is set; the time is the **time field** if set, else the object's LastModified.

**Without a queue**, the collector lists the prefix in key order, from after **startAfter** on a first run, then after the last key read: use it where keys sort in the order they are written (date folders), since a key written later that sorts before the last one read is not read.

**What the collector changes in AWS**: it receives notifications (hiding them for the queue's visibility timeout) and deletes each one after every record of the objects it names was delivered.

**Unconfirmed** (early access): each AWS service's log layout is its own and was not checked against every sample; whether keys in EventBridge-delivered events are URL-encoded (they are read as written).`,
  settings: settings as unknown as z.ZodType<S3LogSettings>,
  vendorWrites: [SQS_RECEIVE_WRITE, SQS_DELETE_WRITE],
  explain: explainAws,
  rateLimited: awsRateLimited,
  streams: {
    logs: {
      title: 'Log records',
      description:
        'Every record of every object read, once; id the id field or the object and record index, time the time field or the object’s LastModified.',
      read: (ctx) => reader(ctx.settings, ctx.settings.queueUrl ? 'notifications' : 'listing')(ctx),
    },
  },
  async test({ http, account, settings: s }) {
    await awsCallerIdentity(account); // the credentials (and role) first: GetCallerIdentity needs no permission
    if (s.queueUrl)
      await needsAws('sqs:GetQueueAttributes', s.queueUrl, () =>
        sqsQueueAttributes(http, account, s.queueUrl!),
      );
    await probeBucket(http, account, { bucket: s.bucket, region: s.region, prefix: s.prefix ?? '' });
  },
});
