import type { PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * A DataBahn pipeline's HTTP destination. No vendor documentation: DataBahn publishes none of it that we
 * could read (databahn.ai documents its product, not the wire format of its HTTP output), so everything
 * here is decided by the simulator and follows the generic conventions the collector's setup guide asks for:
 * - assumed: a POST whose body is a JSON array of normalised records with an ISO-8601 `timestamp`;
 * - assumed: `Authorization: Bearer <token>` (RFC 6750 §2.1, the header the setup guide configures);
 * - assumed: 2xx delivered, 429 and 503 sent again (RFC 6585 §4 "Too Many Requests", RFC 9110 §15.6.4
 *   "503 Service Unavailable", both "try again later" answers), anything else dropped.
 * The preset stays early access until a DataBahn deployment confirms the format.
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
