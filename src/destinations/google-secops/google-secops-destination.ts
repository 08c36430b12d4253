import type { Destination, SendResult } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { type Answer, chunk, eachChunk, encodeBody, HttpDelivery } from '../http-delivery.ts';
import { accountFor, type DestinationAccount, type DestinationContext } from '../kind.ts';
import { envelopeLine } from '../ndjson.ts';
import type { GoogleSecOpsDestinationConfig } from './index.ts';

/**
 * Google Security Operations through the Chronicle API's `logs.import`, as Google documents it
 * (cloud.google.com/chronicle/docs/reference/ingestion-methods; reference/rest/v1alpha/
 * projects.locations.instances.logTypes.logs/import; reference/parity/ingestion/import-logs, which maps
 * the deprecated Ingestion API's unstructuredlogentries:batchCreate onto it):
 *
 * - `POST https://chronicle.{region}.rep.googleapis.com/{version}/projects/{project}/locations/{region}/
 *   instances/{customer id}/logTypes/{log type}/logs:import`, body `{"inlineSource":{"logs":[Log…],
 *   "forwarder"}}` where a Log has `data` (base64 bytes), `logEntryTime`, `collectionTime`,
 *   `environmentNamespace` and `labels` {key: {value}}. Empty body when successful (200).
 * - OAuth scope cloud-platform (or chronicle); IAM permission `chronicle.logs.import` on the instance.
 *   Legacy Ingestion API keys are not accepted.
 * - A batch whose logs are all the same as an earlier batch's is dropped as a duplicate (its batch ID
 *   repeats): a re-sent batch is not ingested twice, unless it was split differently.
 * - Size: the Ingestion API documents "The maximum log size is 1 MB"; the Chronicle API page states no
 *   request limit, so requests are kept within 1 MB too (assumed), base64 included, and a log too
 *   large for one request (about 740 KB of envelope) is dead-lettered.
 *
 * Each log is the envelope's JSON line; `logEntryTime` is its `time`, `collectionTime` its
 * `ingested_at`.
 */

export const MAX_REQUEST_BYTES = 1_000_000;

/** The regional Chronicle API ("Regional endpoints": chronicle.REGION.rep.googleapis.com). */
export const chronicleEndpoint = (region: string) => `https://chronicle.${region}.rep.googleapis.com`;
/** `{"inlineSource":{"logs":[` … `]}}` and an optional forwarder, generously. */
const FRAMING = 512;

export class GoogleSecOpsDestination implements Destination {
  readonly kind = 'google-secops';
  readonly name: string;
  private readonly c: GoogleSecOpsDestinationConfig;
  private readonly ctx: DestinationContext;
  private readonly delivery: HttpDelivery;
  readonly url: string;
  private readonly common: string;

  constructor(name: string, config: GoogleSecOpsDestinationConfig, ctx: DestinationContext) {
    this.name = name;
    this.c = config;
    this.ctx = ctx;
    const base = (config.endpoint ?? `https://chronicle.${config.region}.rep.googleapis.com`).replace(
      /\/+$/,
      '',
    );
    this.delivery = new HttpDelivery(name, base, config);
    const parent = `projects/${encodeURIComponent(config.project)}/locations/${encodeURIComponent(config.region)}/instances/${encodeURIComponent(config.instance)}`;
    this.url = `${base}/${config.apiVersion}/${parent}/logTypes/${encodeURIComponent(config.logType)}/logs:import`;
    const labels = Object.entries(config.labels);
    this.common =
      (config.namespace ? `,"environmentNamespace":${JSON.stringify(config.namespace)}` : '') +
      (labels.length
        ? `,"labels":{${labels.map(([k, v]) => `${JSON.stringify(k)}:{"value":${JSON.stringify(v)}}`).join(',')}}`
        : '');
  }

  private credential(): Promise<DestinationAccount> {
    return accountFor(this.ctx, this.name, this.c.account, ['google']);
  }

  private log(e: Envelope): { event: Envelope; text: string } {
    const data = Buffer.from(envelopeLine(e)).toString('base64');
    return {
      event: e,
      text: `{"data":"${data}","logEntryTime":${JSON.stringify(e.time)},"collectionTime":${JSON.stringify(e.ingested_at)}${this.common}}`,
    };
  }

  private body(logs: string[]): string {
    const forwarder = this.c.forwarder ? `,"forwarder":${JSON.stringify(this.c.forwarder)}` : '';
    return `{"inlineSource":{"logs":[${logs.join(',')}]${forwarder}}}`;
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<SendResult | undefined> {
    const logs = events.map((e) => this.log(e));
    const { chunks, oversize } = chunk(
      logs,
      (l) => l.text.length, // ASCII: base64 and JSON-escaped names
      {
        maxBytes: this.c.maxBatchBytes,
        maxItems: this.c.maxBatchEvents,
        framing: FRAMING,
        separator: 1,
        oversize: true,
      },
    );
    const credential = await this.credential();
    await eachChunk(chunks, (c) => this.post(this.body(c.map((l) => l.text)), credential, signal));
    const rejected = oversize.map((l) => ({
      event: l.event,
      reason: `Google SecOps: the log is larger than a request may be (${this.c.maxBatchBytes} bytes once encoded)`,
    }));
    return rejected.length ? { rejected } : undefined;
  }

  private async post(json: string, credential: DestinationAccount, signal: AbortSignal, probe = false) {
    const body = await encodeBody(json, false);
    const once = probe ? new HttpDelivery(this.name, this.url, { ...this.c, maxAttempts: 1 }) : this.delivery;
    await once.exchange(
      async ({ refresh }) => {
        const headers = new Headers({ 'content-type': 'application/json' });
        await credential.authorize(headers, new URL(this.url), { refresh });
        return { url: this.url, headers, body };
      },
      (a, { refreshed }) => {
        if (a.status === 401 && !refreshed)
          return { retry: 'HTTP 401: the token was refused', reauthorize: true };
        // Test: an empty import is refused as invalid only after the token and the permission passed.
        if (probe && a.status === 400) return { ok: a };
        return once.statusVerdict(a, {
          message: googleMessage,
          actions: {
            401: `Check account ${this.c.account}: its service account key may be deleted or disabled.`,
            403: `Grant the service account of account ${this.c.account} the chronicle.logs.import permission on the instance (e.g. the Chronicle API Editor role in project ${this.c.project}), and check the region.`,
            404: `Check the project, region, customer ID and log type of destination ${this.name} (ListLogTypes names the log types).`,
            400: `Check the labels, namespace and forwarder of destination ${this.name}.`,
            413: `Lower maxBatchBytes of destination ${this.name}.`,
          },
        });
      },
      signal,
    );
  }

  /**
   * Test: an import with no logs. It proves the token (the account), the permission on the instance
   * and the path (project, region, customer ID, log type); Google refuses the empty list itself with
   * 400 once those pass, and nothing is ingested.
   */
  async test(signal: AbortSignal): Promise<void> {
    await this.post(this.body([]), await this.credential(), signal, true);
  }

  async close(): Promise<void> {}
}

/** Google's error body: `{"error":{"code","message","status"}}`. */
function googleMessage(a: Answer): string | undefined {
  const e = a.json<{ error?: { message?: string; status?: string } }>()?.error;
  return e ? `${e.status ?? 'ERROR'}: ${e.message ?? ''}` : undefined;
}
