import { z } from 'zod';
import { type VectraAccount, vectraPortal } from '../../accounts/vectra.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import type { Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Vectra AI platform (RUX) event streams. Vendor facts (Vectra's RUX v3 OpenAPI document as published, the
 * `/events/*` paths; Cortex XSOAR's Vectra RUX integrations, xsoar.pan.dev):
 *
 * - `GET https://{portal}/api/v3.4/events/{detections|audits|entity_scoring}`: a checkpoint cursor, "callers
 *   persist the returned checkpoint and poll from it": `from=<checkpoint>` and `limit`, or
 *   `event_timestamp_gte` for where to begin; the answer carries `events`, `next_checkpoint` and
 *   `remaining_count`.
 * - Events: detections (a detection's new evidence, with `detection_id`, `entity_*`, `threat`,
 *   `certainty`), audits (user and API client actions), entity scoring (an entity's urgency changing);
 *   each with an `id` and `event_timestamp`.
 * - API clients are role-scoped: the role decides which streams the client may read (403 otherwise).
 *
 * How it reads (engine: opaque cursor). The first run asks `event_timestamp_gte` = the collector's
 * lookback; then `next_checkpoint` is the checkpoint, stored verbatim after every page, and a page with
 * `remaining_count` 0 ends the run with it saved for the next. Ids are `{stream}:{id}` (ids are per stream).
 *
 * Not confirmed in public documentation, assumed: the largest `limit` (1000), rate limits, error bodies
 * beyond Django REST framework's `detail`, and how long events are kept.
 */

export interface VectraSettings {
  apiVersion: string;
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    apiVersion: z
      .string()
      .trim()
      .regex(/^v3\.\d+$/, 'expected the portal’s API version, such as v3.4')
      .default('v3.4')
      .meta({ title: 'API version' })
      .describe('The RUX API version of the portal (v3.3 and later have the event streams)'),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(500)
      .meta({ title: 'Events per request' })
      .describe('Events asked for per request (limit)'),
  })
  .strict();

const api = (s: VectraSettings, a: VectraAccount) =>
  `${(s.baseUrl ?? vectraPortal(a)).replace(/\/+$/, '')}/api/${s.apiVersion}`;

/** The next request: `from` = the answer's `next_checkpoint`, alone (the start time only begins a stream). */
const fromCheckpoint: Paginator = {
  next({ request, body }) {
    const cp = body?.next_checkpoint;
    if (cp === undefined || cp === null || cp === '') return undefined;
    const { event_timestamp_gte: _, from: __, ...rest } = request.query ?? {};
    return { url: request.url, query: { ...rest, from: String(cp) } };
  },
};

function eventStream(
  kind: 'detections' | 'audits' | 'entity_scoring',
  title: string,
  description: string,
): StreamDef<VectraSettings, VectraAccount> {
  return restPoll<VectraSettings, VectraAccount>({
    title,
    description,
    url: ({ settings: s, account }) => `${api(s, account)}/events/${kind}`,
    params: ({ settings: s }, w) => ({
      event_timestamp_gte: `${w.start.toISOString().slice(0, 19)}Z`,
      limit: s.pageSize,
    }),
    records: (body) => body?.events,
    paginate: fromCheckpoint,
    cursor: {
      kind: 'opaque',
      time: 'event_timestamp',
      caughtUp: (body) => Number(body?.remaining_count ?? 0) <= 0,
    },
    eventId: (e) => (e?.id === undefined || e.id === null ? undefined : `${kind}:${e.id}`),
    missingId: `Vectra ${kind} event without an id`,
  });
}

export default defineSource<VectraSettings, VectraAccount>({
  id: 'vectra',
  title: 'Vectra AI',
  account: 'vectra',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Vectra AI platform events: detection evidence, entity urgency scoring and the audit trail of users and API clients (RUX event streams).',
  setupGuide: [
    '1. In the Vectra AI portal (as an admin): **Manage → API Clients → Add API Client**; give it a role that may',
    '   read detections, entities and (for the audits stream) the audit log, e.g. **Security Analyst** for',
    '   detections and scoring, **Auditor** or **Super Admin** for audits.',
    '2. Copy the **Client ID** and the **Secret Key** (shown once).',
    '3. Create a **Vectra AI** account in Tributary with the portal URL (`https://<id>.<region>.portal.vectra.ai`),',
    '   the Client ID and the Secret Key.',
    '',
    'Early access: Vectra publishes no rate limit, no largest page size and no retention for these streams.',
    'Tributary paces requests at 2 a second per account and asks 500 events a request.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<VectraSettings>,
  defaultStreams: () => ['detections', 'audits'],
  streams: {
    detections: eventStream(
      'detections',
      'Detection events',
      'New evidence of detections: type, category, entity, threat and certainty.',
    ),
    audits: eventStream('audits', 'Audit events', 'Actions of users and API clients in the portal.'),
    'entity-scoring': eventStream(
      'entity_scoring',
      'Entity scoring',
      'Changes of hosts’ and accounts’ urgency and importance scores.',
    ),
  },
  explain({ status, url }) {
    const stream = /\/events\/(\w+)/.exec(url.pathname)?.[1];
    if (status === 401)
      return {
        code: 'vectra_invalid_token',
        action:
          'Vectra refused a freshly issued token: check that the API client still exists in the portal (Manage → API Clients) and the account’s portal URL.',
      };
    if (status === 403)
      return {
        code: 'vectra_forbidden',
        action: `The API client's role may not read ${stream ?? 'this stream'}: give it a role that can (setup guide), or disable the stream.`,
      };
    if (status === 404)
      return {
        code: 'vectra_not_found',
        action:
          "The portal has no such event stream: check the portal URL and the collector's API version (v3.3 or later).",
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the API client and its role for each stream collected: one event at most each.
    const start = `${new Date(Date.now() - 3_600_000).toISOString().slice(0, 19)}Z`;
    const kinds = (streams.length ? streams : ['detections', 'audits']).map((k) =>
      k === 'entity-scoring' ? 'entity_scoring' : k,
    );
    for (const kind of kinds)
      await http.getJson(`${api(s, account)}/events/${kind}`, { event_timestamp_gte: start, limit: 1 });
  },
});
