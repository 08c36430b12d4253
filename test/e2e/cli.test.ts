import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { destinationKinds } from '../../src/destinations/index.ts';
import { sources } from '../../src/sources/index.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';

/** The CLI as a user runs it: a child process, a config file, exit codes and output. */
const CLI = join(resolve(import.meta.dirname, '../..'), 'src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
    cwd: dir,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((ok) => child.on('exit', (code) => ok({ code, stdout, stderr })));
}

const config = (url: string, extra = '') =>
  [
    'sites: [hq]',
    'accounts:',
    `  okta-main: { kind: okta, url: "${url}", token: "\${env:OKTA_TOKEN}", requestsPerMinute: 100000 }`,
    'destinations:',
    '  local: { kind: file, path: ./out/events.ndjson }',
    'collectors:',
    '  okta-prod:',
    '    source: okta',
    '    account: okta-main',
    '    destinations: [local]',
    '    lookback: 1h',
    '    site: hq',
    '    timezone: Europe/Berlin',
    extra,
  ].join('\n');

describe('tributary CLI', () => {
  it('bin/tributary starts the CLI with its V8 flags and fills the compile cache', async () => {
    const cache = join(dir, 'compile-cache');
    const child = spawn(join(resolve(import.meta.dirname, '../..'), 'bin/tributary'), ['sources'], {
      env: {
        ...process.env,
        NODE_COMPILE_CACHE: cache,
        TRIBUTARY_NODE_FLAGS: '--expose-gc --max-semi-space-size=2',
      },
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await new Promise((ok) => child.on('exit', ok));
    assert.equal(code, 0);
    assert.match(stdout, /^okta\s+ga\s+rest-time-window/m);
    assert.ok(readdirSync(cache).length > 0, 'the compile cache was written');
  });

  it('stops quietly when its output is closed early (tributary sources | head -1)', async () => {
    const child = spawn(process.execPath, [CLI, 'sources'], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.destroy(); // the reader is gone before the first line is written
    const code = await new Promise((ok) => child.on('exit', ok));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('lists sources with streams and stability', async () => {
    const r = await cli(['sources']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^okta\s+ga\s+rest-time-window\s+okta\s+system-log$/m);
    assert.match(
      r.stdout,
      /^chatgpt-enterprise\s+ga\s+files\s+openai\s+AUDIT_LOG, AUTH_LOG, CONVERSATION_MESSAGE/m,
    );
    const json = JSON.parse((await cli(['sources', '--json'])).stdout);
    assert.deepEqual(
      json.map((s: { id: string }) => s.id).sort(),
      Object.keys(sources).sort(),
      'every registered source is listed',
    );
    assert.ok(json.every((s: { settings: { type?: string } }) => s.settings.type === 'object'));
    const chatgpt = json.find((s: { id: string }) => s.id === 'chatgpt-enterprise');
    assert.deepEqual(
      chatgpt.settings.required,
      ['workspaceId'],
      'the settings JSON Schema, for forms and docs',
    );
    assert.ok(chatgpt.settings.properties.eventTypes.items.enum.includes('CONVERSATION_MESSAGE'));
    assert.match(chatgpt.setupGuide, /Read and Delete/);
  });

  it('lists destination kinds, with their settings JSON Schema and secret fields', async () => {
    const r = await cli(['destinations']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^http\s+HTTP\s+POSTs batches/m);
    assert.match(r.stdout, /^exabeam\s+Exabeam \(Webhook Cloud Collector\) \(early access\)\s+/m);
    const json = JSON.parse((await cli(['destinations', '--json'])).stdout);
    assert.deepEqual(
      json.map((k: { kind: string }) => k.kind).sort(),
      Object.keys(destinationKinds).sort(),
      'every registered kind is listed',
    );
    const http = json.find((k: { kind: string }) => k.kind === 'http');
    assert.deepEqual(http.secrets.sort(), ['auth.password', 'auth.token', 'auth.value']);
    assert.equal(http.settings.properties.url['x-origin'], true, 'the url decides where the secrets go');
  });

  it('refuses an invalid config with every problem and its path, exit 2, no stack trace', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      config('http://okta.example.com').replace('timezone: Europe/Berlin', 'timezone: Nowhere/Land'),
    );
    const r = await cli(['run', '--config', file, '--once']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /accounts\.okta-main\.token: environment variable OKTA_TOKEN is not set/);
    assert.match(r.stderr, /accounts\.okta-main\.url: plain http:\/\/ is accepted only for loopback hosts/);
    assert.match(r.stderr, /collectors\.okta-prod\.timezone: expected an IANA time zone/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal((await cli(['frobnicate'])).code, 2);
  });

  it('refuses an output root (TRIBUTARY_FILE_ROOT) that is or contains the data directory, exit 2', async () => {
    for (const root of [join(dir, 'state'), dir, '/']) {
      const r = await cli(['apply', '-f', join(dir, 'bad.yaml'), '--data-dir', join(dir, 'state')], {
        TRIBUTARY_FILE_ROOT: root,
      });
      assert.equal(r.code, 2, root);
      assert.match(
        r.stderr,
        /TRIBUTARY_FILE_ROOT: the output root .* must not be the data directory .* or contain it/,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('runs once to caught up, stamps site and timezone, resumes, and keeps the token out of state and logs', async (t) => {
    const sim = new OktaSimulator({ events: 1500, spacingMs: 1000 });
    await sim.start();
    t.after(() => sim.stop());
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, config(sim.url, '    lag: 0s\n    settings: { limit: 200 }'));
    const env = { OKTA_TOKEN: sim.token, TRIBUTARY_DATA_DIR: join(dir, 'data') };
    const r = await cli(['run', '--config', file, '--once'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^okta-prod: 1500 events, 8 pages, .* — caught up$/m);
    const lines = readFileSync(join(dir, 'out', 'events.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1500);
    assert.deepEqual(
      lines.map((e) => e.id),
      sim.eventIds(),
    );
    assert.equal(lines[0].sitename, 'hq');
    assert.equal(lines[0].timezone, 'Europe/Berlin');
    assert.equal(lines[0].source, 'okta');
    sim.addEvents(30, { from: Date.now(), spacingMs: 1 }); // after the checkpoint (lag 0s for the test)
    const again = await cli(['run', '--config', file, '--once'], env);
    assert.match(again.stdout, /^okta-prod: 30 events/m, 'resumes from the checkpoint');
    // the token is in no file of the data directory and in no output
    for (const f of readdirSync(join(dir, 'data'))) {
      assert.ok(!readFileSync(join(dir, 'data', f)).includes(sim.token), `token found in ${f}`);
    }
    assert.ok(!(r.stdout + r.stderr + again.stdout + again.stderr).includes(sim.token));
    await sim.stop();
  });

  it('keys rotate re-encrypts stored secrets with a new key; runs go on working', async (t) => {
    const sim = new OktaSimulator({ events: 20 });
    await sim.start();
    t.after(() => sim.stop());
    const file = join(dir, 'rotate.yaml');
    writeFileSync(file, config(sim.url));
    const env = { OKTA_TOKEN: sim.token, TRIBUTARY_DATA_DIR: join(dir, 'data-rotate') };
    assert.equal((await cli(['run', '--config', file, '--once'], env)).code, 0);
    const r = await cli(['keys', 'rotate'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new key k2; 1 secret\(s\) re-encrypted/);
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(dir, 'data-rotate', 'tributary.db'));
    const row = db.prepare('SELECT secrets FROM accounts').get() as { secrets: string };
    db.close();
    assert.match(JSON.parse(row.secrets).token, /^v1:k2:/);
    const again = await cli(['run', '--config', file, '--once', '--collector', 'okta-prod'], env);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    await sim.stop();
  });

  it('apply creates, updates only what changed, never deletes without --prune, and audits as config-file', async () => {
    const file = join(dir, 'apply.yaml');
    const env = { OKTA_TOKEN: 'okta-apply-token-1', TRIBUTARY_DATA_DIR: join(dir, 'data-apply') };
    writeFileSync(file, config('https://acme.okta.com'));
    const first = await cli(['apply', '-f', file], env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.stdout.trim().split('\n'), [
      'created  site/hq',
      'created  account/okta-main',
      'created  destination/local',
      'created  collector/okta-prod',
      '4 change(s) applied',
    ]);
    assert.equal(
      (await cli(['apply', '-f', file], env)).stdout,
      'no changes\n',
      'applying again changes nothing',
    );
    env.OKTA_TOKEN = 'okta-apply-token-2';
    const rotated = await cli(['apply', '-f', file], env);
    assert.equal(
      rotated.stdout,
      'updated  account/okta-main\n1 change(s) applied\n',
      'a changed secret is an update',
    );
    // A file naming only a collector may use what the store already has; the rest is kept.
    const only = join(dir, 'apply-only.yaml');
    writeFileSync(
      only,
      'collectors:\n  okta-second: { source: okta, account: okta-main, destinations: [local], site: hq }\n',
    );
    const partial = await cli(['apply', '-f', only], env);
    assert.equal(partial.code, 0, partial.stderr);
    assert.match(partial.stdout, /^created {2}collector\/okta-second\n1 change\(s\) applied\n$/);
    const refused = await cli(['apply', '-f', only, '--prune'], env);
    assert.equal(refused.code, 1, 'pruning what a kept collector uses is refused, before any change');
    assert.match(
      refused.stderr,
      /collectors\.okta-second: uses account "okta-main", which --prune would delete/,
    );
    assert.match(refused.stderr, /collectors\.okta-second: uses destination "local"/);
    assert.equal((await cli(['apply', '-f', file], env)).stdout, 'no changes\n', 'nothing was deleted');
    const pruned = await cli(['apply', '-f', file, '--prune'], env);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(pruned.stdout.trim().split('\n'), [
      'deleted  collector/okta-second',
      '1 change(s) applied',
    ]);
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(dir, 'data-apply', 'tributary.db'));
    const actors = db.prepare('SELECT DISTINCT actor FROM audit_log').all() as Array<{ actor: string }>;
    db.close();
    assert.deepEqual(
      actors.map((a) => a.actor),
      ['config-file'],
    );
  });

  it('exits 1 with the error type, code and recommended action when a collector fails', async (t) => {
    const sim = new OktaSimulator({ events: 10, permission: false });
    await sim.start();
    t.after(() => sim.stop());
    const file = join(dir, 'denied.yaml');
    writeFileSync(file, config(sim.url));
    const r = await cli(['run', '--config', file, '--once', '--data-dir', join(dir, 'data2')], {
      OKTA_TOKEN: sim.token,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /okta-prod: 0 events, 0 pages, .* — failed: \[config\/okta_missing_permission\] Okta denied access \(403\)/,
    );
    assert.match(r.stdout, /Recommended action: .*Read-Only Administrator/);
    await sim.stop();
  });
});
