import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { sources } from '../../src/sources/index.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * A newcomer's first hour with the CLI (issue 12), through `bin/tributary` as npm installs it: help
 * on every command, serve with only a store, a taken port, the demo as a first lesson, the sources
 * table, and push collectors' ingest tokens from `apply`.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/tributary');
const tmp = tempDirs('tributary-first-use');
const COMMANDS = [
  'run',
  'serve',
  'sources',
  'destinations',
  'apply',
  'keys',
  'migrate',
  'worker',
  'export',
  'import',
];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; bin?: string } = {}) {
  const child = spawn(o.bin ?? BIN, args, {
    cwd: o.cwd ?? tmp(),
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Ran>((ok) => child.once('close', (code) => ok({ code, stdout, stderr })));
  return {
    child,
    done,
    out: () => stdout,
    /** Resolves with the first match of `re` in standard output, or fails after `ms`. */
    waitFor: (re: RegExp, ms = 30_000) =>
      new Promise<RegExpExecArray>((ok, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`no ${re} within ${ms} ms:\n${stdout}\n${stderr}`)),
          ms,
        );
        const check = () => {
          const m = re.exec(stdout);
          if (m) {
            clearTimeout(timer);
            child.stdout!.off('data', check);
            ok(m);
          }
        };
        child.stdout!.on('data', check);
        child.once('close', () => {
          clearTimeout(timer);
          fail(new Error(`exited before ${re}:\n${stdout}\n${stderr}`));
        });
        check();
      }),
    /** Ctrl-C, then the exit. */
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return done;
    },
  };
}

const cli = (args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; bin?: string } = {}) =>
  start(args, o).done;

