import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { configError, type ErrorInfo, TributaryError, transientError } from '../core/errors.ts';
import { once } from '../core/once.ts';
import type { HttpClient, VendorErrorContext } from '../core/source.ts';
import type {
  NotificationQueue,
  ObjectRef,
  ObjectStore,
  QueueMessage,
} from '../engine/object-notification.ts';
import { type AwsAccount, awsScopeOf, uriEncode } from './aws.ts';
import { sdkClientConfig } from './aws-sdk-http.ts';

/**
 * Amazon S3 and Amazon SQS for the object-notification reader (engine/object-notification.ts), through the
 * AWS SDK's clients (`@aws-sdk/client-s3`, `@aws-sdk/client-sqs`) running on the engine's HttpClient
 * (accounts/aws-sdk-http.ts; `sqsCall` and `listPage` remain for raw calls): what every AWS source that reads objects announced on a queue
 * (CloudTrail, S3 logs, Security Lake, Cloud Funnel) shares. Vendor facts:
 *
 * - S3 GetObject (docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): `Range: bytes=N-` for a
 *   resumed read; 404 `NoSuchKey` when the object is gone (404 `NoSuchBucket` when the bucket is); a
 *   range starting at the end is 416 `InvalidRange`.
 * - S3 ListObjectsV2 (API_ListObjectsV2.html): `list-type=2`, `prefix`, `start-after`, `max-keys` (at
 *   most 1,000); keys in UTF-8 binary order; `IsTruncated` when more; `Contents` with `Key`, `ETag`
 *   (quoted), `Size`. Error bodies are XML `<Error><Code>…</Code><Message>…</Message></Error>` (S3 API
 *   reference, "Error responses").
 * - Endpoints: virtual-hosted `https://{bucket}.s3.{region}.amazonaws.com/{key}`; path style
 *   `https://s3.{region}.amazonaws.com/{bucket}/{key}` for bucket names with dots (S3 User Guide,
 *   "Virtual hosting of buckets"); China regions under `amazonaws.com.cn`.
 * - SQS AWS JSON protocol (Amazon SQS Developer Guide, "Making query API requests using AWS JSON
 *   protocol"): `POST /` with `X-Amz-Target: AmazonSQS.<Action>` and `Content-Type:
 *   application/x-amz-json-1.0`; errors `{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": …}`
 *   ("Interpreting Amazon SQS JSON API responses").
 * - ReceiveMessage (API_ReceiveMessage.html): `MaxNumberOfMessages` 1–10, `WaitTimeSeconds` 0–20 (long
 *   polling; a short poll may answer empty while messages wait on other servers); `Messages[]` with
 *   `MessageId`, `ReceiptHandle`, `Body`, `MD5OfBody` (hex MD5 of the body). DeleteMessage
 *   (API_DeleteMessage.html) by `ReceiptHandle`; it has no response elements (200, empty body).
 *   `MessageSystemAttributeNames: ["All"]` returns `Attributes` (`SentTimestamp`: epoch milliseconds;
 *   `ApproximateReceiveCount`, …), `MessageAttributeNames: ["All"]` the sender's `MessageAttributes`
 *   (`AttributeNames` is the deprecated form). DeleteMessageBatch (API_DeleteMessageBatch.html) and
 *   ChangeMessageVisibilityBatch (API_ChangeMessageVisibilityBatch.html): up to ten `Entries` of `Id` +
 *   `ReceiptHandle` (+ `VisibilityTimeout`), answered per entry in `Successful` / `Failed` (`Code`,
 *   `Message`, `SenderFault`) "even when the call returns an HTTP status code of 200"; IAM authorizes them
 *   as sqs:DeleteMessage and sqs:ChangeMessageVisibility.
 * - S3 event notifications (S3 User Guide, "Event message structure"): `Records[].s3.bucket.name`,
 *   `.s3.object.key` ("URL encoded"), `size`, `eTag`, `versionId`; `eventName` `ObjectCreated:*`; when a
 *   notification is configured S3 sends one `{"Service":"Amazon S3","Event":"s3:TestEvent",…}`.
 *   SNS-wrapped bodies (SNS Developer Guide, "Amazon SNS message and JSON formats"): `{"Type":
 *   "Notification","Message":"<the S3 event as a string>",…}` unless raw message delivery is on.
 *   EventBridge-wrapped (S3 User Guide, "EventBridge event message structure"): `{"source":"aws.s3",
 *   "detail-type":"Object Created","detail":{"bucket":{"name"},"object":{"key","size","etag","version-id"}}}`.
 * - Common errors (SQS API Reference, "Common Errors"): `AccessDeniedException` 400,
 *   `InvalidClientTokenId` 403, `ThrottlingException` 400 (a rate limit in a 400), `RequestExpired` 400.
 */

