import { z } from 'zod';
import { type TenableAccount, tenableUrl } from '../../accounts/tenable.ts';
import { transientError } from '../../core/errors.ts';
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import { type ArtifactRecord, recordParts } from '../../engine/artifact-list.ts';
import { type ExportJobStatus, readExportJob } from '../../engine/export-job.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Tenable Vulnerability Management (Tenable.io): vulnerability findings and assets through the export APIs,
 * and the audit log, with the `tenable` account (API keys; vendor facts there). Vendor facts:
 *
 * - Exports (developer.tenable.com, "Export vulnerabilities" / "Export assets"; docs.tenable.com, "Generate
 *   the Vulnerability Export File"; Tenable's Splunk add-on lists the same calls): `POST /vulns/export`
 *   `{num_assets (50–5000), filters}` and `POST /assets/export` `{chunk_size (100–10000), filters}` answer
 *   `{export_uuid}`; `GET /{vulns|assets}/export/{uuid}/status` answers `{status: QUEUED | PROCESSING |
 *   FINISHED | CANCELLED | ERROR, chunks_available: [ids], …}`; `GET /…/export/{uuid}/chunks/{id}` answers
 *   the chunk, a JSON array of records. Chunks become available while the export is still processing.
 * - Filters: vulnerabilities `indexed_at` ("findings indexed into Tenable after this timestamp", pyTenable's
 *   `exports.vulns`); assets `updated_at`. Unix seconds. (`since` filters on when a scan saw a finding, so a
 *   scan indexed after an export was asked would be missed by the next one; `indexed_at` does not miss it.)
 * - Concurrency (developer.tenable.com, "Concurrency Limiting"): ten concurrent exports per container, and no
 *   duplicate export (same filters) while one runs; over the limit Tenable answers 429 with `retry-after`
 *   (honoured by the HTTP client). A duplicate is answered 409 here (assumed status): transient, retried by
 *   the next run.
 * - Rate limits (developer.tenable.com, "Rate Limiting"): per API user, by current load, 429 + `retry-after`.
 * - Audit log (developer.tenable.com, "Audit log: Get events"): `GET /audit-log/v1/events?f=date.gt:YYYY-MM-DD
 *   &f=date.lt:YYYY-MM-DD&limit=…` (limit ≤ 5000) answers `{events: [{id, action, crud, is_anonymous,
 *   is_failure, received, description, actor {id name}, target {id name type}, fields}], pagination: {total,
 *   limit}}`; filters are whole days and there is no paging.
 *
 * How it reads. Exports (engine/export-job.ts): the job is saved in the checkpoint before its chunks are read,
 * chunks are delivered as they become available (ids of those done in the checkpoint), a finished export moves
 * the position to the time it was asked. Creating an export job is the one call that changes vendor state
 * (declared in `vendorWrites`). Vulnerability findings change with every scan: one event per observation, id
 * `{finding_id}@{last_found|last_fixed}` (`finding_id` absent on older exports: asset, plugin, port and
 * protocol). Assets: `{id}@{updated_at}`. Audit log: day filters, records clipped to each window by `received`.
 *
 * Assumed (why early access): the 409 for a duplicate export, the status of an expired export (404: asked
 * again), `finding_id` on records, the audit log's inclusive day bounds and that a day holds at most 5000
 * entries (a larger day is truncated by Tenable; there is no paging to read past it), the 2-minute lag of
 * the audit log.
 */

export interface TenableSettings {
  numAssets: number;
  chunkSize: number;
  pollSeconds: number;
  baseUrl?: string;
}

const settings = z
  .object({
    numAssets: z
      .number()
      .int()
      .min(50)
      .max(5000)
      .default(500)
      .meta({ title: 'Assets per vulnerability chunk' })
      .describe(
        "num_assets of the vulnerability export: assets whose findings go in one chunk (Tenable's range 50–5000)",
      ),
    chunkSize: z
      .number()
      .int()
      .min(100)
      .max(10000)
      .default(1000)
      .meta({ title: 'Assets per asset chunk' })
      .describe("chunk_size of the asset export (Tenable's range 100–10000)"),
    pollSeconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(10)
      .meta({ title: 'Export status poll interval (seconds)' })
      .describe('How often a run asks whether an export has new chunks'),
  })
  .strict();

const api = (s: TenableSettings, a: TenableAccount) => (s.baseUrl ?? tenableUrl(a)).replace(/\/+$/, '');

/** A run waits this long for an export's chunks; a longer export is continued by the next run. */
const MAX_WAIT_MS = 10 * 60_000;

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

const STATES: Record<string, ExportJobStatus['state']> = {
  QUEUED: 'running',
  PROCESSING: 'running',
  FINISHED: 'finished',
  CANCELLED: 'failed',
  ERROR: 'failed',
};

const fromEpoch = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000).toISOString() : v);

