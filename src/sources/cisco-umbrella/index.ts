import { z } from 'zod';
import type { AwsAccount } from '../../accounts/aws.ts';
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
import { configError } from '../../core/errors.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { csvColumns } from '../../engine/object-decode.ts';
import {
  ELSEWHERE,
  type ObjectRef,
  type QueueMessage,
  readObjects,
} from '../../engine/object-notification.ts';
import {
  bucketField,
  openBucketQueue,
  queueUrlField,
  regionField,
  waitTimeField,
} from '../aws-object-fields.ts';

/**
 * Cisco Umbrella Log Management in Amazon S3: Umbrella uploads its logs as gzip CSV files to a
 * Cisco-managed bucket (read with the key and secret Umbrella shows) or to your own bucket (which can
 * announce new files on SQS). Vendor facts (docs.umbrella.com, Umbrella User Guide):
 *
 * - "Log Formats and Versioning" → "File Name Format": "Logs are uploaded in ten-minute intervals";
 *   "GZIP format … sorted into date-stamped folders": `<subfolder>/<YYYY>-<MM>-<DD>/<YYYY>-<MM>-<DD>-<hh>-
 *   <mm>-<xxxx>.csv.gz`, `xxxx` "a random string of four alphanumeric characters"; subfolders `dnslogs`,
 *   `proxylogs`, `firewalllogs` (cloud firewall), `iplogs`, `auditlogs`. "Logs are not always
 *   chronological" (an event's time need not match its file's). A Cisco-managed bucket holds each
 *   organization's folders under its data path (`<bucket>/<orgId>_<hash>/dnslogs/…`, shown in Admin → Log
 *   Management).
 * - Columns: CSV without a header row (unless "Include Optional Log Headers" is on: one header row), in the
 *   documented order of each log type: "DNS Log Formats" → "Order of Fields in the DNS Log"; "Web Log
 *   Formats" → "Order of Fields in the Web Log" (proxy); "Cloud Firewall Log Formats" → "Order of Fields in
 *   the Cloud Firewall Log"; "Admin Audit Log Formats" → "Order of Fields in the Admin Audit Log". Versions
 *   add columns at the end (the Web Log page's 2017 sample ends at `Producer`; the current one continues
 *   with `MSP Organization ID` … `Organization ID`): a row with fewer columns is an older version (the first
 *   names apply), one with more a newer one (the extra values kept as `column<N>`). Timestamps are UTC
 *   `YYYY-MM-DD hh:mm:ss` ("This is different than the Umbrella dashboard, which converts the time to your
 *   specified time zone").
 * - Key rotation (developer.cisco.com, "Umbrella S3 Bucket Key Rotation API, Overview"): "Beginning on May
 *   15, 2025, Umbrella requires that an organization with a Cisco-managed S3 bucket rotate the IAM key
 *   credentials on their S3 bucket every 90 days"; otherwise "the organization will lose access" while
 *   Umbrella keeps logging to it. Own buckets are exempt.
 * - A Cisco-managed bucket sends no notifications to the customer, so its folders are listed: each log type's
 *   `<data path>/<subfolder>/` in key order from the date folder of the collector's lookback (file names sort
 *   by upload minute). An own bucket can send S3 event notifications to one SQS queue; the streams share
 *   it, each handing the others' notifications back (engine/object-notification.ts, `ELSEWHERE`).
 * - S3 and SQS calls, notification shapes, errors: accounts/aws-objects.ts. Rate limits: S3's (5,500 GET/s
 *   per prefix), far above one file at a time.
 *
 * Unconfirmed (so `early-access`): the IP log column order (its Umbrella page was not retrieved; taken
 * from the public Elastic integration's pipeline); the exact header row Umbrella writes with optional
 * headers (a first row whose first cell is `timestamp`, `time` or `id` is taken as one); whether two files
 * uploaded in the same minute can land out of key order (one sorting before a file already listed is not
 * read by the listing).
 */

