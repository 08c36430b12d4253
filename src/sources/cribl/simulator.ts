import { gzipSync } from 'node:zlib';
import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * A Cribl Webhook destination (see index.ts for the documents): events `{_raw, _time, host, source, …}`
 * as NDJSON (default) or a JSON array, Compress on (gzip), Token auth (`Authorization: Bearer`).
 * Answers: 2xx delivered; 429 and 503 retried (as the setup guide configures); others dropped.
 */
export function criblWebhook(o: { format?: 'ndjson' | 'json-array'; compress?: boolean } = {}): PushVendor {
  return {
    id: 'cribl',
    records(n, seed = 1) {
      return Array.from({ length: n }, (_, i) => {
        const rng = new Rng(`cribl:${seed}:${i}`);
        const at = Date.parse('2026-11-25T10:00:00Z') / 1000 + i + 0.25;
        return {
          _raw: `<134>1 ${new Date(at * 1000).toISOString()} fw01 sshd ${rng.int(1000, 9999)} - Accepted publickey for ${rng.pick(['alice', 'bob'])}`,
          _time: at,
          host: 'fw01',
          source: 'syslog:udp:514',
          sourcetype: 'syslog',
          cribl_pipe: 'passthru',
        };
      });
    },
    request(records, token) {
      const text =
        o.format === 'json-array'
          ? JSON.stringify(records)
          : records.map((r) => `${JSON.stringify(r)}\n`).join('');
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'content-type': o.format === 'json-array' ? 'application/json' : 'application/x-ndjson',
      };
      if (o.compress === false) return { body: Buffer.from(text), headers };
      return { body: gzipSync(text), headers: { ...headers, 'content-encoding': 'gzip' } };
    },
    outcome: (status) =>
      status >= 200 && status < 300 ? 'delivered' : status === 429 || status === 503 ? 'retry' : 'drop',
  };
}
