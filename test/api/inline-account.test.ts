import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RestApiSimulator } from '../../src/sources/rest-api/simulator.ts';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The console wizard's inline account (`newAccount` in POST /api/collectors, /test and /preview): tested
 * and previewed before anything is stored, created with its collector in one transaction — both or
 * neither, whatever fails — and audited as both. So an abandoned wizard leaves no account behind.
 */

const fresh = tempDirs('tributary-inline-account');
const TOKEN = 'inline-bearer-SECRET-77c1';
let api: ApiServer;
let sim: RestApiSimulator;

const settings = () => ({
  url: `${sim.url}/v1/events`,
  query: { since: '{{window.start}}', until: '{{window.end}}', limit: '10' },
  recordsPath: 'data',
  timePath: 'created_at',
  idPath: 'id',
  pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
});
const definition = (over: Record<string, unknown> = {}) => ({
  source: 'rest-api',
  destinations: ['out'],
  lookback: '2h',
  settings: settings(),
  newAccount: { name: 'api-inline', kind: 'bearer', fields: { token: TOKEN } },
  ...over,
});
const editor = (body: unknown) => ({ as: 'editor' as const, body });

before(async () => {
  sim = new RestApiSimulator({ events: 30, spacingMs: 60_000, auth: { kind: 'bearer', token: TOKEN } });
  await sim.start();
  api = await startTestApi(fresh());
  const dest = await api.call(
    'POST',
    '/api/destinations',
    editor({ name: 'out', config: { kind: 'file', path: 'out.ndjson' } }),
  );
  assert.equal(dest.status, 201, dest.text);
});

after(async () => {
  await api?.close();
  await sim?.stop();
});

const accounts = async () => (await api.call('GET', '/api/accounts', { as: 'editor' })).body as any[];
const collectors = async () => (await api.call('GET', '/api/collectors', { as: 'editor' })).body as any[];

