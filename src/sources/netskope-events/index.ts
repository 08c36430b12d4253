import { z } from 'zod';
import type { NetskopeAccount } from '../../accounts/netskope.ts';
import { defineSource } from '../../core/source.ts';
import {
  endpointOf,
  explainNetskope,
  indexSetting,
  iteratorStream,
  type NetskopeSettings,
} from '../netskope-iterator.ts';

/**
 * Netskope events through the REST API v2 data export iterators (`/api/v2/events/dataexport/events/{type}`):
 * see ../netskope-iterator.ts for the vendor facts and the protocol. Event types (docs.netskope.com "Data
 * Export API", Events): page, application, network, audit, infrastructure, incident, endpoint, connection.
 */

export const EVENT_TYPES = {
  application: 'Application events: activities in cloud apps (upload, download, share, login)',
  audit: 'Admin audit log of the Netskope tenant',
  infrastructure: 'Infrastructure events: Netskope clients, publishers and tunnels',
  network: 'Network events: private access and firewall traffic',
  incident: 'DLP and other incidents',
  page: 'Page events: every web transaction (large)',
  connection: 'Connection events',
  endpoint: 'Endpoint DLP and device events',
} as const;

type EventType = keyof typeof EVENT_TYPES;
const types = Object.keys(EVENT_TYPES) as [EventType, ...EventType[]];
const DEFAULT: EventType[] = ['application', 'audit', 'infrastructure', 'network', 'incident'];

const settings = z
  .object({
    types: z
      .array(z.enum(types, { error: () => `expected event types among ${types.join(', ')}` }))
      .min(1)
      .default(DEFAULT)
      .meta({ title: 'Event types' })
      .describe(`Each is a stream: ${types.join(', ')} (default all but page, connection and endpoint)`),
    index: indexSetting,
  })
  .strict();

export default defineSource<NetskopeSettings, NetskopeAccount>({
  id: 'netskope-events',
  title: 'Netskope events',
  account: 'netskope',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Netskope events (application activity, admin audit, infrastructure, network, incidents, and optionally every page) from the REST API v2 data export iterators.',
  setupGuide: [
    '1. In the Netskope tenant, **Settings → Tools → REST API v2 → New Token**: name it, set an expiry, and **Add',
    '   Endpoint** for each event type the collector reads, with **Read** privilege:',
    ...types.map((t) => `   \`${endpointOf('events', t)}\``),
    '   (a call to an endpoint the token lacks is refused with 403, naming it).',
    '2. Copy the token and create a **Netskope** account with the tenant URL (`https://<tenant>.goskope.com`).',
    '3. Netskope keeps each collector’s position under an **iterator index** (default `tributary-<collector>`).',
    '   One consumer may read an index at a time: do not share the index name with another tool or collector.',
    '   In cluster mode the collector runs on one worker at a time (its lease), so the index has one consumer.',
    '',
    'Early access: the rate limits in numbers, page sizes and error bodies are not on a page we could read;',
    'Tributary waits as long as each answer’s `wait_time` says.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<NetskopeSettings>,
  defaultStreams: (s) => s.types,
  streams: Object.fromEntries(
    types.map((t) => [
      t,
      iteratorStream('events', t, `${t[0].toUpperCase()}${t.slice(1)} events`, EVENT_TYPES[t]),
    ]),
  ),
  vendorWrites: [
    "Netskope keeps the read position at its side: each page asked for (GET …?operation=next) moves this collector's iterator index, and Test Connection places a separate check index (<index>-check) at the end. No event, alert or setting is changed.",
  ],
  explain: explainNetskope,
  async test({ settings: s, account, http, streams }) {
    // A `head` on a throwaway index proves the token and each endpoint's scope without moving the collector's.
    for (const t of streams.length ? streams : s.types)
      await http.getJson(`${(s.baseUrl ?? account.url).replace(/\/+$/, '')}${endpointOf('events', t)}`, {
        index: `${s.index ?? 'tributary'}-check`.slice(0, 64),
        operation: 'tail',
      });
  },
});
