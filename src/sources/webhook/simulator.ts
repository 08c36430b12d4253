import { gzipSync } from 'node:zlib';
import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * A generic webhook sender, no vendor: what any well-behaved HTTP client does, by the standards it follows.
 * - Bodies: NDJSON (github.com/ndjson/ndjson-spec, one JSON text a line), a JSON array or one JSON object
 *   (RFC 8259), or raw text lines; optionally gzipped with `Content-Encoding: gzip` (RFC 9110 §8.4.1.3,
 *   RFC 1952).
 * - Auth: `Authorization: Bearer <token>` (RFC 6750 §2.1).
 * - Answers: 2xx delivered; 429 (RFC 6585 §4) and 503 (RFC 9110 §15.6.4) sent again; anything else dropped
 *   (assumed: a sender does not retry a request the receiver refused).
 * Records of about `eventBytes` carry an id (`uuid`) and a time (`at`).
 */
export function genericSender(
  o: { format?: 'ndjson' | 'array' | 'object' | 'lines'; gzip?: boolean; eventBytes?: number } = {},
): PushVendor {
  const format = o.format ?? 'ndjson';
  return {
    id: 'webhook',
    records(n, seed = 1) {
      return Array.from({ length: n }, (_, i) => {
        const rng = new Rng(`webhook:${seed}:${i}`);
        const base = {
          uuid: `${seed}-${i}-${rng.hex(8)}`,
          at: new Date(Date.parse('2026-11-25T10:00:00Z') + i).toISOString(),
          kind: rng.pick(['login', 'logout', 'change']),
        };
        const pad = Math.max(0, (o.eventBytes ?? 0) - JSON.stringify(base).length - 12);
        const detail = pad ? rng.base62(pad) : undefined;
        if (format === 'lines') return `${base.at} ${base.kind} ${base.uuid}${detail ? ` ${detail}` : ''}`;
        return detail ? { ...base, detail } : base;
      });
    },
    request(records, token) {
      let text: string;
      if (format === 'array') text = JSON.stringify(records);
      else if (format === 'object') {
        if (records.length !== 1) throw new Error('format object sends exactly one record');
        text = JSON.stringify(records[0]);
      } else text = records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (!o.gzip) return { body: Buffer.from(text), headers };
      return { body: gzipSync(text), headers: { ...headers, 'content-encoding': 'gzip' } };
    },
    outcome: (status) =>
      status >= 200 && status < 300 ? 'delivered' : status === 429 || status === 503 ? 'retry' : 'drop',
  };
}