/** `{finding_id}@{time of the observation}`; older exports have no finding_id: asset, plugin, port, protocol. */
export function findingId(v: any): string | undefined {
  const key =
    typeof v?.finding_id === 'string' && v.finding_id
      ? v.finding_id
      : v?.asset?.uuid && v?.plugin?.id !== undefined
        ? `${v.asset.uuid}:${v.plugin.id}:${v.port?.port ?? 0}:${v.port?.protocol ?? ''}`
        : undefined;
  const at = v?.state === 'FIXED' ? (v?.last_fixed ?? v?.last_found) : v?.last_found;
  return key && at ? `${key}@${fromEpoch(at)}` : undefined;
}

export const assetId = (a: any): string | undefined =>
  typeof a?.id === 'string' && a.id && a.updated_at ? `${a.id}@${fromEpoch(a.updated_at)}` : undefined;

interface ExportFacts {
  kind: 'vulns' | 'assets';
  title: string;
  description: string;
  body: (s: TenableSettings, since: Date) => Record<string, unknown>;
  id: (r: any) => string | undefined;
  time: (r: any) => unknown;
  /** When Tenable indexed the record (ms): the export filter's time. */
  indexedAt: (r: any) => number | undefined;
  missingId: string;
}

/**
 * Each export is asked from the previous one's start less this (Tenable's cut-off and indexing are its own, not
 * our clock); records listed again are recognised by id (engine/export-job.ts, `boundary`).
 */
const OVERLAP_MS = 60_000;

const ms = (v: unknown) => {
  const t = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
};

function exportStream(f: ExportFacts): StreamDef<TenableSettings, TenableAccount> {
  return {
    title: f.title,
    description: f.description,
    read: (ctx: ReadContext<TenableSettings, TenableAccount>) => {
      const base = `${api(ctx.settings, ctx.account)}/${f.kind}/export`;
      return readExportJob(ctx, {
        what: `${f.kind === 'vulns' ? 'vulnerability' : 'asset'} export`,
        async start(since) {
          const { body } = await ctx.http.requestJson({
            method: 'POST',
            url: base,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(f.body(ctx.settings, since)),
            vendorWrite: `create a ${f.kind} export job (Tenable's only bulk read)`,
          });
          const id = (body as { export_uuid?: unknown })?.export_uuid;
          if (typeof id !== 'string' || !id)
            throw transientError(
              'unexpected_response',
              `Tenable's answer to POST /${f.kind}/export had no export_uuid.`,
              'Check the API URL; Tributary retries on the next run.',
            );
          return id;
        },
        async status(id) {
          const { body } = await ctx.http.getJson(`${base}/${encodeURIComponent(id)}/status`);
          const state = STATES[String(body?.status)] ?? 'running';
          const chunks = (Array.isArray(body?.chunks_available) ? body.chunks_available : [])
            .map(Number)
            .filter(Number.isInteger)
            .sort((a: number, b: number) => a - b)
            .map(String);
          return { state, chunks, detail: state === 'failed' ? String(body?.status) : undefined };
        },
        async *fetch(id, chunk, skip) {
          const { body } = await ctx.http.getJson(`${base}/${encodeURIComponent(id)}/chunks/${chunk}`);
          if (!Array.isArray(body))
            throw transientError(
              'unexpected_response',
              `Tenable's ${f.kind} export chunk ${chunk} was not a JSON array.`,
              'Retried on the next run; report it to Tenable if it repeats.',
            );
          yield* recordParts(body, {
            skip,
            maxEvents: 1000,
            maxBytes: 4 << 20,
            record: (r): ArtifactRecord => {
              const eventId = f.id(r);
              if (!eventId) return { deadLetter: { raw: r, reason: f.missingId } };
              return {
                event: { id: eventId, raw: r, time: f.time(r) as string },
                bytes: JSON.stringify(r).length,
              };
            },
          });
        },
        gone: (err) => err.status === 404,
        boundary: { overlapMs: OVERLAP_MS, indexedAt: (e) => f.indexedAt(e.raw) },
        pollMs: ctx.settings.pollSeconds * 1000,
        maxWaitMs: MAX_WAIT_MS,
      });
    },
  };
}

const vulnerabilities = exportStream({
  kind: 'vulns',
  title: 'Vulnerabilities',
  description:
    'Vulnerability findings indexed since the last export (POST /vulns/export), one event per observation.',
  body: (s, since) => ({ num_assets: s.numAssets, filters: { indexed_at: epoch(since) } }),
  id: findingId,
  indexedAt: (v) => ms(v?.indexed),
  time: (v) => fromEpoch(v?.state === 'FIXED' ? (v?.last_fixed ?? v?.last_found) : v?.last_found),
  missingId: 'finding has no finding_id (or asset.uuid and plugin.id) or no last_found',
});

