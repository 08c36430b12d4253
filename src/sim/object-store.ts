import { createHash } from 'node:crypto';
import type { Clock } from './kit.ts';

/**
 * An object store with a notification queue, in memory, with Amazon S3 and Amazon SQS semantics, for the
 * object-notification reader's tests (src/engine/object-notification.ts) and the sources built on it.
 * It implements the reader's `ObjectStore` and `NotificationQueue` shapes (`objects`, `queue`); tests
 * drive time with the clock they give it, and inject faults.
 *
 * What it follows:
 * - Queue visibility: a received message is hidden for the visibility timeout (default 30 s) and
 *   reappears unless deleted (Amazon SQS Developer Guide, "Amazon SQS visibility timeout").
 * - Receipt handles: every receive of a message hands out a new receipt handle; DeleteMessage with one
 *   that is not the most recent succeeds but does not delete the message (Amazon SQS API Reference,
 *   DeleteMessage: "the request will still succeed, but the message might not be deleted" — the
 *   simulator takes the "not deleted" branch, the one a reader must survive).
 * - ReceiveMessage returns at most 10 messages (API Reference, ReceiveMessage, MaxNumberOfMessages).
 *   Standard queues do not promise order; the simulator answers oldest visible first (an assumption
 *   that keeps tests deterministic; the reader relies on no order).
 * - Notifications: S3 event messages `{"Records":[{"eventName","s3":{"bucket":{"name"},"object":{"key",
 *   "size","eTag","versionId","sequencer"}}}]}` with URL-encoded keys, and `s3:TestEvent` when a
 *   notification is configured (Amazon S3 User Guide, "Event message structure").
 * - Listing: keys in UTF-8 binary order after `StartAfter`, at most 1000 per page, `IsTruncated` when
 *   more (Amazon S3 API Reference, ListObjectsV2).
 * - Ranged GET from a byte offset (API Reference, GetObject, `Range: bytes=N-`); a start at the end
 *   gives no bytes (S3 answers 416 there; a source maps it to "nothing new").
 * - Append: Azure append blobs grow by appended blocks and keep their bytes (Azure Storage
 *   documentation, "Understanding block blobs, append blobs, and page blobs"); the etag changes with
 *   every append.
 */

export interface SimObjectRef {
  bucket?: string;
  key: string;
  etag?: string;
  version?: string;
  size?: number;
  /** When it was put (ISO 8601, the clock's time): S3's `LastModified`. */
  lastModified?: string;
}

interface StoredObject {
  key: string;
  etag: string;
  version: string;
  size: number;
  modified: number;
  /** Bytes, or a generator of them for objects too large to hold (the memory-bound check). */
  body: Buffer | (() => AsyncIterable<Uint8Array>);
}

interface Message {
  id: string;
  body: string;
  visibleAt: number;
  receipt?: string;
  receives: number;
  sentAt: number;
  firstReceivedAt?: number;
  messageAttributes?: Record<string, unknown>;
}

export type SimOp = 'get' | 'list' | 'receive' | 'delete';

export interface ObjectStoreSimOptions {
  clock?: Clock;
  bucket?: string;
  visibilityTimeoutMs?: number;
  /** Keys per listing page (ListObjectsV2 MaxKeys; at most 1000). */
  pageSize?: number;
  /** Size of the chunks an object's body is streamed in (small values test decoders across chunks). */
  chunkBytes?: number;
}

export class ObjectStoreSim {
  readonly bucket: string;
  private readonly clock: Clock;
  readonly visibilityTimeoutMs: number;
  private readonly pageSize: number;
  private readonly chunkBytes: number;
  private readonly store = new Map<string, StoredObject>();
  private readonly messages: Message[] = [];
  private seq = 0;
  private readonly faults: Array<{ op: SimOp; times: number; error: Error }> = [];
  private readonly cutBodies: Array<{ key?: string }> = [];
  /** Every call made, for assertions (op and what it named). */
  readonly calls: Array<{ op: SimOp; detail: string }> = [];
  /** Ids of messages deleted. */
  readonly deleted: string[] = [];

  constructor(o: ObjectStoreSimOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.bucket = o.bucket ?? 'logs-bucket';
    this.visibilityTimeoutMs = o.visibilityTimeoutMs ?? 30_000;
    this.pageSize = Math.min(o.pageSize ?? 1000, 1000);
    this.chunkBytes = o.chunkBytes ?? 64 * 1024;
  }