export type UmbrellaStream = 'dns' | 'proxy' | 'firewall' | 'ip' | 'audit';

/** Each log type's S3 subfolders and documented columns, in order. */
export const UMBRELLA_LOGS: Record<
  UmbrellaStream,
  { title: string; folders: string[]; columns: string[]; doc: string }
> = {
  dns: {
    title: 'DNS logs',
    folders: ['dnslogs'],
    doc: 'DNS Log Formats',
    columns: [
      'timestamp',
      'most granular identity',
      'identities',
      'internal ip',
      'external ip',
      'action',
      'query type',
      'response code',
      'domain',
      'categories',
      'most granular identity type',
      'identity types',
      'blocked categories',
    ],
  },
  proxy: {
    title: 'Web (proxy) logs',
    folders: ['proxylogs'],
    doc: 'Web Log Formats',
    columns: [
      'timestamp',
      'policy identity label',
      'internal client ip',
      'external client ip',
      'destination ip',
      'content type',
      'action',
      'url',
      'referer',
      'user agent',
      'status code',
      'request size',
      'response size',
      'response body size',
      'sha256',
      'categories',
      'av detections',
      'puas',
      'amp disposition',
      'amp malware name',
      'amp score',
      'policy identity type',
      'blocked categories',
      'identities',
      'identity types',
      'request method',
      'dlp status',
      'certificate errors',
      'file name',
      'ruleset id',
      'rule id',
      'destination list ids',
      'isolate action',
      'file action',
      'warn status',
      'forwarding method',
      'producer',
      'msp organization id',
      'blocked destination countries',
      'application ids',
      'hostname',
      'data center',
      'egress',
      'server name',
      'time based rule',
      'security overridden',
      'detected response file type',
      'warn categories',
      'organization id',
    ],
  },
  firewall: {
    title: 'Cloud firewall logs',
    folders: ['firewalllogs', 'cloudfirewalllogs'], // the first is listed; both are read from notifications
    doc: 'Cloud Firewall Log Formats',
    columns: [
      'timestamp',
      'origin ids',
      'identities',
      'identity type',
      'direction',
      'protocol',
      'packet size',
      'source ip',
      'source port',
      'destination ip',
      'destination port',
      'data center',
      'rule id',
      'action',
      'fqdns',
      'destination list ids',
    ],
  },
  ip: {
    title: 'IP logs',
    folders: ['iplogs'],
    doc: 'IP Log Formats (unconfirmed)',
    columns: [
      'timestamp',
      'identity',
      'source ip',
      'source port',
      'destination ip',
      'destination port',
      'categories',
    ],
  },
  audit: {
    title: 'Admin audit logs',
    folders: ['auditlogs'],
    doc: 'Admin Audit Log Formats',
    columns: ['id', 'timestamp', 'email', 'user', 'type', 'action', 'logged in from', 'before', 'after'],
  },
};

const STREAMS = Object.keys(UMBRELLA_LOGS) as UmbrellaStream[];
const FOLDER_STREAM = new Map(STREAMS.flatMap((s) => UMBRELLA_LOGS[s].folders.map((f) => [f, s] as const)));
const HEADER_CELLS = new Set(['timestamp', 'time', 'id']);

/** The log type of a key: the subfolder right before its date folder; undefined for other keys. */
export function streamOfKey(key: string): UmbrellaStream | undefined {
  const m = /(?:^|\/)([a-z]+logs)\/\d{4}-\d{2}-\d{2}\/[^/]+$/.exec(key);
  return m ? FOLDER_STREAM.get(m[1]) : undefined;
}

/** Umbrella's UTC `YYYY-MM-DD hh:mm:ss` as ISO 8601 (read as UTC, not local time). */
export function umbrellaTime(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z?$/.exec(v.trim());
  return m ? new Date(`${m[1]}T${m[2]}Z`).toISOString() : undefined;
}

