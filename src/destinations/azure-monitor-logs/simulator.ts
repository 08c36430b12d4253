import { gunzipSync } from 'node:zlib';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';
import { EntraIdentitySim } from '../../sim/microsoft.ts';

/**
 * The Azure Monitor Logs Ingestion API with its Entra ID token endpoint (src/sim/microsoft.ts), as
 * Microsoft documents them (learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview,
 * "REST API call" and "Troubleshooting"; azure-monitor/service-limits, "Logs Ingestion API"):
 *
 * - `POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01` with a bearer token
 *   issued for https://monitor.azure.com; a JSON array body, optionally gzipped; 204 when accepted.
 * - 403 when the app lacks "Monitoring Metrics Publisher" on the DCR ("The authentication token
 *   provided does not have access to ingest data for the data collection rule with immutable Id …").
 * - 413 above 1 MB per call, compressed or not; 429 with Retry-After when throttled.
 *
 * Assumed where the pages are silent: error bodies are `{"error":{"code","message"}}` with the codes
 * used below; a missing or unsupported api-version is 400; a token for another audience is 401; an
 * unknown DCR is 404; a stream the DCR does not declare, or a body that is not a JSON array of objects,
 * is 400; an empty array is accepted (204, nothing ingested).
 */

export const MONITOR_RESOURCE = 'https://monitor.azure.com';
const LIMIT = 1024 * 1024;

const azError = (status: number, code: string, message: string, headers = {}): SimReply =>
  json(status, { error: { code, message } }, headers);

export class AzureMonitorLogsSimulator {
  readonly server = new SimServer({ name: 'azure-monitor' });
  readonly identity: EntraIdentitySim;
  readonly dcrId = 'dcr-0a1b2c3d4e5f60718293a4b5c6d7e8f9';
  /** Streams the DCR declares. */
  readonly streams = new Set(['Custom-TributaryEvents']);
  /** The app holds Monitoring Metrics Publisher on the DCR. */
  roleAssigned = true;
  readonly records: Array<Record<string, unknown>> = [];
  /** Envelope ids ingested, repeats included. */
  readonly ids: string[] = [];
  /** Bytes of each call, as sent and uncompressed. */
  readonly calls: Array<{ sent: number; raw: number; records: number }> = [];
  private readonly keep: boolean;

  constructor(o: { keepRecords?: boolean } = {}) {
    this.keep = o.keepRecords ?? true;
    // Graph too: a token for another API is refused here (the audience check).
    this.identity = new EntraIdentitySim(this.server, {
      resources: [MONITOR_RESOURCE, 'https://graph.microsoft.com'],
    });
    this.server.hooks = {
      rateLimitReply: () =>
        azError(
          429,
          'TooManyRequests',
          'Request was throttled. Retry after the time in the Retry-After header.',
        ),
      errorReply: (_req, status) =>
        status === 503
          ? azError(503, 'ServiceUnavailable', 'The service is temporarily unavailable.')
          : azError(status, status === 404 ? 'NotFound' : 'InternalServerError', `simulated ${status}`),
    };
    this.server.route('POST', '/dataCollectionRules/:dcr/streams/:stream', (req) => this.ingest(req));
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
    const version = req.query.get('api-version');
    if (!version)
      return azError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    if (version !== '2023-01-01')
      return azError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${version}' is invalid. The supported versions are '2023-01-01,2021-11-01-preview'.`,
      );
    const denied = this.identity.check(req, MONITOR_RESOURCE);
    if (denied)
      return azError(
        401,
        'InvalidToken',
        'The provided access token is invalid, expired, or was issued for another audience than https://monitor.azure.com.',
      );
    const dcr = req.params.dcr!;
    if (dcr !== this.dcrId)
      return azError(404, 'NotFound', `Data collection rule with immutable Id '${dcr}' not found.`);
    if (!this.roleAssigned)
      return azError(
        403,
        'OperationFailed',
        `The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '${dcr}'.`,
      );
    const gz = req.headers['content-encoding'] === 'gzip';
    if (req.body.byteLength > LIMIT)
      return azError(413, 'ContentLengthLimitExceeded', 'Maximum request body size of 1 MB exceeded.');
    const raw = gz ? gunzipSync(req.body) : req.body;
    if (raw.byteLength > LIMIT)
      return azError(
        413,
        'ContentLengthLimitExceeded',
        'Maximum request body size of 1 MB exceeded (uncompressed).',
      );
    const stream = req.params.stream!;
    if (!this.streams.has(stream))
      return azError(
        400,
        'InvalidStream',
        `Stream '${stream}' is not declared in the data collection rule '${dcr}'.`,
      );
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return azError(400, 'InvalidPayload', 'The request body is not valid JSON.');
    }
    if (!Array.isArray(body) || body.some((r) => !r || typeof r !== 'object' || Array.isArray(r)))
      return azError(400, 'InvalidPayload', 'The request body must be a JSON array of objects.');
    this.calls.push({ sent: req.body.byteLength, raw: raw.byteLength, records: body.length });
    for (const r of body as Array<Record<string, unknown>>) {
      this.ids.push(String(r.id ?? ''));
      if (this.keep) this.records.push(r);
    }
    return { status: 204 };
  }
}
