/**
 * Renders docs/grafana/tributary.json, the Grafana dashboard, with real data, for docs/operations.md:
 *
 *   node ui/scripts/dashboard.ts [--minutes 8]
 *   node ui/scripts/dashboard.ts --render-only    (step 4 alone, from the recorded screenshot-data.js)
 *
 * There is no Grafana here, so this does what Grafana would, with the real pieces where they exist:
 *
 * 1. A demo in this process: `tributary serve`'s API server and embedded scheduler on a temporary data
 *    directory, with two Okta simulators (one live, one with a three-hour backlog read through a tight
 *    request budget), a vendor that answers 429 now and then, an HTTP destination that goes down for a
 *    while, and a push collector fed by a sender whose batches sometimes hold a part that is not JSON.
 * 2. A real Prometheus server (Debian's `prometheus` package) scraping its /metrics every 5 seconds.
 * 3. Every panel's PromQL, as written in the dashboard JSON, run through Prometheus's query_range API
 *    over the demo's time range; the answers are written to docs/grafana/screenshot-data.js.
 * 4. docs/grafana/render.html draws the panels (title, unit, series legend) from that file as line
 *    charts, and headless Chromium screenshots it to docs/grafana/dashboard.png.
 *
 * Loopback only: every server listens on 127.0.0.1 and everything started here is stopped at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { Auth } from '../../src/api/auth.ts';
import { startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { Scheduler } from '../../src/app/scheduler.ts';
import { CONFIG_FILE, Control } from '../../src/control/service.ts';
import { fileScope } from '../../src/destinations/file/file-scope.ts';
import { createLogger } from '../../src/engine/log.ts';
import { json, SimServer } from '../../src/sim/kit.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '8' }, 'render-only': { type: 'boolean', default: false } },
});
const minutes = Number(values.minutes);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const grafana = join(root, 'docs', 'grafana');
const dashboard = JSON.parse(readFileSync(join(grafana, 'tributary.json'), 'utf8'));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as { port: number };
  await new Promise((ok) => s.close(ok));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

/** Step 4: render.html screenshotted by headless Chromium. */
async function screenshot(): Promise<void> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
    await page.goto(`file://${join(grafana, 'render.html')}`);
    await page.waitForFunction(() => (globalThis as { rendered?: boolean }).rendered === true);
    await page.screenshot({ path: join(grafana, 'dashboard.png'), fullPage: true });
  } finally {
    await browser.close();
  }
  log('wrote docs/grafana/dashboard.png');
}

if (values['render-only']) {
  await screenshot();
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'tributary-dashboard-'));
const children: ChildProcess[] = [];
const stops: Array<() => Promise<unknown>> = [];

