import { z } from 'zod';
import type { DuoAccount } from '../../accounts/cisco-duo.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import type { Paginator } from '../../engine/paginate.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Cisco Duo authentication, administrator, telephony and activity logs through the Admin API. Vendor
 * facts (checked against duo.com/docs/adminapi "Logs" and duo.com/docs/adminapi-v1, quoted by Duo's
 * partners' copies of them, and Duo's reference code duosecurity/duo_client_python admin.py and
 * logs/telephony.py and duosecurity/duo_log_sync):
 *
 * - Authentication logs, `GET /admin/v2/logs/authentication`: `mintime` and `maxtime` (Unix ms, both
 *   required, inclusive, mintime strictly less than maxtime), `limit` (default 100, max 1000), `sort`
 *   (`ts:asc` "chronological order" or `ts:desc`), `next_offset` ("a 13 character date string in
 *   milliseconds and the event txid … separated by a comma"); "from the last 180 days up to as recently
 *   as two minutes before the API request … There is an intentional two minute delay in availability of
 *   new authentications"; records `{txid, timestamp, isotimestamp, user, application, factor, result, …}`.
 * - Telephony logs, `GET /admin/v2/logs/telephony` (v2; the v1 handler is legacy): the same parameters,
 *   "a two minute delay in availability of new telephony logs"; `response.items[]` of `{context, credits,
 *   phone, telephony_id, ts, txid, type}`, `metadata.next_offset` a "comma separated ts and offset" string.
 * - Activity logs, `GET /admin/v2/logs/activity`: the same parameters (duo_client_python and duo_log_sync
 *   send `sort=ts:asc`, `limit=1000`); `items[]` of `{activity_id, ts, action, actor, target, …}`. Duo's
 *   client marks it "public preview", so it is not a default stream.
 * - Administrator logs, `GET /admin/v1/logs/administrator` (v1 only): `mintime` in Unix seconds, records
 *   after it; "Only the 1000 earliest events will be returned; you may need to call this multiple times
 *   with mintime to page through the entire log"; `{action, description, isotimestamp, object, timestamp,
 *   username}`, no id.
 * - Every log endpoint needs the Admin API application's "Grant read log" permission, and "We recommend
 *   requesting logs no more than once per minute": the account kind gives each log endpoint its own
 *   bucket of one request a minute (accounts/cisco-duo.ts `endpointRateLimit`), and a 429 pauses it.
 * - Requests are signed (Duo v5, HMAC-SHA512) by the `cisco-duo` account kind; errors are
 *   `{code, message, stat: "FAIL"}` (help.duo.com article 1338: 40102 invalid integration key — also a
 *   wrong clock —, 40103 invalid signature).
 *
 * Ids: `txid`, `telephony_id`, `activity_id`; administrator records are hashed (docs/architecture.md, "The envelope").
 * Windows: v2 logs are read oldest first (`sort=ts:asc`), so the position moves after every page and a
 * crash re-queries from it; `maxtime` is the window end minus 1 ms (inclusive). The administrator log
 * has no upper bound, so the window keeps only the records inside it (`clip`), asks from one second
 * before its start (whether "after" means after or at), pages by the last record's second when a page
 * is full, and stops at the first record past the window. Lag 3 minutes: Duo's two, and one for clocks.
 */

interface Settings {
  limit: number;
  baseUrl?: string;
}

/** "Only the 1000 earliest events will be returned". */
const ADMIN_PAGE = 1000;
const RETENTION = '180d';
const CURSOR = { lag: '3m', overlap: '1m', order: 'asc' } as const;

const settings = z
  .object({
    limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .describe(
        'Records per request for the v2 logs (Duo allows up to 1000; the administrator log always returns up to 1000)',
      )
      .meta({ title: 'Records per request' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

const base = (s: Settings, a: DuoAccount) => (s.baseUrl ?? `https://${a.apiHostname}`).replace(/\/+$/, '');

