import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { type MimecastAccount, mimecastUrl } from '../../accounts/mimecast.ts';
import { parseDuration } from '../../core/duration.ts';
import { hashId, RawJson, toIsoTime } from '../../core/envelope.ts';
import { gapWarning, transientError } from '../../core/errors.ts';
import {
  type Batch,
  defineSource,
  type RawEvent,
  type ReadContext,
  type StreamDef,
} from '../../core/source.ts';
import { jsonObjects } from '../../engine/json-stream.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Mimecast SIEM logs (batches of log files) and audit events, through API 2.0. Vendor facts
 * (developer.services.mimecast.com, "SIEM — Get SIEM logs batch" and "Audit — Get audit events"):
 *
 * - `GET /siem/v1/batch/events/cg?type=<log type>&dateRangeStartsAt=YYYY-MM-DD&dateRangeEndsAt=YYYY-MM-DD&pageSize=<≤100>`
 *   lists the log files of one type: `{"value": [{"url", "size", "expiry"}], "@nextPage": <token>, "isCaughtUp":
 *   <bool>}`; `nextPage=<token>` continues from where a listing ended, also in later calls (the token is the
 *   position); `isCaughtUp` says no more files are ready yet. Each `url` is a pre-signed URL on another host
 *   (cloud storage) of a gzip file of JSON lines, valid until `expiry`, fetched **without** our token.
 *   Files are kept 7 days. Log types: receipt, process, journal, delivery, av, spam, internal email protect,
 *   impersonation protect, url protect, attachment protect.
 * - `POST /api/audit/get-audit-events` (a read-only query) with `{"meta": {"pagination": {"pageSize",
 *   "pageToken"}}, "data": [{"startDateTime", "endDateTime"}]}` → `{"meta": {"pagination": {"next"}}, "data":
 *   [{"id", "auditType", "user", "eventTime", "eventInfo", "category"}]}`.
 *
 * How it reads. The SIEM streams are an **artifact list**: the checkpoint is the listing position (the
 * `nextPage` token, or the first listing's dates), the files of that listing already delivered, and the
 * records delivered of the file in progress, so a restart resumes inside a file. After a listing's files, the
 * position moves to its `@nextPage`; a run ends at `isCaughtUp`. A file that is not valid gzip is
 * dead-lettered whole with the reason (it cannot be read again: Mimecast would serve the same bytes); a file
 * whose body is cut off is fetched again (engine: requestBytes); an expired signed URL ends the run, and the
 * next run lists again for fresh URLs. Records carry no documented unique id: the id is the hash of the line.
 * The audit stream is a time window (oldest to newest unknown: whole windows before the position moves).
 * The listing walk (`readFileList`) knows nothing of Mimecast beyond `MimecastFiles`, so it can move onto the
 * engine's artifact-list reader.
 */

export const SIEM_TYPES = {
  receipt: 'receipt',
  process: 'process',
  delivery: 'delivery',
  journal: 'journal',
  av: 'av',
  spam: 'spam',
  'internal-email-protect': 'internal email protect',
  'impersonation-protect': 'impersonation protect',
  'url-protect': 'url protect',
  'attachment-protect': 'attachment protect',
} as const;
type SiemStream = keyof typeof SIEM_TYPES;
const siemStreams = Object.keys(SIEM_TYPES) as [SiemStream, ...SiemStream[]];

export interface MimecastSettings {
  logTypes: SiemStream[];
  audit: boolean;
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    logTypes: z
      .array(z.enum(siemStreams, { error: () => `expected log types among ${siemStreams.join(', ')}` }))
      .default([
        'receipt',
        'process',
        'delivery',
        'av',
        'spam',
        'impersonation-protect',
        'url-protect',
        'attachment-protect',
      ])
      .meta({ title: 'SIEM log types' })
      .describe(
        `Each is a stream: ${siemStreams.join(', ')} (default all but journal and internal-email-protect)`,
      ),
    audit: z
      .boolean()
      .default(true)
      .meta({ title: 'Audit events' })
      .describe('Also read the administrator audit events'),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .meta({ title: 'Files per listing' })
      .describe('Log files per listing page (Mimecast allows up to 100)'),
  })
  .strict();