export interface UmbrellaSettings {
  bucket: string;
  region: string;
  dataPath?: string;
  queueUrl?: string;
  keyRotatedOn?: string;
  waitTimeSeconds: number;
}

const ROTATION_DAYS = 90;
const WARN_DAYS = 14;
const DAY = 86_400_000;

const settings = z
  .object({
    bucket: bucketField(
      'Bucket',
      'The Cisco-managed bucket (cisco-managed-<region>) or your own bucket, as shown in Admin → Log Management',
      'cisco-managed-us-west-1',
    ),
    region: regionField('Bucket region', 'The region of the bucket (Admin → Log Management → Region)'),
    dataPath: z
      .string()
      .trim()
      .regex(
        /^[^\s/][^\s]*[^\s/]$|^[^\s/]$/,
        'expected the data path without the bucket or slashes around it, such as 1234567_abcdef0123456789',
      )
      .optional()
      .meta({ title: 'Data path' })
      .describe(
        'The folder under the bucket the logs are in: for a Cisco-managed bucket the data path Log Management shows after the bucket name (orgId_hash); for your own bucket the prefix, if you gave one',
      ),
    queueUrl: queueUrlField(
      'Notification queue URL (own bucket)',
      'Your own bucket only: the SQS queue it sends object-created notifications to. Leave empty to list the date folders (required for a Cisco-managed bucket)',
      'umbrella-logs',
    ).optional(),
    keyRotatedOn: z
      .string()
      .trim()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date such as 2026-11-25')
      .refine((d) => Number.isFinite(Date.parse(`${d}T00:00:00Z`)), 'expected a real calendar date')
      .optional()
      .meta({ title: 'Key generated on (Cisco-managed bucket)' })
      .describe(
        'Cisco-managed bucket: the day the key was generated or last rotated. Cisco revokes it after 90 days; runs warn from 14 days before',
      ),
    waitTimeSeconds: waitTimeField(),
  })
  .strict();

/** A warning when the Cisco-managed key is within 14 days of its 90, or past them; undefined otherwise. */
export function rotationWarning(keyRotatedOn: string | undefined, now: number) {
  if (!keyRotatedOn) return undefined;
  const expires = Date.parse(`${keyRotatedOn}T00:00:00Z`) + ROTATION_DAYS * DAY;
  const left = Math.floor((expires - now) / DAY);
  const day = new Date(expires).toISOString().slice(0, 10);
  const action = `Rotate the key in Umbrella (Admin → Log Management → Amazon S3 → Generate new key, or the S3 Bucket Key Rotation API), put the new key and secret in this collector's aws account, and set keyRotatedOn to the day of the rotation.`;
  if (left < 0)
    return configError(
      'umbrella_key_expired',
      `The Cisco-managed S3 key was generated on ${keyRotatedOn}: Cisco revokes such keys after 90 days (on ${day}).`,
      action,
    );
  if (left <= WARN_DAYS)
    return configError(
      'umbrella_key_rotation_due',
      `The Cisco-managed S3 key expires on ${day} (in ${left} day${left === 1 ? '' : 's'}): Cisco requires rotating it every 90 days.`,
      action,
    );
  return undefined;
}

const folderOf = (s: UmbrellaSettings, folder: string) => `${s.dataPath ? `${s.dataPath}/` : ''}${folder}/`;

/** A notification's objects for `stream`, or `ELSEWHERE` for another log type's; other keys name nothing. */
export function umbrellaObjectsOf(
  m: QueueMessage,
  s: UmbrellaSettings,
  stream: UmbrellaStream,
): ObjectRef[] | typeof ELSEWHERE {
  const refs = notifiedObjectsIn(
    m,
    s.bucket,
    (r) => (!s.dataPath || r.key.startsWith(`${s.dataPath}/`)) && streamOfKey(r.key) !== undefined,
  );
  const streams = new Set(refs.map((r) => streamOfKey(r.key)));
  if (streams.size > 1) throw new Error(`it names files of several log types: ${[...streams].join(', ')}`);
  return !refs.length || streams.has(stream) ? refs : ELSEWHERE;
}