  // -- the bucket ---------------------------------------------------------------------------------

  put(key: string, body: Buffer | string): SimObjectRef {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const o: StoredObject = {
      key,
      etag: createHash('md5').update(bytes).digest('hex'),
      version: `v${++this.seq}`,
      size: bytes.length,
      modified: this.clock(),
      body: bytes,
    };
    this.store.set(key, o);
    return this.ref(o);
  }

  /** An object whose bytes are generated when read (too large to hold in a test). */
  putGenerated(key: string, size: number, body: () => AsyncIterable<Uint8Array>): SimObjectRef {
    const o: StoredObject = {
      key,
      etag: `gen-${++this.seq}`,
      version: `v${this.seq}`,
      size,
      modified: this.clock(),
      body,
    };
    this.store.set(key, o);
    return this.ref(o);
  }

  /** Appends a block (an append blob); creates the object when new. */
  append(key: string, data: string | Buffer): SimObjectRef {
    const prev = this.store.get(key);
    const old = prev && Buffer.isBuffer(prev.body) ? prev.body : Buffer.alloc(0);
    return this.put(key, Buffer.concat([old, typeof data === 'string' ? Buffer.from(data) : data]));
  }

  remove(key: string): void {
    this.store.delete(key);
  }

  refOf(key: string): SimObjectRef {
    const o = this.store.get(key);
    if (!o) throw new Error(`no object ${key}`);
    return this.ref(o);
  }

  private ref(o: StoredObject): SimObjectRef {
    return {
      bucket: this.bucket,
      key: o.key,
      etag: o.etag,
      version: o.version,
      size: o.size,
      lastModified: new Date(o.modified).toISOString(),
    };
  }

  // -- the queue ----------------------------------------------------------------------------------

  /**
   * A message as a producer sends it, with its message attributes (SQS `MessageAttributes`: `{DataType,
   * StringValue}` per name, API Reference, MessageAttributeValue).
   */
  send(body: string, o: { messageAttributes?: Record<string, unknown> } = {}): string {
    const id = `msg-${++this.seq}`;
    const now = this.clock();
    this.messages.push({
      id,
      body,
      visibleAt: now,
      receives: 0,
      sentAt: now,
      messageAttributes: o.messageAttributes,
    });
    return id;
  }

  /**
   * ChangeMessageVisibility: the message whose latest receipt this is becomes visible `seconds` from now
   * (API Reference, ChangeMessageVisibility); false when no message has this receipt (or it is not in
   * flight), which SQS answers `ReceiptHandleIsInvalid` / `MessageNotInflight`.
   */
  changeVisibility(receipt: string, seconds: number): boolean {
    const now = this.clock();
    const m = this.messages.find((x) => x.receipt === receipt && x.visibleAt > now);
    if (!m) return false;
    m.visibleAt = now + seconds * 1000;
    return true;
  }

  /** An S3 event notification naming these objects as they are now (ObjectCreated:Put). */
  notify(keys: string[]): string {
    return this.send(
      JSON.stringify({
        Records: keys.map((key) => {
          const r = this.refOf(key);
          return {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            eventTime: new Date(this.clock()).toISOString(),
            eventName: 'ObjectCreated:Put',
            s3: {
              s3SchemaVersion: '1.0',
              bucket: { name: this.bucket, arn: `arn:aws:s3:::${this.bucket}` },
              object: {
                key: encodeURIComponent(key).replace(/%2F/g, '/'),
                size: r.size,
                eTag: r.etag,
                versionId: r.version,
                sequencer: this.seq.toString(16).padStart(16, '0'),
              },
            },
          };
        }),
      }),
    );
  }

  /** What S3 sends once when a notification is configured. */
  sendTestEvent(): string {
    return this.send(
      JSON.stringify({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: new Date(this.clock()).toISOString(),
        Bucket: this.bucket,
      }),
    );
  }

  /** Messages not deleted (visible or in flight). */
  pending(): number {
    return this.messages.length;
  }

  /** How many times each message still queued was received. */
  receiveCounts(): Record<string, number> {
    return Object.fromEntries(this.messages.map((m) => [m.id, m.receives]));
  }

  // -- faults -------------------------------------------------------------------------------------

  /** The next `times` calls of `op` fail with `error` (a network error, a 503). */
  fail(op: SimOp, times = 1, error: Error = new Error(`simulated ${op} failure`)): void {
    this.faults.push({ op, times, error });
  }