try {
  // --- the demo ---
  const live = new OktaSimulator({ events: 300, spacingMs: 1000, seed: 'dash-live' });
  await live.start();
  live.startLive(4);
  stops.push(async () => {
    live.stopLive();
    await live.stop();
  });
  const backlog = new OktaSimulator({
    events: 12_000,
    spacingMs: 900, // three hours of events
    start: Date.now() - 3 * 3_600_000,
    seed: 'dash-backlog',
  });
  await backlog.start();
  backlog.startLive(1);
  stops.push(async () => {
    backlog.stopLive();
    await backlog.stop();
  });
  const siem = { down: false, lines: 0 };
  const siemServer = new SimServer({ name: 'siem' }).route('POST', '/events', (req) => {
    if (siem.down) return json(503, { error: 'maintenance' });
    siem.lines += req.body.toString('utf8').split('\n').filter(Boolean).length;
    return json(200, { ok: true });
  });
  await siemServer.start();
  stops.push(() => siemServer.stop());

  const store = await SqliteStore.open(dir);
  await store.migrate();
  const runtime = new Runtime(
    store,
    await SecretBox.open(dir, {}),
    createLogger({ level: 'error' }),
    dir,
    fileScope(dir),
  );
  const scheduler = new Scheduler(runtime, { destinationBackoff: { baseMs: 500, maxMs: 5000 } });
  await scheduler.start();
  const control = new Control(runtime, scheduler);
  const auth = new Auth(store);
  const server = await startApiServer(control, auth, { port: 0, host: '127.0.0.1', log: runtime.log });
  stops.push(async () => {
    await server.close();
    await scheduler.stop(1000);
    await runtime.close();
  });
  const base = `http://127.0.0.1:${server.port}`;

  await control.createAccount(CONFIG_FILE, {
    name: 'okta-prod',
    kind: 'okta',
    fields: { url: live.url, token: live.token },
  });
  await control.createAccount(CONFIG_FILE, {
    name: 'okta-eu',
    kind: 'okta',
    fields: { url: backlog.url, token: backlog.token },
    requestsPerMinute: 40,
  });
  await control.createDestination(CONFIG_FILE, {
    name: 'archive',
    config: { kind: 'file', path: 'archive.ndjson' } as never,
  });
  await control.createDestination(CONFIG_FILE, {
    name: 'siem',
    config: { kind: 'http', url: `${siemServer.url}/events`, maxAttempts: 1, timeout: 5000 } as never,
  });
  for (const c of [
    {
      name: 'okta-prod',
      account: 'okta-prod',
      destinations: ['siem', 'archive'],
      interval: '15s',
      lag: '0s',
    },
    {
      name: 'okta-eu',
      account: 'okta-eu',
      destinations: ['archive'],
      interval: '15s',
      lookback: '4h',
      settings: { limit: 100 },
    },
  ])
    await control.createCollector(CONFIG_FILE, { source: 'okta', lookback: '1h', ...c } as never);
  const hook = (await control.createCollector(CONFIG_FILE, {
    name: 'webhook-app',
    source: 'webhook',
    destinations: ['siem'],
    settings: { format: 'json' },
  } as never)) as { ingestToken: string };

  // --- Prometheus ---
  const promPort = await freePort();
  const promDir = join(dir, 'prometheus');
  mkdirSync(promDir);
  writeFileSync(
    join(promDir, 'prometheus.yml'),
    `global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nscrape_configs:\n  - job_name: tributary\n    static_configs:\n      - targets: ['127.0.0.1:${server.port}']\n`,
  );
  const prom = spawn(
    'prometheus',
    [
      `--config.file=${join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(prom);
  let promLog = '';
  prom.stderr!.on('data', (d) => {
    promLog += d;
  });
  const promApi = `http://127.0.0.1:${promPort}/api/v1`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${promApi}/status/buildinfo`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 100) throw new Error(`prometheus did not start:\n${promLog}`);
    await sleep(200);
  }
  log(`demo at ${base}, prometheus at 127.0.0.1:${promPort}; running ${minutes} min`);

  // --- the scenario ---
  const started = Date.now();
  const end = started + minutes * 60_000;
  let pushes = 0;
  for (let tick = 0; Date.now() < end; tick++) {
    const t = (Date.now() - started) / 1000;
    siem.down = t > minutes * 60 * 0.45 && t < minutes * 60 * 0.62; // the SIEM's maintenance window
    if (tick % 30 === 10) live.inject({ kind: 'rate-limit', retryAfter: 3, path: '/api/v1/logs' });
    if (tick % 45 === 20) backlog.inject({ kind: 'status', status: 503, times: 2, path: '/api/v1/logs' });
    const bad = tick % 7 === 0 ? '\nnot json' : '';
    const body = `${Array.from({ length: 5 }, (_, i) => JSON.stringify({ event: 'login', n: pushes * 5 + i })).join('\n')}${bad}\n`;
    pushes++;
    await fetch(`${base}/ingest/webhook-app`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hook.ingestToken}`, 'content-type': 'application/x-ndjson' },
      body,
    }).then((r) => r.body?.cancel());
    if (tick % 60 === 0) log(`t=${Math.round(t)}s siem ${siem.down ? 'down' : 'up'}, ${siem.lines} lines`);
    await sleep(2000);
  }
  await sleep(6000); // one more scrape

  // --- every panel's queries over the demo ---
  const substitute = (expr: string) =>
    expr.replaceAll('$__rate_interval', '1m').replaceAll('$collector', '.*').replaceAll('$job', '.*');
  const panels = [];
  for (const p of dashboard.panels.filter((x: { type: string }) => x.type !== 'row')) {
    const targets = [];
    for (const t of p.targets ?? []) {
      const q = new URLSearchParams({
        query: substitute(t.expr),
        start: String(started / 1000),
        end: String(Date.now() / 1000),
        step: '10',
      });
      const r = (await (await fetch(`${promApi}/query_range?${q}`)).json()) as {
        status: string;
        data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
        error?: string;
      };
      if (r.status !== 'success') throw new Error(`${p.title}: ${t.expr}: ${r.error}`);
      targets.push({ expr: t.expr, legendFormat: t.legendFormat ?? '', result: r.data.result });
    }
    panels.push({
      title: p.title,
      type: p.type,
      gridPos: p.gridPos,
      unit: p.fieldConfig?.defaults?.unit ?? 'short',
      targets,
    });
  }
  const data = {
    dashboard: dashboard.title,
    from: new Date(started).toISOString(),
    to: new Date().toISOString(),
    made: 'ui/scripts/dashboard.ts: a demo scraped by a real Prometheus; each panel is its query_range answer',
    panels,
  };
  // A script, not JSON: a page opened from file:// may load scripts beside it, not fetch files.
  writeFileSync(join(grafana, 'screenshot-data.js'), `window.DATA = ${JSON.stringify(data)};\n`);
  log(`queried ${panels.length} panels`);

  await screenshot();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