function stream(id: UmbrellaStream): StreamDef<UmbrellaSettings, AwsAccount> {
  const log = UMBRELLA_LOGS[id];
  const common = {
    open: openBucketQueue<UmbrellaSettings>,
    format: csvColumns({
      columns: log.columns,
      isHeader: (row) => HEADER_CELLS.has(row[0]?.trim().toLowerCase()),
    }),
    compression: 'auto' as const,
    eventId:
      id === 'audit'
        ? (r: unknown) => {
            const v = (r as Record<string, unknown>)?.id;
            return typeof v === 'string' && v ? v : undefined;
          }
        : undefined,
    eventTime: (r: unknown, ref: ObjectRef) =>
      umbrellaTime((r as Record<string, unknown>)?.timestamp) ?? ref.lastModified,
  };
  const byQueue = readObjects<UmbrellaSettings, AwsAccount>({
    ...common,
    mode: 'notifications',
    objectsOf: (m, s) => umbrellaObjectsOf(m, s, id),
  });
  const byListing = readObjects<UmbrellaSettings, AwsAccount>({
    ...common,
    mode: 'listing',
    prefix: (s) => folderOf(s, log.folders[0]),
    firstAfter: (ctx) => {
      const from = ctx.window.start ? Date.parse(ctx.window.start) : ctx.now() - ctx.window.lookbackMs;
      const day = new Date(Number.isFinite(from) ? from : ctx.now()).toISOString().slice(0, 10);
      return `${folderOf(ctx.settings, log.folders[0])}${day}/`;
    },
  });
  return {
    title: log.title,
    description: `Every row of every ${log.folders[0]} file, columns named as in Umbrella's "${log.doc}"; time \`timestamp\` (UTC)${id === 'audit' ? ', id `id`' : ''}.`,
    async *read(ctx) {
      const w = rotationWarning(ctx.settings.keyRotatedOn, ctx.now());
      if (w) ctx.warn(w);
      yield* ctx.settings.queueUrl ? byQueue(ctx) : byListing(ctx);
    },
  };
}

/** Explains AWS answers, adding that a Cisco-managed key may have passed its 90 days. */
const explain: typeof explainAws = (ctx) => {
  const known = explainAws(ctx);
  if (known?.code !== 'aws_invalid_credentials' && known?.code !== 'aws_access_denied') return known;
  return {
    ...known,
    action: `${known.action} A Cisco-managed bucket's key stops working 90 days after it was generated: rotate it in Admin → Log Management.`,
  };
};