const api = (s: MimecastSettings, a: MimecastAccount) => (s.baseUrl ?? mimecastUrl(a)).replace(/\/+$/, '');
const RETENTION = '7d';
const MAX_FILE_BYTES = 512 * 1024 * 1024;
const BATCH_EVENTS = 1000;

// ---------------------------------------------------------------------------------------------
// The artifact list walk (vendor-neutral)

/** The listing position: a vendor token, or the first listing's parameters. */
export interface FileListCheckpoint {
  listing: Record<string, string>;
  /** Files of this listing already delivered (their ids). */
  done: string[];
  /** The file being delivered and how many of its records (lines) were. */
  file?: { id: string; records: number };
}

export interface FileList<F> {
  firstListing(ctx: ReadContext): Record<string, string>;
  list(
    ctx: ReadContext,
    listing: Record<string, string>,
  ): Promise<{ files: F[]; next?: Record<string, string>; caughtUp: boolean }>;
  id(file: F): string;
  /** The file's records: JSON lines as text, or the reason it cannot be read (dead-lettered whole). */
  fetch(
    ctx: ReadContext,
    file: F,
  ): Promise<{ lines: AsyncIterable<Uint8Array | string> } | { unreadable: string }>;
  eventId(record: any): string;
  eventTime(record: any): unknown;
}

export async function* readFileList<F>(
  ctx: ReadContext,
  o: FileList<F>,
): AsyncGenerator<Batch<FileListCheckpoint>> {
  let cp: FileListCheckpoint = (ctx.checkpoint as FileListCheckpoint | undefined) ?? {
    listing: o.firstListing(ctx),
    done: [],
  };
  for (;;) {
    ctx.signal.throwIfAborted();
    const page = await o.list(ctx, cp.listing);
    for (const file of page.files) {
      const id = o.id(file);
      if (cp.done.includes(id)) continue;
      const skip = cp.file?.id === id ? cp.file.records : 0;
      const got = await o.fetch(ctx, file);
      const done = [...cp.done, id];
      if ('unreadable' in got) {
        yield {
          events: [],
          deadLetters: [{ raw: { file: id }, reason: got.unreadable }],
          checkpoint: { listing: cp.listing, done },
          pages: 1,
        };
        cp = { listing: cp.listing, done };
        continue;
      }
      let events: RawEvent[] = [];
      const deadLetters: Array<{ raw: unknown; reason: string }> = [];
      let n = 0;
      for await (const item of jsonObjects(got.lines)) {
        n++;
        if (n <= skip) continue;
        if ('error' in item) deadLetters.push({ raw: item.text, reason: `log file ${id}: ${item.error}` });
        else
          events.push({
            raw: new RawJson(item.text),
            id: o.eventId(item.value),
            time: toIsoTime(o.eventTime(item.value)),
          });
        if (events.length >= BATCH_EVENTS) {
          yield {
            events,
            deadLetters: deadLetters.splice(0),
            checkpoint: { listing: cp.listing, done: cp.done, file: { id, records: n } },
          };
          events = [];
        }
      }
      yield { events, deadLetters, checkpoint: { listing: cp.listing, done }, pages: 1 };
      cp = { listing: cp.listing, done };
    }
    if (
      page.next &&
      JSON.stringify(page.next) === JSON.stringify(cp.listing) &&
      page.files.length &&
      !page.caughtUp
    )
      throw transientError(
        'pagination_loop',
        `${ctx.stream}: the listing named itself as the next one; stopped to avoid an endless loop.`,
        'A vendor-side pagination fault; the run resumes from the last checkpoint next time. Report it if it repeats.',
      );
    const moved = page.next !== undefined && JSON.stringify(page.next) !== JSON.stringify(cp.listing);
    if (moved) cp = { listing: page.next!, done: [] };
    yield { events: [], checkpoint: cp, pages: 1 };
    if (page.caughtUp || !moved) return; // nothing more now: the next run asks again from here
  }
}

// ---------------------------------------------------------------------------------------------
// Mimecast's facts

