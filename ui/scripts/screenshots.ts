import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ChatGptComplianceSimulator } from '../../src/sources/chatgpt-enterprise/simulator.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { RestApiSimulator } from '../../src/sources/rest-api/simulator.ts';
import { ensureUiBuilt, launchChromium, ROOT, startServe } from '../../test/support/console.ts';

/**
 * `npm run screenshots`: the console's main pages as PNGs in docs/screenshots, for the README. A real
 * `tributary serve` with simulators behind a few collectors (one healthy with a week of history, one
 * failing for a missing permission, one stopped, a push collector receiving events), driven by
 * headless system Chromium. TRIBUTARY_SCREENSHOTS_DIR writes them elsewhere (test/ui/screenshots.test.ts
 * runs the script so, so that CI fails when it breaks, without comparing pixels).
 */

const OUT = process.env.TRIBUTARY_SCREENSHOTS_DIR ?? join(ROOT, 'docs/screenshots');
const PASSWORD = 'screenshot sign-in phrase 3';
const HOUR = 3_600_000;

const dir = mkdtempSync(join(tmpdir(), 'tributary-shots-'));
const okta = new OktaSimulator({ events: 1200, spacingMs: 2000, seed: 'shots' });
const oktaDenied = new OktaSimulator({ events: 50, permission: false, seed: 'denied' });
const chatgpt = new ChatGptComplianceSimulator({ seed: 'shots', filesPerType: 4, eventsPerFile: 12 });
const rest = new RestApiSimulator({
  seed: 'shots',
  events: 60,
  spacingMs: 60_000,
  pagination: 'cursor',
  auth: { kind: 'bearer', token: 'rest-shots-token-3c9e' },
});
await Promise.all([okta.start(), oktaDenied.start(), chatgpt.start(), rest.start()]);
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
    origins: [chatgpt.baseUrl], // the simulator stands in for api.chatgpt.com
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
    process.stdout.write(`${join(OUT, `${name}.png`)}\n`);
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
  await page.getByRole('button', { name: /^Okta REST/ }).waitFor();
  await shot('new-collector-sources');
  await page.getByRole('button', { name: /^Okta REST/ }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
  await shot('new-collector-guide');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name', { exact: true }).fill('okta-emea-2');
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

  // The generic REST API collector: labelled pagination, any account kind, one page previewed.
  await page.goto(`${server.url}/collectors/new/rest-api`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name', { exact: true }).fill('audit-api');
  await page.getByRole('button', { name: 'New account' }).click();
  const account = page.getByRole('dialog', { name: 'New account' });
  await account.getByLabel('Name', { exact: true }).fill('audit-api-token');
  await account.getByLabel('Kind').selectOption('bearer');
  await account.getByLabel('Token').fill('rest-shots-token-3c9e');
  await account.getByRole('button', { name: 'Use this account' }).click();
  await page.getByLabel('Endpoint URL').fill(`${rest.url}/v1/events`);
  await page.getByLabel('Records path').fill('data');
  await page.getByLabel('Event time path').fill('created_at');
  await page.getByLabel('Event id path').fill('id');
  await page.getByLabel('Pagination').selectOption({ label: 'Cursor' });
  await page.getByLabel('Cursor path').fill('meta.next_cursor');
  await page.getByLabel('Cursor parameter').fill('cursor');
  const query = page.locator('#settings_query');
  for (const [k, v] of [
    ['since', '{{window.start}}'],
    ['until', '{{window.end}}'],
    ['limit', '10'],
  ] as const) {
    await query.getByRole('button', { name: /Add/ }).click();
    const keys = query.locator('input[id$="-key"]');
    await keys.last().fill(k);
    await query.locator('input:not([id$="-key"])').last().fill(v);
  }
  await page.getByRole('checkbox', { name: /siem-file/ }).check();
  await page.getByRole('button', { name: 'Preview one page' }).first().click();
  await page.getByTestId('preview-events').waitFor();
  await page.getByRole('region', { name: 'Preview' }).scrollIntoViewIfNeeded();
  await shot('rest-api-preview', true);

  // A push collector: installed, its endpoint and token shown once, then events and a refusal.
  await page.goto(`${server.url}/collectors/new/webhook`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name', { exact: true }).fill('vendor-hook');
  await page.getByLabel('Most events per second').fill('20');
  await page.getByRole('checkbox', { name: /siem-file/ }).check();
  await page.getByRole('button', { name: 'Install' }).click();
  const issued = page.getByRole('region', { name: 'Ingest endpoint' });
  const token = ((await issued.getByTestId('ingest-token').textContent()) ?? '').trim();
  await shot('push-collector-token');
  const send = (n: number) =>
    fetch(`${server.url}/ingest/vendor-hook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body: Array.from({ length: n }, (_, i) => JSON.stringify({ id: `e${n}-${i}`, msg: 'signed in' })).join(
        '\n',
      ),
    });
  for (const n of [12, 8, 15]) await send(n);
  await send(30); // over 20 a second: answered 429
  await issued.getByRole('button', { name: 'I have copied the token' }).click();
  await page.waitForURL(/\/collectors\/vendor-hook$/);
  await until('the counted answers', async () => {
    const c = await call('GET', '/api/collectors/vendor-hook');
    return c.ingest.traffic.refusals.length ? c : undefined;
  });
  await page.reload();
  await page.getByTestId('refusals').waitFor();
  await shot('push-collector', true);
  await browser.close();
} finally {
  await server.stop();
  await Promise.all([okta.stop(), oktaDenied.stop(), chatgpt.stop(), rest.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
