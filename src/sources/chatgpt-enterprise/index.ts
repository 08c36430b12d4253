import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { RawJson, toIsoTime } from '../../core/envelope.ts';
import { configError, gapWarning, TributaryError, transientError } from '../../core/errors.ts';
import {
  type Batch,
  defineSource,
  type RawEvent,
  type ReadContext,
  type StreamDef,
  streamsInSettings,
} from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { releasingChunks } from '../../engine/buffers.ts';
import { jsonObjects } from '../../engine/json-stream.ts';

/**
 * ChatGPT Enterprise — Compliance Logs Platform (../shared/vendors/chatgpt-and-gemini.md §1):
 * GET /v1/compliance/{workspaces|organizations}/{id}/logs?event_type=T&after=ISO lists immutable JSONL
 * log files ascending by end_time, strictly after `after`; `has_more` + `last_end_time` (null on an empty
 * page) page it. GET …/logs/{file_id} answers 307 to a short-lived signed URL, fetched WITHOUT our key,
 * whose bytes must match `file_sha256`. Records carry `event_id` (stable; duplicates across files happen)
 * and `timestamp`. Files are kept 30 days. The key may hold the Delete scope: this source only GETs.
 *
 * Checkpoint per event type (an artifact-list cursor):
 *   after  the `after` of the listing being worked through (never null);
 *   done   ids of files already delivered that the listing at `after` may return again (the boundary);
 *   file   {id, records}: position inside a file being delivered, for resuming mid-file.
 */

export const EVENT_TYPES = [
  'AUDIT_LOG',
  'AUTH_LOG',
  'CONVERSATION_MESSAGE',
  'APP_LOG',
  'APP_AUTH_LOG',
  'CODEX_LOG',
  'CODEX_SECURITY_LOG',
  'CUSTOM_AGENTS_LOG',
  'COSTS',
] as const;
type EventType = (typeof EVENT_TYPES)[number];

const ORG_ONLY: EventType[] = ['COSTS'];
const RETENTION = '30d';
const BATCH_EVENTS = 250;
const BATCH_BYTES = 1024 * 1024;

interface OpenAiAccount {
  apiKey: string;
  organizationId?: string;
}

