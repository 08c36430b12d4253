import { gzipSync } from 'node:zlib';
import { person } from '../../sim/data.ts';
import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * A Zscaler Cloud NSS feed (see index.ts for the documents): web log records in the JSON feed output
 * format (`{"sourcetype":"zscalernss-web","event":{…}}`, values as the template quotes them, with the
 * `epochtime` and `recordid` fields), one record a line ending with a line feed or, with JSON Array
 * Notation, one JSON array; or tab-separated lines. The token goes in the Key 1/Value 1 header.
 * Answers: 200/204 delivered, 400 dropped (a "parsing error"), anything else retried (for an hour).
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
