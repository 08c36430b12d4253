import { z } from 'zod';
import { type RecordedFutureAccount, recordedFutureHost } from '../../accounts/recorded-future.ts';
import { defineSource, type RawEvent, type ReadContext } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';
import recordedFutureContext from '../recorded-future-context/index.ts';
import { PLAYBOOK_CATEGORY_PATHS } from './categories.ts';

/**
 * Recorded Future alerts and playbook alerts as events. Vendor facts (Alert API v3, as Recorded Future's published
 * integrations call it; support.recordedfuture.com "Alert API"):
 *
 * - `GET https://api.recordedfuture.com/v3/alerts` with `triggered=[FROM,TO]` (ISO times), `orderby=triggered`,
 *   `direction=asc`, offset paging with `from` and `limit` (at most 100); the answer is `{"data": [alert…],
 *   "counts": {"returned", "total"}}`; each alert has `id`, `title`, `rule`, `review`, and `log.triggered`.
 * - Authentication: the `X-RFToken` header (the `recorded-future` account).
 *
 *
 * Playbook alerts (Playbook Alert API, api.recordedfuture.com "Playbook Alert API"; its reference needs a login,
 * so the facts are those of Recorded Future's own client psengine — RecordedFuture-ProfessionalServices/psengine
 * `endpoints.py`, `playbook_alerts/playbook_alert_mgr.py` (`search`, `fetch_bulk`, `_prepare_query`),
 * `playbook_alerts/playbook_alerts.py` (`SearchIn`), `models/search_endpoint.py`, `pa_category.py`,
 * `mappings.py` — and of the OpenCTI connector, OpenCTI-Platform/connectors
 * `external-import/recorded-future/src/rflib/pyrf.py` `get_playbook_id`, which sends the same body):
 *
 * - `POST https://api.recordedfuture.com/playbook-alert/search`, a read-only query, JSON body `{"from", "limit",
 *   "order_by": "updated", "direction": "asc", "updated_range": {"from", "until"}, "category": [...]}` (the ranges
 *   are top-level fields, not under a `filter`); the answer is `{"status": {"status_code", "status_message"},
 *   "data": [{playbook_alert_id, category, status, priority, created, updated, title, alert_rule…}], "counts":
 *   {"returned", "total"}}`; the next page is `from` + returned until the total (psengine's paged POST).
 * - The alert whole: `POST /playbook-alert/{category endpoint}` `{"playbook_alert_ids": [...]}` answers `{"data":
 *   [alert…]}` for the ids of one category, each with `playbook_alert_id`, `panel_status` (`status`, `priority`,
 *   `created`, `updated`, `alert_rule`, `entity_name`, …), `panel_evidence_summary`, `panel_log_v2`. The category
 *   endpoint is the category's name except `cyber_vulnerability` → `vulnerability` and
 *   `fraud_compromised_checks` → `compromised_bank_checks`; an alert of another category is read with
 *   `GET /playbook-alert/common/{id}` (its status panel). Changing an alert is `PUT /playbook-alert/common/{id}`:
 *   never called.
 *
 * Unconfirmed in public documentation (hence early access): whether both ends of `triggered` and of
 * `updated_range` are inclusive (assumed; the engine's boundary ids suppress repeats), the page size maxima
 * (alerts 100; playbook alerts 1000 assumed: psengine allows larger pages), rate limits, error bodies.
 *
 * Decisions: alerts in time windows on `log.triggered` with a 2 minute lag; a page shorter than the total says
 * where the next starts (`from` + returned), so an empty page before the total is asked again rather
 * than ending the window early; ids are the alert `id`. Playbook alerts change status over time (psengine
 * compares two by `playbook_alert_id` and `panel_status.updated`): windows on `updated` (2 minute lag), each page
 * of the search fetched whole in one lookup per category (restPoll `expandPage`), one event per version, id
 * `{playbook_alert_id}@{panel_status.updated}`, time `panel_status.updated`; a version updated after the window
 * is left to the window it belongs to (`clip`). An alert updated while a window is paged leaves its place in the
 * offset list, so windows are settled against `counts.total` (restPoll `settle`).
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
    playbookPageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .meta({ title: 'Playbook alerts per page' })
      .describe('Playbook alerts per search request, and fetched whole per lookup (at most 1000)'),
    playbookCategories: z
      .array(
        z.string().regex(/^[a-z][a-z_]{1,63}$/, 'expected a playbook alert category such as domain_abuse'),
      )
      .min(1)
      .optional()
      .meta({ title: 'Playbook alert categories' })
      .describe(
        'Only these playbook alert categories, e.g. domain_abuse, cyber_vulnerability, identity_novel_exposures (default: all)',
      ),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const base = (s: Settings, a: RecordedFutureAccount) =>
  (s.baseUrl ?? recordedFutureHost(a)).replace(/\/+$/, '');

/**
 * Offset pages counted against `counts.total`: the next page starts after what was returned. `from` is a query
 * parameter (alerts) or a field of the JSON body (the playbook alert search).
 */
