import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

/**
 * An Exabeam Webhook Cloud Collector's ingest endpoint, as far as anything public shows it (third-party
 * code and docs, /work notes in docs/destinations.md "exabeam"): `POST /cloud-collectors/v1/logs/json`
 * (a JSON array, or one object) and `/logs/raw` (lines), a bearer token issued by the collector, gzip
 * optional, 429 and 503 when it cannot take more.
 *
 * Assumed, as no public page documents them: 200 `{}` on success, 401 `{"message":"Unauthorized"}` for
 * a missing or wrong token, 400 for a body that is not JSON on /json, and an empty array accepted.
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
