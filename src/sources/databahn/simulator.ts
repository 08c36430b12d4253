import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * DataBahn, documented-generic (its HTTP destination's documentation was not available): a JSON array of
 * normalised records, `Authorization: Bearer`, retried on 429 and 503.
 */
export function databahnHttp(): PushVendor {
  return {
    id: 'databahn',
    records(n, seed = 1) {
      return Array.from({ length: n }, (_, i) => {
        const rng = new Rng(`databahn:${seed}:${i}`);
        return {
          timestamp: new Date(Date.parse('2026-11-25T10:00:00Z') + i * 1000).toISOString(),
          vendor: rng.pick(['okta', 'crowdstrike', 'aws']),
          message: `event ${seed}-${i} ${rng.base62(12)}`,
        };
      });
    },
    request(records, token) {
      return {
        body: Buffer.from(JSON.stringify(records)),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      };
    },
    outcome: (status) =>
      status >= 200 && status < 300 ? 'delivered' : status === 429 || status === 503 ? 'retry' : 'drop',
  };
}
