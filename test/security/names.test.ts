import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { type ApiServer, type Reply, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Names that a plain JavaScript object answers from its prototype (`constructor`, `toString`, …):
 * as a source, account kind, stream or name they must be refused or work like any other name —
 * never a 500, a crash of `apply`, or a key silently dropped from a config file.
 */

const RESERVED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const INHERITED = RESERVED.filter((n) => n !== '__proto__'); // valid names by the naming rule

const fresh = tempDirs('tributary-names');
const CLI = join(resolve(import.meta.dirname, '../..'), 'src/cli/main.ts');
let api: ApiServer;
let sim: OktaSimulator;

const editor = (method: string, path: string, body?: unknown) =>
  api.call(method, path, { as: 'editor', body });

function badRequest(r: Reply, path: string, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.ok(
    r.body.error.issues.some((i: { path: string }) => i.path === path),
    `${what}: expected an issue at ${path}, got ${r.text}`,
  );
}

function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((ok) => child.on('exit', (code) => ok({ code, stdout, stderr })));
}

before(async () => {
  sim = new OktaSimulator({ events: 30 });
  await sim.start();
  api = await startTestApi(fresh());
  const out = await editor('POST', '/api/destinations', {
    name: 'out',
    config: { kind: 'file', path: 'out.ndjson' },
  });
  assert.equal(out.status, 201, out.text);
  const acc = await editor('POST', '/api/accounts', {
    name: 'okta-a',
    kind: 'okta',
    fields: { url: sim.url, token: sim.token },
  });
  assert.equal(acc.status, 201, acc.text);
  const c = await editor('POST', '/api/collectors', {
    name: 'okta-c',
    source: 'okta',
    account: 'okta-a',
    destinations: ['out'],
    enabled: false,
  });
  assert.equal(c.status, 201, c.text);
});

after(async () => {
  await api.close();
  await sim.stop();
  assert.ok(
    !api.responses.some((t) => /Cannot read properties|safeParse|internal_error/.test(t)),
    'no internal error reached a response',
  );
});

