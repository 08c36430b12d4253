import type { Destination, SendResult } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { type Answer, chunk, eachChunk, encodeBody, HttpDelivery, utf8Bytes } from '../http-delivery.ts';
import { accountFor, type DestinationAccount, type DestinationContext } from '../kind.ts';
import { envelopeLine } from '../ndjson.ts';
import type { AzureMonitorLogsDestinationConfig } from './index.ts';

/**
 * The Logs Ingestion API in Azure Monitor, as Microsoft documents it (learn.microsoft.com/azure/azure-monitor/logs/
 * logs-ingestion-api-overview, "REST API call"; azure-monitor/service-limits, "Logs Ingestion API"):
 *
 * - `POST {endpoint}/dataCollectionRules/{DCR immutable ID}/streams/{stream}?api-version=2023-01-01`,
 *   `Authorization: Bearer` a Microsoft Entra token for https://monitor.azure.com, `Content-Type:
 *   application/json`, optionally `Content-Encoding: gzip`; the body is a JSON array of records shaped
 *   as the DCR's stream declaration. 204 No Content when accepted.
 * - The app needs the "Monitoring Metrics Publisher" role on the DCR; without it, 403.
 * - "Maximum size of API call: 1 MB", compressed or not (larger calls are refused with 413): a batch
 *   is split into calls below it, and a single event larger than that is dead-lettered.
 * - Throttling: 429 with Retry-After; 503 likewise.
 *
 * Each record is the envelope with `TimeGenerated` (its `time`) in front, so a DCR may pass it to a
 * custom table as it is or transform it (docs/destinations.md shows a DCR).
 */

export const API_VERSION = '2023-01-01';
/** The documented call limit, 1 MB, kept below in decimal bytes so either reading of "MB" holds. */
export const MAX_CALL_BYTES = 1_000_000;

export class AzureMonitorLogsDestination implements Destination {
  readonly kind = 'azure-monitor-logs';
  readonly name: string;
  private readonly c: AzureMonitorLogsDestinationConfig;
  private readonly ctx: DestinationContext;
  private readonly delivery: HttpDelivery;
  private readonly url: string;

  constructor(name: string, config: AzureMonitorLogsDestinationConfig, ctx: DestinationContext) {
    this.name = name;
    this.c = config;
    this.ctx = ctx;
    const base = config.endpoint.replace(/\/+$/, '');
    this.delivery = new HttpDelivery(name, base, config);
    this.url = `${base}/dataCollectionRules/${encodeURIComponent(config.dcrImmutableId)}/streams/${encodeURIComponent(config.stream)}?api-version=${API_VERSION}`;
  }

  private credential(): Promise<DestinationAccount> {
    return accountFor(this.ctx, this.name, this.c.account, ['microsoft']);
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<SendResult | undefined> {
    const records = events.map((e) => ({
      event: e,
      text: `{"TimeGenerated":${JSON.stringify(e.time)},${envelopeLine(e).slice(1)}`,
    }));
    const { chunks, oversize } = chunk(records, (r) => utf8Bytes(r.text), {
      maxBytes: this.c.maxBatchBytes,
      maxItems: this.c.maxBatchEvents,
      framing: 2,
      separator: 1,
      oversize: true,
    });
    const credential = await this.credential();
    await eachChunk(chunks, (c) => this.post(`[${c.map((r) => r.text).join(',')}]`, credential, signal));
    return oversize.length
      ? {
          rejected: oversize.map((r) => ({
            event: r.event,
            reason: `Azure Monitor: the event alone is larger than a Logs Ingestion API call may be (${this.c.maxBatchBytes} bytes)`,
          })),
        }
      : undefined;
  }

  private async post(json: string, credential: DestinationAccount, signal: AbortSignal): Promise<void> {
    const body = await encodeBody(json, this.c.gzip);
    await this.delivery.exchange(
      async ({ refresh }) => {
        const headers = new Headers({ 'content-type': 'application/json' });
        if (this.c.gzip) headers.set('content-encoding', 'gzip');
        headers.set('x-ms-client-request-id', crypto.randomUUID());
        await credential.authorize(headers, new URL(this.url), { refresh });
        return { url: this.url, headers, body };
      },
      (a, { refreshed }) => this.judge(a, refreshed),
      signal,
    );
  }

  /** 401 once: a fresh token, then the refusal; 429/5xx retried; other answers refused. */
  private judge(a: Answer, refreshed: boolean) {
    if (a.status === 401 && !refreshed)
      return { retry: 'HTTP 401: the token was refused', reauthorize: true };
    return this.delivery.statusVerdict(a, {
      message: azureMessage,
      actions: {
        401: `Check that account ${this.c.account} belongs to the DCR's tenant and cloud.`,
        403: `Assign the Monitoring Metrics Publisher role on the data collection rule to the app of account ${this.c.account} (it can take 30 minutes to apply).`,
        404: `Check the endpoint and DCR immutable ID of destination ${this.name}.`,
        400: `Check the stream of destination ${this.name}: it must be declared in the DCR, with columns for the envelope's fields.`,
        413: `Lower maxBatchBytes of destination ${this.name}.`,
      },
    });
  }

  /**
   * Test: an empty array posted to the stream. It proves the token (the account), the role on the DCR
   * and that the DCR and its stream exist; nothing is ingested.
   */
  async test(signal: AbortSignal): Promise<void> {
    const once = new HttpDelivery(this.name, this.c.endpoint, { ...this.c, maxAttempts: 1 });
    const credential = await this.credential();
    await once.exchange(
      async ({ refresh }) => {
        const headers = new Headers({ 'content-type': 'application/json' });
        await credential.authorize(headers, new URL(this.url), { refresh });
        return { url: this.url, headers, body: Buffer.from('[]') };
      },
      (a, { refreshed }) => this.judge(a, refreshed),
      signal,
    );
  }

  async close(): Promise<void> {}
}

/** Azure's error body: `{"error":{"code","message"}}`. */
function azureMessage(a: Answer): string | undefined {
  const e = a.json<{ error?: { code?: string; message?: string } }>()?.error;
  return e ? `${e.code ?? 'Error'}: ${e.message ?? ''}` : undefined;
}