interface BatchFile {
  url: string;
  size?: number;
  expiry?: string;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function siemFiles(type: string): FileList<BatchFile> {
  return {
    firstListing(ctx) {
      const now = ctx.now();
      const oldest = now - parseDuration(RETENTION) + 86_400_000; // whole days inside the retention
      const wanted = ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs;
      if (wanted < oldest && ctx.window.start)
        ctx.warn(
          gapWarning(
            'start_beyond_retention',
            `Mimecast keeps SIEM log files 7 days; the collector's start ${ctx.window.start} is older.`,
            'Nothing older can be read; the collector starts at the oldest day kept.',
          ),
        );
      return { dateRangeStartsAt: day(Math.max(wanted, oldest)), dateRangeEndsAt: day(now) };
    },
    async list(ctx, listing) {
      const s = ctx.settings as MimecastSettings;
      const { body } = await ctx.http.getJson(`${api(s, ctx.account)}/siem/v1/batch/events/cg`, {
        type,
        pageSize: s.pageSize,
        ...listing,
      });
      const next =
        typeof body?.['@nextPage'] === 'string' && body['@nextPage']
          ? { nextPage: body['@nextPage'] }
          : undefined;
      return {
        files: Array.isArray(body?.value) ? body.value : [],
        next,
        caughtUp: body?.isCaughtUp === true,
      };
    },
    id: (f) => {
      try {
        const u = new URL(f.url);
        return `${u.host}${u.pathname}`; // without the signature: the same file listed again keeps its id
      } catch {
        return f.url;
      }
    },
    async fetch(ctx, f) {
      // Pre-signed URL on the storage host: never our token (noAuth); accept 403/404 to say what happened.
      const { bytes, response } = await ctx.http.requestBytes(
        { url: f.url, noAuth: true, accept: [403, 404] },
        MAX_FILE_BYTES,
      );
      if (response.status === 403 || response.status === 404)
        throw transientError(
          'mimecast_file_url_expired',
          `A Mimecast log file's signed URL was refused (${response.status}): it expired before it was fetched.`,
          'The next run lists the files again for fresh URLs; if it repeats, check that delivery to the destinations keeps up.',
          { status: response.status },
        );
      let text: Buffer;
      try {
        text = gunzipSync(bytes);
      } catch (err) {
        return {
          unreadable: `log file is not valid gzip (${(err as Error).message}); ${bytes.byteLength} bytes not delivered`,
        };
      }
      return {
        lines: (async function* () {
          yield text;
        })(),
      };
    },
    eventId: (r) => hashId(r),
    eventTime: (r) => r?.timestamp ?? r?.datetime,
  };
}

function siemStream(stream: SiemStream): StreamDef<MimecastSettings, MimecastAccount> {
  const files = siemFiles(SIEM_TYPES[stream]);
  return {
    title: `SIEM: ${SIEM_TYPES[stream]}`,
    description: `Mimecast SIEM log files of type "${SIEM_TYPES[stream]}".`,
    read: (ctx) => readFileList(ctx as ReadContext, files),
  };
}

/** The audit query's pages: the token from `meta.pagination.next` goes back in the body. */
const auditPages: Paginator = {
  next({ request, body }) {
    const token = body?.meta?.pagination?.next;
    if (typeof token !== 'string' || !token) return undefined;
    const sent = JSON.parse(request.body ?? '{}');
    sent.meta = { pagination: { ...sent.meta?.pagination, pageToken: token } };
    return { ...request, body: JSON.stringify(sent) };
  },
};

const isoSecondsZ = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+0000`;

const audit = restPoll<MimecastSettings, MimecastAccount>({
  title: 'Audit events',
  method: 'POST',
  url: ({ settings: s, account }) => `${api(s, account)}/api/audit/get-audit-events`,
  request: ({ settings: s, account }, w: Window): PageRequest => ({
    url: `${api(s, account)}/api/audit/get-audit-events`,
    body: JSON.stringify({
      meta: { pagination: { pageSize: 500 } },
      data: [{ startDateTime: isoSecondsZ(w.start.getTime()), endDateTime: isoSecondsZ(w.end.getTime()) }],
    }),
  }),
  records: (body) => body?.data,
  paginate: auditPages,
  cursor: { time: 'eventTime', lag: '2m', overlap: '1s', order: 'any', maxWindow: '1d' },
  eventId: (r) => (typeof r?.id === 'string' ? r.id : undefined),
  eventTime: (r) =>
    typeof r?.eventTime === 'string' ? r.eventTime.replace(/([+-]\d\d)(\d\d)$/, '$1:$2') : undefined,
});

export default defineSource<MimecastSettings, MimecastAccount>({
  id: 'mimecast',
  title: 'Mimecast',
  account: 'mimecast',
  stability: 'early-access',
  family: 'files',
  description:
    'Mimecast email security logs (receipt, process, delivery, anti-virus, spam, impersonation, URL and attachment protection) from the SIEM batch log files, and administrator audit events.',
  setupGuide: [
    'Mimecast API 1.0 keys are at end of life: use an **API 2.0** application.',
    '',
    '1. Mimecast Administration Console → **Services → API and Platform Integrations → Your Application',
    '   Integrations → Add API Application** (an administrator with the right role).',
    '2. Products: **SIEM** (Threats, Security Events and Data for SIEM) for the log types, and **Audit** for audit',
    '   events; permissions read only. Copy the **Client ID** and **Client Secret**.',
    '3. The tenant must have the **SIEM logs** (batch) entitlement (Enhanced Logging); SIEM log files are kept 7',
    '   days.',
    '4. Create a **Mimecast** account with the client ID and secret (and the regional gateway, e.g.',
    '   `https://us-api.services.mimecast.com`, for tenants hosted there).',
    '',
    'Early access: the page sizes, rate limits in numbers, record ids and file formats beyond "gzip of JSON lines"',
    'could not be confirmed from public pages.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<MimecastSettings>,
  retention: RETENTION,
  defaultStreams: (s) => [...s.logTypes, ...(s.audit ? ['audit'] : [])],
  streams: {
    ...Object.fromEntries(siemStreams.map((t) => [t, siemStream(t)])),
    audit: {
      title: audit.title,
      description: 'Administrator audit events (/api/audit/get-audit-events).',
      read: (ctx: ReadContext<MimecastSettings, MimecastAccount>) => audit.read(ctx),
    },
  },
  explain({ status, message, url }) {
    if (status === 401)
      return {
        code: 'mimecast_unauthorized',
        action:
          'Mimecast refused the access token: check the API 2.0 application is enabled and the account’s client ID, secret and gateway.',
      };
    if (status === 403)
      return {
        code: 'mimecast_forbidden',
        action: /\/siem\//.test(url.pathname)
          ? `The application may not read SIEM logs${message ? ` (${message})` : ''}: add the SIEM product to the API 2.0 application, and check the tenant has the SIEM logs entitlement.`
          : `The application may not read audit events${message ? ` (${message})` : ''}: add the Audit product to the API 2.0 application.`,
      };
    if (status === 400)
      return {
        code: 'mimecast_bad_request',
        action: `Mimecast refused the request${message ? ` (${message})` : ''}: SIEM files are listed at most 7 days back; resetting the collector's checkpoint starts the listing again.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    const wanted = streams.length ? streams : [...s.logTypes, ...(s.audit ? ['audit'] : [])];
    const siem = wanted.find((t) => t in SIEM_TYPES) as SiemStream | undefined;
    const today = day(Date.now());
    if (siem)
      await http.getJson(`${api(s, account)}/siem/v1/batch/events/cg`, {
        type: SIEM_TYPES[siem],
        dateRangeStartsAt: today,
        dateRangeEndsAt: today,
        pageSize: 1,
      });
    if (wanted.includes('audit'))
      await http.requestJson({
        method: 'POST',
        readOnly: true,
        url: `${api(s, account)}/api/audit/get-audit-events`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          meta: { pagination: { pageSize: 1 } },
          data: [
            { startDateTime: isoSecondsZ(Date.now() - 3_600_000), endDateTime: isoSecondsZ(Date.now()) },
          ],
        }),
      });
  },
});