export interface S3Options {
  /** The bucket read when an object names none. */
  bucket: string;
  region: string;
}

/** S3 error codes and SQS `__type`s that name a fix, with it. */
const AWS_ERRORS: Record<string, Partial<ErrorInfo>> = {
  InvalidAccessKeyId: {
    code: 'aws_invalid_credentials',
    action: "Check the account's accessKeyId and secretAccessKey (IAM → Users → Security credentials).",
  },
  SignatureDoesNotMatch: {
    code: 'aws_invalid_credentials',
    action: "Check the account's secretAccessKey: it does not belong to the access key ID.",
  },
  InvalidClientTokenId: {
    code: 'aws_invalid_credentials',
    action: "Check the account's accessKeyId: AWS does not know it (deleted, inactive or mistyped).",
  },
  UnrecognizedClientException: {
    code: 'aws_invalid_credentials',
    action: "Check the account's accessKeyId: AWS does not know it (deleted, inactive or mistyped).",
  },
  InvalidSignatureException: {
    code: 'aws_invalid_credentials',
    action:
      "Check the account's secretAccessKey (it does not belong to the access key ID) and this host's clock.",
  },
  ExpiredTokenException: {
    code: 'aws_expired_token',
    action: "Replace the account's temporary credentials, or use a long-term access key with roleArn.",
  },
  ExpiredToken: {
    code: 'aws_expired_token',
    action: "Replace the account's temporary credentials, or use a long-term access key with roleArn.",
  },
  RequestTimeTooSkewed: {
    code: 'aws_clock_skew',
    action: "Synchronise this host's clock (NTP): AWS refuses requests dated more than 15 minutes away.",
  },
  RequestExpired: {
    code: 'aws_clock_skew',
    action: "Synchronise this host's clock (NTP): AWS refuses requests dated more than 15 minutes away.",
  },
  AccessDenied: {
    code: 'aws_access_denied',
    action:
      "Grant the account's IAM identity the actions in the source's setup guide (s3:GetObject, s3:ListBucket, sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes), and check the bucket policy and any KMS key policy.",
  },
  AccessDeniedException: {
    code: 'aws_access_denied',
    action:
      "Grant the account's IAM identity sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the queue, and check the queue's access policy.",
  },
  NoSuchBucket: {
    code: 'aws_bucket_not_found',
    action: "Check the collector's bucket name and region.",
  },
  QueueDoesNotExist: {
    code: 'aws_queue_not_found',
    action: "Check the collector's queue URL (and that the queue is in the region the URL names).",
  },
  'AWS.SimpleQueueService.NonExistentQueue': {
    code: 'aws_queue_not_found',
    action: "Check the collector's queue URL (and that the queue is in the region the URL names).",
  },
};

/** The AWS error code of an answer: S3's XML `<Code>` or SQS's JSON `__type` (after its `#`). */
export function awsErrorCode(body: string): string | undefined {
  const xml = /<Code>([^<]+)<\/Code>/.exec(body);
  if (xml) return xml[1];
  try {
    const j = JSON.parse(body) as { __type?: unknown; code?: unknown };
    const t = typeof j.__type === 'string' ? j.__type : typeof j.code === 'string' ? j.code : undefined;
    return t?.split('#').pop();
  } catch {
    return undefined;
  }
}

