import { z } from 'zod';
import { type CatoAccount, catoUrl } from '../../accounts/cato-networks.ts';
import { hashId } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import { defineSource, type ReadContext } from '../../core/source.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { fetchPage, restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Cato Networks events and audit trail, through the GraphQL API (`POST /api/v1/graphql2`, `x-api-key`).
 * Vendor facts (api.catonetworks.com/documentation, query.eventsFeed and query.auditFeed, as Cato's own
 * cato-cli and cato-go-sdk send them; support.catonetworks.com "Cato API - EventsFeed" and "Cato API -
 * AuditFeed"):
 *
 * - `eventsFeed(accountIDs, marker, filters) { marker fetchedCount accounts { id errorString records { time
 *   fieldsMap } } }`: a queue of the account's events held by Cato; the **marker** returned with each batch is
 *   the position after it, passed back to get the next batch; an empty marker starts at the oldest event still
 *   kept; `fetchedCount` 0 means caught up. Events are kept a few days (three, as integrations report); the
 *   feed must be enabled in the Cato Management Application (Resources → Events Integration).
 * - `auditFeed(accountIDs, timeFrame, marker) { marker fetchedCount hasMore accounts { id records { time
 *   fieldsMap } } }`: admin changes in a time frame (`utc.YYYY-MM-{DD/HH:MM:SS--DD/HH:MM:SS}`), paged by
 *   `marker` while `hasMore`.
 * - Errors come as GraphQL `errors` (HTTP 200); over a rate limit, "rate limit for operation: …" (Cato's
 *   scripts wait 5 s); bad keys are refused with 401/403; `accounts[].errorString` reports a per-account
 *   problem.
 *
 * How it reads. Events: the marker is the checkpoint, stored verbatim after every batch (engine: opaque
 * cursor); a crash re-asks the last committed marker, so Cato sends that batch again (same ids). Audit: time
 * windows of at most a day, whole seconds inclusive, one second of overlap, pages by marker; the window is
 * finished before the position moves. Records have no id: the hash of `{time, fieldsMap}` is the id.
 */

export interface CatoSettings {
  accountId: string;
  eventTypes?: string[];
  baseUrl?: string;
}

const settings = z
  .object({
    accountId: z
      .string()
      .trim()
      .regex(
        /^\d+$/,
        'expected the numeric Cato account ID (in the Cato Management Application URL: …/account/<ID>/…)',
      )
      .meta({ title: 'Account ID' })
      .describe('The Cato account to read'),
    eventTypes: z
      .array(z.string().trim().min(1).max(100))
      .max(50)
      .optional()
      .meta({ title: 'Event types' })
      .describe('Only these event types (e.g. Security, Connectivity, Routing); default all'),
  })
  .strict();

const endpoint = (s: CatoSettings, a: CatoAccount) =>
  `${(s.baseUrl ?? catoUrl(a)).replace(/\/+$/, '')}/api/v1/graphql2`;

export const EVENTS_QUERY =
  'query eventsFeed($accountIDs: [ID!], $marker: String, $filters: [EventFeedFieldFilterInput!]) { eventsFeed(accountIDs: $accountIDs, marker: $marker, filters: $filters) { marker fetchedCount accounts { id errorString records { time fieldsMap } } } }';
export const AUDIT_QUERY =
  'query auditFeed($accountIDs: [ID!], $timeFrame: TimeFrame!, $marker: String) { auditFeed(accountIDs: $accountIDs, timeFrame: $timeFrame, marker: $marker) { marker fetchedCount hasMore accounts { id errorString records { time fieldsMap } } } }';

const body = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

/** `utc.YYYY-MM-{DD/HH:MM:SS--DD/HH:MM:SS}` (across months and years the wider forms), both ends inclusive. */
export function timeFrame(startMs: number, endInclusiveMs: number): string {
  const a = new Date(startMs).toISOString();
  const b = new Date(endInclusiveMs).toISOString();
  const t = (iso: string) => iso.slice(11, 19);
  if (a.slice(0, 7) === b.slice(0, 7))
    return `utc.${a.slice(0, 7)}-{${a.slice(8, 10)}/${t(a)}--${b.slice(8, 10)}/${t(b)}}`;
  if (a.slice(0, 4) === b.slice(0, 4))
    return `utc.${a.slice(0, 4)}-{${a.slice(5, 10)}/${t(a)}--${b.slice(5, 10)}/${t(b)}}`;
  return `utc.{${a.slice(0, 10)}/${t(a)}--${b.slice(0, 10)}/${t(b)}}`;
}

/** The feed's part of a GraphQL answer; GraphQL and per-account errors are thrown as config errors. */
function feed(answer: any, op: 'eventsFeed' | 'auditFeed'): any {
  const errors = answer?.errors;
  if (Array.isArray(errors) && errors.length) {
    const message = String(errors[0]?.message ?? 'unknown error');
    throw configError(
      /permission|unauthori[sz]ed|forbidden/i.test(message) ? 'cato_permission_denied' : 'cato_query_failed',
      `Cato refused ${op}: ${message.slice(0, 200)}`,
      /permission|unauthori[sz]ed|forbidden/i.test(message)
        ? 'The API key may not read this account: check the account ID and that the key (Resources → API Keys) belongs to the account.'
        : "Check the collector's account ID and event types; if they are right, report this with the logs.",
    );
  }
  const f = answer?.data?.[op];
  const problem = f?.accounts?.find?.((a: any) => a?.errorString)?.errorString;
  if (problem)
    throw configError(
      'cato_account_error',
      `Cato reported for the account: ${String(problem).slice(0, 200)}`,
      op === 'eventsFeed'
        ? 'Enable the events feed in the Cato Management Application (Resources → Events Integration) and check the account ID.'
        : 'Check the collector’s account ID and the API key’s access to it.',
    );
  return f;
}

const recordsOf = (f: any): unknown[] => (f?.accounts ?? []).flatMap((a: any) => a?.records ?? []);
const idOf = (r: unknown) => (r && typeof r === 'object' ? hashId(r) : undefined);

/** Sends the returned marker back, with the rest of the request unchanged, while `more` says so. */
function markerPages(op: 'eventsFeed' | 'auditFeed', more: (f: any) => boolean): Paginator {
  return {
    next({ request, body: answer }) {
      const f = answer?.data?.[op];
      if (!f || !more(f) || typeof f.marker !== 'string') return undefined;
      const sent = JSON.parse(request.body ?? '{}');
      return { ...request, body: body(sent.query, { ...sent.variables, marker: f.marker }) };
    },
  };
}

const events = restPoll<CatoSettings, CatoAccount>({
  title: 'Events',
  method: 'POST',
  url: ({ settings: s, account }) => endpoint(s, account),
  request: ({ settings: s, account }): PageRequest => ({
    url: endpoint(s, account),
    body: body(EVENTS_QUERY, {
      accountIDs: [s.accountId],
      marker: '',
      filters: s.eventTypes?.length
        ? [{ fieldName: 'event_type', operator: 'in', values: s.eventTypes }]
        : [],
    }),
  }),
  records: (answer) => recordsOf(feed(answer, 'eventsFeed')),
  paginate: markerPages('eventsFeed', (f) => Number(f.fetchedCount) > 0),
  cursor: { kind: 'opaque', time: 'time' },
  eventId: idOf,
});

const audit = restPoll<CatoSettings, CatoAccount>({
  title: 'Audit trail',
  method: 'POST',
  url: ({ settings: s, account }) => endpoint(s, account),
  request: ({ settings: s, account }, w: Window): PageRequest => ({
    url: endpoint(s, account),
    body: body(AUDIT_QUERY, {
      accountIDs: [s.accountId],
      timeFrame: timeFrame(
        Math.ceil(w.start.getTime() / 1000) * 1000,
        Math.ceil(w.end.getTime() / 1000) * 1000 - 1000,
      ),
      marker: '',
    }),
  }),
  records: (answer) => recordsOf(feed(answer, 'auditFeed')),
  paginate: markerPages('auditFeed', (f) => f.hasMore === true),
  cursor: { time: 'time', lag: '2m', overlap: '1s', order: 'any', maxWindow: '1d' },
  eventId: idOf,
});

const RATE_LIMIT_WAIT_MS = 5000;

export default defineSource<CatoSettings, CatoAccount>({
  id: 'cato-networks',
  title: 'Cato Networks',
  account: 'cato-networks',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Cato Networks SASE events (security: firewall, IPS, anti-malware, CASB, DLP; connectivity; routing; Sockets) from the events feed, and the admin audit trail.',
  setupGuide: [
    '1. In the Cato Management Application, **Resources → Events Integration**: enable **Integrate Cato events',
    '   with external systems** (the events feed).',
    '2. **Resources → API Keys → New** (as an administrator with Editor rights): permission **View**; optionally',
    "   restrict it to Tributary's outbound IP addresses; copy the key.",
    '3. Note the **account ID** (the number in the Cato Management Application URL after `/account/`).',
    '4. Create a **Cato Networks** account with the key (and the regional API host, if the account uses one), then',
    '   the collector with the account ID.',
    '',
    'The events feed is a queue Cato keeps for a few days: the first run reads everything still kept, then each run',
    'continues from the marker it saved.',
    '',
    "Early access: Cato's rate limits in numbers and the events feed's retention are not on a page we could read",
    '(Tributary budgets 1 request/s per key and waits 5 s when Cato says it is rate limited).',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<CatoSettings>,
  streams: {
    events: {
      title: events.title,
      description: 'The account events feed (eventsFeed), read from the saved marker.',
      read: (ctx: ReadContext<CatoSettings, CatoAccount>) => events.read(ctx),
    },
    audit: {
      title: audit.title,
      description: 'Admin changes in the Cato Management Application (auditFeed), by time window.',
      read: (ctx: ReadContext<CatoSettings, CatoAccount>) => audit.read(ctx),
    },
  },
  rateLimitedBody(answer) {
    const m = (answer as { errors?: Array<{ message?: unknown }> })?.errors?.[0]?.message;
    return typeof m === 'string' && /rate limit/i.test(m)
      ? { waitMs: RATE_LIMIT_WAIT_MS, message: m }
      : undefined;
  },
  explain({ status }) {
    if (status === 401 || status === 403)
      return {
        code: 'cato_invalid_api_key',
        action:
          "Cato refused the API key (wrong, expired, deleted, or this host's address is not among the key's allowed IPs). Create a key under Resources → API Keys and update the account.",
      };
    return undefined;
  },
  async test({ settings: s, account, http, signal, streams }) {
    const ctx = { http, settings: s, account, signal } as ReadContext<CatoSettings, CatoAccount>;
    const probe = async (
      query: string,
      variables: Record<string, unknown>,
      op: 'eventsFeed' | 'auditFeed',
    ) => {
      const { body: answer } = await fetchPage({ method: 'POST' }, ctx, {
        url: endpoint(s, account),
        body: body(query, variables),
      });
      feed(answer, op);
    };
    const end = Date.now() - 60_000;
    if (streams.length === 0 || streams.includes('audit'))
      await probe(
        AUDIT_QUERY,
        { accountIDs: [s.accountId], timeFrame: timeFrame(end - 60_000, end), marker: '' },
        'auditFeed',
      );
    if (streams.length === 0 || streams.includes('events')) {
      // Proves the feed is enabled without consuming anything: the marker is never saved here.
      await probe(
        EVENTS_QUERY.replace('records { time fieldsMap } ', ''),
        { accountIDs: [s.accountId], marker: '' },
        'eventsFeed',
      );
    }
  },
});