export default defineSource<UmbrellaSettings, AwsAccount>({
  id: 'cisco-umbrella',
  title: 'Cisco Umbrella (S3 log management)',
  account: 'aws',
  stability: 'early-access',
  family: 'object-storage',
  description:
    'Umbrella DNS, web (proxy), cloud firewall, IP and admin audit logs from Umbrella Log Management in S3: a Cisco-managed bucket (listed by date folder, with a warning before the 90-day key expires) or your own bucket (SQS notifications); gzip CSV in the documented column order of each log type.',
  setupGuide: `**Prerequisites in Umbrella** (Umbrella User Guide, "Log Formats and Versioning", "Enable Logging to a Cisco-managed S3 Bucket" and "Enable Logging to Your Own S3 Bucket"):

**A. Cisco-managed bucket** (no AWS account needed):

1. Admin → **Log Management** → Amazon S3 → **Use a Cisco-managed Amazon S3 bucket**; choose the region and the retention, **Save**.
2. Copy what Umbrella shows once: the **data path** (\`cisco-managed-<region>/<orgId>_<hash>\`), the **access key** and the **secret key**.
3. In Tributary: an \`aws\` account with that access key and secret (no role); in the collector the bucket (\`cisco-managed-<region>\`, the part of the data path before the slash), the region, the **data path** (the part after the slash) and **keyRotatedOn** (today). Leave the queue empty: Cisco's bucket sends no notifications, so each log type's date folders (\`<data path>/<type>logs/<yyyy-mm-dd>/\`) are listed from the collector's lookback on, after the last file read.
4. **Every 90 days** Cisco requires a new key (since 15 May 2025; an old one stops working, while Umbrella keeps writing): Log Management → **Generate new key** (or the S3 Bucket Key Rotation API), update the account, and set keyRotatedOn. Runs warn (\`umbrella_key_rotation_due\`) from 14 days before; setting the account's **expiresAt** to the expiry day also shows it on the account.

**B. Your own bucket**:

1. Create the bucket and give Umbrella's writer the bucket policy Log Management shows (Use your company-managed Amazon S3 bucket → bucket name → Verify), then **Save**.
2. An SQS standard queue in the bucket's region allowing S3 to send (\`sqs:SendMessage\` from \`s3.amazonaws.com\`, \`aws:SourceArn\` = the bucket), and on the bucket an event notification for **All object create events** to it. Without a queue the date folders are listed, as for a Cisco-managed bucket.
3. An IAM identity for Tributary with \`s3:GetObject\` (bucket/*), \`s3:ListBucket\` (bucket) and, with a queue, \`sqs:ReceiveMessage\`, \`sqs:DeleteMessage\`, \`sqs:ChangeMessageVisibility\`, \`sqs:GetQueueAttributes\`.

**Streams**: \`dns\` (dnslogs), \`proxy\` (proxylogs), \`firewall\` (firewalllogs, cloudfirewalllogs), \`ip\` (iplogs), \`audit\` (auditlogs). With a queue, enable a stream for every log type Umbrella exports (the streams share the queue: each hands the others' notifications back; another type's notifications would wait on the queue until its retention).

**Records**: each CSV row as an object with Umbrella's documented column names in order (\`timestamp\`, \`most granular identity\`, \`identities\`, …); a row of a newer log version with more columns keeps the extra values as \`column<N>\`, one of an older version with fewer gets the first names. The optional header row (Include Optional Log Headers) is skipped. Time \`timestamp\` (UTC); ids: audit \`id\`, else the file and row.

**What the collector changes in AWS**: with a queue, it receives notifications (hiding them for the visibility timeout), hands other log types' back, and deletes each after its file was delivered. Listing changes nothing.

**Unconfirmed** (early access): the IP log column order (from a third-party parser, not Umbrella's page); the exact optional header row; whether two files uploaded in the same minute can land after a later-named one was listed (such a file would be missed by the listing; use your own bucket with a queue where that matters).`,
  settings: settings as unknown as z.ZodType<UmbrellaSettings>,
  vendorWrites: [SQS_RECEIVE_WRITE, SQS_DELETE_WRITE, SQS_EXTEND_WRITE],
  explain,
  rateLimited: awsRateLimited,
  streams: Object.fromEntries(STREAMS.map((id) => [id, stream(id)])),
  async test({ http, account, settings: s, streams }) {
    const w = rotationWarning(s.keyRotatedOn, Date.now());
    if (w?.code === 'umbrella_key_expired') throw w;
    if (s.queueUrl)
      await needsAws('sqs:GetQueueAttributes', s.queueUrl, () =>
        sqsQueueAttributes(http, account, s.queueUrl!),
      );
    const first = (streams.find((x) => x in UMBRELLA_LOGS) ?? 'dns') as UmbrellaStream;
    await probeBucket(http, account, {
      bucket: s.bucket,
      region: s.region,
      prefix: folderOf(s, UMBRELLA_LOGS[first].folders[0]),
    });
  },
});
