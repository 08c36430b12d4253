import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkSigV4 } from './aws-sigv4.ts';
import type { ObjectStoreSim } from './object-store.ts';

/**
 * Amazon S3 and Amazon SQS over HTTP, in front of an `ObjectStoreSim` (its bucket and queue), for the AWS
 * sources on the object-notification reader. Two servers, one per service, so each is signed for its own
 * service (the `aws` account's `endpoints: { s3, sqs }`). Every request's Signature Version 4 is verified
 * by re-signing it with the AWS SDK's signer (sim/aws-sigv4.ts), not Tributary's.
 *
 * What it follows:
 * - SigV4 (IAM User Guide, "Create a signed AWS API request"): an unknown access key is S3 403
 *   `InvalidAccessKeyId` / SQS 403 `InvalidClientTokenId`; a wrong signature 403 `SignatureDoesNotMatch`;
 *   a request dated more than 15 minutes away S3 403 `RequestTimeTooSkewed` / SQS 400 `RequestExpired`
 *   (S3 API Reference "Error responses"; SQS API Reference "Common Errors").
 * - S3 GetObject with `Range: bytes=N-` (206) and `Last-Modified`, 404 `NoSuchKey`, 416 `InvalidRange` at the end; ListObjectsV2
 *   (`list-type=2`, `prefix`, `start-after`, `max-keys`) answering `ListBucketResult` XML with `Contents`
 *   (`Key`, `ETag` quoted, `Size`) and `IsTruncated` (S3 API Reference, GetObject, ListObjectsV2).
 * - SQS AWS JSON protocol (SQS Developer Guide, "Making query API requests using AWS JSON protocol"):
 *   `POST /`, `X-Amz-Target: AmazonSQS.ReceiveMessage | DeleteMessage | DeleteMessageBatch |
 *   ChangeMessageVisibilityBatch | GetQueueAttributes`; answers `{"Messages":[{MessageId, ReceiptHandle,
 *   MD5OfBody, Body, Attributes?, MessageAttributes?}]}` (`Attributes` with `MessageSystemAttributeNames`
 *   or `AttributeNames` `["All"]`, `MessageAttributes` with `MessageAttributeNames` `["All"]`); batch
 *   actions answer `{Successful, Failed}` per entry, at most 10 (`TooManyEntriesInBatchRequest`); errors `{"__type", "message"}` with
 *   `x-amzn-query-error` (SQS Developer Guide, "Interpreting Amazon SQS JSON API responses").
 * - Permissions: `deny(action)` answers that action AccessDenied (S3 403 `AccessDenied`, SQS 400
 *   `AccessDeniedException`, SQS API Reference "Common Errors"); `throttle(n)` answers the next n SQS
 *   calls 400 `ThrottlingException`; `slowDownNext(n)` the next n S3 requests 503 `SlowDown`.
 * - STS GetCallerIdentity (STS API Reference, GetCallerIdentity; Query protocol, XML answer, errors in
 *   `<ErrorResponse><Error><Code>`): the identity Test Connection proves first; it needs no permission.
 * - IAM: batch actions are authorized as their single action (DeleteMessageBatch as sqs:DeleteMessage).
 * - Writes: any S3 method but GET/HEAD, and any SQS action but those above, fail the test
 *   (`writes` counts them; answered 405 / 400 `InvalidAction`).
 *
 * Assumed where the docs are silent: ReceiveMessage answers at once rather than waiting `WaitTimeSeconds`
 * (the queue semantics are the in-memory simulator's: src/sim/object-store.ts).
 */

export type AwsAction =
  | 's3:GetObject'
  | 's3:ListBucket'
  | 'sqs:ReceiveMessage'
  | 'sqs:DeleteMessage'
  | 'sqs:ChangeMessageVisibility'
  | 'sqs:GetQueueAttributes';

/** The IAM action that authorizes an SQS API action (batch actions as their single form). */
const IAM_ACTION: Record<string, AwsAction> = {
  ReceiveMessage: 'sqs:ReceiveMessage',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
};