/** A source's `explain` for S3 and SQS answers. */
export function explainAws(ctx: VendorErrorContext): Partial<ErrorInfo> | undefined {
  const code = awsErrorCode(ctx.body);
  const known = code ? AWS_ERRORS[code] : undefined;
  if (!known) return undefined;
  return { type: 'config', ...known };
}

/**
 * AWS's throttling answers come as a 400 (SQS and CloudWatch Logs `ThrottlingException`, SQS
 * `RequestThrottled`, CloudWatch `Throttling`): waited out like a 429.
 */
export function awsRateLimited(ctx: VendorErrorContext): { defaultWaitMs: number } | undefined {
  if (ctx.status !== 400) return undefined;
  const code = awsErrorCode(ctx.body);
  return code === 'ThrottlingException' || code === 'RequestThrottled' || code === 'Throttling'
    ? { defaultWaitMs: 1000 }
    : undefined;
}

const unxml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&amp;/g, '&');

const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? unxml(m[1]) : undefined;
};

/** The bucket's base URL (no trailing slash): the account's `endpoints.s3` (path style), else AWS's. */
export function s3BucketUrl(account: Pick<AwsAccount, 'endpoints'>, bucket: string, region: string): string {
  const override = account.endpoints?.s3;
  if (override) return `${override.replace(/\/+$/, '')}/${uriEncode(bucket)}`;
  const domain = `amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  return bucket.includes('.')
    ? `https://s3.${region}.${domain}/${bucket}`
    : `https://${bucket}.s3.${region}.${domain}`;
}

/** The SDK's clients, loaded at first use (README, Performance: what a process loads is what it holds). */
const s3Sdk = () => import('@aws-sdk/client-s3');
const sqsSdk = () => import('@aws-sdk/client-sqs');

const noBytes: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

/**
 * An S3 client of the AWS SDK on the engine's HttpClient (accounts/aws-sdk-http.ts): GetObject and
 * ListObjectsV2 only (both reads); path style for the account's `endpoints.s3` and bucket names with dots
 * (S3 User Guide, "Virtual hosting of buckets"); checksums only where S3 requires them (ranged reads
 * carry no whole-object checksum).
 */
