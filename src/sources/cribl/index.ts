import { pushSource } from '../../engine/ingest/push-source.ts';

/**
 * Cribl Stream / Cribl Edge through their Webhook Destination (push). Vendor facts followed:
 * - docs.cribl.io/stream/destinations-webhook/ (and docs.cribl.io/edge/destinations-webhook): Webhook URL,
 *   Method POST by default, Format NDJSON (default), JSON Array, Custom (a source expression per event,
 *   an event delimiter, newline by default) or Advanced; backpressure: block, drop or persistent queue.
 * - Cribl's outputs.yml reference for `webhook_output`: `compress` (gzip the payload), `authType` with
 *   `token` = "Bearer token to include in the authorization header" (or basic, secrets, OAuth),
 *   `maxPayloadSizeKB` (1,024–512,000), `responseRetrySettings` per HTTP status (e.g. 429, 503) with
 *   backoff up to 180 s, and `responseHonorRetryAfterHeader` (delays up to 180 s).
 * - Cribl events are JSON objects with `_raw` and `_time` (epoch seconds).
 * Cribl events have no unique id: ids are a hash of the event unless `idPath` names one.
 */
export default pushSource({
  id: 'cribl',
  title: 'Cribl',
  stability: 'ga',
  description:
    'Whatever a Cribl Stream or Cribl Edge route sends to a Webhook destination (NDJSON or JSON array, gzip).',
  defaults: { format: 'auto', stream: 'events', timePath: '_time' },
  setupGuide: [
    'Install the collector and copy its **ingest token** (shown once).',
    '',
    'In Cribl, add a **Webhook** destination (Data → Destinations → Webhook, or QuickConnect):',
    '',
    '- **Webhook URL**: `https://YOUR-TRIBUTARY/ingest/NAME`; **Method**: POST.',
    '- **Format**: NDJSON (default) or JSON Array: each event is kept whole as `raw`, `_time` becomes its time.',
    '  To forward only the original event, choose **Custom** with source expression `_raw` and the newline',
    '  delimiter: JSON events are read as JSON, other lines as strings (`format: auto`).',
    '- **Authentication**: **Token** with the ingest token (sent as `Authorization: Bearer`), or Basic with',
    '  the token as password.',
    "- **Advanced Settings**: turn **Compress** on (gzip); keep **Body size limit (KB)** within the collector's",
    '  `maxBodyMB` (10 MB default: at most 10240 KB); add **429** and **503** to the HTTP status codes to',
    '  retry and turn on **Honor Retry-After header**.',
    "- **Backpressure behavior**: **Persistent Queue** keeps events on Cribl's disk during a long outage.",
    '',
    'A 200 means every Tributary destination acknowledged the batch; 429/503 mean "send it again".',
  ].join('\n'),
});
