import { createHash } from 'node:crypto';
import { GoogleTokenSimulator, googleError } from '../../sim/google.ts';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

/**
 * The Chronicle API's `logs.import` with Google's service-account token endpoint
 * (src/sim/google.ts), as Google documents it (cloud.google.com/chronicle/docs/reference/
 * ingestion-methods; reference/rest/v1alpha/projects.locations.instances.logTypes.logs/import):
 *
 * - `POST /{v1|v1alpha|v1beta}/projects/{p}/locations/{l}/instances/{customer id}/logTypes/{t}/logs:import`
 *   with a bearer token carrying the cloud-platform or chronicle scope; `{"inlineSource":{"logs":[…]}}`,
 *   each log's `data` base64; 200 with an empty body.
 * - IAM permission `chronicle.logs.import`, refused with 403 PERMISSION_DENIED; Google's JSON errors.
 * - "If the batch ID matches … the new batch of logs is not forwarded": a batch whose logs are those of
 *   an earlier batch is answered 200 and dropped.
 * - The Ingestion API's "maximum log size is 1 MB".
 *
 * Assumed where the pages are silent: requests above 1 MB are 400 INVALID_ARGUMENT (as Google front
 * ends word it, "Request payload size exceeds the limit"); an unknown instance or log type in the path
 * is 404 NOT_FOUND; an empty `logs` list is 400 INVALID_ARGUMENT, after the token and permission
 * checks; the batch ID is a digest of the logs' data.
 */

const SCOPES = [
  'https://www.googleapis.com/auth/cloud-platform',
  'https://www.googleapis.com/auth/chronicle',
];

export class GoogleSecOpsSimulator {
  readonly server = new SimServer({ name: 'chronicle' });
  readonly tokens = new GoogleTokenSimulator();
  readonly project = 'acme-secops';
  readonly location = 'us';
  readonly customerId = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
  readonly logTypes = new Set(['OKTA', 'WORKSPACE_ACTIVITY', 'AZURE_AD']);
  /** The service account holds chronicle.logs.import. */
  canImport = true;
  maxRequestBytes = 1_000_000;
  /** Logs imported: the decoded data, parsed when JSON, with their times and labels. */
  readonly logs: Array<{
    logType: string;
    data: unknown;
    logEntryTime?: string;
    collectionTime?: string;
    environmentNamespace?: string;
    labels?: unknown;
  }> = [];
  readonly ids: string[] = [];
  /** Batches dropped as duplicates. */
  duplicates = 0;
  /** Bytes of each import request. */
  readonly requests: number[] = [];
  private readonly batches = new Set<string>();
  private readonly keep: boolean;

  constructor(o: { keepLogs?: boolean } = {}) {
    this.keep = o.keepLogs ?? true;
    this.tokens.mount(this.server);
    this.server.hooks = {
      rateLimitReply: () =>
        googleError(429, 'Quota exceeded for quota metric', 'RESOURCE_EXHAUSTED', 'rateLimitExceeded'),
      errorReply: (_req, status) =>
        googleError(
          status,
          status === 503 ? 'The service is currently unavailable.' : `simulated ${status}`,
          status === 503 ? 'UNAVAILABLE' : status === 404 ? 'NOT_FOUND' : 'INTERNAL',
          'backendError',
        ),
    };
    this.server.route(
      'POST',
      '/:version/projects/:project/locations/:location/instances/:instance/logTypes/:logType/logs:import',
      (req) => this.import(req),
    );
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

  private import(req: SimRequest): SimReply {
    const { version, project, location, instance, logType } = req.params as Record<string, string>;
    if (!['v1', 'v1alpha', 'v1beta'].includes(version!))
      return googleError(404, 'Not Found', 'NOT_FOUND', 'notFound');
    const auth = this.tokens.authenticate(req, SCOPES);
    if (!auth.ok) return auth.reply;
    const resource = `projects/${project}/locations/${location}/instances/${instance}`;
    if (project !== this.project || location !== this.location || instance !== this.customerId)
      return googleError(404, `Instance ${resource} not found.`, 'NOT_FOUND', 'notFound');
    if (!this.canImport)
      return googleError(
        403,
        `Permission 'chronicle.logs.import' denied on resource '//chronicle.googleapis.com/${resource}/logTypes/${logType}' (or it may not exist).`,
        'PERMISSION_DENIED',
        'IAM_PERMISSION_DENIED',
      );
    if (!this.logTypes.has(logType!))
      return googleError(404, `Log type '${logType}' not found.`, 'NOT_FOUND', 'notFound');
    this.requests.push(req.body.byteLength);
    if (req.body.byteLength > this.maxRequestBytes)
      return googleError(
        400,
        `Request payload size exceeds the limit: ${this.maxRequestBytes} bytes.`,
        'INVALID_ARGUMENT',
        'badRequest',
      );
    let body: { inlineSource?: { logs?: Array<Record<string, unknown>>; forwarder?: string } };
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return googleError(400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT', 'badRequest');
    }
    const logs = body.inlineSource?.logs;
    if (!Array.isArray(logs) || !logs.length)
      return googleError(400, 'inline_source.logs: must not be empty.', 'INVALID_ARGUMENT', 'badRequest');
    const decoded: Buffer[] = [];
    for (const [i, l] of logs.entries()) {
      if (typeof l.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(l.data))
        return googleError(
          400,
          `inline_source.logs[${i}].data: invalid base64.`,
          'INVALID_ARGUMENT',
          'badRequest',
        );
      const d = Buffer.from(l.data, 'base64');
      if (d.byteLength > 1024 * 1024)
        return googleError(
          400,
          `inline_source.logs[${i}]: the maximum log size is 1 MB.`,
          'INVALID_ARGUMENT',
          'badRequest',
        );
      if (l.logEntryTime !== undefined && Number.isNaN(Date.parse(String(l.logEntryTime))))
        return googleError(
          400,
          `inline_source.logs[${i}].log_entry_time: invalid timestamp.`,
          'INVALID_ARGUMENT',
          'badRequest',
        );
      decoded.push(d);
    }
    const batchId = createHash('sha256');
    for (const d of decoded) batchId.update(d).update('\n');
    const id = `${logType}:${batchId.digest('hex')}`;
    if (this.batches.has(id)) {
      this.duplicates++;
      return json(200, {});
    }
    this.batches.add(id);
    logs.forEach((l, i) => {
      const text = decoded[i]!.toString('utf8');
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        /* plain text logs stay text */
      }
      this.ids.push(String((data as { id?: unknown })?.id ?? ''));
      if (this.keep)
        this.logs.push({
          logType: logType!,
          data,
          logEntryTime: l.logEntryTime as string | undefined,
          collectionTime: l.collectionTime as string | undefined,
          environmentNamespace: l.environmentNamespace as string | undefined,
          labels: l.labels,
        });
    });
    return json(200, {});
  }
}