/** `mintime`/`maxtime` of a window: both inclusive in Unix ms, so the end is one millisecond earlier. */
export function v2Range(window: Pick<Window, 'start' | 'end'>): { mintime: number; maxtime: number } {
  const mintime = window.start.getTime();
  return { mintime, maxtime: Math.max(mintime + 1, window.end.getTime() - 1) };
}

/** `next_offset`: an array `[ts, txid]` (authentication) or a string `"ts,id"`, sent back comma-joined. */
const nextOffset = paginate.cursor({
  param: 'next_offset',
  from: (b) => {
    const n = b?.response?.metadata?.next_offset;
    return Array.isArray(n) ? n.join(',') : n;
  },
});

function v2Stream(
  path: string,
  title: string,
  records: (body: any) => unknown[],
  time: (r: any) => unknown,
  id: string,
): StreamDef<Settings, DuoAccount> {
  return restPoll<Settings, DuoAccount>({
    title,
    url: ({ settings: s, account }) => `${base(s, account)}${path}`,
    params: ({ settings: s }, window) => ({ ...v2Range(window), limit: s.limit, sort: 'ts:asc' }),
    records,
    paginate: nextOffset,
    cursor: { ...CURSOR, time },
    eventId: (r) => (typeof r?.[id] === 'string' && r[id] ? r[id] : undefined),
  });
}

/** Administrator log pages: when a page is full, the next asks again from the second before its last record. */
const adminPages: Paginator = {
  next({ request, records }) {
    if (records.length < ADMIN_PAGE) return undefined;
    const last = Number((records[records.length - 1] as { timestamp?: unknown })?.timestamp);
    if (!Number.isFinite(last)) return undefined;
    return { url: request.url, query: { ...request.query, mintime: last - 1 } };
  },
};

const adminStream = restPoll<Settings, DuoAccount>({
  title: 'Administrator logs',
  url: ({ settings: s, account }) => `${base(s, account)}/admin/v1/logs/administrator`,
  // One second early: records at the window's first second are returned whether Duo means > or ≥.
  params: (_ctx, window) => ({ mintime: Math.floor(window.start.getTime() / 1000) - 1 }),
  records: (body) => body?.response,
  paginate: adminPages,
  cursor: { ...CURSOR, time: (r) => r?.isotimestamp ?? r?.timestamp, clip: true },
  eventId: (r) => hashId(r),
});

const streams = {
  authentication: v2Stream(
    '/admin/v2/logs/authentication',
    'Authentication logs',
    (b) => b?.response?.authlogs,
    (r) => r?.isotimestamp ?? r?.timestamp,
    'txid',
  ),
  administrator: adminStream,
  telephony: v2Stream(
    '/admin/v2/logs/telephony',
    'Telephony logs',
    (b) => b?.response?.items,
    (r) => r?.ts,
    'telephony_id',
  ),
  activity: v2Stream(
    '/admin/v2/logs/activity',
    'Activity logs',
    (b) => b?.response?.items,
    (r) => r?.ts,
    'activity_id',
  ),
};

const PATHS: Record<string, string> = {
  authentication: '/admin/v2/logs/authentication',
  administrator: '/admin/v1/logs/administrator',
  telephony: '/admin/v2/logs/telephony',
  activity: '/admin/v2/logs/activity',
};