/** Polls until `fn` returns a value, or fails after `ms`. */
async function eventually<T>(what: string, fn: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

async function okta(t: TestContext, o: ConstructorParameters<typeof OktaSimulator>[0] = {}) {
  const sim = new OktaSimulator({ events: 40, spacingMs: 1000, ...o });
  await sim.start();
  t.after(() => sim.stop());
  return sim;
}

describe('first use: install and start', () => {
  it('runs through the symbolic links npm makes (npm install -g, npm link, node_modules/.bin)', async () => {
    const dir = tmp();
    // npm install -g: PREFIX/bin/tributary -> ../lib/node_modules/tributary/bin/tributary; npm link
    // makes that package directory itself a link to the clone.
    mkdirSync(join(dir, 'lib/node_modules'), { recursive: true });
    mkdirSync(join(dir, 'bin'));
    symlinkSync(ROOT, join(dir, 'lib/node_modules/tributary'));
    symlinkSync('../lib/node_modules/tributary/bin/tributary', join(dir, 'bin/tributary'));
    symlinkSync(join(dir, 'bin/tributary'), join(dir, 'link-to-link'));
    for (const bin of [join(dir, 'bin/tributary'), join(dir, 'link-to-link')]) {
      const r = await cli(['sources'], { bin, cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^okta\s+ga\s+rest-time-window\s+okta\s+system-log$/m);
    }
  });

  it('every command answers --help and -h with its own usage, exit 0', async () => {
    for (const command of COMMANDS)
      for (const flag of ['--help', '-h']) {
        const r = await cli([command, flag]);
        assert.equal(r.code, 0, `${command} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^Usage: tributary ${command}\\b`), `${command} ${flag}`);
        assert.match(r.stdout, /-h, --help\s+Show this help/);
        assert.equal(r.stderr, '');
      }
    const help = await cli(['help', 'worker']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: tributary worker --database-url URL/);
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    for (const command of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    const bad = await cli(['serve', '--bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^tributary: Unknown option '--bogus'[\s\S]*Usage: tributary serve /);
  });

  it('serve without --config starts the console with what the store holds, and runs its collectors', async (t) => {
    const sim = await okta(t);
    const dir = tmp();
    const empty = start(['serve', '--port', '0', '--data-dir', join(dir, 'data')], { cwd: dir });
    t.after(() => empty.stop());
    await empty.waitFor(/Tributary is running: http:\/\/127\.0\.0\.1:\d+\//);
    await empty.waitFor(/No collectors yet: add one in the console/);
    assert.equal((await empty.stop()).code, 0);

    writeFileSync(
      join(dir, 'stored.yaml'),
      [
        'accounts:',
        `  okta-main: { kind: okta, url: "${sim.url}", token: "${sim.token}" }`,
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  okta-prod: { source: okta, account: okta-main, destinations: [local], lookback: 1h, lag: 0s }',
      ].join('\n'),
    );
    const applied = await cli(['apply', '-f', 'stored.yaml', '--data-dir', 'data'], { cwd: dir });
    assert.equal(applied.code, 0, applied.stderr);
    const serve = start(['serve', '--port', '0', '--data-dir', 'data'], { cwd: dir });
    t.after(() => serve.stop());
    await serve.waitFor(/Tributary is running/);
    const events = await eventually('the stored collector delivered', () => {
      const l = lines(join(dir, 'out/events.ndjson'));
      return l.length === 40 ? l : undefined;
    });
    assert.equal(JSON.parse(events[0]!).collector, 'okta-prod');
    assert.doesNotMatch(serve.out(), /No collectors yet/);
    assert.equal((await serve.stop()).code, 0);
  });

  it('serve --port N with N in use: one line naming the port and what to do, exit 2', async (t) => {
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    t.after(() => new Promise<void>((ok) => taken.close(() => ok())));
    const port = (taken.address() as { port: number }).port;
    const dir = tmp();
    const started = Date.now();
    const r = await cli(['serve', '--port', String(port), '--data-dir', 'data'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `tributary: port ${port} is in use (another tributary serve?): stop what listens there, or pick another port with --port N or TRIBUTARY_PORT\n`,
    );
    assert.equal(r.stdout, '');
    assert.ok(Date.now() - started < 15_000, 'it fails before starting anything');
    const env = await cli(['serve', '--data-dir', 'data'], {
      cwd: dir,
      env: { TRIBUTARY_PORT: String(port) },
    });
    assert.equal(env.code, 2);
    assert.match(env.stderr, new RegExp(`^tributary: port ${port} is in use`));
  });

  it("npm run demo prints where events land and the simulator's URL and token; README's config collects from it", async (t) => {
    const dir = tmp();
    const demo = start(['serve', '--demo', '--port', '0', '--data-dir', 'data'], { cwd: dir });
    t.after(() => demo.stop());
    const [, output] = await demo.waitFor(/Its events land in (\S+), one JSON envelope per line\./);
    const [, url, token] = await demo.waitFor(/^ {2}export OKTA_URL=(\S+) OKTA_TOKEN=(\S+)$/m);
    assert.equal(output, join(dir, 'data/output/demo/events.ndjson'));
    assert.match(
      demo.out(),
      /^Demo: an Okta simulator at http:\/\/127\.0\.0\.1:\d+ feeds collector "okta-demo"/,
    );
    await eventually('the demo collector delivered', () => (lines(output!).length ? true : undefined));

    // README, "Collect your own logs": its config file and command, pointed at the demo's simulator.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Collect your own logs'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const command = /```sh\n(.*\.\/bin\/tributary run --config tributary\.yaml --once.*)\n```/.exec(
      section,
    )![1]!;
    assert.match(section, /export OKTA_URL=… OKTA_TOKEN=…/, 'the README names the line the demo prints');
    writeFileSync(join(dir, 'tributary.yaml'), yaml);
    const args = command.slice(command.indexOf('./bin/tributary') + './bin/tributary '.length).split(' ');
    const r = await cli([...args, '--data-dir', 'try-data'], {
      cwd: dir,
      env: { OKTA_URL: url, OKTA_TOKEN: token },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [, n] = /^okta-prod: (\d+) events, .* — caught up$/m.exec(r.stdout)!;
    assert.ok(Number(n) > 0);
    const collected = lines(join(dir, 'out/events.ndjson')).map((l) => JSON.parse(l));
    assert.equal(collected.length, Number(n));
    assert.equal(collected[0].source, 'okta');
    assert.equal(collected[0].sitename, 'hq');
    assert.equal((await demo.stop()).code, 0);
  });
});

describe('first use: the CLI', () => {
  it('sources is an aligned table; push sources say "push" for account kind and streams', async () => {
    const r = await cli(['sources']);
    assert.equal(r.code, 0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    const names = ['ID', 'STABILITY', 'FAMILY', 'ACCOUNT KIND', 'STREAMS'];
    const starts = names.map((n) => header!.indexOf(n));
    assert.ok(
      starts.every((s, i) => i === 0 || s > starts[i - 1]!),
      header,
    );
    const cells = (row: string) => starts.map((s, i) => row.slice(s, starts[i + 1]).trim());
    assert.equal(rows.length, Object.keys(sources).length);
    for (const row of rows) {
      // every cell starts at its column: a space before it, not after its start
      for (const s of starts.slice(1)) assert.ok(row[s - 1] === ' ' && row[s] !== ' ', row);
    }
    const byId = new Map(rows.map((row) => [cells(row)[0], cells(row)]));
    assert.deepEqual(byId.get('okta'), ['okta', 'ga', 'rest-time-window', 'okta', 'system-log']);
    assert.deepEqual(byId.get('webhook'), ['webhook', 'ga', 'push', 'push', 'push']);
    assert.deepEqual(byId.get('databahn'), ['databahn', 'early-access', 'push', 'push', 'push']);
    assert.deepEqual(byId.get('rest-api'), [
      'rest-api',
      'ga',
      'rest-time-window',
      'api-key or 4 more',
      'events',
    ]);
    assert.doesNotMatch(r.stdout, /account: |streams: /);
    const json = JSON.parse((await cli(['sources', '--json'])).stdout);
    assert.equal(json.find((s: { id: string }) => s.id === 'webhook').account, '', '--json is unchanged');
  });

  it('destinations is an aligned table too', async () => {
    const r = await cli(['destinations']);
    assert.equal(r.code, 0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /^KIND\s+TITLE\s+DESCRIPTION$/);
    const title = header!.indexOf('TITLE');
    const description = header!.indexOf('DESCRIPTION');
    for (const row of rows) {
      assert.ok(row[title - 1] === ' ' && row[title] !== ' ', row);
      assert.ok(row[description - 1] === ' ' && row[description] !== ' ', row);
    }
    assert.match(r.stdout, /^http\s+HTTP\s+POSTs batches/m);
  });

  it('apply prints each new push collector’s ingest token once, or appends it to --tokens-file (0600); the token is accepted', async (t) => {
    const dir = tmp();
    const file = (collectors: string[]) =>
      [
        'destinations:',
        '  local: { kind: file, path: ./out/pushed.ndjson }',
        'collectors:',
        ...collectors.map((c) => `  ${c}: { source: webhook, destinations: [local] }`),
      ].join('\n');
    writeFileSync(join(dir, 'push.yaml'), file(['hook']));
    const first = await cli(['apply', '-f', 'push.yaml', '--data-dir', 'data'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    const [, token] =
      /^Ingest token of push collector "hook" \(shown once; senders present it to POST \/ingest\/hook\):\n {2}(\S+)$/m.exec(
        first.stdout,
      )!;
    assert.ok(token && token.length >= 32, first.stdout);
    const again = await cli(['apply', '-f', 'push.yaml', '--data-dir', 'data'], { cwd: dir });
    assert.equal(again.stdout, 'no changes\n', 'an existing collector’s token is never shown again');

    writeFileSync(join(dir, 'push.yaml'), file(['hook', 'hook2']));
    const tokens = join(dir, 'tokens.txt');
    const second = await cli(['apply', '-f', 'push.yaml', '--data-dir', 'data', '--tokens-file', tokens], {
      cwd: dir,
    });
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stdout,
      /^created {2}collector\/hook2\n1 change\(s\) applied\n1 ingest token\(s\) written to /,
    );
    assert.doesNotMatch(second.stdout, /Ingest token of/);
    assert.equal(statSync(tokens).mode & 0o777, 0o600);
    const [name, token2] = readFileSync(tokens, 'utf8').trim().split(' ');
    assert.equal(name, 'hook2');
    assert.notEqual(token2, token);

    const serve = start(['serve', '--port', '0', '--data-dir', 'data'], { cwd: dir });
    t.after(() => serve.stop());
    const [, base] = await serve.waitFor(/Tributary is running: (http:\/\/\S+?)\/ /);
    const post = (collector: string, bearer: string) =>
      fetch(`${base}/ingest/${collector}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'e1', message: 'hello' }),
      });
    assert.equal((await post('hook', token!)).status, 200);
    assert.equal((await post('hook2', token2!)).status, 200);
    assert.equal((await post('hook2', token!)).status, 401, 'each token belongs to its collector');
    assert.equal(lines(join(dir, 'out/pushed.ndjson')).length, 2);
  });

  it('a config file with many problems: every one in one run, in plain words, exit 2', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'sites: [hq, HQ]',
        'accounts:',
        '  o: { kind: slack, token: "xoxp-1" }',
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  okta-1:',
        '    source: okta',
        '    account: o',
        '    destinations: [local]',
        '    interval: often',
        '    settings: { limit: 5000, bogus: true }',
      ].join('\n'),
    );
    const r = await cli(['apply', '-f', 'bad.yaml', '--data-dir', 'data'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      [
        'tributary: invalid configuration:',
        '  sites.1: "HQ" repeats site "hq" (sites.0): site names are letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63, and unique ignoring case',
        '  collectors.okta-1.interval: expected an interval such as 30s, 5m, 1h or 7d',
        '  collectors.okta-1.account: accounts.o is a slack account; the okta source needs an okta account',
        '  collectors.okta-1.settings.limit: at most 1000',
        '  collectors.okta-1.settings: unknown setting "bogus"',
        '',
      ].join('\n'),
    );
  });
});
