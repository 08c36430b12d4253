import { z } from 'zod';
import { type RecordedFutureAccount, recordedFutureHost } from '../../accounts/recorded-future.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import type { Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import recordedFutureContext from '../recorded-future-context/index.ts';

/**
 * Recorded Future alerts as events. Vendor facts (Alert API v3, as Recorded Future's published
 * integrations call it; support.recordedfuture.com "Alert API"):
 *
 * - `GET https://api.recordedfuture.com/v3/alerts` with `triggered=[FROM,TO]` (ISO times), `orderby=triggered`,
 *   `direction=asc`, offset paging with `from` and `limit` (at most 100); the answer is `{"data": [alert…],
 *   "counts": {"returned", "total"}}`; each alert has `id`, `title`, `rule`, `review`, and `log.triggered`.
 * - Authentication: the `X-RFToken` header (the `recorded-future` account).
 *
 * Unconfirmed in public documentation (hence early access): whether both ends of `triggered` are
 * inclusive (assumed; the engine's boundary ids suppress repeats), the page size maximum, rate limits,
 * and playbook alerts (`/playbook-alert/search`, a POST: not read here).
 *
 * Decisions: time windows on `log.triggered` with a 2 minute lag; a page shorter than the total says
 * where the next starts (`from` + returned), so an empty page before the total is asked again rather
 * than ending the window early; ids are the alert `id`.
 */

const settings = z
  .object({
    limit: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .meta({ title: 'Alerts per page' })
      .describe('Alerts per request (Recorded Future allows up to 100)'),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const base = (s: Settings, a: RecordedFutureAccount) =>
  (s.baseUrl ?? recordedFutureHost(a)).replace(/\/+$/, '');

/** Offset pages counted against `counts.total`: the next page starts after what was returned. */
const byTotal: Paginator = {
  next({ request, body, records }) {
    const total = Number(body?.counts?.total);
    const from = Number(request.query?.from ?? 0);
    if (!Number.isFinite(total) || from + records.length >= total) return undefined;
    return { ...request, query: { ...request.query, from: from + records.length } };
  },
};

export default defineSource<Settings, RecordedFutureAccount>({
  id: 'recorded-future',
  title: 'Recorded Future',
  account: 'recorded-future',
  stability: 'early-access',
  family: 'rest-time-window',
  description: 'Recorded Future alerts (triggered by your alerting rules) as events.',
  setupGuide: [
    'You need a Recorded Future subscription with API access to alerts.',
    '1. In the Recorded Future portal, **User Settings → API Access**, create or copy an **API token** that may read alerts.',
    '2. Create a **Recorded Future** account in Tributary with the token (sent as `X-RFToken`); the account of the Recorded Future',
    '   Context collector works when its token may read alerts.',
    'Alerts are read by the time they triggered, oldest first. Early access: playbook alerts are not read yet, and Recorded Future does',
    'not publish the Alert API’s rate limits.',
  ].join('\n'),
  settings,
  streams: {
    alerts: restPoll<Settings, RecordedFutureAccount>({
      title: 'Alerts',
      description: 'Alerts by the time they triggered (/v3/alerts).',
      url: ({ settings: s, account }) => `${base(s, account)}/v3/alerts`,
      params: ({ settings: s }, window) => ({
        triggered: `[${window.start.toISOString()},${new Date(window.end.getTime() - 1).toISOString()}]`,
        orderby: 'triggered',
        direction: 'asc',
        from: 0,
        limit: s.limit ?? 100,
      }),
      records: (body) => body?.data,
      paginate: byTotal,
      cursor: { time: 'log.triggered', lag: '2m', order: 'asc' },
      eventId: (r) => (typeof r?.id === 'string' && r.id ? r.id : undefined),
    }),
  },
  explain: (c) =>
    c.status === 403
      ? {
          code: 'recorded_future_not_licensed',
          action:
            'The token may not read alerts: ask your Recorded Future administrator for API access to alerts, or use a token that has it.',
        }
      : recordedFutureContext.explain?.(c),
  async test({ settings: s, account, http }) {
    const now = Date.now();
    await http.getJson(`${base(s, account)}/v3/alerts`, {
      triggered: `[${new Date(now - 3_600_000).toISOString()},${new Date(now).toISOString()}]`,
      limit: 1,
    });
  },
});
