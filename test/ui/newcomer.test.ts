import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { RestApiSimulator } from '../../src/sources/rest-api/simulator.ts';
import { CHROMIUM, ensureUiBuilt, launchChromium, type Served, startServe } from '../support/console.ts';

/**
 * The console as a newcomer meets it (issue 12): each behaviour that could regress, driven in headless
 * system Chromium against a real `tributary serve` — the first-admin hint, pages per settings tab,
 * vendor marks, Markdown guides, the time zone picker, the REST API form and its preview, inline
 * accounts created only at Install, Install after a failed test, ChatGPT's log types in one place, a
 * push collector's own page, Copy buttons for tokens, Overview filters in the URL, and fields with
 * human titles. Every wait is on a condition with a deadline, never a fixed sleep.
 */

const PASSWORD = 'newcomer sign-in phrase 5';
const REST_TOKEN = 'rest-newcomer-token-5d2a';
const WAIT = 20_000;
const available = existsSync(CHROMIUM);
const skip =
  !available && process.env.CI !== 'true' ? `${CHROMIUM} is missing: apt-get install -y chromium` : false;

describe('web console for a newcomer', { skip }, () => {
  let dir = '';
  let okta: OktaSimulator;
  let rest: RestApiSimulator;
  let server: Served;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cookie = '';
  let csrf = '';
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  /** The API as the signed-in admin (to arrange what a test needs, and to check what the console did). */
  async function call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(server.url + path, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** What the page copied (the Clipboard API, granted to the console's origin). */
  const clipboard = () => page.evaluate('navigator.clipboard.readText()') as Promise<string>;

  async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function signIn(p: Page) {
    await p.goto(server.url);
    await p.getByLabel('Username').fill('admin');
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Collectors' }).waitFor();
  }

  /** Opens the wizard's form for `source` (past its setup guide). */
  async function wizard(source: string) {
    await page.goto(`${server.url}/collectors/new/${source}`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: /^New .* collector$/ }).waitFor();
  }

  before(async () => {
    assert.ok(available, `${CHROMIUM} is missing: CI must install it (apt-get install -y chromium)`);
    await ensureUiBuilt();
    dir = mkdtempSync(join(tmpdir(), 'tributary-newcomer-'));
    okta = new OktaSimulator({ events: 20, seed: 'newcomer' });
    rest = new RestApiSimulator({
      seed: 'newcomer',
      events: 30,
      spacingMs: 60_000,
      pagination: 'cursor',
      auth: { kind: 'bearer', token: REST_TOKEN },
    });
    await Promise.all([okta.start(), rest.start()]);
    writeFileSync(
      join(dir, 'tributary.yaml'),
      ['sites: [hq]', 'destinations:', '  local: { kind: file, path: ./out/events.ndjson }', ''].join('\n'),
    );
    server = await startServe(
      ['--config', join(dir, 'tributary.yaml'), '--data-dir', join(dir, 'data')],
      { TRIBUTARY_ADMIN_PASSWORD: PASSWORD },
      dir,
    );
    const login = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all([okta?.stop(), rest?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the sign-in page says how to create the first admin while no user exists, and only then', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'tributary-no-admin-'));
    const bare = await startServe(
      ['--data-dir', join(fresh, 'data')],
      { TRIBUTARY_ADMIN_PASSWORD: '' },
      fresh,
    );
    const p = await browser.newPage();
    p.setDefaultTimeout(WAIT);
    try {
      await p.goto(bare.url);
      const hint = p.getByTestId('first-admin-hint');
      await hint.waitFor();
      const text = (await hint.textContent()) ?? '';
      assert.match(text, /No user exists yet/);
      assert.match(text, /setup link that tributary serve printed/);
      assert.match(text, /TRIBUTARY_ADMIN_PASSWORD/);
      // the link serve printed creates the admin; then the hint is gone
      const link = /(http:\/\/\S+\/\?setup=\S+)/.exec(bare.output())?.[1];
      assert.ok(link, bare.output());
      await p.goto(link);
      await p.getByRole('heading', { name: 'Create the first admin' }).waitFor();
      assert.equal(await p.getByTestId('first-admin-hint').count(), 0);
      await p.getByLabel('Username').fill('first-admin');
      await p.getByLabel('Password').fill('a first admin phrase 42');
      await p.getByRole('button', { name: 'Create admin and sign in' }).click();
      await p.getByRole('heading', { name: 'Collectors' }).waitFor();
      await p.getByRole('button', { name: 'Sign out' }).click();
      await p.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.equal(await p.getByTestId('first-admin-hint').count(), 0, 'a user exists now');
    } finally {
      await p.close();
      await bare.stop();
      rmSync(fresh, { recursive: true, force: true });
    }
    // and where the admin came from TRIBUTARY_ADMIN_PASSWORD, never
    const q = await browser.newPage();
    try {
      await q.goto(server.url);
      await q.getByRole('heading', { name: 'Sign in' }).waitFor();
      await q.waitForLoadState('networkidle');
      assert.equal(await q.getByTestId('first-admin-hint').count(), 0);
    } finally {
      await q.close();
    }
  });

  it('settings: each tab is a page of its own', async () => {
    for (const [tab, heading] of [
      ['Sites', 'Sites'],
      ['Destinations', 'Destinations'],
      ['Early access', 'Early access'],
      ['Users and roles', 'Users and roles'],
      ['API tokens', 'API tokens'],
      ['Audit log', 'Audit log'],
    ] as const) {
      await page.goto(`${server.url}/settings`);
      await page
        .getByRole('navigation', { name: 'Settings sections' })
        .getByRole('link', { name: tab })
        .click();
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
    }
    await page.goto(`${server.url}/settings/destinations`);
    await page.getByRole('cell', { name: 'local', exact: true }).waitFor();
  });

  it('vendor marks: letters and colours of their own, none reading like a health badge', async () => {
    await page.goto(`${server.url}/collectors/new`);
    await page.locator('.tile .mark').first().waitFor();
    // run in the page (this file has no DOM types: getComputedStyle is reached through globalThis)
    const marks = await page.locator('.tile .mark').evaluateAll((els) =>
      els.map((e) => ({
        id: e.getAttribute('data-mark'),
        text: e.textContent ?? '',
        colour: (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(e).backgroundColor,
      })),
    );
    assert.ok(marks.length >= 18, `${marks.length} tiles`);
    const seen = new Set<string>();
    for (const m of marks) {
      assert.doesNotMatch(m.text, /^(ok|error|warning)$/i, `${m.id}'s mark reads like a health badge`);
      const key = `${m.text}|${m.colour}`;
      assert.ok(!seen.has(key), `${m.id}'s mark is another vendor's too: ${key}`);
      seen.add(key);
    }
    const oktaMark = marks.find((m) => m.id === 'okta')!;
    assert.notEqual(oktaMark.text.toUpperCase(), 'OK');
  });

  it('setup guides are rendered as Markdown: lists whose items are whole sentences', async () => {
    await page.goto(`${server.url}/collectors/new/chatgpt-enterprise`);
    const steps = page.locator('.rich-text ol > li');
    await steps.first().waitFor();
    assert.equal(await steps.count(), 5);
    const second = (await steps.nth(1).textContent()) ?? '';
    assert.match(second, /copy the Organization ID and check it matches/, 'not broken at the line end');
    assert.equal(await steps.nth(1).locator('strong', { hasText: 'Organization ID' }).count(), 1);
    assert.equal(await page.locator('.rich-text p', { hasText: /^\s*\*\*/ }).count(), 0, 'no raw Markdown');
  });

  it('time zones: a searchable list of current IANA names with their UTC offsets', async () => {
    await wizard('okta');
    const picker = page.getByRole('combobox', { name: 'Time zone (optional)' });
    await picker.fill('Calcutta');
    const kolkata = page.getByRole('option', { name: /^Asia\/Kolkata UTC\+05:30/ });
    await kolkata.waitFor();
    assert.equal(
      await page.getByRole('option', { name: /^Asia\/Calcutta/ }).count(),
      0,
      'old names are not listed',
    );
    await picker.fill('kiev');
    await page.getByRole('option', { name: /^Europe\/Kyiv UTC\+0[23]:00/ }).waitFor();
    await picker.fill('+05:45');
    await page.getByRole('option', { name: /^Asia\/Kathmandu UTC\+05:45/ }).waitFor();
    assert.deepEqual(
      await page.getByRole('listbox', { name: 'Time zones' }).getByRole('option').allTextContents(),
      ['Asia/Kathmandu UTC+05:45 (was Asia/Katmandu)'],
    );
    // the keyboard picks too
    await picker.fill('ho chi');
    await picker.press('ArrowDown');
    await picker.press('Enter');
    assert.match(await picker.inputValue(), /^Asia\/Ho_Chi_Minh \(UTC\+07:00\)$/);
    assert.equal(await page.getByRole('listbox').count(), 0, 'closed once chosen');
    assert.ok(
      (await page.getByRole('combobox', { name: 'Time zone (optional)' }).getAttribute('aria-expanded')) ===
        'false',
    );
  });

  it('ChatGPT Enterprise asks for its log types once: the streams, defaults ticked', async () => {
    await wizard('chatgpt-enterprise');
    assert.equal(await page.getByLabel(/Event types/).count(), 0, 'no eventTypes setting');
    const streams = page.getByRole('group', { name: 'Streams' });
    const box = (type: string) => streams.getByRole('checkbox', { name: new RegExp(`^${type} `) });
    assert.ok(await box('AUDIT_LOG').isChecked());
    assert.ok(await box('AUTH_LOG').isChecked());
    assert.ok(!(await box('CONVERSATION_MESSAGE').isChecked()));
    assert.ok(!(await box('APP_AUTH_LOG').isChecked()));
  });

  it('every field has a human title and description; secrets are password inputs', async () => {
    await wizard('webhook');
    const settings = page.getByRole('group', { name: 'Webhook settings' });
    for (const label of [
      'Body format',
      'Event id path',
      'Largest body as sent (MB)',
      'Most events per second',
    ])
      await settings.getByLabel(label, { exact: true }).waitFor();
    const labels = await settings.locator('label, legend').allTextContents();
    for (const l of labels)
      assert.doesNotMatch(
        l.trim(),
        /^(Max body mb|header|secret|Option \d+)\*?$/i,
        `label made from a name: ${l}`,
      );
    assert.equal(await settings.getByLabel('HMAC secret').getAttribute('type'), 'password');
  });

  it('the REST API form: labelled pagination, every account kind, write-only headers, Preview one page', async () => {
    await wizard('rest-api');
    const pagination = page.getByRole('combobox', { name: 'Pagination' });
    // The settings form renders after the heading: wait for the field before reading its options.
    await pagination.locator('option').last().waitFor({ state: 'attached' });
    assert.deepEqual(await pagination.locator('option').allTextContents(), [
      'None: one page per window',
      'Link header (rel="next")',
      'Next-page URL in the body',
      'Cursor',
      'Offset and limit',
      'Page numbers',
    ]);
    await pagination.selectOption({ label: 'Cursor' });
    await page.getByLabel('Cursor path').fill('meta.next_cursor');
    await page.getByLabel('Cursor parameter').fill('cursor');
    assert.equal(await page.getByRole('textbox', { name: /^type/ }).count(), 0, 'no raw type field');
    const headersHelp = (await page.locator('#settings_headers__help').textContent()) ?? '';
    assert.match(headersHelp, /Write-only values: stored encrypted/);

    await page.getByLabel('Name', { exact: true }).fill('rest-preview');
    await page.getByRole('button', { name: 'New account' }).click();
    const dialog = page.getByRole('dialog', { name: 'New account' });
    const kind = dialog.getByLabel('Kind');
    assert.deepEqual(
      (
        await kind
          .locator('option')
          .evaluateAll((o) => o.map((x) => (x as unknown as { value: string }).value))
      ).sort(),
      ['api-key', 'basic', 'bearer', 'none', 'oauth2-client-credentials'],
    );
    assert.equal(await kind.isDisabled(), false);
    await dialog.getByLabel('Name', { exact: true }).fill('rest-bearer');
    await kind.selectOption('bearer');
    await dialog.getByLabel('Token').fill(REST_TOKEN);
    await dialog.getByRole('button', { name: 'Use this account' }).click();
    await dialog.waitFor({ state: 'detached' });

    // a missing field says so in words, at the field (nothing is asked of the vendor)
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.locator('#settings_url__error', { hasText: 'Required: this field needs a value.' }).waitFor();
    await page.getByLabel('Endpoint URL').fill(`${rest.url}/v1/events`);
    await page.getByLabel('Records path').fill('data');
    await page.getByLabel('Event time path').fill('created_at');
    await page.getByLabel('Event id path').fill('id');
    const query = page.locator('#settings_query');
    for (const [k, v] of [
      ['since', '{{window.start}}'],
      ['until', '{{window.end}}'],
      ['limit', '10'],
    ] as const) {
      await query.locator('#settings_query__add').click();
      await query.locator('input[id$="-key"]').last().fill(k);
      await query.locator('input:not([id$="-key"])').last().fill(v);
    }
    assert.equal(await query.locator('select').count(), 0, 'a parameter is one text input, no "Option 1"');
    await page.getByRole('checkbox', { name: /local/ }).check();

    const before = rest.seen.length;
    await page.getByRole('button', { name: 'Preview one page' }).click();
    const panel = page.getByRole('region', { name: 'Preview' });
    await panel.getByTestId('preview-events').waitFor();
    assert.match(
      (await panel.getByTestId('preview-request').textContent()) ?? '',
      /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/events\?since=.+&until=.+&limit=10$/,
    );
    assert.equal((await panel.getByTestId('preview-records').textContent())?.trim(), '10');
    const rows = panel.getByTestId('preview-events').locator('tbody tr');
    assert.equal(await rows.count(), 10);
    const id = (await rows.first().locator('td').nth(1).textContent())?.trim();
    const raw = JSON.parse((await rows.first().locator('summary').textContent()) ?? '{}');
    assert.ok(id && id === raw.id, 'the id the settings extract, from idPath');
    await panel.getByText('No warnings').waitFor();
    assert.equal(rest.seen.length - before, 1, 'one page read');
    // a wrong records path: warned, not failed
    await page.getByLabel('Records path').fill('items');
    await panel.getByText('The form changed since this preview.').waitFor();
    await page.getByRole('button', { name: 'Preview one page' }).click();
    const warnings = panel.getByTestId('preview-warnings');
    await warnings.waitFor();
    assert.match((await warnings.textContent()) ?? '', /items/);
    assert.deepEqual(
      (await call('GET', '/api/accounts')).map((a: { name: string }) => a.name),
      [],
      'nothing saved',
    );
  });

  it('a new account made in the wizard is created with the collector, never alone; Install after a failed test asks first', async () => {
    const newAccount = async (name: string, token: string) => {
      await page.getByRole('button', { name: 'New account' }).click();
      const dialog = page.getByRole('dialog', { name: 'New Okta account' });
      await dialog.getByLabel('Name', { exact: true }).fill(name);
      await dialog.getByLabel('URL').fill(okta.url);
      await dialog.getByLabel('Token').fill(token);
      await dialog.getByRole('button', { name: 'Use this account' }).click();
      await dialog.waitFor({ state: 'detached' });
    };
    const names = async (what: 'accounts' | 'collectors') =>
      ((await call('GET', `/api/${what}`)) as Array<{ name: string }>).map((x) => x.name).sort();

    // a wrong token: the test fails; Install asks; Cancel installs nothing
    await wizard('okta');
    await page.getByLabel('Name', { exact: true }).fill('okta-inline');
    await newAccount('okta-inline-account', '00wrong-token-0000000000');
    assert.match(
      (await page.getByLabel('Okta account').locator('option:checked').textContent()) ?? '',
      /new: created at install/,
    );
    await page.getByRole('checkbox', { name: /local/ }).check();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByRole('alert').filter({ hasText: 'Connection failed' }).waitFor();
    assert.deepEqual(await names('accounts'), [], 'testing stored no account');
    await page.getByRole('button', { name: 'Install' }).click();
    const confirm = page.getByRole('dialog', { name: 'Install although the test failed?' });
    await confirm.waitFor();
    assert.match((await confirm.textContent()) ?? '', /okta_invalid_token/);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.match(page.url(), /\/collectors\/new\/okta$/);
    assert.ok(!(await names('collectors')).includes('okta-inline'));

    // leaving the wizard leaves nothing behind
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Collectors' }).waitFor();
    assert.deepEqual(await names('accounts'), []);

    // the right token: tested, installed, both created in one request and audited as both
    await wizard('okta');
    await page.getByLabel('Name', { exact: true }).fill('okta-inline');
    await newAccount('okta-inline-account', okta.token);
    await page.getByRole('checkbox', { name: /local/ }).check();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection OK').waitFor();
    await page.getByRole('button', { name: 'Install' }).click();
    await page.waitForURL(/\/collectors\/okta-inline$/);
    assert.deepEqual(await names('accounts'), ['okta-inline-account']);
    const audit = (await call('GET', '/api/audit?limit=5')) as Array<{ action: string; target: string }>;
    assert.deepEqual(
      audit.slice(0, 2).map((a) => `${a.action} ${a.target}`),
      ['collector.create okta-inline', 'account.create okta-inline-account'],
    );
    await page.locator('[data-testid="volume"]', { hasText: '20 events' }).waitFor();
    assert.ok(!(await page.content()).includes(okta.token));

    // Install anyway, once confirmed
    await wizard('okta');
    await page.getByLabel('Name', { exact: true }).fill('okta-anyway');
    await newAccount('okta-unreachable', '00wrong-token-0000000000');
    await page.getByRole('checkbox', { name: /local/ }).check();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByRole('alert').filter({ hasText: 'Connection failed' }).waitFor();
    await page.getByRole('button', { name: 'Install' }).click();
    await page
      .getByRole('dialog', { name: 'Install although the test failed?' })
      .getByRole('button', { name: 'Install anyway' })
      .click();
    await page.waitForURL(/\/collectors\/okta-anyway$/);
    assert.deepEqual(await names('accounts'), ['okta-inline-account', 'okta-unreachable']);
  });

  it("a push collector's page: endpoint, tokens, requests and events accepted, the latest refusals, health", async () => {
    const created = await call('POST', '/api/collectors', {
      name: 'hook',
      source: 'webhook',
      destinations: ['local'],
      settings: { maxEventsPerSecond: 5, maxBodyMB: 0.01 },
    });
    const token = created.ingestToken as string;
    const push = (body: string) =>
      fetch(`${server.url}/ingest/hook`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body,
      });
    // six events: more than a second's worth at 5 a second, so the next request is over the rate
    const six = Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: `e${i}` })).join('\n');
    // refused for its size before it is charged to the rate; then one admitted, one over the rate
    assert.equal((await push(`{"pad":"${'x'.repeat(12_000)}"}`)).status, 413);
    assert.equal((await push(six)).status, 200);
    assert.equal((await push(six)).status, 429);
    await until('the answers counted', async () => {
      const c = await call('GET', '/api/collectors/hook');
      return c.ingest.traffic.lastHour.requests === 3 ? c : undefined;
    });

    await page.goto(`${server.url}/collectors/hook`);
    await page.getByRole('heading', { name: 'hook' }).waitFor();
    await page.getByTestId('refusals').waitFor();
    for (const gone of ['Run now'])
      assert.equal(await page.getByRole('button', { name: gone, exact: true }).count(), 0, gone);
    for (const gone of ['Checkpoints', 'Run history'])
      assert.equal(await page.getByRole('heading', { name: gone }).count(), 0, gone);
    assert.equal(await page.getByText('Interval', { exact: true }).count(), 0);
    assert.equal(await page.getByText(/No run yet|the last runs succeeded/).count(), 0);

    const hour = page.getByTestId('traffic').locator('tr[data-period="Last hour"]');
    const cells = (await hour.locator('td').allTextContents()).map((t) => t.trim());
    assert.deepEqual(cells.slice(0, 3), ['3', '1', '6']);
    assert.match(cells[3]!, /413.*too large ×1/);
    assert.match(cells[3]!, /429.*over the rate ×1/);
    const limited = page.getByTestId('refusals').locator('tr[data-code="rate_limited"]');
    assert.match((await limited.textContent()) ?? '', /429.*over its configured rate.*retry after \d+ s/);
    await page.getByTestId('refusals').locator('tr[data-code="body_too_large"]').waitFor();
    await page.locator('[data-testid="health"]', { hasText: 'ERROR' }).waitFor();
    assert.match(
      (await page.locator('.health-reasons').textContent()) ?? '',
      /answered 413 body_too_large .*their events are lost/,
    );
    // tokens: hints in a styled table; the endpoint copied
    const tokens = page.getByTestId('ingest-tokens');
    assert.ok((await tokens.getAttribute('class'))?.includes('table'));
    await tokens.locator(`tr[data-token$="${token.slice(-4)}"]`).waitFor();
    assert.ok(!(await page.content()).includes(token));
    await page.getByRole('button', { name: 'Copy endpoint URL' }).click();
    await page.getByRole('button', { name: 'Copied endpoint URL' }).waitFor();
    assert.equal(await clipboard(), `${server.url}/ingest/hook`);
  });

  it('new API tokens and ingest tokens: shown once in the same table, each with a Copy button', async () => {
    await page.goto(`${server.url}/settings/tokens`);
    await page.getByLabel('Name').fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Token ci created' });
    const token = ((await dialog.getByTestId('api-token').textContent()) ?? '').trim();
    assert.match(token, /^trb_/);
    assert.ok((await dialog.locator('table').getAttribute('class'))?.includes('secrets'));
    await dialog.getByRole('button', { name: 'Copy Token' }).click();
    await dialog.getByRole('button', { name: 'Copied Token' }).waitFor();
    assert.equal(await clipboard(), token);
    await dialog.getByRole('button', { name: 'I have copied the token' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok(!(await page.content()).includes(token), 'shown once');

    await page.goto(`${server.url}/collectors/hook`);
    await page.getByRole('button', { name: 'Rotate token' }).click();
    await page
      .getByRole('dialog', { name: 'New ingest token for hook?' })
      .getByRole('button', { name: 'Issue new token' })
      .click();
    const issued = page.getByRole('region', { name: 'Ingest endpoint' });
    const fresh = ((await issued.getByTestId('ingest-token').textContent()) ?? '').trim();
    assert.ok((await issued.locator('table.secrets').count()) === 1, 'the same table');
    await issued.getByRole('button', { name: 'Copy Token' }).click();
    assert.equal(await clipboard(), fresh);
  });

  it('Overview filters are kept in the URL: a reload keeps them', async () => {
    await page.goto(server.url);
    await page.locator('tr[data-collector="hook"]').waitFor();
    await page.getByLabel('Search').fill('okta');
    await page.getByLabel('Status').selectOption('running');
    await page.getByLabel('Vendor').selectOption('Okta');
    await until('the URL', async () => (page.url().includes('vendor=Okta') ? true : undefined));
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('q'), 'okta');
    assert.equal(url.searchParams.get('status'), 'running');
    await page.reload();
    await page.locator('tr[data-collector="okta-inline"]').waitFor();
    assert.equal(await page.getByLabel('Search').inputValue(), 'okta');
    assert.equal(await page.getByLabel('Status').inputValue(), 'running');
    assert.equal(await page.getByLabel('Vendor').inputValue(), 'Okta');
    assert.equal(await page.locator('tr[data-collector="hook"]').count(), 0, 'still filtered');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Vendor').selectOption('');
    await page.getByLabel('Status').selectOption('');
    await until('the URL cleared', async () => (new URL(page.url()).search === '' ? true : undefined));
    await page.locator('tr[data-collector="hook"]').waitFor();
  });

  it('ran without CSP violations or page errors', () => {
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(pageErrors, []);
  });
});