/** Duo's error body `{code, message, stat}`: its numeric code. */
function duoCode(body: string): number | undefined {
  try {
    const code = JSON.parse(body)?.code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

export default defineSource<Settings, DuoAccount>({
  id: 'cisco-duo',
  title: 'Cisco Duo',
  account: 'cisco-duo',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Cisco Duo authentication logs (every MFA attempt, factor and result), administrator actions, telephony (SMS and call credits) and the activity log.',
  setupGuide: [
    'Needs a Duo plan with the Admin API (Duo Essentials, Advantage or Premier).',
    '',
    '1. Sign in to the Duo Admin Panel as an Owner and go to **Applications → Protect an Application**; find',
    '   **Admin API** and click **Protect**.',
    '2. Under **Permissions** check **Grant read log** only (Tributary needs nothing else) and **Save Changes**.',
    '3. Copy the **Integration key**, **Secret key** and **API hostname** (`api-XXXXXXXX.duosecurity.com`) into a',
    '   **Cisco Duo** account in Tributary. Use this application for Tributary alone: Duo asks for log requests no',
    '   more than once a minute, and other tools sharing the keys share that pace.',
    '',
    'Streams: authentication, administrator and telephony logs by default; the activity log (a newer endpoint)',
    'on request. Duo keeps logs 180 days and publishes new authentication and telephony logs after two minutes.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<Settings>,
  retention: RETENTION,
  defaultStreams: () => ['authentication', 'administrator', 'telephony'],
  streams: {
    authentication: {
      title: 'Authentication logs',
      description:
        'Every authentication and enrollment: user, application, factor, result, reason, devices (/admin/v2/logs/authentication).',
      read: (ctx) => streams.authentication.read(ctx),
    },
    administrator: {
      title: 'Administrator logs',
      description:
        'Administrator actions: logins, user, group, phone and integration changes (/admin/v1/logs/administrator).',
      read: (ctx) => streams.administrator.read(ctx),
    },
    telephony: {
      title: 'Telephony logs',
      description: 'SMS and phone calls Duo made, with their context and credits (/admin/v2/logs/telephony).',
      read: (ctx) => streams.telephony.read(ctx),
    },
    activity: {
      title: 'Activity logs',
      description: 'Admin and end-user activity with actor, target and device (/admin/v2/logs/activity).',
      read: (ctx) => streams.activity.read(ctx),
    },
  },
  explain({ status, message, body }) {
    const code = duoCode(body);
    if (status === 401) {
      if (code === 40102 || /integration key/i.test(message)) {
        return {
          code: 'duo_invalid_integration_key',
          action:
            "Duo does not know the account's integrationKey: copy it again from the Admin API application (Duo Admin Panel → Applications), check apiHostname belongs to the same Duo account, and that this machine's clock is right (NTP).",
        };
      }
      if (code === 40103 || /signature/i.test(message)) {
        return {
          code: 'duo_invalid_signature',
          action:
            "Duo rejected the request signature: the account's secretKey does not match the integration key (it may have been reset in the Admin Panel); update the account with the application's current secret key.",
        };
      }
      return {
        code: 'duo_unauthorized',
        action:
          "Duo rejected the credentials: check the account's integration key, secret key and API hostname, and this machine's clock (requests are signed with the time).",
      };
    }
    if (status === 403) {
      return {
        code: 'duo_missing_permission',
        action:
          'The Admin API application may not read logs: in the Duo Admin Panel open the application, check "Grant read log" under Permissions and save.',
      };
    }
    if (status === 404) {
      return {
        code: 'duo_not_found',
        action:
          "Check the account's apiHostname (and the collector's baseUrl); the activity log may not be available to this Duo account's plan — disable the activity stream if so.",
      };
    }
    if (status === 429) {
      return {
        code: 'duo_rate_limited',
        action:
          'Duo limits log requests to about one a minute per endpoint; Tributary paces its own requests, so another tool using the same Admin API application is likely sharing the limit: give Tributary its own application.',
      };
    }
    if (status === 400) {
      return {
        code: 'duo_bad_request',
        action: `Duo refused the query (${message}${code ? `, ${code}` : ''}): check the collector's limit; if it is right, report this with the logs.`,
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http, streams: enabled }) {
    const now = Date.now();
    const which = enabled.length ? enabled : ['authentication', 'administrator', 'telephony'];
    // One small request per enabled log: each proves "Grant read log" on its own endpoint.
    for (const stream of which) {
      const path = PATHS[stream];
      if (!path) continue;
      const query =
        stream === 'administrator'
          ? { mintime: Math.floor(now / 1000) - 300 }
          : { mintime: now - 600_000, maxtime: now - 180_000, limit: 1 };
      await http.getJson(`${base(s, account)}${path}`, query);
    }
  },
});
