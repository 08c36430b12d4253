import { pushSource } from '../../engine/ingest/push-source.ts';

/**
 * Webhook (generic push receiver), family `push`. The product it re-creates documents a Webhook
 * Cloud Collector that takes token-authenticated HTTPS POSTs with JSON or "Raw (multiline)" bodies,
 * optionally gzipped, batched as much as possible (docs.exabeam.com … webhook-cloud-collectors/
 * generic-webhook-cloud-collector.html; HEC is listed there but "not yet supported"). Everything vendor-neutral lives in engine/ingest: this is its settings'
 * defaults and the sender-side guide. The ZIA, Cortex Data Lake, Cribl and DataBahn presets are the
 * same receiver with those vendors' formats as defaults.
 */
export default pushSource({
  id: 'webhook',
  title: 'Webhook',
  stability: 'ga',
  description:
    'Receives events any system pushes over HTTPS: JSON objects, JSON arrays, NDJSON or raw lines, optionally gzipped.',
  defaults: { format: 'auto', stream: 'events' },
  setupGuide: [
    'Install the collector: its **ingest token** is shown once in the response (rotate it any time under',
    '`POST /api/collectors/NAME/rotate-ingest-token`; the previous token keeps working for 24 h by default).',
    '',
    'Configure the sender to POST batches to `https://YOUR-TRIBUTARY/ingest/NAME` with',
    '`Authorization: Bearer TOKEN` (`Authorization: Basic` with the token as password, or',
    '`Authorization: Splunk TOKEN`, work too). Serve Tributary behind an HTTPS reverse proxy.',
    '',
    '- **Body**: one JSON object, a JSON array of records, NDJSON, stacked JSON, or raw text (one event per',
    '  line, kept as a string). `format: auto` (default) reads JSON when the body starts with `{` or `[`.',
    '- **Compression**: `Content-Encoding: gzip` is accepted. Bodies are limited to `maxBodyMB` (10 MB) as',
    '  sent, `maxDecompressedMB` (100 MB) decompressed and `maxRecords` (100,000) records; larger ones get',
    '  **413** (send smaller batches). A record nested deeper than `maxDepth` (64) or longer than',
    '  `maxRecordKB` (1024) goes to the dead letters.',
    '- **Ids**: set `idPath` (e.g. `event.uuid`) when records carry a unique id; otherwise the id is a hash of',
    '  the record, so a re-sent record keeps its id and destinations can de-duplicate.',
    '- **Time**: set `timePath` (ISO-8601 or epoch seconds/ms); otherwise the time it was received.',
    '- **Signature** (optional): set `hmac.secret` (write-only) and the sender adds',
    '  `X-Tributary-Signature: sha256=HEX` (HMAC-SHA256 of the body as sent; the header name is `hmac.header`).',
    '',
    'A **200** means every destination acknowledged the events. Make the sender retry **429** and **503**',
    '(after `Retry-After`): they mean "not stored yet, send this batch again" — a destination is down, the',
    'collector is stopped, or it is over `maxEventsPerSecond`. Nothing is lost as long as the sender retries.',
  ].join('\n'),
});
