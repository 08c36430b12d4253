import { pushSource } from '../../engine/ingest/push-source.ts';

/**
 * Zscaler Internet Access through a Cloud NSS feed (push). Vendor facts followed:
 * - help.zscaler.com/unified/adding-cloud-nss-feeds-web-logs (also /zia/…-saas-security-activity-logs):
 *   a Cloud NSS feed has SIEM Type, Max Batch Size (an HTTP request's payload), API URL (HTTPS, with a
 *   publicly trusted certificate: self-signed ones fail the connectivity test), HTTP headers as
 *   Key 1/Value 1 pairs ("the token value for the HTTP header"), Log Type (one feed per log type), and
 *   Feed Output Type, JSON by default (Tab-separated, Custom and SIEM-specific formats otherwise).
 * - help.zscaler.com/unified/about-cloud-nss-feeds-cloud-branch-connector: 200 or 204 = delivered;
 *   400 = "parsing error", the batch is dropped; any other code is retried with the same batch for up
 *   to one hour, then dropped. Hence: success is 200, unparsable parts are dead-lettered instead of
 *   refused with 400, and 429/503 keep the batch at Zscaler for at most that hour.
 * - help.zscaler.com/zia/nss-feed-output-format (+ …/nss-feed-output-format-web-logs): records end
 *   with a line feed; `%d{epochtime}` is the transaction's epoch time, `%d{recordid}` a record id.
 * - Zscaler's Terraform provider docs (zia_cloud_nss_feed): `json_array_toggle` streams a batch as a
 *   JSON array `[{JSON1},{JSON2}]`; the JSON feed format wraps each record as
 *   `{"sourcetype":"zscalernss-web","event":{…}}`.
 * Not documented: whether Cloud NSS gzips bodies (gzip is accepted either way) and whether
 * `recordid` is unique across log types — so ids are a hash of the record unless `idPath` is set.
 */
export default pushSource({
  id: 'zscaler-zia',
  title: 'Zscaler Internet Access (Cloud NSS)',
  stability: 'ga',
  description:
    'ZIA web, firewall, DNS, tunnel, SaaS security and admin audit logs pushed by Cloud NSS feeds (one collector per feed).',
  defaults: { format: 'auto', stream: 'web', timePath: 'event.epochtime' },
  setupGuide: [
    'Install one collector per Cloud NSS feed (log type); set `stream` to the log type (`web`, `firewall`,',
    '`dns`, `tunnel`, `saas-security`, `admin-audit`, …). Copy the **ingest token** shown once.',
    '',
    'In the ZIA Admin Portal go to **Logs → Log Streaming → Nanolog Streaming Service → Cloud NSS Feeds →',
    'Add Cloud NSS Feed** (older portals: **Administration → Nanolog Streaming Service**), then:',
    '',
    '- **SIEM Type**: Other; **OAuth 2.0 Authentication**: off.',
    "- **Max Batch Size**: at most the collector's `maxBodyMB` (10 MB by default; 512–1024 KB is typical).",
    '- **API URL**: `https://YOUR-TRIBUTARY/ingest/NAME` — behind a reverse proxy with a **publicly trusted**',
    '  certificate (Zscaler rejects self-signed and internal CAs).',
    '- **HTTP Headers**: Key 1 `Authorization`, Value 1 `Bearer TOKEN`.',
    "- **Log Type**: the feed's log type. **Feed Output Type**: JSON (JSON Array Notation on or off: both are",
    '  read). Keep the default JSON Feed Output Format and add `"epochtime":"%d{epochtime}"` inside `event`',
    '  so each event gets its own time (`timePath: event.epochtime`); without it, the time received is used.',
    '  Tab-separated, CSV and custom outputs work too: each line becomes one event (a string).',
    "- Save, then use the feed's connectivity test.",
    '',
    'Zscaler treats 200/204 as delivered, drops a batch answered **400**, and retries any other answer for',
    'up to **one hour**. Tributary answers 200 once every destination has the events, and 503/429 while a',
    'destination is down or the collector is stopped or over its rate: fix outages within the hour, or',
    'Zscaler drops the batches it has retried that long. Lines that are not JSON in a JSON feed go to the',
    'dead-letter store instead of failing the batch.',
  ].join('\n'),
});