interface Refusal {
  status: number;
  code: string;
  message: string;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class AwsObjectHttpSim {
  readonly accessKeyId = 'AKIATRIBUTARYSIM0001';
  readonly secretAccessKey = 'sim-secret/key+for-tests';
  readonly region: string;
  readonly queueUrl: string;
  readonly accountId: string;
  s3Url = '';
  sqsUrl = '';
  stsUrl = '';
  private readonly sim: ObjectStoreSim;
  private servers: Server[] = [];
  private readonly denied = new Set<AwsAction>();
  private throttled = 0;
  private slowDown = 0;
  private held?: { reached: () => void; released: Promise<void> };
  /** Requests being handled (received, not yet answered or dropped), and who waits for none. */
  private handling = 0;
  private readonly idle: Array<() => void> = [];
  /** Requests by action, refusals, and write attempts (a test fails on any). */
  readonly stats = { requests: {} as Record<string, number>, refused: 0, writes: 0 };
  /** Each SQS request's action and parsed input, in order (what a test asserts parameters on). */
  readonly sqsInputs: Array<{ action: string; input: Record<string, unknown> }> = [];

  constructor(sim: ObjectStoreSim, o: { region?: string; accountId?: string; queueName?: string } = {}) {
    this.sim = sim;
    this.region = o.region ?? 'us-east-1';
    this.accountId = o.accountId ?? '111122223333';
    this.queueUrl = `https://sqs.${this.region}.amazonaws.com/${this.accountId}/${o.queueName ?? 'cloudtrail-notifications'}`;
  }

  deny(action: AwsAction): void {
    this.denied.add(action);
  }

  throttle(n: number): void {
    this.throttled = n;
  }

  /**
   * DeleteMessage requests are held unanswered, deleting nothing, until `release` (then their connection is
   * dropped): the moment between a delivered object and its message's delete, for a process to be killed in.
   */
  holdDeletes(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const r = new Promise<void>((ok) => (reached = ok));
    this.held = { reached, released: new Promise<void>((ok) => (release = ok)) };
    return {
      reached: r,
      release: () => {
        this.held = undefined;
        release();
      },
    };
  }

  /** The next n S3 requests are answered 503 `SlowDown` (S3 API Reference, "Error responses": "Please reduce your request rate"). */
  slowDownNext(n: number): void {
    this.slowDown = n;
  }

  /** The `aws` account that reaches these servers. */
  account(over: Record<string, unknown> = {}) {
    return {
      accessKeyId: this.accessKeyId,
      secretAccessKey: this.secretAccessKey,
      region: this.region,
      endpoints: { s3: this.s3Url, sqs: this.sqsUrl },
      stsEndpoint: this.stsUrl,
      ...over,
    };
  }

  /**
   * Resolves once every request that reached the simulator has been answered (or dropped). A client that
   * gives up on a request (a run cancelled, a process killed) does not stop the service from acting on
   * it: SQS still receives the messages of a ReceiveMessage whose caller is gone, and hides them for the
   * visibility timeout from the moment it does. A test that kills a run and then moves its manual clock
   * awaits this first, so that such a late request acts at the time of the kill, not after the clock
   * moved (where it would hide the messages from the restarted run for one more timeout).
   *
   * Requests are sent over loopback, where the bytes a client wrote are in the server's socket when the
   * write returns: one turn of the event loop (setImmediate, after the poll phase) parses them and starts
   * their handlers, so none is missed. A held delete (`holdDeletes`) is in progress until released.
   */
  async settled(): Promise<void> {
    for (;;) {
      await new Promise<void>((ok) => setImmediate(ok));
      if (this.handling === 0) return;
      await new Promise<void>((ok) => this.idle.push(ok));
    }
  }

  async start(): Promise<void> {
    const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
      const server = createServer((req, res) => {
        this.handling++;
        handler(req, res)
          .catch((err) => {
            if (!res.headersSent) res.writeHead(500);
            res.end(String((err as Error)?.message ?? err));
          })
          .finally(() => {
            if (--this.handling === 0) for (const ok of this.idle.splice(0)) ok();
          });
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      this.servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    this.s3Url = await listen((req, res) => this.s3(req, res));
    this.sqsUrl = await listen((req, res) => this.sqs(req, res));
    this.stsUrl = await listen((req, res) => this.sts(req, res));
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise<void>((ok) => s.close(() => ok()));
    }
    this.servers = [];
  }

  private count(action: string) {
    this.stats.requests[action] = (this.stats.requests[action] ?? 0) + 1;
  }

  // -- STS -----------------------------------------------------------------------------------------

  /** STS GetCallerIdentity (Query protocol, XML answer; API_GetCallerIdentity.html): any other action is refused. */
  private async sts(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const form = new URLSearchParams(body.toString('utf8'));
    if (req.method !== 'POST' || form.get('Action') !== 'GetCallerIdentity') {
      this.stats.writes++;
      return xmlError(res, 400, 'InvalidAction', `Could not find operation ${form.get('Action')}`);
    }
    const refusal = await this.verify(req, body, 'sts');
    if (refusal) return xmlError(res, refusal.status, refusal.code, refusal.message, 'ErrorResponse');
    this.count('sts:GetCallerIdentity');
    const xml = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${this.accountId}:user/tributary</Arn><UserId>AIDASIMULATOR0000001</UserId><Account>${this.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  // -- S3 ------------------------------------------------------------------------------------------

  private async s3(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.stats.writes++;
      return xmlError(
        res,
        405,
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
      );
    }
    const refusal = await this.verify(req, body, 's3');
    if (refusal) return xmlError(res, refusal.status, refusal.code, refusal.message);
    if (this.slowDown > 0) {
      this.slowDown--;
      return xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.');
    }
    // path style: /{bucket}/{key}
    const [, bucketEnc, ...keyParts] = url.pathname.split('/');
    const bucket = decodeURIComponent(bucketEnc ?? '');
    if (bucket !== this.sim.bucket)
      return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const key = keyParts.map((p) => decodeURIComponent(p)).join('/');
    if (!key && url.searchParams.get('list-type') === '2') {
      this.count('s3:ListBucket');
      if (this.denied.has('s3:ListBucket')) return xmlError(res, 403, 'AccessDenied', 'Access Denied');
      const maxKeys = Math.min(Number(url.searchParams.get('max-keys') ?? 1000) || 1000, 1000);
      const prefix = url.searchParams.get('prefix') ?? '';
      const startAfter = url.searchParams.get('start-after') ?? undefined;
      const objects: Array<{ key: string; etag?: string; size?: number; lastModified?: string }> = [];
      let more = false;
      let after = startAfter;
      // the in-memory simulator pages by its own page size; gather up to max-keys
      for (;;) {
        const page = await this.sim.objects.list({ prefix, startAfter: after });
        for (const o of page.objects) {
          if (objects.length >= maxKeys) {
            more = true;
            break;
          }
          objects.push(o);
        }
        if (more || !page.more || !page.objects.length) {
          more ||= page.more && objects.length >= maxKeys;
          break;
        }
        after = page.objects.at(-1)!.key;
      }
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>${startAfter ? `<StartAfter>${xmlEscape(startAfter)}</StartAfter>` : ''}<KeyCount>${objects.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${more}</IsTruncated>${objects
        .map(
          (o) =>
            `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${o.lastModified ?? ''}</LastModified><ETag>&quot;${o.etag ?? ''}&quot;</ETag><Size>${o.size ?? 0}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join('')}</ListBucketResult>`;
      res.writeHead(200, { 'content-type': 'application/xml' });
      return void res.end(xml);
    }
    this.count('s3:GetObject');
    if (this.denied.has('s3:GetObject')) return xmlError(res, 403, 'AccessDenied', 'Access Denied');
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Number(range[2]) : undefined;
    let size: number | undefined;
    let modified: string | undefined;
    try {
      ({ size, lastModified: modified } = this.sim.refOf(key));
    } catch {
      return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    if (range && size !== undefined && start >= size)
      return xmlError(res, 416, 'InvalidRange', 'The requested range is not satisfiable');
    const stream = await this.sim.objects.get({ key }, { start });
    if (!stream) return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    // Last-Modified in HTTP-date form (S3 API Reference, GetObject, response headers)
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      ...(modified ? { 'last-modified': new Date(modified).toUTCString() } : {}),
    });
    let sent = 0;
    try {
      for await (const chunk of stream) {
        const piece = end !== undefined ? chunk.subarray(0, Math.max(0, end - start + 1 - sent)) : chunk;
        sent += piece.length;
        if (!res.write(piece)) await new Promise((ok) => res.once('drain', ok));
        if (end !== undefined && sent >= end - start + 1) break;
      }
      res.end();
    } catch {
      res.destroy(); // a connection cut mid-body (the simulator's cutBodiesNext)
    }
  }

  // -- SQS -----------------------------------------------------------------------------------------

  private async sqs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.replace(/^AmazonSQS\./, '');
    if (req.method !== 'POST' || !target.startsWith('AmazonSQS.') || !IAM_ACTION[action]) {
      this.stats.writes++;
      return sqsError(res, 400, 'InvalidAction', `The action ${action} is not valid for this endpoint.`);
    }
    const refusal = await this.verify(req, body, 'sqs');
    if (refusal) return sqsError(res, refusal.status, refusal.code, refusal.message);
    this.count(`sqs:${action}`);
    if (this.throttled > 0) {
      this.throttled--;
      return sqsError(res, 400, 'ThrottlingException', 'Rate exceeded');
    }
    if (this.denied.has(IAM_ACTION[action]))
      return sqsError(
        res,
        400,
        'AccessDeniedException',
        `User: arn:aws:iam::111122223333:user/tributary is not authorized to perform: ${IAM_ACTION[action]}`,
      );
    let input: {
      QueueUrl?: string;
      MaxNumberOfMessages?: number;
      ReceiptHandle?: string;
      MessageSystemAttributeNames?: string[];
      AttributeNames?: string[];
      MessageAttributeNames?: string[];
      Entries?: Array<{ Id?: string; ReceiptHandle?: string; VisibilityTimeout?: number }>;
    };
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      return sqsError(res, 400, 'InvalidParameterValue', 'The request body is not JSON.');
    }
    this.sqsInputs.push({ action, input: input as Record<string, unknown> });
    if (input.QueueUrl !== this.queueUrl)
      return sqsError(
        res,
        400,
        'QueueDoesNotExist',
        'The specified queue does not exist.',
        'AWS.SimpleQueueService.NonExistentQueue',
      );
    const json = (answer: unknown) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'sim' });
      res.end(JSON.stringify(answer));
    };
    switch (action) {
      case 'ReceiveMessage': {
        const max = input.MaxNumberOfMessages ?? 1;
        if (!Number.isInteger(max) || max < 1 || max > 10)
          return sqsError(res, 400, 'InvalidParameterValue', 'MaxNumberOfMessages must be 1 to 10.');
        const messages = await this.sim.queue.receive({ max });
        const all = (names?: string[]) => Array.isArray(names) && names.includes('All');
        const system = all(input.MessageSystemAttributeNames) || all(input.AttributeNames);
        const custom = all(input.MessageAttributeNames);
        return json({
          Messages: messages.map((m) => ({
            MessageId: m.id,
            ReceiptHandle: m.receipt,
            MD5OfBody: createHash('md5').update(m.body).digest('hex'),
            Body: m.body,
            ...(system ? { Attributes: m.attributes } : {}),
            ...(custom && m.messageAttributes ? { MessageAttributes: m.messageAttributes } : {}),
          })),
        });
      }
      case 'DeleteMessageBatch':
      case 'ChangeMessageVisibilityBatch': {
        // up to ten entries, each answered in Successful or Failed (API Reference, DeleteMessageBatch,
        // ChangeMessageVisibilityBatch; errors TooManyEntriesInBatchRequest, EmptyBatchRequest)
        const entries = input.Entries ?? [];
        if (!entries.length)
          return sqsError(res, 400, 'EmptyBatchRequest', 'The batch request doesn’t contain any entries.');
        if (entries.length > 10)
          return sqsError(
            res,
            400,
            'TooManyEntriesInBatchRequest',
            'The batch request contains more entries than permissible.',
          );
        if (action === 'DeleteMessageBatch' && this.held) {
          const held = this.held;
          held.reached();
          await held.released;
          return void res.destroy();
        }
        const Successful: Array<{ Id?: string }> = [];
        const Failed: Array<{ Id?: string; Code: string; Message: string; SenderFault: boolean }> = [];
        for (const e of entries) {
          if (typeof e.ReceiptHandle !== 'string') {
            Failed.push({
              Id: e.Id,
              Code: 'MissingParameter',
              Message: 'ReceiptHandle is required.',
              SenderFault: true,
            });
          } else if (action === 'DeleteMessageBatch') {
            await this.sim.queue.delete(e.ReceiptHandle);
            Successful.push({ Id: e.Id });
          } else {
            this.count('sqs:ChangeMessageVisibility');
            if (this.sim.changeVisibility(e.ReceiptHandle, Number(e.VisibilityTimeout ?? 0)))
              Successful.push({ Id: e.Id });
            else
              Failed.push({
                Id: e.Id,
                Code: 'MessageNotInflight',
                Message: 'The message is not in flight.',
                SenderFault: true,
              });
          }
        }
        return json({ Successful, Failed });
      }
      case 'DeleteMessage':
        if (typeof input.ReceiptHandle !== 'string')
          return sqsError(res, 400, 'MissingParameter', 'ReceiptHandle is required.');
        if (this.held) {
          const held = this.held;
          held.reached();
          await held.released;
          return void res.destroy();
        }
        await this.sim.queue.delete(input.ReceiptHandle);
        // no response elements: 200 with an empty body (API Reference, DeleteMessage)
        res.writeHead(200, { 'x-amzn-requestid': 'sim', 'content-length': '0' });
        return void res.end();
      default:
        return json({
          Attributes: {
            VisibilityTimeout: String(Math.round(this.sim.visibilityTimeoutMs / 1000)),
            ApproximateNumberOfMessages: String(this.sim.pending()),
          },
        });
    }
  }

