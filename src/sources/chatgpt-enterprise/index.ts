import { z } from 'zod';
import { RawJson, toIsoTime } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import { defineSource, type StreamDef, streamsInSettings } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import {
  type ArtifactListCheckpoint,
  downloadArtifact,
  jsonLineParts,
  readArtifactList,
} from '../../engine/artifact-list.ts';

/**
 * ChatGPT Enterprise — Compliance Logs Platform. Vendor facts, from OpenAI's API reference
 * (chatgpt.com/admin/api-reference#tag/Compliance-API-Logs-Platform), the cookbook quickstart
 * (developers.openai.com/cookbook/examples/chatgpt/compliance_api/logs_platform) and
 * help.openai.com/en/articles/9261474 (keys, scopes, 30-day retention):
 * GET /v1/compliance/{workspaces|organizations}/{id}/logs?event_type=T&after=ISO lists immutable JSONL
 * log files ascending by end_time, strictly after `after`; `has_more` + `last_end_time` (null on an empty
 * page) page it. GET …/logs/{file_id} answers 307 to a short-lived signed URL, fetched WITHOUT our key,
 * whose bytes must match `file_sha256`. Records carry `event_id` (stable; duplicates across files happen)
 * and `timestamp`. Files are kept 30 days. The key may hold the Delete scope: this source only GETs.
 *
 * Reading: the engine's artifact-list reader (engine/artifact-list.ts) with the listing position `after`
 * = `end_time`; each file downloaded through its signed URL, checked against `file_sha256`, and read as
 * JSON Lines. Checkpoint per event type: {after, done, file} (docs/architecture.md, "Artifact list").
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

interface LogFile {
  id: string;
  event_type?: string;
  end_time: string;
  file_size?: number;
  file_sha256?: string;
}

interface LogList {
  data?: LogFile[];
  has_more?: boolean;
  last_end_time?: string | null;
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

function stream(type: EventType): StreamDef<Settings, OpenAiAccount, ArtifactListCheckpoint> {
  return {
    title: type,
    description: `ChatGPT Enterprise ${type} compliance log files.`,
    read: (ctx) => {
      const root = `${base(ctx.settings)}/compliance/${principal(type, ctx.settings, ctx.account)}`;
      return readArtifactList<LogFile>(ctx, {
        retention: RETENTION,
        what: 'log files',
        list: async (after) => {
          const { body } = await ctx.http.getJson<LogList>(`${root}/logs`, {
            event_type: type,
            after,
            limit: 100,
          });
          return {
            artifacts: Array.isArray(body.data) ? body.data : [],
            hasMore: body.has_more === true,
            last: body.last_end_time ?? undefined, // null on empty pages: keep the previous `after`
          };
        },
        id: (f) => f.id,
        position: (f) => f.end_time,
        fetch: (f, skip) =>
          jsonLineParts(
            downloadArtifact(ctx, {
              url: `${root}/logs/${encodeURIComponent(f.id)}`,
              signedRedirect: true,
              sha256: f.file_sha256,
              label: `Log file ${f.id}`,
            }),
            {
              skip,
              label: `log file ${f.id}`,
              maxEvents: BATCH_EVENTS,
              maxBytes: BATCH_BYTES,
              event: (value, text) => {
                const rec = value as Record<string, unknown>;
                const id = typeof rec?.event_id === 'string' ? rec.event_id : undefined;
                return { raw: new RawJson(text), id, time: toIsoTime(rec?.timestamp) }; // the vendor's bytes
              },
            },
          ),
      });
    },
  };
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
