import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

/**
 * An Exabeam Webhook Cloud Collector's ingest endpoint. Exabeam's pages document the collector but not its
 * wire format, so most of this is decided by the simulator from third-party senders:
 *
 * - Formats and auth — docs.exabeam.com, Cloud Collectors Administration Guide, "Generic Webhook Cloud
 *   Collector" (https://docs.exabeam.com/en/collectors/all/cloud-collectors-administration-guide/onboard-cloud-collectors/webhook-cloud-collectors/generic-webhook-cloud-collector.html),
 *   "Migrate the Webhook Cloud Collector": token-based authentication (the early-access connector used Basic),
 *   formats JSON and Raw (multiline).
 * - Paths and gzip — Edge Delta's Exabeam destination (https://docs.edgedelta.com/exabeam-output-node,
 *   "Example Configuration"): `POST https://api2.<region>.exabeam.cloud/cloud-collectors/v1/logs/json` with
 *   the collector's token, gzip on by default. Here `/cloud-collectors/v1/logs/json` takes a JSON array or one
 *   object and `/logs/raw` one event a line; `Content-Encoding: gzip` is accepted on both.
 * - Size — docs.exabeam.com, "Webhook Cloud Connector" (https://docs.exabeam.com/en/cloud-connectors/all/configuration/162010-webhook-cloud-connector.html,
 *   "Prerequisites"): the early-access connector limits a request to 100 MB; the simulator enforces no size.
 *
 * Decided by the simulator (no public page documents them): the token travels as `Authorization: Bearer
 * <token>`; 200 `{}` on success; 401 `{"message":"Unauthorized"}` for a missing or wrong token; 400 for a body
 * that is not JSON on /json; 404 for another format; an empty array is accepted; 429 and 503 (kit faults) are
 * how the collector says it cannot take more.
 */
export class ExabeamSimulator {
  readonly server = new SimServer({ name: 'exabeam' });
  token = `exa-${randomBytes(16).toString('hex')}`;
  /** Events received: parsed JSON objects, or raw lines (kept unless `keepEvents` is false). */
  readonly events: unknown[] = [];
  /** How many events were received. */
  count = 0;
  private readonly keep: boolean;

  constructor(o: { keepEvents?: boolean } = {}) {
    this.keep = o.keepEvents ?? true;
    this.server.hooks = {
      rateLimitReply: () => json(429, { message: 'Too Many Requests' }),
      errorReply: (_req, status) => json(status, { message: `simulated ${status}` }),
    };
    this.server.route('POST', '/cloud-collectors/v1/logs/:format', (req) => this.ingest(req));
  }

  get url(): string {
    return this.server.url;
  }
  start(): Promise<string> {
    return this.server.start();
  }
  stop(): Promise<void> {
    return this.server.stop();
  }

  private ingest(req: SimRequest): SimReply {
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(401, { message: 'Unauthorized' });
    const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body).toString(
      'utf8',
    );
    if (req.params.format === 'raw') {
      for (const line of body.split('\n')) if (line) this.take(line);
      return json(200, {});
    }
    if (req.params.format !== 'json') return json(404, { message: 'Not Found' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return json(400, { message: 'Invalid JSON' });
    }
    for (const e of Array.isArray(parsed) ? parsed : [parsed]) this.take(e);
    return json(200, {});
  }

  private take(e: unknown): void {
    this.count++;
    if (this.keep) this.events.push(e);
  }
}