  // -- SigV4 ---------------------------------------------------------------------------------------

  private async verify(
    req: IncomingMessage,
    body: Buffer,
    service: 's3' | 'sqs' | 'sts',
  ): Promise<Refusal | undefined> {
    this.stats.refused++;
    const s3 = service === 's3';
    const check = await checkSigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      (key) => (key === this.accessKeyId ? { secretAccessKey: this.secretAccessKey } : undefined),
    );
    const mismatch: Refusal = {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
    if (!check.ok) {
      if (check.reason === 'missing')
        return s3
          ? { status: 403, code: 'AccessDenied', message: 'Access Denied' }
          : {
              status: 403,
              code: 'MissingAuthenticationToken',
              message: 'Request is missing Authentication Token',
            };
      if (check.reason === 'unknown-key')
        return s3
          ? {
              status: 403,
              code: 'InvalidAccessKeyId',
              message: 'The AWS Access Key Id you provided does not exist in our records.',
            }
          : {
              status: 403,
              code: 'InvalidClientTokenId',
              message: 'The security token included in the request is invalid.',
            };
      if (check.reason === 'expired')
        return s3
          ? {
              status: 403,
              code: 'RequestTimeTooSkewed',
              message: 'The difference between the request time and the current time is too large.',
            }
          : { status: 400, code: 'RequestExpired', message: 'Request has expired.' };
      return mismatch;
    }
    if (check.service !== service || check.region !== this.region) return mismatch;
    if (
      s3 &&
      String(req.headers['x-amz-content-sha256'] ?? '') !== createHash('sha256').update(body).digest('hex')
    )
      return {
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      };
    this.stats.refused--;
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** S3's `<Error>` body, or (STS, Query protocol) the same wrapped in `<ErrorResponse>`. */
function xmlError(res: ServerResponse, status: number, code: string, message: string, wrap?: string): void {
  const error = `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${wrap ? `<${wrap}>${error}<RequestId>sim</RequestId></${wrap}>` : error.replace('</Error>', '<RequestId>sim</RequestId></Error>')}`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sqsError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  queryError?: string,
): void {
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': 'sim',
    'x-amzn-query-error': `${queryError ?? type};Sender`,
  });
  res.end(body);
}
