import type { Destination, SendResult } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import { snippet } from '../../engine/http.ts';
import { type Answer, chunk, eachChunk, encodeBody, HttpDelivery, utf8Bytes } from '../http-delivery.ts';
import { envelopeLine } from '../ndjson.ts';

/**
 * Elasticsearch and OpenSearch through the `_bulk` API, as Elastic documents it (elastic.co/docs/api →
 * Elasticsearch → document → "Bulk index or delete documents"; OpenSearch: docs.opensearch.org → API
 * reference → Document APIs → Bulk):
 *
 * - NDJSON, an action line and a source line per document, the body ending with a newline. `create`
 *   fails when a document with the same `_id` exists ("create will fail if a document with the same ID
 *   already exists"), and it is the only action data streams accept ("Data streams support only the
 *   create action"); every document indexed into a data stream needs `@timestamp`.
 * - The answer is 200 even when items fail: `errors: true` and, per item in request order, its `status`
 *   and `error` {type, reason}. `filter_path` trims the answer to what is read here.
 * - A node that cannot keep up refuses items (or the whole request) with 429
 *   `es_rejected_execution_exception`; shards unavailable are 503.
 * - Credentials: `Authorization: ApiKey <encoded>` (the "encoded" value Elasticsearch shows when an API
 *   key is created), Basic, or Bearer (a token service or OpenSearch JWT token).
 *
 * Here: each envelope is a document whose `_id` is the envelope's `id` and whose `@timestamp` is its
 * `time`, sent with `create`. Per item: 201 (created) and 409 (version conflict: already there, a
 * re-delivery) count as delivered; 429 and 5xx items are sent again, alone, with backoff; 401, 403 and
 * 404 items, a missing ingest pipeline and a data stream refusing the action are config errors (every
 * event would fail alike); any other refusal (a mapping error: `document_parsing_exception`,
 * `mapper_parsing_exception`, a field limit) dead-letters that event with the reason.
 */

export type BulkAuth =
  | { type: 'apiKey'; apiKey: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string };

export interface BulkOptions {
  url: string;
  index: string;
  pipeline?: string;
  auth?: BulkAuth;
  gzip: boolean;
  timeout: number;
  maxBatchBytes: number;
  maxBatchEvents: number;
  concurrency: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

interface Item {
  event: Envelope;
  text: string;
}

interface BulkItemResult {
  status?: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
}

const FILTER = 'errors,items.*.status,items.*.error.type,items.*.error.reason,items.*.error.caused_by';

export class BulkDestination implements Destination {
  readonly kind: 'elasticsearch' | 'opensearch';
  readonly name: string;
  private readonly o: BulkOptions;
  private readonly base: string;
  private readonly delivery: HttpDelivery;
  private readonly title: string;

  constructor(kind: 'elasticsearch' | 'opensearch', name: string, options: BulkOptions) {
    this.kind = kind;
    this.title = kind === 'elasticsearch' ? 'Elasticsearch' : 'OpenSearch';
    this.name = name;
    this.o = options;
    this.base = options.url.replace(/\/+$/, '');
    // A bulk answer names every item: about 60 bytes each once filtered, more for the refused ones.
    this.delivery = new HttpDelivery(name, this.base, { ...options, maxResponseBytes: 64 * 1024 * 1024 });
  }

  private headers(json = 'application/x-ndjson'): Headers {
    const h = new Headers({ 'content-type': json });
    const a = this.o.auth;
    if (a?.type === 'apiKey') h.set('authorization', `ApiKey ${a.apiKey}`);
    else if (a?.type === 'basic')
      h.set('authorization', `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`);
    else if (a?.type === 'bearer') h.set('authorization', `Bearer ${a.token}`);
    return h;
  }

