import { gzipSync } from 'node:zlib';
import { basicAuth, type PushVendor } from '../../sim/push-sender.ts';
import { Rng } from '../../sim/random.ts';

/**
 * Cortex Data Lake (Strata Logging Service) HTTPS log forwarding, as Palo Alto Networks documents it:
 * - docs.paloaltonetworks.com/cortex/cortex-data-lake/cortex-data-lake-getting-started/
 *   get-started-with-log-forwarding-app/forward-logs-to-an-https-server ("Forward Logs to an HTTPS
 *   Server"): each log is `{"time": <epoch s>, "host", "source": "Palo Alto Networks FLS LF", "event":
 *   {"LogType", …}}`; the payload is stacked JSON (`{…} {…}`, as for Splunk HEC) or a JSON array; payloads
 *   are always GZIP-compressed.
 * - pan.dev/cdl/docs/logforwarding/https_lf ("HTTPS Log Forwarding", client authorization): ClientAuthBasic
 *   (ARRAY_JSON or STACKED_JSON) or ClientAuthSplunk (`Authorization: Splunk TOKEN`); the token is the
 *   Basic password here, with any user name.
 * - Log fields (`LogType`, `Severity`, `DeviceSN`, `SequenceNo`, addresses, `Rule`, `Action`):
 *   docs.paloaltonetworks.com/strata-logging-service/log-reference ("Network Logs"); `SequenceNo` beyond
 *   2^32, so it must be kept exactly.
 * Assumed (not documented in what we could read): which answers the forwarder retries — here any non-2xx
 * is sent again.
 */
export function cortexHttpsForwarding(
  o: { payload?: 'stacked' | 'array'; auth?: 'basic' | 'splunk'; start?: number } = {},
): PushVendor {
  const start = o.start ?? Date.parse('2026-11-25T10:00:00Z');
  return {
    id: 'palo-alto-cortex-data-lake',
    records(n, seed = 1) {
      return Array.from({ length: n }, (_, i) => {
        const rng = new Rng(`cdl:${seed}:${i}`);
        const logType = rng.pick(['TRAFFIC', 'THREAT', 'URL', 'GLOBALPROTECT']);
        return {
          time: Math.floor(start / 1000) + i,
          host: 'stream-logfwd20-141065047-01261326-z3ho',
          source: 'Palo Alto Networks FLS LF',
          event: {
            LogType: logType,
            Severity: rng.pick(['Informational', 'Low', 'High', 'Critical']),
            DeviceSN: '0079010000' + rng.int(10000, 99999),
            SequenceNo: 5_000_000_000 + seed * 100_000 + i, // beyond 2^32: kept exactly
            SourceAddress: `10.1.${rng.int(0, 255)}.${rng.int(1, 254)}`,
            DestinationAddress: `203.0.113.${rng.int(1, 254)}`,
            Rule: rng.pick(['allow-web', 'deny-all', 'inspect-ssl']),
            Action: rng.pick(['allow', 'deny', 'drop']),
          },
        };
      });
    },
    request(records, token) {
      const text =
        o.payload === 'array' ? JSON.stringify(records) : records.map((r) => JSON.stringify(r)).join(' ');
      return {
        body: gzipSync(text),
        headers: {
          authorization: o.auth === 'splunk' ? `Splunk ${token}` : basicAuth('cortex', token),
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
      };
    },
    outcome: (status) => (status >= 200 && status < 300 ? 'delivered' : 'retry'),
  };
}