describe('POST /api/collectors with newAccount', () => {
  it('Test connection and Preview use the new account without storing it', async () => {
    const ok = await api.call('POST', '/api/collectors/test', editor(definition()));
    assert.deepEqual(ok.body, { ok: true }, ok.text);
    const wrong = await api.call(
      'POST',
      '/api/collectors/test',
      editor(definition({ newAccount: { name: 'api-inline', kind: 'bearer', fields: { token: 'nope' } } })),
    );
    assert.equal(wrong.status, 200, wrong.text);
    assert.equal(wrong.body.ok, false);
    assert.match(wrong.body.error.code, /unauthorized|invalid|401/);
    const preview = await api.call('POST', '/api/collectors/preview', editor(definition()));
    assert.equal(preview.status, 200, preview.text);
    assert.equal(preview.body.ok, true, preview.text);
    assert.equal(preview.body.records, 10);
    for (const r of [ok, wrong, preview]) assert.ok(!r.text.includes(TOKEN));
    assert.deepEqual(await accounts(), [], 'nothing stored');
    assert.deepEqual(await collectors(), []);
  });

  it('refused whole: a bad account, a bad collector, or a name taken stores neither', async () => {
    const badFields = await api.call(
      'POST',
      '/api/collectors',
      editor({ ...definition({ newAccount: { name: 'acc-a', kind: 'bearer', fields: {} } }), name: 'c-a' }),
    );
    assert.equal(badFields.status, 400, badFields.text);
    assert.deepEqual(
      badFields.body.error.issues.map((i: { path: string }) => i.path),
      ['newAccount.fields.token'],
    );
    const badKind = await api.call(
      'POST',
      '/api/collectors',
      editor({
        ...definition({
          newAccount: { name: 'acc-b', kind: 'okta', fields: { url: 'https://x.okta.com', token: 't' } },
        }),
        name: 'c-b',
      }),
    );
    assert.equal(badKind.status, 400, badKind.text);
    assert.match(badKind.text, /"path":"account".*okta account.*rest-api source needs/);
    const badCollector = await api.call(
      'POST',
      '/api/collectors',
      editor({ ...definition({ destinations: ['nowhere'] }), name: 'c-c' }),
    );
    assert.equal(badCollector.status, 400, badCollector.text);
    assert.equal(badCollector.body.error.issues[0].path, 'destinations.0');
    const otherAccount = await api.call(
      'POST',
      '/api/collectors',
      editor({ ...definition({ account: 'someone-else' }), name: 'c-d' }),
    );
    assert.equal(otherAccount.status, 400);
    assert.equal(otherAccount.body.error.issues[0].path, 'account');
    const push = await api.call(
      'POST',
      '/api/collectors',
      editor({ ...definition({ source: 'webhook', settings: {} }), name: 'c-e' }),
    );
    assert.equal(push.status, 400);
    assert.match(
      push.text,
      /"path":"newAccount","message":"webhook receives pushed events and uses no account"/,
    );
    assert.deepEqual(await accounts(), [], 'no account stored by a refused request');
    assert.deepEqual(await collectors(), []);

    // names taken: an existing account, an existing collector
    const existing = await api.call(
      'POST',
      '/api/accounts',
      editor({ name: 'taken', kind: 'none', fields: {} }),
    );
    assert.equal(existing.status, 201);
    const accountTaken = await api.call(
      'POST',
      '/api/collectors',
      editor({
        ...definition({ newAccount: { name: 'taken', kind: 'bearer', fields: { token: TOKEN } } }),
        name: 'c-f',
      }),
    );
    assert.equal(accountTaken.status, 409);
    assert.match(accountTaken.body.error.message, /account named "taken" exists/);
    const public1 = await api.call(
      'POST',
      '/api/collectors',
      editor({ ...definition({ newAccount: undefined, account: 'taken' }), name: 'already' }),
    );
    assert.equal(public1.status, 201, public1.text);
    const collectorTaken = await api.call(
      'POST',
      '/api/collectors',
      editor({ ...definition(), name: 'already' }),
    );
    assert.equal(collectorTaken.status, 409);
    assert.deepEqual(
      (await accounts()).map((a) => a.name),
      ['taken'],
      'the new account was not created for a collector that was not',
    );
  });

  it('creates both in one request, the account with origins from the URL settings; audited as both', async () => {
    const r = await api.call('POST', '/api/collectors', editor({ ...definition(), name: 'rest-inline' }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.account, 'api-inline');
    assert.ok(!r.text.includes(TOKEN));
    const account = (await accounts()).find((a) => a.name === 'api-inline');
    assert.equal(account.kind, 'bearer');
    assert.deepEqual(account.origins, [sim.url], "the collector's URL's origin, by default");
    assert.deepEqual(account.usedBy, ['rest-inline']);
    assert.equal(account.fields.token, `••••${TOKEN.slice(-4)}`);

    // it runs with the account it was created with
    const deadline = Date.now() + 20_000;
    let detail: any;
    do {
      detail = (await api.call('GET', '/api/collectors/rest-inline', { as: 'editor' })).body;
      if (detail.lastRun && detail.lastRun.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 50));
    } while (Date.now() < deadline);
    assert.equal(detail.lastRun?.status, 'succeeded', JSON.stringify(detail.lastRun));

    const audit = (await api.call('GET', '/api/audit?actor=token%3Aeditor-test%20(editor)', { as: 'admin' }))
      .body as any[];
    const mine = audit.filter((a) => a.target === 'api-inline' || a.target === 'rest-inline');
    assert.deepEqual(
      mine.map((a) => a.action),
      ['collector.create', 'account.create'],
      'newest first: the account, then its collector',
    );
    assert.equal(mine[1].after.fields.token, `••••${TOKEN.slice(-4)}`);
    const db = readFileSync(join(api.dir, 'tributary.db'));
    assert.ok(!db.includes(TOKEN), 'sealed at rest');
  });

  it('explicit origins win over the default, and must still cover the URL', async () => {
    const r = await api.call(
      'POST',
      '/api/collectors',
      editor({
        ...definition({
          newAccount: {
            name: 'api-narrow',
            kind: 'bearer',
            fields: { token: TOKEN },
            origins: ['https://proxy.example.com'],
          },
        }),
        name: 'rest-narrow',
      }),
    );
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.issues[0].path, 'settings.url');
    assert.match(
      r.body.error.issues[0].message,
      /sends its credentials only to https:\/\/proxy\.example\.com/,
    );
    assert.equal(
      (await accounts()).find((a) => a.name === 'api-narrow'),
      undefined,
    );
  });
});
