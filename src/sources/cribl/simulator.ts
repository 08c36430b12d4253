import { gzipSync } from 'node:zlib';
import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * A Cribl Stream / Edge Webhook destination, as Cribl documents it:
 * - docs.cribl.io/stream/destinations-webhook/ ("Webhook Destination"), General Settings: Method POST by
 *   default; Format "NDJSON (newline-delimited JSON): The default" or "JSON Array". Both are produced here.
 * - Same page, Authentication: the Token option sends the token as `Authorization: Bearer <token>`
 *   (outputs.yml `webhook_output.authType: token`, "Bearer token to include in the authorization header").
 * - Same page, Advanced Settings: Compress gzips the payload (`Content-Encoding: gzip`); on by default here.
 * - Same page, Retries ("Settings for failed HTTP requests", e.g. 429 Too Many Requests and 503 Service
 *   Unavailable, and "Honor Retry-After header"): 2xx is delivered; 429 and 503 are sent again, as the
 *   collector's setup guide tells the user to configure.
 * - Events: docs.cribl.io/stream/event-model/ — every event has `_raw` and `_time` (epoch seconds, with
 *   fractions); `host`, `source`, `sourcetype` and `cribl_pipe` as a syslog route would set them.
 * Assumed (Cribl leaves it to the retry table): any other status is not retried (the batch is dropped or
 * goes to the destination's backpressure behaviour).
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