  private item(e: Envelope): Item {
    const action = `{"create":{"_index":${JSON.stringify(this.o.index)},"_id":${JSON.stringify(e.id)}}}`;
    // The envelope with `@timestamp` first (data streams require it), built from the encoded line.
    const doc = `{"@timestamp":${JSON.stringify(e.time)},${envelopeLine(e).slice(1)}`;
    return { event: e, text: `${action}\n${doc}\n` };
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<SendResult | undefined> {
    const items = events.map((e) => this.item(e));
    const { chunks } = chunk(items, (i) => utf8Bytes(i.text), {
      maxBytes: this.o.maxBatchBytes,
      maxItems: this.o.maxBatchEvents,
    });
    const rejected: Array<{ event: Envelope; reason: string }> = [];
    await eachChunk(chunks, (c) =>
      this.delivery.partial(
        c,
        async (left) => {
          const results = await this.bulk(left, signal);
          const again: Item[] = [];
          const statuses = new Map<number, number>();
          left.forEach((item, i) => {
            const r = results[i]!;
            const s = r.status ?? 0;
            if ((s >= 200 && s < 300) || s === 409) return;
            if (s === 429 || s >= 500) {
              again.push(item);
              statuses.set(s, (statuses.get(s) ?? 0) + 1);
              return;
            }
            const reason = reasonOf(r);
            if (s === 401 || s === 403 || s === 404 || isSettingsError(reason))
              throw configError(
                'destination_rejected',
                `${this.title} refused events for destination ${this.name} at ${this.delivery.origin} (HTTP ${s}: ${snippet(reason)}).`,
                s === 401 || s === 403
                  ? `Grant the credentials of destination ${this.name} the create_doc (or create, index, write) privilege on ${this.o.index}, and auto_configure to create it.`
                  : /pipeline/i.test(reason)
                    ? `Create ingest pipeline ${this.o.pipeline ?? ''} or remove the pipeline setting of destination ${this.name}.`
                    : `Check the index of destination ${this.name} and its index template (docs/destinations.md).`,
                s,
              );
            rejected.push({ event: item.event, reason: `${this.title} ${s} ${snippet(reason, 500)}` });
          });
          return {
            again,
            retryable: true,
            detail: `${again.length} of ${left.length} events refused with ${[...statuses].map(([s, n]) => `${n}×${s}`).join(', ')}`,
          };
        },
        signal,
      ),
    );
    return rejected.length ? { rejected } : undefined;
  }

  /** One `_bulk` request until it is answered 200 with a result per item (in request order). */
  private async bulk(items: Item[], signal: AbortSignal): Promise<BulkItemResult[]> {
    const q = new URLSearchParams({ filter_path: FILTER });
    if (this.o.pipeline) q.set('pipeline', this.o.pipeline);
    const url = `${this.base}/_bulk?${q}`;
    const headers = this.headers();
    if (this.o.gzip) headers.set('content-encoding', 'gzip');
    const body = await encodeBody(items.map((i) => i.text).join(''), this.o.gzip);
    return this.delivery.exchange<BulkItemResult[]>(
      () => ({ url, headers, body }),
      (a) => {
        if (a.status !== 200) return this.delivery.statusVerdict(a, this.verdictOptions()) as never;
        const reply = a.json<{ errors?: boolean; items?: Array<Record<string, BulkItemResult>> }>();
        if (!reply || !Array.isArray(reply.items) || reply.items.length !== items.length)
          return { retry: `an unreadable _bulk answer (${a.truncated ? 'too long' : 'items missing'})` };
        return { ok: reply.items.map((x) => Object.values(x)[0] ?? {}) };
      },
      signal,
    );
  }

  private verdictOptions() {
    return {
      message: (a: Answer) => {
        const e = a.json<{ error?: { type?: string; reason?: string } | string }>()?.error;
        return typeof e === 'string' ? e : e ? `${e.type ?? 'error'}: ${e.reason ?? ''}` : undefined;
      },
      actions: {
        401: `Check the credentials (auth) of destination ${this.name}.`,
        403: `Grant the credentials of destination ${this.name} the create_doc privilege on ${this.o.index}.`,
        404: `Check the URL of destination ${this.name}: it must be the cluster's address, e.g. https://es.example.com:9200.`,
        413: `Lower maxBatchBytes of destination ${this.name} below the cluster's http.max_content_length.`,
      },
    };
  }

  /**
   * Test: `GET /` proves the address and the credentials; on Elasticsearch, `_has_privileges` proves
   * the right to create documents in the index (OpenSearch has no such check: the first delivery
   * shows a missing permission), and a configured ingest pipeline must exist.
   */
  async test(signal: AbortSignal): Promise<void> {
    const once = new HttpDelivery(this.name, this.base, { ...this.o, maxAttempts: 1 });
    const opts = this.verdictOptions();
    await once.exchange(
      () => ({ url: `${this.base}/`, method: 'GET', headers: this.headers('application/json') }),
      (a) => once.statusVerdict(a, opts),
      signal,
    );
    if (this.kind !== 'elasticsearch') return;
    const body = Buffer.from(
      JSON.stringify({ index: [{ names: [this.o.index], privileges: ['create_doc'] }] }),
    );
    const privileges = await once.exchange(
      () => ({
        url: `${this.base}/_security/user/_has_privileges`,
        headers: this.headers('application/json'),
        body,
      }),
      (a) => {
        if (a.status === 200) return { ok: a.json<{ has_all_requested?: boolean }>() };
        // Security off (a development cluster): nothing to check.
        if (a.status === 400 || a.status === 404 || a.status === 410) return { ok: undefined };
        return once.statusVerdict(a, opts) as never;
      },
      signal,
    );
    if (privileges && privileges.has_all_requested === false)
      throw configError(
        'destination_forbidden',
        `The credentials of destination ${this.name} may not create documents in ${this.o.index}.`,
        `Grant them the create_doc privilege (and auto_configure, to create the data stream) on ${this.o.index}.`,
        403,
      );
    if (!this.o.pipeline) return;
    await once.exchange<unknown>(
      () => ({
        url: `${this.base}/_ingest/pipeline/${encodeURIComponent(this.o.pipeline!)}`,
        method: 'GET',
        headers: this.headers('application/json'),
      }),
      (a) => {
        if (a.status === 404)
          throw configError(
            'destination_pipeline_missing',
            `Ingest pipeline ${this.o.pipeline} of destination ${this.name} does not exist.`,
            `Create the pipeline, or remove the pipeline setting of destination ${this.name}.`,
            404,
          );
        if (a.status === 403) return { ok: undefined }; // reading pipelines needs a privilege delivery does not
        return once.statusVerdict(a, opts);
      },
      signal,
    );
  }

  async close(): Promise<void> {}
}

function reasonOf(r: BulkItemResult): string {
  const e = r.error;
  if (!e) return `status ${r.status ?? 'missing'}`;
  const cause = e.caused_by?.reason ? ` (${e.caused_by.type ?? 'caused by'}: ${e.caused_by.reason})` : '';
  return `${e.type ?? 'error'}: ${e.reason ?? ''}${cause}`;
}

/** Item errors that every event of the destination would meet alike: a setting, not the event. */
function isSettingsError(reason: string): boolean {
  return (
    /pipeline with id \[[^\]]*\] does not exist/i.test(reason) ||
    /only write ops with an op_type of create are allowed in data streams/i.test(reason) ||
    /index_not_found_exception|no such index/i.test(reason) ||
    /security_exception/i.test(reason)
  );
}