const assets = exportStream({
  kind: 'assets',
  title: 'Assets',
  description: 'Assets updated since the last export (POST /assets/export), one event per update.',
  body: (s, since) => ({ chunk_size: s.chunkSize, filters: { updated_at: epoch(since) } }),
  id: assetId,
  indexedAt: (a) => ms(a?.updated_at),
  time: (a) => fromEpoch(a?.updated_at),
  missingId: 'asset has no id or updated_at',
});

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY = 86_400_000;

const auditLog = restPoll<TenableSettings, TenableAccount>({
  title: 'Audit log',
  description:
    'Audit log events (GET /audit-log/v1/events): logins, API key use, changes to users, scans and settings.',
  url: ({ settings: s, account }) => `${api(s, account)}/audit-log/v1/events`,
  params: (_ctx, w) => ({
    f: [`date.gt:${day(w.start.getTime() - DAY)}`, `date.lt:${day(w.end.getTime() + DAY)}`],
    limit: 5000,
  }),
  records: (body) => body?.events,
  paginate: { next: () => undefined },
  cursor: { time: 'received', lag: '2m', order: 'any', clip: true, maxWindow: '1d', minOverlap: '1s' },
  eventId: (e) => (typeof e?.id === 'string' && e.id ? e.id : undefined),
  missingId: 'audit event has no id',
});

export default defineSource<TenableSettings, TenableAccount>({
  id: 'tenable',
  title: 'Tenable Vulnerability Management',
  account: 'tenable',
  stability: 'early-access',
  family: 'files',
  description:
    'Tenable Vulnerability Management (Tenable.io) vulnerability findings and assets through the export API, and the audit log.',
  setupGuide: [
    '1. In Tenable Vulnerability Management create a user for Tributary (Settings → Access Control → Users) with',
    '   the **Administrator** role, or a custom role that may export vulnerabilities and assets (the export',
    '   endpoints need it) and view the audit log.',
    '2. As that user, **Settings → My Account → API Keys → Generate** (or an administrator generates them for',
    '   the user). Copy the access key and the secret key (shown once; generating again invalidates them).',
    '3. Create a **Tenable Vulnerability Management** account with both keys (FedRAMP: API URL',
    '   https://fedcloud.tenable.com).',
    '',
    'Each run asks an export of what changed since the last one finished; large exports can take longer than a',
    'run and are continued by the next. Tenable allows ten concurrent exports per container (and no duplicate',
    'export with the same filters): keep other export scripts in mind.',
    '',
    'Early access: the answer to a duplicate export (409 assumed), expired exports (404 assumed), `finding_id` on',
    'findings and the audit log limits (whole-day filters, at most 5000 entries a day, no paging) are assumed.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<TenableSettings>,
  vendorWrites: [
    "POST /vulns/export and POST /assets/export: create an export job (Tenable's bulk read API has no other way to read findings and assets); read-only otherwise, the job expires on its own.",
  ],
  streams: { vulnerabilities, assets, 'audit-log': auditLog },
  explain({ status, url }) {
    if (status === 401)
      return {
        code: 'tenable_invalid_keys',
        action:
          'Tenable refused the API keys: they are wrong or were replaced by newly generated keys (a user has one valid pair). Generate keys for the user and update the account.',
      };
    if (status === 403)
      return {
        code: 'tenable_forbidden',
        action: url.pathname.includes('audit-log')
          ? "The user's role may not view the audit log: give it Administrator (or a role with audit log access), or disable the audit-log stream."
          : "The user's role may not export vulnerabilities or assets: give it Administrator (or a custom role with export rights).",
      };
    if (status === 409)
      return {
        type: 'transient',
        code: 'tenable_export_duplicate',
        action:
          'An export with the same filters is already running on this container (another collector or script): the next run asks again.',
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the keys and the role without creating an export: the export list answers only for users who may export.
    const want = (x: string) => streams.length === 0 || streams.includes(x);
    if (want('vulnerabilities') || want('assets')) {
      if (want('vulnerabilities')) await http.getJson(`${api(s, account)}/vulns/export/status`);
      if (want('assets')) await http.getJson(`${api(s, account)}/assets/export/status`);
    }
    if (want('audit-log'))
      await http.getJson(`${api(s, account)}/audit-log/v1/events`, {
        f: `date.gt:${day(Date.now() - 2 * DAY)}`,
        limit: 1,
      });
  },
});
