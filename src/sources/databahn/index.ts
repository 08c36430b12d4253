import { pushSource } from '../../engine/ingest/push-source.ts';

/**
 * DataBahn (push). DataBahn's own documentation of its HTTP destination was not available to us (that
 * DataBahn pushes to a collector's HTTP ingest with a bearer token is unverified, low confidence), so
 * this preset is the documented-generic receiver: JSON, NDJSON or raw
 * lines, optionally gzipped, `Authorization: Bearer TOKEN`, retry on 429/503. Early access until a
 * DataBahn deployment confirms the format.
 */
export default pushSource({
  id: 'databahn',
  title: 'DataBahn',
  stability: 'early-access',
  description:
    'Logs a DataBahn pipeline delivers to an HTTP destination (generic JSON / NDJSON / raw lines).',
  defaults: { format: 'auto', stream: 'events' },
  setupGuide: [
    'Install the collector and copy its **ingest token** (shown once).',
    '',
    "DataBahn's HTTP destination settings are not publicly documented; configure its generic HTTP/webhook",
    'output as follows:',
    '',
    '- **URL**: `https://YOUR-TRIBUTARY/ingest/NAME`, method POST.',
    '- **Header**: `Authorization: Bearer TOKEN`.',
    '- **Body**: JSON (one object or an array), NDJSON, or raw lines; gzip (`Content-Encoding: gzip`) optional;',
    "  batches within the collector's `maxBodyMB` (10 MB by default).",
    '- **Retries**: retry on **429** and **503**, honouring `Retry-After`.',
    '',
    'Set `idPath` / `timePath` when the records carry a unique id / their own time. Please tell us what your',
    'DataBahn version sends so this preset can leave early access.',
  ].join('\n'),
});
