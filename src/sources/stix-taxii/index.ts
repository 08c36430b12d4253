import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { defineSource, type ReadContext } from '../../core/source.ts';
import { serviceUrl } from '../../core/validation.ts';
import { contextStream, refreshSetting } from '../../engine/context-snapshot.ts';
import {
  indicatorOp,
  patternEntity,
  readTaxii,
  TAXII_MEDIA,
  type TaxiiCheckpoint,
  type TaxiiSettings,
  taxiiCollections,
} from '../taxii.ts';

/**
 * Any TAXII 2.1 (or 2.0) server: STIX indicators as context records, every other STIX object as events.
 * Protocol facts are in ../taxii.ts (OASIS TAXII 2.1 §3–§5, TAXII 2.0 §3); STIX facts:
 * docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html — §3.2 common properties (`id`, `created`,
 * `modified`, `revoked`), §4.7 Indicator (`pattern`, `pattern_type`, `valid_from`, `valid_until`), §9
 * patterning. Authentication is the server's: TAXII 2.1 §1.6.7 requires HTTP Basic support and allows
 * others (an API key header).
 *
 * Decisions: `indicators` asks the collections for `match[type]=indicator` and is a context stream: a
 * refresh reads every indicator (no `added_after`) every `refreshEvery`, then deltas read those added
 * since; the entity comes from the pattern (ip, domain, url, hash, else indicator); a revoked indicator
 * or one past `valid_until` is `op: delete`; the id is the STIX id (one per indicator, its latest version
 * wins). `objects` reads everything else (malware, reports, relationships, sightings, …) as events, by
 * `added_after`, each version once (`id@modified`).
 */

const settings = z
  .object({
    url: serviceUrl()
      .meta({ title: 'TAXII URL' })
      .describe(
        "The server's discovery URL (e.g. https://taxii.example.com/taxii2/) or one API root (e.g. https://taxii.example.com/api1/)",
      ),
    version: z
      .enum(['2.1', '2.0'])
      .default('2.1')
      .meta({ title: 'TAXII version' })
      .describe('The TAXII version the server speaks: 2.1 (default) or 2.0'),
    collections: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ title: 'Collections' })
      .describe('Collection ids to read; default: every collection the account may read'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .meta({ title: 'Objects per page' })
      .describe('Objects asked for per request (the server may send fewer); default 1000'),
    refreshEvery: refreshSetting('24h'),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const taxii = (s: Settings): TaxiiSettings => ({
  url: s.url,
  version: s.version ?? '2.1',
  collections: s.collections,
  limit: s.limit ?? 1000,
});
const from = (ctx: ReadContext) =>
  ctx.window.start ?? new Date(ctx.now() - ctx.window.lookbackMs).toISOString();

export default defineSource<Settings, unknown>({
  id: 'stix-taxii',
  title: 'STIX/TAXII',
  account: 'basic',
  accounts: ['basic', 'api-key', 'none'],
  stability: 'ga',
  family: 'context',
  description:
    'Threat intelligence from any TAXII 2.1 or 2.0 server: STIX indicators as context records (ip, domain, url, hash), other STIX objects as events.',
  setupGuide: [
    'From your threat-intelligence provider or TAXII server, get:',
    '1. The **discovery URL** (usually ending in `/taxii2/`) or the **API root** URL, and whether it speaks TAXII **2.1** or **2.0**.',
    '2. The **collection ids** to read (or read every collection the credentials may read).',
    '3. Credentials: a **username and password** (HTTP Basic, which every TAXII 2.1 server supports: create a **Basic** account), or an',
    '   **API key** and the header it goes in (an **API key** account), or none for a public server.',
    'Indicators become context records, refreshed fully every **Full refresh every** (default 24 hours) with an end-of-snapshot marker,',
    'and added ones read in between; revoked or expired indicators are deletions. Other STIX objects (malware, reports, relationships,',
    'sightings) arrive as events in the `objects` stream.',
  ].join('\n'),
  settings,
  streams: {
    indicators: contextStream<Settings, unknown>({
      title: 'Indicators',
      description:
        'STIX indicators as context records: entity ip, domain, url, hash or indicator from the pattern.',
      entity: patternEntity,
      op: indicatorOp,
      refreshEvery: (s) => parseDuration(s.refreshEvery ?? '24h'),
      full: (ctx) =>
        readTaxii(taxii(ctx.settings), ctx as ReadContext<unknown, unknown, TaxiiCheckpoint>, {
          types: ['indicator'],
          from: undefined,
          stableIds: true,
        }),
      delta: (ctx) =>
        readTaxii(taxii(ctx.settings), ctx as ReadContext<unknown, unknown, TaxiiCheckpoint>, {
          types: ['indicator'],
          from: from(ctx),
          stableIds: true,
        }),
    }),
    objects: {
      title: 'Other STIX objects',
      description:
        'Every object but indicators (malware, attack patterns, reports, relationships, sightings, …) as events.',
      read: (ctx) =>
        readTaxii(taxii(ctx.settings), ctx as ReadContext<unknown, unknown, TaxiiCheckpoint>, {
          skipTypes: ['indicator'],
          from: from(ctx),
        }),
    },
  },
  explain({ status, url }) {
    if (status === 401)
      return {
        code: 'taxii_unauthorized',
        action: `The TAXII server at ${url.origin} refused the credentials: check the account's username and password (or API key and its header).`,
      };
    if (status === 403)
      return {
        code: 'taxii_forbidden',
        action: `The credentials may not read ${url.pathname}: ask the TAXII server's administrator for read access to the collection, or remove it from settings.collections.`,
      };
    if (status === 404)
      return {
        code: 'taxii_not_found',
        action: `The TAXII server has no ${url.pathname}: check settings.url (the discovery URL or an API root) and settings.collections.`,
      };
    if (status === 406)
      return {
        code: 'taxii_version_refused',
        action: `The server does not accept ${TAXII_MEDIA['2.1']}: set settings.version to the TAXII version it speaks (2.0 or 2.1).`,
      };
    return undefined;
  },
  async test({ settings: s, http }) {
    const collections = await taxiiCollections(taxii(s), { http });
    // Reading one object proves the collection is readable with these credentials.
    if (collections[0])
      await http.getJson(`${collections[0]}objects/`, s.version === '2.0' ? {} : { limit: 1 }, {
        accept: s.version === '2.0' ? 'application/vnd.oasis.stix+json; version=2.0' : TAXII_MEDIA['2.1'],
        ...(s.version === '2.0' ? { range: 'items=0-0' } : {}),
      });
  },
});