describe('reserved names through the API', () => {
  it('as a source, account kind, stream, account, destination or site: 400 naming the field', async () => {
    const collector = { source: 'okta', account: 'okta-a', destinations: ['out'] };
    for (const n of RESERVED) {
      for (const path of ['/api/collectors', '/api/collectors/test', '/api/collectors/preview'])
        badRequest(
          await editor('POST', path, { name: 'c1', source: n, destinations: ['out'] }),
          'source',
          `${path} source ${n}`,
        );
      badRequest(
        await editor('POST', '/api/accounts', { name: 'a1', kind: n, fields: {} }),
        'kind',
        `account kind ${n}`,
      );
      badRequest(
        await editor('POST', '/api/collectors', { name: 'c2', ...collector, streams: [n] }),
        'streams.0',
        `stream ${n}`,
      );
      badRequest(
        await editor('POST', '/api/collectors', { name: 'c3', ...collector, account: n }),
        'account',
        `account ${n}`,
      );
      badRequest(
        await editor('POST', '/api/collectors', { name: 'c4', ...collector, destinations: [n] }),
        'destinations.0',
        `destination ${n}`,
      );
      badRequest(
        await editor('POST', '/api/collectors', { name: 'c5', ...collector, site: n }),
        'site',
        `site ${n}`,
      );
      badRequest(
        await editor('POST', '/api/collectors/okta-c/reset-checkpoint', { stream: n }),
        'stream',
        `reset-checkpoint ${n}`,
      );
      badRequest(
        await editor('POST', '/api/accounts/okta-a/test', { source: n }),
        'source',
        `test source ${n}`,
      );
    }
    // A __proto__ key in a body would be dropped by validation: refused with its path instead.
    const proto = await api.call('POST', '/api/collectors', {
      as: 'editor',
      raw: '{"name":"hook","source":"webhook","destinations":["out"],"settings":{"__proto__":{"idPath":"id"}}}',
    });
    badRequest(proto, 'settings.__proto__', 'a __proto__ key in settings');
    for (const kind of ['okta', 'zoom']) {
      // A field named like a prototype property is an unknown field of the kind, not a crash.
      const r = await editor('POST', '/api/accounts', {
        name: 'a2',
        kind,
        fields: { url: sim.url, token: 'x', constructor: 'y' },
      });
      assert.equal(r.status, 400, r.text);
    }
  });

  it('__proto__ is refused as a name; constructor, toString, … work like any other name', async () => {
    for (const [path, body] of [
      ['/api/sites', { name: '__proto__' }],
      ['/api/accounts', { name: '__proto__', kind: 'okta', fields: { url: sim.url, token: sim.token } }],
      ['/api/destinations', { name: '__proto__', config: { kind: 'stdout' } }],
      ['/api/collectors', { name: '__proto__', source: 'webhook', destinations: ['out'] }],
    ] as const)
      badRequest(await editor('POST', path, body), 'name', `${path} __proto__`);

    for (const [i, n] of INHERITED.entries()) {
      assert.equal((await editor('POST', '/api/sites', { name: n })).status, 201, `site ${n}`);
      const acc = await editor('POST', '/api/accounts', {
        name: n,
        kind: 'okta',
        fields: { url: sim.url, token: sim.token },
      });
      assert.equal(acc.status, 201, acc.text);
      const dest = await editor('POST', '/api/destinations', {
        name: n,
        config: { kind: 'file', path: `${n}.ndjson` },
      });
      assert.equal(dest.status, 201, dest.text);
      const def = { source: 'okta', account: n, destinations: [n], site: n, lookback: '2h', interval: '1h' };
      const c = await editor('POST', '/api/collectors', { name: n, ...def, enabled: i === 0 });
      assert.equal(c.status, 201, c.text);
      assert.equal(c.body.name, n);
      for (const kind of ['collectors', 'accounts', 'destinations'])
        assert.equal((await editor('GET', `/api/${kind}/${n}`)).body.name, n, `GET ${kind}/${n}`);
      assert.equal((await editor('PUT', `/api/collectors/${n}`, { ...def, interval: '2h' })).status, 200);
      assert.equal((await editor('POST', `/api/collectors/${n}/start`)).status, 200);
      assert.equal((await editor('POST', `/api/collectors/${n}/run`)).status, 202);
      const push = await editor('POST', '/api/collectors', {
        name: `${n}-push`,
        source: 'webhook',
        destinations: [n],
      });
      assert.equal(push.status, 201, push.text);
      const res = await fetch(`${api.base}/ingest/${n}-push`, {
        method: 'POST',
        headers: { authorization: `Bearer ${push.body.ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pushed: n }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    // Every collector named like a prototype property ran to completion and delivered its events.
    const deadline = Date.now() + 30_000;
    for (const n of INHERITED) {
      for (;;) {
        const runs = (await editor('GET', `/api/collectors/${n}/runs`)).body as Array<{ status: string }>;
        if (runs.some((r) => r.status === 'succeeded')) break;
        assert.ok(
          !runs.some((r) => r.status === 'failed') && Date.now() < deadline,
          `${n}: ${JSON.stringify(runs)}`,
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines = readFileSync(join(api.runtime.files.root, `${n}.ndjson`), 'utf8')
        .trim()
        .split('\n');
      assert.equal(lines.filter((l) => JSON.parse(l).collector === n).length, 30, n);
      assert.equal(lines.filter((l) => JSON.parse(l).collector === `${n}-push`).length, 1, n);
    }
    for (const n of INHERITED) {
      for (const [kind, target] of [
        ['collectors', `${n}-push`],
        ['collectors', n],
        ['accounts', n],
        ['destinations', n],
        ['sites', n],
      ])
        assert.equal(
          (await editor('DELETE', `/api/${kind}/${target}`)).status,
          204,
          `DELETE ${kind}/${target}`,
        );
      assert.equal((await editor('GET', `/api/collectors/${n}`)).status, 404);
    }
  });
});

describe('reserved names in a config file (tributary apply -f)', () => {
  it('an unknown source or account kind named like a prototype property is an error with its path', async () => {
    const dir = fresh();
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'accounts:',
        ...INHERITED.map((n, i) => `  a${i}: { kind: ${n} }`),
        'destinations: { out: { kind: stdout } }',
        'collectors:',
        ...INHERITED.map((n, i) => `  c${i}: { source: ${n}, destinations: [out], streams: [${n}] }`),
      ].join('\n'),
    );
    const r = await cli(['apply', '-f', file, '--data-dir', join(dir, 'data')], dir);
    assert.equal(r.code, 2, r.stderr);
    for (const [i, n] of INHERITED.entries()) {
      assert.match(r.stderr, new RegExp(`accounts\\.a${i}\\.kind: unknown account kind "${n}"`));
      assert.match(r.stderr, new RegExp(`collectors\\.c${i}\\.source: unknown source "${n}"`));
    }
    assert.doesNotMatch(r.stderr, /Cannot read|safeParse|\n\s+at /);
  });

  it('a __proto__ key anywhere is refused with its path, not dropped', async () => {
    const dir = fresh();
    const file = join(dir, 'proto.yaml');
    writeFileSync(
      file,
      [
        'accounts:',
        '  __proto__: { kind: okta, url: "https://acme.okta.com", token: t }',
        'destinations:',
        '  __proto__: { kind: stdout }',
        '  out: { kind: stdout }',
        'collectors:',
        '  __proto__: { source: webhook, destinations: [out] }',
        '  hook: { source: webhook, destinations: [out], settings: { __proto__: { idPath: x } } }',
      ].join('\n'),
    );
    const r = await cli(['apply', '-f', file, '--data-dir', join(dir, 'data')], dir);
    assert.equal(r.code, 2, r.stderr);
    for (const path of [
      'accounts.__proto__',
      'destinations.__proto__',
      'collectors.__proto__',
      'collectors.hook.settings.__proto__',
    ])
      assert.ok(r.stderr.includes(`${path}: "__proto__" is reserved`), `${path} in ${r.stderr}`);
  });

  it('collectors, accounts and destinations named constructor, toString, … are created, updated and pruned', async () => {
    const dir = fresh();
    const file = join(dir, 'names.yaml');
    const yaml = (names: string[]) =>
      [
        'sites: [hasOwnProperty]',
        'accounts:',
        ...names.map((n) => `  ${n}: { kind: none }`),
        'destinations:',
        ...names.map((n) => `  ${n}: { kind: stdout }`),
        'collectors:',
        ...names.map((n) => `  ${n}: { source: webhook, destinations: [${n}], site: hasOwnProperty }`),
      ].join('\n');
    writeFileSync(file, yaml(INHERITED));
    const data = join(dir, 'data');
    const first = await cli(['apply', '-f', file, '--data-dir', data], dir);
    assert.equal(first.code, 0, first.stderr);
    for (const n of INHERITED)
      for (const kind of ['account', 'destination', 'collector'])
        assert.ok(first.stdout.includes(`created  ${kind}/${n}\n`), `${kind}/${n} in ${first.stdout}`);
    assert.ok(first.stdout.includes('created  site/hasOwnProperty\n'), first.stdout);
    writeFileSync(file, yaml(['constructor']));
    const pruned = await cli(['apply', '-f', file, '--prune', '--data-dir', data], dir);
    assert.equal(pruned.code, 0, pruned.stderr);
    for (const n of INHERITED.filter((x) => x !== 'constructor'))
      for (const kind of ['account', 'destination', 'collector'])
        assert.ok(pruned.stdout.includes(`deleted  ${kind}/${n}\n`), `${kind}/${n} in ${pruned.stdout}`);
    assert.ok(!pruned.stdout.includes('constructor'), pruned.stdout);
  });
});
