import { join } from 'node:path';
import { parseConfig } from '../config/config-file.ts';
import { OktaSimulator } from '../sources/okta/simulator.ts';

/**
 * `serve --demo`: an Okta simulator in this process that keeps producing sign-in events, and a
 * collector reading it into a file in the output root (`root`, default `data/output`), where the
 * console may edit it like any destination created through the API.
 */
export async function startDemo(root: string) {
  const sim = new OktaSimulator({ events: 2000, spacingMs: 1800, seed: 'demo' });
  await sim.start();
  sim.startLive(3);
  const output = join(root, 'demo', 'events.ndjson');
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
    { baseDir: root, env: {} },
  );
  return {
    url: sim.url,
    /** The simulator's API token (SSWS), for config files pointed at it. */
    token: sim.token,
    output,
    config,
    close: async () => {
      sim.stopLive();
      await sim.stop();
    },
  };
}
