import { z } from 'zod';
import type { SlackAccount } from '../../accounts/slack.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Slack Enterprise audit logs. Vendor facts (checked against Slack's docs):
 *
 * - docs.slack.dev/reference/audit-logs-api/methods-actions-reference: `GET https://api.slack.com/audit/v1/logs`
 *   with `oldest` and `latest` (Unix seconds, both inclusive), `limit` (maximum 9,999), `action`
 *   (comma-separated, at most 30), `actor`, `entity`; newest first ("the default ordering being
 *   descending"); cursor pagination; a page may hold more than `limit` entries when several share a
 *   second; a user token (xoxp) of an Enterprise organization owner with `auditlogs:read`; every
 *   method is Tier 3, "up to 50 calls per minute", counted organization-wide.
 * - docs.slack.dev/admins/audit-logs-api: entries carry `id`, `date_create` (Unix seconds), `action`,
 *   `actor`, `entity`, `context` and sometimes `details`; the app must be installed on the
 *   organization (not a workspace) by its owner.
 * - docs.slack.dev/apis/web-api/pagination#cursors: `cursor` → `response_metadata.next_cursor`, empty at
 *   the end. docs.slack.dev/apis/web-api/rate-limits: 429 with `Retry-After` seconds (the engine honours it).
 *
 * Resumption. Slack returns newest first and has no ascending order, so a page says nothing about older
 * events of its window: the time-window cursor runs in `desc` mode — `since` stays at the window start,
 * every page commits the window end and the next page's cursor, and `since` moves to the window end only
 * after its last page. A crash mid-window resumes at the committed cursor; nothing older is skipped.
 * Windows are whole seconds: `oldest` = start rounded up, `latest` = end rounded down (inclusive), and
 * an overlap of at least 1 s with the checkpoint's boundary ids re-reads the boundary second without
 * repeating it. Windows are at most a day, so a cursor that stopped working costs at most one window.
 */

interface Settings {
  limit: number;
  action?: string;
  actor?: string;
  entity?: string;
  baseUrl?: string;
}

const SLACK_AUDIT_API = 'https://api.slack.com/audit/v1';

const settings = z
  .object({
    limit: z
      .number()
      .int()
      .min(1)
      .max(9999)
      .default(1000)
      .describe(
        'Entries per page (Slack allows up to 9,999; a page may hold more when entries share a second)',
      )
      .meta({ title: 'Entries per page' }),
    action: z
      .string()
      .trim()
      .regex(
        /^[a-z0-9_]+(,[a-z0-9_]+)*$/,
        'expected action names separated by commas, e.g. user_login,file_downloaded',
      )
      .refine((a) => a.split(',').length <= 30, { message: 'Slack accepts at most 30 actions' })
      .optional()
      .describe('Only these actions (comma-separated, at most 30), e.g. user_login,file_downloaded')
      .meta({ title: 'Only these actions' }),
    actor: z
      .string()
      .trim()
      .regex(/^[UW][A-Z0-9]+$/, 'expected a Slack user ID such as W123AB456')
      .optional()
      .describe('Only actions by this user ID')
      .meta({ title: 'Only this actor' }),
    entity: z
      .string()
      .trim()
      .regex(/^[A-Z][A-Z0-9]+$/, 'expected a Slack ID such as C0123ABCD (channel), F… (file), W… (user)')
      .optional()
      .describe('Only actions on this entity ID (channel, file, user, app, workspace, enterprise)')
      .meta({ title: 'Only this entity' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

const base = (s: Settings) => (s.baseUrl ?? SLACK_AUDIT_API).replace(/\/+$/, '');

const logs = restPoll<Settings, SlackAccount>({
  title: 'Audit logs',
  description: 'Every entry of the organization audit log (/audit/v1/logs).',
  url: ({ settings: s }) => `${base(s)}/logs`,
  params: ({ settings: s }, window) => ({
    oldest: Math.ceil(window.start.getTime() / 1000),
    latest: Math.floor(window.end.getTime() / 1000),
    limit: s.limit,
    action: s.action,
    actor: s.actor,
    entity: s.entity,
  }),
  headers: () => ({ accept: 'application/json' }),
  records: (body) => body?.entries,
  paginate: paginate.cursor({ param: 'cursor', from: 'response_metadata.next_cursor' }),
  // `oldest`/`latest` are whole seconds: the overlap must cover a second (see above).
  cursor: { time: 'date_create', lag: '2m', minOverlap: '1s', order: 'desc', maxWindow: '1d' },
  eventId: (e) => (typeof e?.id === 'string' ? e.id : undefined),
});

export default defineSource<Settings, SlackAccount>({
  id: 'slack',
  title: 'Slack',
  account: 'slack',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Slack Enterprise audit logs: sign-ins, file downloads and sharing, channel and membership changes, app installs and scope changes, admin and policy changes.',
  setupGuide: [
    'The Audit Logs API is available only to organizations on a Slack **Enterprise** (Enterprise Grid) plan.',
    '',
    '1. Create a Slack app at api.slack.com/apps. Under **OAuth & Permissions → User Token Scopes** add',
    '   `auditlogs:read`.',
    "2. Install the app **on the organization, not on a workspace** (choose the organization in the install screen's",
    '   drop-down), signed in as the **Owner** of the Enterprise organization: Slack accepts only tokens of the org',
    '   owner (organization admins are not supported).',
    '3. Copy the **User OAuth Token** (`xoxp-…`) and create a **Slack** account in Tributary with it.',
    '',
    'Limits: Tier 3, about 50 calls a minute for the whole organization (shared with any other audit-log',
    'consumer), at most 9,999 entries a call.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<Settings>,
  streams: {
    'audit-logs': logs,
  },
  explain({ status, message }) {
    if (status === 401) {
      return {
        code: 'slack_invalid_token',
        action:
          'Slack rejected the token (invalid, revoked, or the app was uninstalled). Reinstall the audit-log app on the organization as its Owner and update the account with the new xoxp- User OAuth Token.',
      };
    }
    if (status === 403) {
      if (message === 'missing_scope') {
        return {
          code: 'slack_missing_scope',
          action:
            'The token lacks the auditlogs:read scope: add it under OAuth & Permissions → User Token Scopes, reinstall the app on the organization as its Owner, and update the account with the new token.',
        };
      }
      if (message === 'feature_not_enabled') {
        return {
          code: 'slack_not_enterprise',
          action: 'The Audit Logs API is available only on Slack Enterprise (Grid) organizations.',
        };
      }
      return {
        code: 'slack_forbidden',
        action:
          "Slack refused the audit log to this token: it must be the Enterprise organization Owner's user token (admins are not supported) from an app installed on the organization, not on a workspace.",
      };
    }
    if (status === 400) {
      return {
        code: 'slack_bad_request',
        action: `Slack refused the query (${message}): check the collector's action, actor and entity filters.`,
      };
    }
    return undefined;
  },
  async test({ settings: s, http }) {
    await http.getJson(`${base(s)}/logs`, { limit: 1 }, { accept: 'application/json' });
  },
});
