import { z } from 'zod';
import { type RecordedFutureAccount, recordedFutureHost } from '../../accounts/recorded-future.ts';
import { parseDuration } from '../../core/duration.ts';
import { defineSource, type ReadContext } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { recordParts } from '../../engine/artifact-list.ts';
import { contextStream, readWholeList, refreshSetting } from '../../engine/context-snapshot.ts';
import { decodeObject } from '../../engine/object-decode.ts';

/**
 * Recorded Future risk lists as context records. Vendor facts:
 *
 * - Recorded Future Connect API (support.recordedfuture.com, "The Connect API" → risk lists; the request
 *   every published client sends): `GET https://api.recordedfuture.com/v2/{ip|domain|hash|url|vulnerability}/risklist`
 *   with `format=csv/splunk`, `gzip=true|false` and `list=<risk rule>` (empty or `default`: the default
 *   list), authenticated by the `X-RFToken` header. `GET /v2/{type}/riskrules` names the lists.
 * - The `csv/splunk` list is a CSV with a header row: `Name` (the IP, domain, hash, URL or CVE), `Risk`
 *   (0–99), `RiskString` (rules triggered, e.g. "3/64"), `EvidenceDetails` (JSON text of the evidence); the
 *   hash list also has `Algorithm`.
 *
 * Unconfirmed in public documentation (hence early access): the column set of every list type, how often
 * the lists are regenerated, rate limits, and the error bodies.
 *
 * Decisions: one stream per entity type; each run that finds a refresh due downloads the list whole
 * (gzip, to a temporary file, engine/artifact-list.ts), streams its rows as records in parts of 1,000, then
 * writes the end-of-snapshot marker: an entity that left the list is removed by a destination's lookup
 * table then. A crash resumes after the rows already delivered when the list downloaded again is the same
 * (the sha256 of its bytes: the Connect API documents no ETag, Last-Modified or checksum header for risk
 * lists), and starts the refresh again from the first row under a new snapshot id when it changed
 * (engine/context-snapshot.ts, `readWholeList`). Lists have no deltas. Ids are
 * `{entity}:{Name}`; records are the CSV rows as objects of their columns, kept as sent (strings).
 */

const TYPES = ['ip', 'domain', 'hash', 'url', 'vulnerability'] as const;
type ListType = (typeof TYPES)[number];

const settings = z
  .object({
    list: z
      .string()
      .regex(
        /^[A-Za-z0-9_:-]*$/,
        'expected a risk list (risk rule) name such as default or recentMalwareDelivery',
      )
      .default('default')
      .meta({ title: 'Risk list' })
      .describe(
        'The risk list of each type to read (a risk rule name from /v2/{type}/riskrules); default: the default list',
      ),
    refreshEvery: refreshSetting('6h'),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const base = (s: Settings, a: RecordedFutureAccount) =>
  (s.baseUrl ?? recordedFutureHost(a)).replace(/\/+$/, '');
const riskListUrl = (s: Settings, a: RecordedFutureAccount, type: ListType) => {
  const u = new URL(`${base(s, a)}/v2/${type}/risklist`);
  u.searchParams.set('format', 'csv/splunk');
  // Compressed (lists are large): saved to a temporary file as sent, gunzipped while read (object-decode.ts).
  u.searchParams.set('gzip', 'true');
  u.searchParams.set('list', s.list ?? 'default');
  return u.toString();
};

function readList(type: ListType, ctx: ReadContext<Settings, RecordedFutureAccount>) {
  return readWholeList(ctx, {
    download: { url: riskListUrl(ctx.settings, ctx.account, type), label: `The ${type} risk list` },
    parts: (bytes, skip) =>
      recordParts(decodeObject(bytes, 'csv', 'auto'), {
        skip,
        maxEvents: 1000,
        maxBytes: 8 << 20,
        record: (item) => {
          if ('error' in item)
            return { deadLetter: { raw: item.text, reason: `${type} risk list: ${item.error}` } };
          const row = item.value as Record<string, string>;
          const name = row.Name;
          if (!name) return { deadLetter: { raw: row, reason: `${type} risk list: a row without a Name` } };
          return { event: { raw: row, id: `${type}:${name}` }, bytes: item.size };
        },
      }),
  });
}

const stream = (type: ListType, title: string) =>
  contextStream<Settings, RecordedFutureAccount>({
    title,
    description: `The ${type} risk list (/v2/${type}/risklist, CSV) as context records, read whole at each refresh.`,
    entity: type,
    refreshEvery: (s) => parseDuration(s.refreshEvery ?? '6h'),
    full: (ctx) => readList(type, ctx),
  });

export default defineSource<Settings, RecordedFutureAccount>({
  id: 'recorded-future-context',
  title: 'Recorded Future Context',
  account: 'recorded-future',
  stability: 'early-access',
  family: 'context',
  description:
    'Recorded Future risk lists (IPs, domains, hashes, URLs, vulnerabilities with their risk scores) as context records, refreshed whole on a schedule.',
  setupGuide: [
    'You need a Recorded Future subscription that includes API access to risk lists (the Connect API).',
    '1. In the Recorded Future portal, **User Settings → API Access**, create or copy an **API token** for the Connect API.',
    '2. Create a **Recorded Future** account in Tributary with the token (sent as `X-RFToken`).',
    '3. Optionally pick a **Risk list** other than the default (a risk rule name, as listed by `/v2/{type}/riskrules`), and the entity',
    '   types to collect (streams `ip`, `domain`, `hash`, `url`, `vulnerability`).',
    'Every **Full refresh every** (default 6 hours) each list is downloaded whole and ends with an end-of-snapshot marker: entities that',
    'left the list leave your lookup tables then. Early access: Recorded Future does not publish the lists’ columns for every type,',
    'their update frequency or the API’s rate limits.',
  ].join('\n'),
  settings,
  streams: {
    ip: stream('ip', 'IP addresses'),
    domain: stream('domain', 'Domains'),
    hash: stream('hash', 'File hashes'),
    url: stream('url', 'URLs'),
    vulnerability: stream('vulnerability', 'Vulnerabilities'),
  },
  explain({ status }) {
    if (status === 401)
      return {
        code: 'recorded_future_invalid_token',
        action:
          'Recorded Future rejected the API token (X-RFToken): copy a valid Connect API token from the portal (User Settings → API Access) into the account.',
      };
    if (status === 403)
      return {
        code: 'recorded_future_not_licensed',
        action:
          "The token may not read this risk list: the subscription must include the Connect API's risk lists for the entity type; ask your Recorded Future administrator, or disable that stream.",
      };
    if (status === 404)
      return {
        code: 'recorded_future_list_not_found',
        action:
          'Recorded Future has no such risk list: check settings.list against /v2/{type}/riskrules, or leave it empty for the default list.',
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    const enabled = (streams.length ? streams : [...TYPES]) as ListType[];
    // The list of risk rules is small; it proves the token and the entity type's licence.
    for (const type of enabled) await http.getJson(`${base(s, account)}/v2/${type}/riskrules`);
  },
});
