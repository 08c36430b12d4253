import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ChatGptComplianceSimulator } from '../../src/sources/chatgpt-enterprise/simulator.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { ensureUiBuilt, launchChromium, ROOT, startServe } from '../../test/support/console.ts';

/**
 * `npm run screenshots`: the console's main pages as PNGs in docs/screenshots, for the README. A real
 * `tributary serve` with simulators behind a few collectors (one healthy with a week of history, one
 * failing for a missing permission, one stopped), driven by headless system Chromium.
 */

const OUT = join(ROOT, 'docs/screenshots');
const PASSWORD = 'screenshot sign-in phrase 3';
const HOUR = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), 'tributary-shots-'));
const okta = new OktaSimulator({ events: 1200, spacingMs: 2000, seed: 'shots' });
const oktaDenied = new OktaSimulator({ events: 50, permission: false, seed: 'denied' });
const chatgpt = new ChatGptComplianceSimulator({ seed: 'shots', filesPerType: 4, eventsPerFile: 12 });
await Promise.all([okta.start(), oktaDenied.start(), chatgpt.start()]);
await ensureUiBuilt();
writeFileSync(
  join(dir, 'tributary.yaml'),
  [
    'sites: [hq, eu-west]',
    'destinations:',
    '  siem-file: { kind: file, path: ./out/events.ndjson }',
    '  archive: { kind: file, path: ./out/archive.ndjson }',
    '',
  ].join('\n'),
);
const server = await startServe(
  ['--config', join(dir, 'tributary.yaml'), '--data-dir', join(dir, 'data')],
  { TRIBUTARY_ADMIN_PASSWORD: PASSWORD },
  dir,
);

let cookie = '';
let csrf = '';
async function call(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(server.url + path, {
    method,
    headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  if (path === '/api/login') cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return text ? JSON.parse(text) : undefined;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

try {
  csrf = (await call('POST', '/api/login', { username: 'admin', password: PASSWORD })).csrfToken;
  await call('POST', '/api/accounts', {
    name: 'okta-main',
    kind: 'okta',
    fields: { url: okta.url, token: okta.token },
    expiresAt: new Date(Date.now() + 200 * 24 * HOUR).toISOString(),
  });
  await call('POST', '/api/accounts', {
    name: 'okta-emea',
    kind: 'okta',
    fields: { url: oktaDenied.url, token: oktaDenied.token },
    expiresAt: new Date(Date.now() + 9 * 24 * HOUR).toISOString(),
  });
  await call('POST', '/api/accounts', {
    name: 'openai-compliance',
    kind: 'openai',
    fields: { apiKey: chatgpt.apiKey },
  });
  const collector = (name: string, def: Record<string, unknown>) =>
    call('POST', '/api/collectors', { name, destinations: ['siem-file'], lookback: '7d', ...def });
  await collector('okta-prod', {
    source: 'okta',
    account: 'okta-main',
    site: 'hq',
    timezone: 'Europe/Berlin',
    interval: '1m',
  });
  await collector('okta-emea', { source: 'okta', account: 'okta-emea', site: 'eu-west', interval: '5m' });
  await collector('chatgpt-enterprise', {
    source: 'chatgpt-enterprise',
    account: 'openai-compliance',
    destinations: ['siem-file', 'archive'],
    settings: { workspaceId: chatgpt.workspaceId, baseUrl: chatgpt.baseUrl },
    interval: '15m',
  });
  await collector('okta-staging', { source: 'okta', account: 'okta-main', enabled: false });

  for (const name of ['okta-prod', 'okta-emea', 'chatgpt-enterprise'])
    await until(`${name}'s first run`, async () => {
      const c = await call('GET', `/api/collectors/${name}`);
      return c.lastRun && c.lastRun.status !== 'running' ? c : undefined;
    });
  // A week of history for the volume chart: a daily rhythm, busier on weekdays.
  const db = new DatabaseSync(join(dir, 'data', 'tributary.db'));
  const ids = Object.fromEntries(
    (db.prepare('SELECT name, id FROM collectors').all() as Array<{ name: string; id: string }>).map((r) => [
      r.name,
      r.id,
    ]),
  );
  const insert = db.prepare(
    `INSERT INTO event_counts (collector_id, hour, count) VALUES (?, ?, ?)
     ON CONFLICT (collector_id, hour) DO UPDATE SET count = count + excluded.count`,
  );
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  for (let h = 167; h >= 1; h--) {
    const t = new Date(now - h * HOUR);
    const daily = Math.max(0, Math.sin(((t.getUTCHours() - 6) / 24) * 2 * Math.PI));
    const weekday = t.getUTCDay() % 6 === 0 ? 0.35 : 1;
    const noise = 0.85 + ((h * 7919) % 100) / 330;
    insert.run(ids['okta-prod']!, t.toISOString(), Math.round((180 + 2600 * daily * weekday) * noise));
    insert.run(ids['chatgpt-enterprise']!, t.toISOString(), Math.round((20 + 420 * daily * weekday) * noise));
  }
  db.close();

  mkdirSync(OUT, { recursive: true });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1366, height: 820 } });
  page.setDefaultTimeout(20_000);
  await page.goto(server.url);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('tr[data-collector="okta-prod"]').waitFor();
  const shot = async (name: string, fullPage = false) => {
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage });
    process.stdout.write(`docs/screenshots/${name}.png\n`);
  };
  await shot('overview');

  await page.getByRole('link', { name: 'okta-prod' }).click();
  await page.getByRole('heading', { name: 'okta-prod' }).waitFor();
  await page.locator('.chart .bar').first().waitFor();
  await shot('collector-details', true);

  await page.goto(`${server.url}/collectors/okta-emea`);
  await page.getByText('Recommended action').first().waitFor();
  await shot('collector-error', true);

  await page.getByRole('link', { name: 'New collector' }).click();
  await page.getByRole('button', { name: /Okta/ }).waitFor();
  await shot('new-collector-sources');
  await page.getByRole('button', { name: /Okta/ }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
  await shot('new-collector-guide');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name').fill('okta-emea-2');
  await page.getByLabel('Okta account').selectOption('okta-emea');
  await page.getByRole('checkbox', { name: /siem-file/ }).check();
  await page.getByLabel('Site (optional)').selectOption('eu-west');
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByText('Connection failed').waitFor();
  await shot('new-collector-form', true);

  await page.getByRole('link', { name: 'Accounts' }).click();
  await page.locator('tr[data-account="okta-main"]').waitFor();
  await shot('accounts');

  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('link', { name: 'Destinations' }).click();
  await page.getByRole('cell', { name: 'siem-file', exact: true }).waitFor();
  await shot('settings-destinations');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.locator('tr[data-action="collector.create"]').first().waitFor();
  await shot('settings-audit');
  await browser.close();
} finally {
  await server.stop();
  await Promise.all([okta.stop(), oktaDenied.stop(), chatgpt.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
