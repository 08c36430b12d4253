/**
 * A destination's simulator in its own process, for `npm run bench -- destinations`: the engine's side
 * is measured alone, not the simulator parsing what it receives.
 *
 *   node bench/destination-sims.ts splunk-hec|elasticsearch|opensearch|azure-monitor-logs|google-secops|exabeam|sink
 *
 * Prints one JSON line when listening (its URL and the credentials to use), then answers JSON-line
 * commands on stdin: {"cmd":"stats"} → {"received":N}; exits when stdin closes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { AzureMonitorLogsSimulator } from '../src/destinations/azure-monitor-logs/simulator.ts';
import { ElasticSimulator } from '../src/destinations/elasticsearch/simulator.ts';
import { ExabeamSimulator } from '../src/destinations/exabeam/simulator.ts';
import { GoogleSecOpsSimulator } from '../src/destinations/google-secops/simulator.ts';
import { SplunkHecSimulator } from '../src/destinations/splunk-hec/simulator.ts';

interface Running {
  info: Record<string, unknown>;
  received(): number;
  stop(): Promise<void>;
}

/** A plain HTTP receiver that counts NDJSON lines: the `http` kind's target and the bare HTTP limit. */
async function sink(): Promise<Running> {
  let lines = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => {
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
    });
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    info: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    received: () => lines,
    stop: () => new Promise((ok) => server.close(() => ok())),
  };
}

async function launch(kind: string): Promise<Running> {
  switch (kind) {
    case 'sink':
      return sink();
    case 'splunk-hec': {
      const s = new SplunkHecSimulator({ ack: process.argv[3] === 'ack', keepEvents: false });
      const url = await s.start();
      return { info: { url, token: s.token }, received: () => s.ids.length, stop: () => s.stop() };
    }
    case 'elasticsearch':
    case 'opensearch': {
      const s = new ElasticSimulator({
        flavor: kind,
        basic: { username: 'bench', password: 'bench-pw' },
        keepDocs: false,
      });
      const url = await s.start();
      return { info: { url }, received: () => s.created.length, stop: () => s.stop() };
    }
    case 'azure-monitor-logs': {
      const s = new AzureMonitorLogsSimulator({ keepRecords: false });
      const url = await s.start();
      const i = s.identity;
      return {
        info: {
          url,
          dcrId: s.dcrId,
          tenantId: i.tenantId,
          clientId: i.clientId,
          clientSecret: i.clientSecret,
        },
        received: () => s.ids.length,
        stop: () => s.stop(),
      };
    }
    case 'google-secops': {
      const s = new GoogleSecOpsSimulator({ keepLogs: false });
      const url = await s.start();
      return {
        info: {
          url,
          key: s.tokens.keyJson(),
          tokenUrl: s.tokens.tokenUrl,
          project: s.project,
          location: s.location,
          instance: s.customerId,
        },
        received: () => s.ids.length,
        stop: () => s.stop(),
      };
    }
    case 'exabeam': {
      const s = new ExabeamSimulator({ keepEvents: false });
      const url = await s.start();
      return { info: { url, token: s.token }, received: () => s.count, stop: () => s.stop() };
    }
    default:
      throw new Error(`no simulator for ${kind}`);
  }
}

const running = await launch(process.argv[2] ?? '');
process.stdout.write(`${JSON.stringify({ ready: true, ...running.info })}\n`);
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string };
  if (cmd.cmd === 'stats') process.stdout.write(`${JSON.stringify({ received: running.received() })}\n`);
});
input.on('close', () => void running.stop().then(() => process.exit(0)));