export async function s3Client(
  http: HttpClient,
  account: Pick<AwsAccount, 'endpoints'>,
  o: { bucket: string; region: string },
): Promise<S3Client> {
  const override = account.endpoints?.s3;
  const { S3Client } = await s3Sdk();
  return new S3Client({
    ...sdkClientConfig(http, o.region, (req) =>
      req.method === 'GET'
        ? req.query?.['list-type']
          ? 'read'
          : { read: true, accept: [404, 416] }
        : undefined,
    ),
    ...(override ? { endpoint: override.replace(/\/+$/, '') } : {}),
    forcePathStyle: Boolean(override) || o.bucket.includes('.'),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const s3Code = (err: unknown) => (err as { name?: string })?.name;

export function s3ObjectStore(http: HttpClient, account: AwsAccount, o: S3Options): ObjectStore {
  const clients = new Map<string, Promise<S3Client>>();
  const client = (bucket: string) => {
    let c = clients.get(bucket);
    if (!c) clients.set(bucket, (c = s3Client(http, account, { bucket, region: o.region })));
    return c;
  };
  return {
    async get(ref, { start }) {
      const Bucket = ref.bucket ?? o.bucket;
      const { GetObjectCommand } = await s3Sdk();
      try {
        const out = await (await client(Bucket)).send(
          new GetObjectCommand({ Bucket, Key: ref.key, ...(start ? { Range: `bytes=${start}-` } : {}) }),
        );
        if (!ref.lastModified && out.LastModified) ref.lastModified = out.LastModified.toISOString();
        return (out.Body as AsyncIterable<Uint8Array> | undefined) ?? noBytes;
      } catch (err) {
        const code = s3Code(err);
        if (code === 'InvalidRange') return noBytes; // the range starts at the end: nothing more to read
        if (code === 'NoSuchBucket')
          throw configError(
            'aws_bucket_not_found',
            `S3 has no bucket ${Bucket} in ${o.region}.`,
            "Check the collector's bucket name and region.",
            404,
          );
        if (
          code === 'NoSuchKey' ||
          (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404
        )
          return undefined; // gone before it was read
        throw err;
      }
    },
    async list({ prefix, startAfter }) {
      return listObjects(await client(o.bucket), o.bucket, { prefix, startAfter, maxKeys: 1000 });
    },
  };
}

/** One ListObjectsV2 page through the SDK client. */
async function listObjects(
  client: S3Client,
  Bucket: string,
  o: { prefix: string; startAfter?: string; maxKeys: number },
): Promise<{ objects: ObjectRef[]; more: boolean }> {
  const { ListObjectsV2Command } = await s3Sdk();
  const out = await client.send(
    new ListObjectsV2Command({
      Bucket,
      Prefix: o.prefix,
      MaxKeys: o.maxKeys,
      ...(o.startAfter ? { StartAfter: o.startAfter } : {}),
    }),
  );
  const objects: ObjectRef[] = [];
  for (const c of out.Contents ?? []) {
    if (c.Key === undefined) continue;
    objects.push({
      key: c.Key,
      etag: c.ETag?.replace(/"/g, ''),
      size: c.Size,
      lastModified: c.LastModified?.toISOString(),
    });
  }
  return { objects, more: out.IsTruncated === true };
}

/** One ListObjectsV2 page of the bucket at `bucketUrl` over the account's signed HttpClient (raw XML). */
export async function listPage(
  http: HttpClient,
  bucketUrl: string,
  o: { prefix: string; startAfter?: string; maxKeys: number },
): Promise<{ objects: ObjectRef[]; more: boolean }> {
  const res = await http.request({
    url: `${bucketUrl}/`,
    query: { 'list-type': 2, prefix: o.prefix, 'start-after': o.startAfter, 'max-keys': o.maxKeys },
  });
  const xml = await res.text();
  const objects: ObjectRef[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = tag(m[1], 'Key');
    if (key === undefined) continue;
    const size = Number(tag(m[1], 'Size'));
    objects.push({
      key,
      etag: tag(m[1], 'ETag')?.replace(/"/g, ''),
      size: Number.isFinite(size) ? size : undefined,
      lastModified: tag(m[1], 'LastModified'),
    });
  }
  if (!/<ListBucketResult[\s>]/.test(xml))
    throw transientError(
      'aws_bad_list_response',
      `S3 answered ListObjectsV2 with ${res.status} but no ListBucketResult.`,
      "Retry; if it persists, check the account's S3 endpoint.",
    );
  return { objects, more: tag(xml, 'IsTruncated') === 'true' };
}

const decodeKey = (k: string) => decodeURIComponent(k.replace(/\+/g, ' '));

/**
 * The objects an SQS message names: an S3 event notification (plain, SNS- or EventBridge-wrapped), each
 * `ObjectCreated:*` record's object. `s3:TestEvent`, deletions and other EventBridge detail types name
 * none; a body that is none of these throws (the reader keeps it as a dead letter).
 */
export function s3NotificationObjects(m: QueueMessage): ObjectRef[] {
  let body: any;
  try {
    body = JSON.parse(m.body);
  } catch {
    throw new Error('the body is not JSON');
  }
  if (body && body.Type === 'Notification' && typeof body.Message === 'string') {
    try {
      body = JSON.parse(body.Message);
    } catch {
      throw new Error('the SNS notification’s Message is not JSON');
    }
  }
  if (!body || typeof body !== 'object') throw new Error('expected a JSON object');
  if (body.Event === 's3:TestEvent') return [];
  if (body.source === 'aws.s3' && body.detail && typeof body.detail === 'object') {
    if (body['detail-type'] !== 'Object Created') return [];
    const o = body.detail.object;
    if (!o || typeof o.key !== 'string')
      throw new Error('expected detail.object.key in the EventBridge event');
    return [
      {
        bucket: body.detail.bucket?.name,
        key: o.key,
        etag: o.etag,
        version: o['version-id'] ?? undefined,
        size: o.size,
      },
    ];
  }
  if (Array.isArray(body.Records)) {
    const refs: ObjectRef[] = [];
    for (const r of body.Records) {
      if (!r?.s3?.object || typeof r.s3.object.key !== 'string')
        throw new Error('expected Records[].s3.object.key (an S3 event notification)');
      if (typeof r.eventName === 'string' && !r.eventName.startsWith('ObjectCreated:')) continue;
      refs.push({
        bucket: r.s3.bucket?.name,
        key: decodeKey(r.s3.object.key),
        etag: r.s3.object.eTag,
        version: r.s3.object.versionId ?? undefined,
        size: r.s3.object.size,
      });
    }
    return refs;
  }
  throw new Error('expected an S3 event notification (Records), an SNS notification or an EventBridge event');
}

/**
 * The notification's objects that `keep` accepts, refusing another bucket's (the credentials and Test
 * Connection are for the collector's bucket: one queue per bucket).
 */
export function notifiedObjectsIn(
  m: QueueMessage,
  bucket: string,
  keep: (ref: ObjectRef) => boolean = () => true,
): ObjectRef[] {
  const refs = s3NotificationObjects(m).filter(keep);
  const other = refs.find((r) => r.bucket !== undefined && r.bucket !== bucket);
  if (other) throw new Error(`it names bucket ${other.bucket}, not the collector's bucket ${bucket}`);
  return refs.map((r) => ({ ...r, bucket }));
}

/** Runs `call`; an AWS refusal becomes a config error naming the IAM action it needs (Test Connection). */
export async function needsAws<T>(action: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof TributaryError && (err.code === 'aws_access_denied' || err.code === 'forbidden'))
      throw configError(
        'aws_access_denied',
        `AWS denied ${action} on ${resource}: ${err.message}`,
        `Allow ${action} on ${resource} in the IAM policy of the account's identity (or role), and check the ${action.startsWith('s3') ? 'bucket policy' : action.startsWith('sqs') ? 'queue policy' : 'resource’s policy, if it has one'}.`,
        err.status,
      );
    throw err;
  }
}

/**
 * Test Connection's proof of the bucket: s3:ListBucket under `prefix` (one key), then s3:GetObject of the
 * first key listed, if any (its first bytes only).
 */
export async function probeBucket(
  http: HttpClient,
  account: AwsAccount,
  o: { bucket: string; region: string; prefix: string },
): Promise<void> {
  const page = await needsAws('s3:ListBucket', `arn:aws:s3:::${o.bucket}`, async () =>
    listObjects(await s3Client(http, account, o), o.bucket, { prefix: o.prefix, maxKeys: 1 }),
  );
  const first = page.objects[0];
  if (!first) return;
  const store = s3ObjectStore(http, account, { bucket: o.bucket, region: o.region });
  const ctl = new AbortController();
  const bytes = await needsAws('s3:GetObject', `arn:aws:s3:::${o.bucket}/${first.key}`, () =>
    store.get(first, { start: 0, signal: ctl.signal }),
  );
  // Proving the permission needs the answer, not the file.
  if (bytes && Symbol.asyncIterator in bytes) {
    const it = bytes[Symbol.asyncIterator]();
    await it.next();
    await it.return?.();
  }
}

export interface SqsOptions {
  queueUrl: string;
  /** Long-poll wait per receive (0–20 s; default 1: a short poll can miss waiting messages). */
  waitTimeSeconds?: number;
  /** Ask for every system attribute (`SentTimestamp`, …) and message attribute of each message. */
  attributes?: boolean;
}

/** Why the collector receives and deletes messages: declared in each source's `vendorWrites`. */
export const SQS_RECEIVE_WRITE =
  'sqs:ReceiveMessage hides the messages received for the queue’s visibility timeout, so no other reader takes them while their objects are read';
export const SQS_DELETE_WRITE =
  'sqs:DeleteMessage removes a notification once every record of the objects it names is delivered, or it would come back forever';
/** aws-sqs's writes: the messages are the events. */
export const SQS_DELETE_MESSAGES_WRITE =
  'sqs:DeleteMessage (DeleteMessageBatch) removes messages once every destination acknowledged them, or they would come back forever';
export const SQS_EXTEND_WRITE =
  'sqs:ChangeMessageVisibility (ChangeMessageVisibilityBatch) keeps messages being delivered hidden longer than the visibility timeout, so no other reader takes them meanwhile';

/** The SQS endpoint a queue URL's API calls go to: the account's `endpoints.sqs`, else the URL's origin. */
export function sqsEndpoint(account: Pick<AwsAccount, 'endpoints'>, queueUrl: string): string {
  return `${(account.endpoints?.sqs ?? new URL(queueUrl).origin).replace(/\/+$/, '')}/`;
}

/** One SQS JSON-protocol call over the account's signed HttpClient (the collectors use `sqsClient`). */
export async function sqsCall<T>(
  http: HttpClient,
  endpoint: string,
  action: string,
  body: Record<string, unknown>,
  write?: string,
): Promise<T> {
  const res = await http.request({
    method: 'POST',
    url: endpoint,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
    },
    body: JSON.stringify(body),
    ...(write ? { vendorWrite: write } : { readOnly: true }),
  });
  // An action without output (DeleteMessage) answers 200 with an empty body.
  const text = await res.text();
  if (!text.trim()) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw transientError(
      'sqs_bad_response',
      `SQS answered ${action} with ${res.status} and a body that is not JSON (${text.length} bytes).`,
      'Retried on the next run; if it persists, check the SQS endpoint (endpoints.sqs) and any proxy.',
    );
  }
}

/** The SQS actions the collectors call that change the queue, with why (the vendor-write guard). */
const SQS_WRITES: Record<string, string> = {
  ReceiveMessage: SQS_RECEIVE_WRITE,
  DeleteMessage: SQS_DELETE_WRITE,
  DeleteMessageBatch: SQS_DELETE_MESSAGES_WRITE,
  ChangeMessageVisibilityBatch: SQS_EXTEND_WRITE,
};

/** An SQS client of the AWS SDK on the engine's HttpClient (accounts/aws-sdk-http.ts) for one queue. */
export async function sqsClient(http: HttpClient, account: AwsAccount, queueUrl: string): Promise<SQSClient> {
  const region = awsScopeOf(new URL(queueUrl).hostname)?.region ?? account.region;
  const { SQSClient } = await sqsSdk();
  return new SQSClient({
    ...sdkClientConfig(http, region, (req) => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      if (action === 'GetQueueAttributes') return 'read';
      const write = SQS_WRITES[action];
      return write ? { write } : undefined;
    }),
    endpoint: sqsEndpoint(account, queueUrl),
    useQueueUrlAsEndpoint: false,
  });
}

/** The batch entries SQS failed, but those whose message is gone or was received again. */
function batchFailed(
  action: string,
  size: number,
  failed: Array<{ Code?: string; Message?: string }> | undefined,
): void {
  const left = (failed ?? []).filter((f) => f.Code !== 'ReceiptHandleIsInvalid');
  if (left.length)
    throw transientError(
      'sqs_batch_failed',
      `SQS ${action} failed for ${left.length} of ${size} messages: ${left[0]!.Code ?? 'unknown'} ${left[0]!.Message ?? ''}`.trim(),
      'None needed if it passes: the messages come back after their visibility timeout and are recognised as delivered.',
    );
}

export function sqsQueue(http: HttpClient, account: AwsAccount, o: SqsOptions): NotificationQueue {
  const client = once(() => sqsClient(http, account, o.queueUrl));
  const QueueUrl = o.queueUrl;
  const chunks = <T>(items: T[]) =>
    Array.from({ length: Math.ceil(items.length / 10) }, (_, i) => items.slice(i * 10, i * 10 + 10));
  return {
    async receive({ max }) {
      const { ReceiveMessageCommand } = await sqsSdk();
      const answer = await (await client()).send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
          WaitTimeSeconds: o.waitTimeSeconds ?? 1,
          ...(o.attributes ? { MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] } : {}),
        }),
      );
      const out: QueueMessage[] = [];
      for (const m of answer.Messages ?? []) {
        if (typeof m.ReceiptHandle !== 'string' || typeof m.Body !== 'string') continue;
        if (m.MD5OfBody && createHash('md5').update(m.Body).digest('hex') !== m.MD5OfBody)
          throw transientError(
            'sqs_body_damaged',
            `SQS message ${m.MessageId} arrived with a body whose MD5 differs from MD5OfBody.`,
            'None needed: the message is received again after its visibility timeout.',
          );
        out.push({
          id: m.MessageId ?? m.ReceiptHandle.slice(0, 32),
          receipt: m.ReceiptHandle,
          body: m.Body,
          ...(m.Attributes ? { attributes: m.Attributes as Record<string, string> } : {}),
          ...(m.MessageAttributes
            ? { messageAttributes: m.MessageAttributes as Record<string, unknown> }
            : {}),
        });
      }
      return out;
    },
    async deleteMany(receipts) {
      const { DeleteMessageBatchCommand } = await sqsSdk();
      for (const [n, chunk] of chunks(receipts).entries()) {
        const Entries = chunk.map((r, j) => ({ Id: String(n * 10 + j), ReceiptHandle: r }));
        const answer = await (await client()).send(new DeleteMessageBatchCommand({ QueueUrl, Entries }));
        batchFailed('DeleteMessageBatch', Entries.length, answer.Failed);
      }
    },
    async extend(receipts, seconds) {
      const { ChangeMessageVisibilityBatchCommand } = await sqsSdk();
      for (const [n, chunk] of chunks(receipts).entries()) {
        const Entries = chunk.map((r, j) => ({
          Id: String(n * 10 + j),
          ReceiptHandle: r,
          VisibilityTimeout: seconds,
        }));
        const answer = await (await client()).send(
          new ChangeMessageVisibilityBatchCommand({ QueueUrl, Entries }),
        );
        batchFailed('ChangeMessageVisibilityBatch', Entries.length, answer.Failed);
      }
    },
    async visibilityTimeout() {
      const t = Number((await sqsQueueAttributes(http, account, o.queueUrl)).VisibilityTimeout);
      return Number.isFinite(t) && t > 0 ? t : undefined;
    },
    async delete(receipt) {
      const { DeleteMessageCommand } = await sqsSdk();
      await (await client()).send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: receipt }));
    },
  };
}

/** GetQueueAttributes: Test Connection's proof of the queue and of sqs:GetQueueAttributes. */
export async function sqsQueueAttributes(
  http: HttpClient,
  account: AwsAccount,
  queueUrl: string,
): Promise<Record<string, string>> {
  const { GetQueueAttributesCommand } = await sqsSdk();
  const answer = await (await sqsClient(http, account, queueUrl)).send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['VisibilityTimeout', 'ApproximateNumberOfMessages'],
    }),
  );
  return (answer.Attributes ?? {}) as Record<string, string>;
}
