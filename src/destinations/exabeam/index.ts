import { z } from 'zod';
import { vendorText } from '../../core/envelope.ts';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { HttpDestination } from '../http/http-destination.ts';
import { deliverySettings, destinationUrl } from '../http-delivery.ts';
import { defineDestinationKind } from '../kind.ts';
import { envelopeLine } from '../ndjson.ts';

/**
 * Exabeam's Webhook Cloud Collector as the receiving end. Nothing public documents its API; what is
 * known (docs/destinations.md, "exabeam"): third-party code and docs post to
 * `https://api2.<region>.exabeam.cloud/cloud-collectors/v1/logs/json` (or `/logs/raw`) with a bearer
 * token the collector issues, gzip optional, retrying 429 and 503; the collector takes JSON and raw
 * (multiline) bodies; the legacy connector allowed up to 100 MB per request. Early access: the rest
 * (the answer on success, an empty batch) is assumed, and this kind is the generic HTTP delivery with
 * those settings.
 */
export const EXABEAM_REGIONS = ['us-west', 'us-east', 'eu', 'sa'] as const;

export const exabeamConfigSchema = z
  .object({
    kind: z.literal('exabeam'),
    region: z
      .enum(EXABEAM_REGIONS)
      .default('us-west')
      .meta({ ...ORIGIN, title: 'Region' })
      .describe(
        'Region of your Exabeam tenant: us-west, us-east, eu or sa; it picks api2.REGION.exabeam.cloud',
      ),
    url: destinationUrl()
      .optional()
      .meta({ ...ORIGIN, title: 'Endpoint override' })
      .describe(
        'The full ingest URL when it is not the region’s (another region, a proxy); empty: from the region and format',
      ),
    token: z
      .string()
      .trim()
      .min(1)
      .meta({ ...SECRET, title: 'Token' })
      .describe(
        'The token the Webhook Cloud Collector issued (Collectors → Cloud Collectors → Webhook); sent as a bearer token',
      ),
    format: z
      .enum(['json', 'raw'])
      .default('json')
      .meta({ title: 'Format' })
      .describe('json: a JSON array to /logs/json; raw: one event per line to /logs/raw'),
    payload: z
      .enum(['envelope', 'raw'])
      .default('envelope')
      .meta({ title: 'Event body' })
      .describe(
        "envelope: Tributary's envelope (id, site, time zone, raw); raw: the vendor's record alone, as Exabeam parsers expect it",
      ),
    gzip: z
      .boolean()
      .default(true)
      .meta({ title: 'Compress (gzip)' })
      .describe('Compress request bodies (Content-Encoding: gzip)'),
    ...deliverySettings({
      maxBatchBytes: 5 * 1024 * 1024,
      maxBatchBytesLimit: 100 * 1024 * 1024,
      maxBatchEvents: 10_000,
    }),
  })
  .strict()
  .describe('Exabeam Webhook Cloud Collector (early access)');

export type ExabeamDestinationConfig = z.infer<typeof exabeamConfigSchema>;

export const exabeamUrl = (c: Pick<ExabeamDestinationConfig, 'region' | 'url' | 'format'>) =>
  c.url ?? `https://api2.${c.region}.exabeam.cloud/cloud-collectors/v1/logs/${c.format}`;

/** The vendor's record as one line: its own text when kept, otherwise serialised. */
const rawLine = (e: { raw: unknown }) => {
  const text = vendorText(e.raw);
  return text === undefined ? JSON.stringify(e.raw) : text.replace(/[\r\n]/g, '');
};

export const exabeamKind = defineDestinationKind({
  kind: 'exabeam',
  title: 'Exabeam (Webhook Cloud Collector)',
  description:
    'Posts batches to an Exabeam Webhook Cloud Collector with the token it issued; a 2xx acknowledges. Early access: the API is not publicly documented.',
  stability: 'early-access',
  schema: exabeamConfigSchema,
  create: (name, c) =>
    new HttpDestination(name, {
      ...c,
      kind: 'exabeam',
      url: exabeamUrl(c),
      format: c.format === 'json' ? 'json' : 'ndjson',
      auth: { type: 'bearer', token: c.token },
      headers: c.format === 'raw' ? { 'content-type': 'text/plain; charset=utf-8' } : {},
      encode: c.payload === 'raw' ? rawLine : envelopeLine,
    }),
});
