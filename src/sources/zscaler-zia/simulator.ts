import { gzipSync } from 'node:zlib';
import { person } from '../../sim/data.ts';
import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * A Zscaler Internet Access Cloud NSS feed, as Zscaler documents it:
 * - help.zscaler.com/unified/adding-cloud-nss-feeds-web-logs ("Adding Cloud NSS Feeds for Web Logs"):
 *   API URL, HTTP headers as Key 1 / Value 1 pairs (the token goes there: `Authorization: Bearer TOKEN`
 *   as the setup guide configures), Feed Output Type JSON by default, or Tab-separated.
 * - help.zscaler.com/zia/nss-feed-output-format-web-logs ("NSS Feed Output Format: Web Logs") and
 *   help.zscaler.com/unified/general-guidelines-nss-feeds-and-feed-formats ("General Guidelines for NSS
 *   Feeds and Feed Formats"): `%d{epochtime}` and `%d{recordid}` fields, values quoted as the template
 *   writes them, each record ending with a line feed; tabs as delimiters for tab-separated output.
 * - registry.terraform.io/providers/zscaler/zia, resource `zia_cloud_nss_feed`: `json_array_toggle` sends
 *   a batch as one JSON array; the JSON feed format wraps a record as `{"sourcetype":"zscalernss-web",
 *   "event":{…}}`.
 * - help.zscaler.com/unified/about-cloud-nss-feeds-cloud-branch-connector ("About Cloud NSS Feeds"): 200
 *   or 204 is delivered; 400 is a "parsing error" and the batch is dropped; any other answer is retried
 *   with the same batch for up to an hour.
 * Assumed (not documented): Cloud NSS gzips bodies only when told to (`gzip` option); the fields of a
 * record beyond `epochtime` and `recordid` are a plausible web-log template.
 */
export function zscalerNssFeed(
  o: { output?: 'json' | 'json-array' | 'tab-separated'; gzip?: boolean; start?: number } = {},
): PushVendor {
  const output = o.output ?? 'json';
  const start = o.start ?? Date.parse('2026-11-25T10:00:00Z');
  return {
    id: 'zscaler-zia',
    records(n, seed = 1) {
      return Array.from({ length: n }, (_, i) => {
        const rng = new Rng(`zia:${seed}:${i}`);
        const who = person(rng, 'acme.example');
        const at = start + i * 1000;
        const event = {
          datetime: new Date(at).toISOString().replace('T', ' ').slice(0, 19),
          epochtime: String(Math.floor(at / 1000)),
          recordid: String(7_000_000_000 + seed * 1_000_000 + i),
          login: who.email,
          action: rng.pick(['Allowed', 'Blocked']),
          url: `${rng.pick(['www.example.com', 'cdn.example.net', 'mail.example.org'])}/${rng.base62(8)}`,
          urlcategory: rng.pick(['Corporate Marketing', 'Web Search', 'Professional Services']),
          reqmethod: rng.pick(['GET', 'POST']),
          respcode: rng.pick(['200', '302', '403']),
          cip: `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
          department: 'Default Department',
        };
        if (output !== 'tab-separated') return { sourcetype: 'zscalernss-web', event };
        return Object.values(event).join('\t');
      });
    },
    request(records, token) {
      const text =
        output === 'json-array'
          ? JSON.stringify(records)
          : records.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join('');
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'content-type': output === 'tab-separated' ? 'text/plain' : 'application/json',
      };
      if (!o.gzip) return { body: Buffer.from(text), headers };
      return { body: gzipSync(text), headers: { ...headers, 'content-encoding': 'gzip' } };
    },
    outcome: (status) => (status === 200 || status === 204 ? 'delivered' : status === 400 ? 'drop' : 'retry'),
  };
}
