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
 * Netskope alerts through the REST API v2 data export iterators (`/api/v2/events/dataexport/alerts/{type}`):
 * see ../netskope-iterator.ts for the vendor facts and the protocol. Alert types (docs.netskope.com "Data
 * Export API", Alerts): compromisedcredential, ctep, dlp, malsite, malware, policy, quarantine, remediation,
 * securityassessment, uba, watchlist, device, content.
 */

export const ALERT_TYPES = {
  dlp: 'Data loss prevention',
  malware: 'Malware detected in files',
  malsite: 'Visits to malicious sites',
  policy: 'Real-time protection policy alerts',
  uba: 'User behavior anomalies',
  compromisedcredential: 'Compromised credentials',
  securityassessment: 'Security posture (SSPM/CSPM) violations',
  quarantine: 'Files quarantined',
  remediation: 'Remediation actions',
  watchlist: 'Watch list matches',
  ctep: 'Cloud threat exchange (IPS) alerts',
  device: 'Device classification alerts',
  content: 'Content alerts',
} as const;

type AlertType = keyof typeof ALERT_TYPES;
const types = Object.keys(ALERT_TYPES) as [AlertType, ...AlertType[]];

const settings = z
  .object({
    types: z
      .array(z.enum(types, { error: () => `expected alert types among ${types.join(', ')}` }))
      .min(1)
      .default([...types])
      .meta({ title: 'Alert types' })
      .describe(`Each is a stream: ${types.join(', ')} (default all)`),
    index: indexSetting,
  })
  .strict();

export default defineSource<NetskopeSettings, NetskopeAccount>({
  id: 'netskope-alerts',
  title: 'Netskope alerts',
  account: 'netskope',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Netskope alerts (DLP, malware, malicious sites, policy, UBA, compromised credentials, posture, …) from the REST API v2 data export iterators.',
  setupGuide: [
    '1. In the Netskope tenant, **Settings → Tools → REST API v2 → New Token**: name it, set an expiry, and **Add',
    '   Endpoint** for each alert type the collector reads, with **Read** privilege:',
    ...types.map((t) => `   \`${endpointOf('alerts', t)}\``),
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
    types.map((t) => [t, iteratorStream('alerts', t, `${ALERT_TYPES[t]} alerts`, ALERT_TYPES[t])]),
  ),
  vendorWrites: [
    "Netskope keeps the read position at its side: each page asked for (GET …?operation=next) moves this collector's iterator index, and Test Connection places a separate check index (<index>-check) at the end. No event, alert or setting is changed.",
  ],
  explain: explainNetskope,
  async test({ settings: s, account, http, streams }) {
    for (const t of streams.length ? streams : s.types)
      await http.getJson(`${(s.baseUrl ?? account.url).replace(/\/+$/, '')}${endpointOf('alerts', t)}`, {
        index: `${s.index ?? 'tributary'}-check`.slice(0, 64),
        operation: 'tail',
      });
  },
});
