import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';

/**
 * An Okta collector authenticated as an OAuth service app, run the way a user runs it: bin/tributary
 * as a child process with a config file, against the Okta simulator's token endpoint and System Log.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'tributary-okta-oauth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const child = spawn(join(ROOT, 'bin/tributary'), args, {
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
    cwd: dir,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((ok) => child.on('exit', (code) => ok({ code, out })));
}

const config = (name: string, url: string, clientId: string) =>
  [
    'accounts:',
    `  okta-app: { kind: okta, url: "${url}", clientId: "${clientId}", privateKey: "\${file:${name}.key}", requestsPerMinute: 100000 }`,
    'destinations:',
    `  local: { kind: file, path: ./${name}/events.ndjson }`,
    'collectors:',
    '  okta-oauth:',
    '    source: okta',
    '    account: okta-app',
    '    destinations: [local]',
    '    lookback: 1h',
    '    lag: 0s',
    '    settings: { limit: 100 }',
  ].join('\n');

describe('okta collector with an OAuth service app (bin/tributary run --once)', () => {
  for (const dpop of [true, false]) {
    it(`collects every event with ${dpop ? 'DPoP-bound' : 'Bearer'} tokens, and renews a token that expires mid-pagination once`, async () => {
      const sim = new OktaSimulator({ events: 750, spacingMs: 1000, serviceApp: { dpop } });
      await sim.start();
      const app = sim.serviceApp!;
      const name = dpop ? 'dpop' : 'bearer';
      // The private key as Okta's console shows it: a JWK with its kid (DPoP run), or a PEM.
      writeFileSync(join(dir, `${name}.key`), dpop ? JSON.stringify(app.privateJwk) : app.privateKeyPem);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, config(name, sim.url, app.clientId));
      // The token dies after the third page: the fourth answers 401, and the collector must get a new
      // token once and go on from that page.
      app.expireTokensAfter(3);
      const env = { TRIBUTARY_DATA_DIR: join(dir, `data-${name}`) };
      const r = await run(['run', '--config', file, '--once'], env);
      try {
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /^okta-oauth: 750 events, 8 pages, .* — caught up$/m);
        const ids = readFileSync(join(dir, name, 'events.ndjson'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).id);
        assert.deepEqual(ids, sim.eventIds(), 'every event once, in order');

        assert.equal(app.issued.length, 2, 'one token, then one renewal after the 401');
        assert.ok(app.issued.every((t) => t.type === (dpop ? 'DPoP' : 'Bearer')));
        const pages = sim.requests().filter((q) => q.path === '/api/v1/logs');
        assert.equal(pages.length, 9, '8 pages and the one refused with 401');
        const scheme = dpop ? 'DPoP' : 'Bearer';
        assert.deepEqual(
          pages.map((q) => q.headers.authorization),
          [
            ...Array(4).fill(`${scheme} ${app.issued[0]!.token}`),
            ...Array(5).fill(`${scheme} ${app.issued[1]!.token}`),
          ],
        );
        assert.equal(
          pages[4]!.query.get('after'),
          pages[3]!.query.get('after'),
          'the refused page is asked again',
        );
        // DPoP: the handshake happens once per process (no proof, then no nonce, then accepted); the
        // renewal already carries the nonce.
        assert.deepEqual(
          app.refusals.map((x) => x.error),
          dpop ? ['invalid_dpop_proof', 'use_dpop_nonce'] : [],
        );
        assert.deepEqual(sim.writeCalls(), []);

        // No key material or token in the output or in any file of the data directory.
        const secrets = [
          app.privateKeyPem.split('\n')[1]!,
          String(app.privateJwk.d),
          ...app.issued.map((t) => t.token),
        ];
        for (const s of secrets) assert.ok(!r.out.includes(s), 'a secret in the output');
        for (const f of readdirSync(join(dir, `data-${name}`))) {
          const bytes = readFileSync(join(dir, `data-${name}`, f));
          for (const s of secrets) assert.ok(!bytes.includes(s), `a secret in ${f}`);
        }
      } finally {
        await sim.stop();
      }
    });
  }
});