  /** The next `n` object bodies (of `key`, or any) stop with an error after about half their bytes (a connection cut). */
  cutBodiesNext(n = 1, key?: string): void {
    for (let i = 0; i < n; i++) this.cutBodies.push({ key });
  }

  private fault(op: SimOp): void {
    const f = this.faults.find((x) => x.op === op && x.times > 0);
    if (!f) return;
    f.times--;
    throw f.error;
  }

  // -- what the reader uses -----------------------------------------------------------------------

  readonly objects = {
    get: async (ref: SimObjectRef, o: { start?: number; signal?: AbortSignal }) => {
      this.calls.push({ op: 'get', detail: `${ref.key}@${o.start ?? 0}` });
      this.fault('get');
      const obj = this.store.get(ref.key);
      if (!obj) return undefined; // NoSuchKey
      const start = o.start ?? 0;
      const c = this.cutBodies.findIndex((x) => x.key === undefined || x.key === ref.key);
      if (c !== -1) this.cutBodies.splice(c, 1);
      const cut = c === -1 ? undefined : Math.floor((obj.size - start) / 2);
      return this.stream(obj, start, cut, o.signal);
    },
    list: async (o: { prefix: string; startAfter?: string; signal?: AbortSignal }) => {
      this.calls.push({ op: 'list', detail: `${o.prefix}>${o.startAfter ?? ''}` });
      this.fault('list');
      const keys = [...this.store.keys()]
        .filter(
          (k) =>
            k.startsWith(o.prefix) &&
            (o.startAfter === undefined || Buffer.compare(Buffer.from(k), Buffer.from(o.startAfter)) > 0),
        )
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const page = keys.slice(0, this.pageSize);
      return { objects: page.map((k) => this.ref(this.store.get(k)!)), more: keys.length > page.length };
    },
  };

  readonly queue = {
    receive: async (o: { max: number; signal?: AbortSignal }) => {
      this.calls.push({ op: 'receive', detail: String(o.max) });
      this.fault('receive');
      const now = this.clock();
      const out: Array<{
        id: string;
        receipt: string;
        body: string;
        attributes: Record<string, string>;
        messageAttributes?: Record<string, unknown>;
      }> = [];
      for (const m of this.messages) {
        if (out.length >= Math.min(o.max, 10)) break;
        if (m.visibleAt > now) continue;
        m.receives++;
        m.firstReceivedAt ??= now;
        m.receipt = `${m.id}/r${m.receives}/${++this.seq}`;
        m.visibleAt = now + this.visibilityTimeoutMs;
        out.push({
          id: m.id,
          receipt: m.receipt,
          body: m.body,
          // system attributes (API Reference, ReceiveMessage, MessageSystemAttributeNames): epoch ms
          attributes: {
            SenderId: 'AIDASSYFHUBOBT7F4XT75',
            SentTimestamp: String(m.sentAt),
            ApproximateReceiveCount: String(m.receives),
            ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
          },
          ...(m.messageAttributes ? { messageAttributes: m.messageAttributes } : {}),
        });
      }
      return out;
    },
    delete: async (receipt: string, _o?: { signal?: AbortSignal }) => {
      this.calls.push({ op: 'delete', detail: receipt });
      this.fault('delete');
      const i = this.messages.findIndex((m) => m.receipt === receipt);
      if (i === -1) return; // an old receipt: succeeds, deletes nothing (see above)
      this.deleted.push(this.messages[i].id);
      this.messages.splice(i, 1);
    },
  };

  private async *stream(
    obj: StoredObject,
    start: number,
    cutAfter: number | undefined,
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    let sent = 0;
    const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = Buffer.isBuffer(obj.body)
      ? chunks(obj.body.subarray(start), this.chunkBytes)
      : skipBytes(obj.body(), start);
    for await (const chunk of source) {
      signal?.throwIfAborted();
      if (cutAfter !== undefined && sent + chunk.length > cutAfter) {
        yield chunk.subarray(0, cutAfter - sent);
        throw new Error('connection reset while reading the object body');
      }
      sent += chunk.length;
      yield chunk;
    }
  }
}

function* chunks(buf: Buffer, size: number): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function* skipBytes(src: AsyncIterable<Uint8Array>, skip: number): AsyncGenerator<Uint8Array> {
  let left = skip;
  for await (const c of src) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    yield left ? c.subarray(left) : c;
    left = 0;
  }
}
