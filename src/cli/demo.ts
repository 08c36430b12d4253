import { join } from 'node:path';
import { parseConfig } from '../config/config-file.ts';
import { OktaSimulator } from '../sources/okta/simulator.ts';

/**
 * `serve --demo`: an Okta simulator in this process that keeps producing sign-in events, and a
 * collector reading it into a file, so a new user sees Tributary work without vendor credentials.
 */
export async function startDemo(dataDir: string) {
  const sim = new OktaSimulator({ events: 2000, spacingMs: 1800, seed: 'demo' });
  await sim.start();
  sim.startLive(3);
  const output = join(dataDir, 'demo', 'events.ndjson');
  const config = parseConfig(
    JSON.stringify({
      sites: ['demo-site'],
      accounts: { 'okta-demo': { kind: 'okta', url: sim.url, token: sim.token } },
      destinations: { 'demo-file': { kind: 'file', path: output } },
      collectors: {
        'okta-demo': {
          source: 'okta',
          account: 'okta-demo',
          destinations: ['demo-file'],
          interval: '30s',
          lookback: '2h',
          site: 'demo-site',
          timezone: 'UTC',
        },
      },
    }),
    { baseDir: dataDir, env: {} },
  );
  return {
    url: sim.url,
    output,
    config,
    close: async () => {
      sim.stopLive();
      await sim.stop();
    },
  };
}
