import { pushSource } from '../../engine/ingest/push-source.ts';

/**
 * Palo Alto Networks Cortex Data Lake (Strata Logging Service) HTTPS log forwarding (push). Vendor
 * facts followed:
 * - docs.paloaltonetworks.com/cortex/cortex-data-lake/cortex-data-lake-getting-started/
 *   get-started-with-log-forwarding-app/forward-logs-to-an-https-server: each log is JSON; the payload
 *   is stacked JSON (as for Splunk HEC: `{…} {…}`) or a JSON array (as for Microsoft Sentinel), each log
 *   `{"time": <epoch s>, "host": …, "source": "Palo Alto Networks FLS LF", "event": {"LogType": …}}`;
 *   payloads are always GZIP-compressed; batches of up to 500 logs or 2.25 MB; TLS 1.2, and the receiver
 *   must present its whole certificate chain (trusted root or private CA).
 * - pan.dev/cdl/docs/logforwarding/https_lf: HTTPS profiles take a `clientAuth` — ClientAuthBasic
 *   (ARRAY_JSON or STACKED_JSON), ClientAuthSplunk (STACKED_JSON), ClientAuthSentinel, ClientAuthChronicle.
 *   So the token is taken as the Basic password (any user name) or from `Authorization: Splunk TOKEN`.
 * Not documented in what we could read: a unique id per log, and which statuses the forwarder retries;
 * ids are a hash of the record, and 429/503 with Retry-After are the generic "send again" answers.
 */
export default pushSource({
  id: 'palo-alto-cortex-data-lake',
  title: 'Palo Alto Networks Cortex Data Lake',
  stability: 'ga',
  description:
    'NGFW and Prisma Access logs (traffic, threat, URL, GlobalProtect, …) forwarded by Cortex Data Lake / Strata Logging Service over HTTPS.',
  defaults: { format: 'json', stream: 'logs', timePath: 'time' },
  setupGuide: [
    'Install the collector and copy its **ingest token** (shown once).',
    '',
    'Tributary must be reachable from Cortex Data Lake over **TLS 1.2** with its full certificate chain (a',
    'public or your private CA): put it behind an HTTPS reverse proxy.',
    '',
    'In the **Log Forwarding** app (Strata Logging Service), add an **HTTPS** forwarding profile:',
    '',
    '- **URL**: `https://YOUR-TRIBUTARY/ingest/NAME`.',
    '- **Client authorization**: **Basic** with any user name and the ingest token as **password**',
    '  (or the Splunk HEC option with the token: Tributary reads `Authorization: Splunk TOKEN`).',
    '- **Payload format**: stacked JSON or JSON array — both are read. Cortex always gzips; accepted.',
    '- Choose the log types and filters to forward, save, and test the profile.',
    '',
    'Each log is kept whole as `raw` (`{"time","host","source","event":{…}}`); `time` (epoch seconds) becomes',
    "the event's time. Cortex sends up to 500 logs / 2.25 MB per request, within the default limits. A 503 or",
    '429 answer (a destination down, the collector stopped or over its rate) asks Cortex to send again.',
  ].join('\n'),
});