const byTotal: Paginator = {
  next({ request, body, records }) {
    const total = Number(body?.counts?.total);
    const query = request.body === undefined ? undefined : JSON.parse(request.body);
    const from = Number((query ?? request.query)?.from ?? 0);
    if (!Number.isFinite(total) || from + records.length >= total) return undefined;
    const next = from + records.length;
    return query
      ? { ...request, body: JSON.stringify({ ...query, from: next }) }
      : { ...request, query: { ...request.query, from: next } };
  },
};

const isoOf = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** One version of a playbook alert, as an event: id `{playbook_alert_id}@{panel_status.updated}`. */
function playbookVersion(alert: any, listed: any): RawEvent {
  const updated = isoOf(alert?.panel_status?.updated) ?? isoOf(alert?.updated) ?? isoOf(listed?.updated);
  const id = isoOf(alert?.playbook_alert_id);
  return { raw: alert, id: id && updated ? `${id}@${updated}` : undefined, time: updated };
}

/** The alerts of one search page whole: one lookup per category (a read-only POST), `/common/{id}` otherwise. */
async function playbookAlertsOf(
  ctx: ReadContext<Settings, RecordedFutureAccount>,
  listed: unknown[],
): Promise<RawEvent[]> {
  const root = `${base(ctx.settings, ctx.account)}/playbook-alert`;
  const byCategory = new Map<string, any[]>();
  const events: RawEvent[] = [];
  for (const r of listed as any[]) {
    if (!isoOf(r?.playbook_alert_id))
      events.push({ raw: r }); // dead-lettered: no id to look up
    else byCategory.set(String(r.category), [...(byCategory.get(String(r.category)) ?? []), r]);
  }
  for (const [category, rows] of byCategory) {
    const path = PLAYBOOK_CATEGORY_PATHS[category];
    if (!path) {
      for (const r of rows) {
        const { body, response } = await ctx.http.requestJson({
          method: 'GET',
          url: `${root}/common/${encodeURIComponent(r.playbook_alert_id)}`,
          accept: [404], // gone since the search
        });
        if (response.status !== 404 && body?.data) events.push(playbookVersion(body.data, r));
      }
      continue;
    }
    const { body } = await ctx.http.requestJson({
      method: 'POST',
      readOnly: true, // the category lookup reads alerts by id; changing one is PUT /playbook-alert/common/{id}
      url: `${root}/${path}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ playbook_alert_ids: rows.map((r) => r.playbook_alert_id) }),
    });
    const listedById = new Map(rows.map((r) => [r.playbook_alert_id, r]));
    for (const a of Array.isArray(body?.data) ? body.data : [])
      events.push(playbookVersion(a, listedById.get(a?.playbook_alert_id)));
  }
  return events;
}

/** The search of one window: alerts updated in it, oldest update first. */
const searchRequest = (ctx: ReadContext<Settings, RecordedFutureAccount>, w: Window): PageRequest => ({
  url: `${base(ctx.settings, ctx.account)}/playbook-alert/search`,
  body: JSON.stringify({
    from: 0,
    limit: ctx.settings.playbookPageSize ?? 100,
    order_by: 'updated',
    direction: 'asc',
    updated_range: { from: w.start.toISOString(), until: new Date(w.end.getTime() - 1).toISOString() },
    ...(ctx.settings.playbookCategories ? { category: ctx.settings.playbookCategories } : {}),
  }),
});

export default defineSource<Settings, RecordedFutureAccount>({
  id: 'recorded-future',
  title: 'Recorded Future',
  account: 'recorded-future',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Recorded Future alerts (triggered by your alerting rules) and playbook alerts (domain abuse, vulnerabilities, identity exposures, third-party risk…) as events.',
  setupGuide: [
    'You need a Recorded Future subscription with API access to alerts and, for the playbook-alerts stream, the Playbook Alert API.',
    '1. In the Recorded Future portal, **User Settings → API Access**, create or copy an **API token** that may read alerts',
    '   (and playbook alerts).',
    '2. Create a **Recorded Future** account in Tributary with the token (sent as `X-RFToken`); the account of the Recorded Future',
    '   Context collector works when its token may read alerts.',
    '3. Optional: **playbookCategories** narrows the playbook alerts read (e.g. `domain_abuse`, `cyber_vulnerability`).',
    'Alerts are read by the time they triggered, oldest first; playbook alerts by the time they last changed, one event per',
    'change (id `{playbook_alert_id}@{updated}`: keep the newest per `raw.playbook_alert_id`).',
    'Early access: the Playbook Alert API reference needs a login, so the request is the one Recorded Future’s own client',
    '(psengine) sends; whether the time ranges include both ends, the largest page and the rate limits are not published.',
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
    'playbook-alerts': restPoll<Settings, RecordedFutureAccount>({
      title: 'Playbook alerts',
      description:
        'Playbook alerts (domain abuse, vulnerabilities, identity exposures, third-party risk…) whole, one event each time one changes (/playbook-alert/search).',
      method: 'POST',
      url: ({ settings: s, account }) => `${base(s, account)}/playbook-alert/search`,
      request: searchRequest,
      records: (body) => body?.data,
      paginate: byTotal,
      cursor: { time: 'updated', lag: '2m', order: 'any', clip: true },
      eventId: () => undefined,
      missingId: 'record has no playbook_alert_id or panel_status.updated',
      expandPage: (ctx, listed) => playbookAlertsOf(ctx, listed),
      settle: {
        count: (body) => body?.counts?.total,
        gapCode: 'recorded_future_window_unstable',
        record: () => 'playbook alert',
        identity: (id) => id.slice(0, id.lastIndexOf('@')),
        action:
          'Lower the collector’s interval or raise playbookPageSize so each window holds fewer pages; the next change of a missed alert delivers it.',
      },
    }),
  },
  explain: (c) =>
    c.status === 403
      ? c.url.pathname.includes('/playbook-alert/')
        ? {
            code: 'recorded_future_not_licensed',
            action:
              'The token may not read playbook alerts: ask your Recorded Future administrator for the Playbook Alert API on this token, or disable the playbook-alerts stream.',
          }
        : {
            code: 'recorded_future_not_licensed',
            action:
              'The token may not read alerts: ask your Recorded Future administrator for API access to alerts, or use a token that has it.',
          }
      : c.status === 404 && c.url.pathname.includes('/playbook-alert/')
        ? {
            code: 'recorded_future_playbook_category_unknown',
            action:
              'Recorded Future has no lookup for a playbook alert category listed by the search: set playbookCategories to the categories to read, and report the category with the logs.',
          }
        : recordedFutureContext.explain?.(c),
  async test({ settings: s, account, http, streams }) {
    const now = Date.now();
    const enabled = streams.length ? streams : ['alerts', 'playbook-alerts'];
    if (enabled.includes('alerts'))
      await http.getJson(`${base(s, account)}/v3/alerts`, {
        triggered: `[${new Date(now - 3_600_000).toISOString()},${new Date(now).toISOString()}]`,
        limit: 1,
      });
    if (enabled.includes('playbook-alerts'))
      await http.requestJson({
        method: 'POST',
        readOnly: true, // a search
        url: `${base(s, account)}/playbook-alert/search`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: 0, limit: 1 }),
      });
  },
});