const settings = z
  .object({
    workspaceId: z
      .string({ error: 'required' })
      .regex(
        /^[0-9a-fA-F-]{8,}$/,
        'expected the ChatGPT workspace ID (a UUID, from Workspace settings → General)',
      )
      .describe('ChatGPT Enterprise workspace ID (Workspace settings → General → Workspace details)')
      .meta({ title: 'Workspace ID' }),
    eventTypes: z
      .array(z.enum(EVENT_TYPES))
      .min(1)
      .optional()
      .meta({ title: 'Event types (older configs)', deprecated: true })
      .describe(
        "Older configs chose the log types here; they are the collector's streams now (streams: [AUDIT_LOG, AUTH_LOG]), and a list given here is stored as the streams",
      ),
    includeMessageContent: z
      .boolean()
      .default(false)
      .meta({ title: 'Include conversation messages' })
      .describe(
        "Required to collect the CONVERSATION_MESSAGE stream, which carries users' prompt and response text",
      ),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

/** The log types are the streams; `eventTypes` is what older configs chose them with. */
const DEFAULT_TYPES: EventType[] = ['AUDIT_LOG', 'AUTH_LOG'];
const legacy = streamsInSettings<Settings>('eventTypes', DEFAULT_TYPES);

interface Checkpoint {
  after: string;
  done: string[];
  file?: { id: string; records: number };
}

interface LogFile {
  id: string;
  event_type?: string;
  end_time: string;
  file_size?: number;
  file_sha256?: string;
}

const base = (s: Settings) => (s.baseUrl ?? 'https://api.chatgpt.com/v1').replace(/\/+$/, '');

function principal(type: EventType, s: Settings, a: OpenAiAccount): string {
  if (ORG_ONLY.includes(type)) {
    if (!a.organizationId) {
      throw configError(
        'organization_id_required',
        `${type} logs are organization-scoped and the account has no organizationId.`,
        'Add the OpenAI Platform organization ID (org-…) to the OpenAI account, or remove COSTS from the streams.',
      );
    }
    return `organizations/${encodeURIComponent(a.organizationId)}`;
  }
  return `workspaces/${encodeURIComponent(s.workspaceId)}`;
}

function stream(type: EventType): StreamDef<Settings, OpenAiAccount, Checkpoint> {
  return {
    title: type,
    description: `ChatGPT Enterprise ${type} compliance log files.`,
    read: (ctx) => readType(type, ctx),
  };
}

async function* readType(
  type: EventType,
  ctx: ReadContext<Settings, OpenAiAccount, Checkpoint>,
): AsyncGenerator<Batch<Checkpoint>> {
  const root = `${base(ctx.settings)}/compliance/${principal(type, ctx.settings, ctx.account)}`;
  const now = ctx.now();
  const oldest = now - parseDuration(RETENTION);
  let cp: Checkpoint = ctx.checkpoint ?? {
    after: new Date(
      Math.max(oldest, ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs),
    ).toISOString(),
    done: [],
  };
  if (ctx.checkpoint && Date.parse(cp.after) < oldest) {
    ctx.warn(
      gapWarning(
        'checkpoint_beyond_retention',
        `The saved position ${cp.after} for ${type} is older than the 30 days OpenAI keeps log files; older files are gone.`,
        'Keep the collector running at least daily; investigate why it was stopped so long.',
      ),
    );
    cp = { after: new Date(oldest).toISOString(), done: [] };
  }

  for (;;) {
    ctx.signal.throwIfAborted();
    const { body } = await ctx.http.getJson<{
      data?: LogFile[];
      has_more?: boolean;
      last_end_time?: string | null;
    }>(`${root}/logs`, {
      event_type: type,
      after: cp.after,
      limit: 100,
    });
    const files = Array.isArray(body.data) ? body.data : [];
    for (const file of files) {
      if (cp.done.includes(file.id)) continue; // boundary file re-returned for the same `after`
      const skip = cp.file?.id === file.id ? cp.file.records : 0;
      yield* readFile(ctx, root, file, skip, cp);
      cp = { after: cp.after, done: [...cp.done, file.id] };
    }
    const last = body.last_end_time ?? undefined; // null on empty pages: keep the previous `after`
    if (!body.has_more || !last) {
      if (last && last !== cp.after) cp = nextListing(cp, files, last);
      yield { events: [], checkpoint: cp, pages: 1 };
      return;
    }
    if (last === cp.after && files.every((f) => cp.done.includes(f.id))) {
      throw transientError(
        'pagination_loop',
        `OpenAI kept listing ${type} files after ${cp.after} without moving forward.`,
        'A vendor-side pagination fault; the collector resumes from its checkpoint on the next run. Report it to OpenAI if it repeats.',
      );
    }
    cp = nextListing(cp, files, last);
    yield { events: [], checkpoint: cp, pages: 1 };
  }
}

/** The next listing starts at the page's last end time; files ending exactly then are the new boundary. */
function nextListing(cp: Checkpoint, files: LogFile[], last: string): Checkpoint {
  const boundary = files.filter((f) => f.end_time === last).map((f) => f.id);
  return { after: last, done: last === cp.after ? [...new Set([...cp.done, ...boundary])] : boundary };
}

/** Downloads one log file to a temporary file (verifying its sha256), then yields its records in batches. */
async function* readFile(
  ctx: ReadContext<Settings, OpenAiAccount, Checkpoint>,
  root: string,
  file: LogFile,
  skip: number,
  cp: Checkpoint,
): AsyncGenerator<Batch<Checkpoint>> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-chatgpt-'));
  const path = join(dir, 'log.jsonl');
  try {
    await download(ctx, root, file, path);
    let events: RawEvent[] = [];
    let deadLetters: Array<{ raw: unknown; reason: string }> = [];
    let bytes = 0;
    let n = 0;
    const at = () => ({ after: cp.after, done: cp.done, file: { id: file.id, records: n } });
    for await (const item of jsonObjects(readChunks(path))) {
      n++;
      if (n <= skip) continue; // delivered before a restart
      if ('error' in item) {
        deadLetters.push({ raw: item.text, reason: `log file ${file.id}: ${item.error}` });
        continue;
      }
      const rec = item.value as Record<string, unknown>;
      const id = typeof rec?.event_id === 'string' ? rec.event_id : undefined;
      events.push({ raw: new RawJson(item.text), id, time: toIsoTime(rec?.timestamp) }); // the vendor's bytes
      bytes += item.size;
      if (events.length >= BATCH_EVENTS || bytes >= BATCH_BYTES) {
        yield { events, deadLetters, checkpoint: at() };
        events = [];
        deadLetters = [];
        bytes = 0;
      }
    }
    yield { events, deadLetters, checkpoint: { after: cp.after, done: [...cp.done, file.id] }, pages: 1 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A file's bytes in chunks read into one reused buffer: each chunk is valid only until the next is
 * asked for (jsonObjects decodes it at once). A read stream would allocate a fresh buffer per chunk,
 * a gigabyte of them for a large log file, each waiting for the garbage collector to be given back.
 */
async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

async function download(
  ctx: ReadContext<Settings, OpenAiAccount, Checkpoint>,
  root: string,
  file: LogFile,
  path: string,
) {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    ctx.signal.throwIfAborted();
    try {
      // The redirect is taken by hand: the signed URL must never receive the Authorization header.
      const redirect = await ctx.http.request({
        url: `${root}/logs/${encodeURIComponent(file.id)}`,
        manualRedirect: true,
      });
      const location = redirect.headers.get('location');
      await redirect.body?.cancel();
      const res = location
        ? await ctx.http.request({ url: new URL(location, redirect.url).toString(), noAuth: true })
        : await ctx.http.request({ url: `${root}/logs/${encodeURIComponent(file.id)}` });
      if (!res.body)
        throw transientError('empty_download', `Log file ${file.id} had no body.`, 'Retried automatically.');
      // One chunk at a time, hashed and written before the next is read; dead chunks are given back
      // as the download goes (engine/buffers.ts), not left to pile up outside the heap.
      const hash = createHash('sha256');
      const out = await open(path, 'w');
      try {
        for await (const chunk of releasingChunks(res.body as AsyncIterable<Uint8Array>)) {
          ctx.signal.throwIfAborted();
          hash.update(chunk);
          for (let at = 0; at < chunk.byteLength; ) at += (await out.write(chunk, at)).bytesWritten;
        }
      } finally {
        await out.close();
      }
      const sha = hash.digest('hex');
      if (file.file_sha256 && sha !== file.file_sha256.toLowerCase()) {
        throw transientError(
          'checksum_mismatch',
          `Log file ${file.id} did not match its file_sha256; it was not delivered.`,
          'Retried automatically; if it persists, report the file id to OpenAI support.',
        );
      }
      return;
    } catch (err) {
      if (ctx.signal.aborted || (err instanceof TributaryError && err.type === 'config')) throw err;
      lastError = err;
      ctx.log.warn('log file download failed, retrying', { file: file.id, attempt: attempt + 1 });
    }
  }
  throw lastError;
}

export default defineSource<Settings, OpenAiAccount>({
  id: 'chatgpt-enterprise',
  title: 'ChatGPT Enterprise',
  account: 'openai',
  stability: 'ga',
  family: 'files',
  description:
    'ChatGPT Enterprise Compliance Logs Platform: workspace audit log, sign-ins, apps, Codex and (opt-in) conversation messages.',
  setupGuide: [
    'You need owner access to both the OpenAI Platform and the ChatGPT Enterprise workspace.',
    '1. In ChatGPT: Workspace settings → General → copy the **Organization ID** and the **Workspace ID**.',
    '2. In the OpenAI Platform (your organization, not your personal one): Settings → General → copy the',
    '   **Organization ID** and check it matches the ChatGPT one (if not, contact OpenAI support).',
    '3. Settings → Admin keys → **Create new admin key** with permissions **All**; note the key name, the secret',
    '   key and "Created by".',
    '4. Email OpenAI support asking to enable **Compliance API** access with **Read and Delete** scope, giving the',
    '   workspace ID, organization ID, the last four characters of the key, the key name and its creator.',
    '5. Once approved, create an **OpenAI** account in Tributary with the key (and the organization ID), then this',
    '   collector with the workspace ID. Tributary only reads; it never calls a delete endpoint.',
  ].join('\n'),
  settings,
  retention: RETENTION,
  streams: Object.fromEntries(EVENT_TYPES.map((t) => [t, stream(t)])),
  defaultStreams: legacy.defaultStreams,
  normalize(d) {
    const n = legacy.normalize(d);
    if ('issues' in n) return n;
    if ((n.streams ?? DEFAULT_TYPES).includes('CONVERSATION_MESSAGE') && !n.settings.includeMessageContent)
      return {
        issues: [
          "settings.includeMessageContent: the CONVERSATION_MESSAGE stream carries users' prompt and response text; set includeMessageContent: true to collect it",
        ],
      };
    return n;
  },
  explain({ status }) {
    if (status === 401) {
      return {
        code: 'openai_invalid_key',
        action:
          'OpenAI rejected the API key: check it was copied whole and is not revoked, and that it was created in the organization that owns the ChatGPT workspace.',
      };
    }
    if (status === 403) {
      return {
        code: 'compliance_api_not_enabled',
        action:
          "Compliance API access is not enabled for this key: ask OpenAI support to enable it with Read and Delete scope, giving the workspace ID, organization ID, the key's last four characters, key name and creator.",
      };
    }
    if (status === 404) {
      return {
        code: 'workspace_not_found',
        action:
          'Check the workspace ID (ChatGPT Workspace settings → General) and the organization ID; the Compliance API exists only on Enterprise, Edu and Healthcare plans and only at api.chatgpt.com.',
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    for (const type of (streams.length ? streams : legacy.defaultStreams(s)) as EventType[]) {
      const root = `${base(s)}/compliance/${principal(type, s, account)}`;
      await http.getJson(`${root}/logs`, {
        event_type: type,
        after: new Date(Date.now() - 3_600_000).toISOString(),
        limit: 1,
      });
    }
  },
});
