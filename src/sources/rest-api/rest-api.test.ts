import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { accountKinds } from '../../accounts/index.ts';
import { checkCollector, validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { AccountKind, Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { previewCollector } from '../../engine/preview.ts';
import { testConnection } from '../../engine/test-connection.ts';
import restApi from './index.ts';
import { compile } from './request.ts';
import type { RestApiSettings } from './settings.ts';
import { RestApiSimulator, type RestApiSimulatorOptions } from './simulator.ts';

const sims: RestApiSimulator[] = [];
after(async () => {
  for (const s of sims) await s.stop();
});

async function sim(o: RestApiSimulatorOptions = {}) {
  const s = new RestApiSimulator({ events: 57, spacingMs: 30_000, ...o });
  await s.start();
  sims.push(s);
  return s;
}

/** Validated settings, or the issues as `path: message` lines. */
function settings(raw: Record<string, unknown>): RestApiSettings {
  const r = validateSettings('rest-api', raw);
  if (!r.ok) throw new Error(r.issues.join('\n'));
  return r.settings as RestApiSettings;
}

function issues(raw: Record<string, unknown>): string[] {
  const r = validateSettings('rest-api', raw);
  return r.ok ? [] : r.issues;
}

const base = {
  url: 'https://api.example.com/v1/events',
  query: { since: '{{window.start}}' },
  timePath: 'created_at',
};

async function drain(
  raw: Record<string, unknown>,
  kind = 'none',
  account: unknown = {},
  checkpoint?: unknown,
) {
  const parsed = settings(raw);
  const accountKind = accountKinds[kind] as AccountKind;
  const http = new Http({
    vendor: 'REST API',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => accountKind.authorize(account, h, { refresh, http, url, ...req }),
  });
  const out: Batch[] = [];
  const ctx = readContext(http, {
    stream: 'events',
    settings: parsed,
    account,
    checkpoint,
    window: { lookbackMs: 3 * 3_600_000 },
  });
  for await (const b of restApi.streams.events.read(ctx)) out.push(b);
  return { out, ids: out.flatMap((b) => b.events.map((e) => e.id ?? '')), last: out.at(-1)?.checkpoint };
}

const sorted = (a: string[]) => [...a].sort();

describe('rest-api settings: validation with messages naming the field', () => {
  it('accepts a minimal GET definition and fills the defaults', () => {
    const s = settings(base);
    assert.equal(s.method, 'GET');
    assert.equal(s.recordsPath, '.');
    assert.equal(s.timeFormat, 'auto');
    assert.deepEqual(s.pagination, { type: 'none' });
    assert.equal(s.order, 'ascending');
  });

  it('names the field and says what was expected', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, recordsPath: 'data..items' }, /^recordsPath: expected a dot path such as data\.items/],
      [{ ...base, timePath: 'a b' }, /^timePath: expected a dot path such as created_at/],
      [{ ...base, idPath: '' }, /^idPath: expected a dot path/],
      [
        { ...base, timeFormat: 'YYYY-MM-DD' },
        /^timeFormat: expected auto, iso, epoch_s, epoch_ms or a pattern/,
      ],
      [{ ...base, timeFormat: '%Y-%m-%d %Q' }, /^timeFormat: .*unknown directive %Q/],
      [{ ...base, timeZone: 'Mars/Olympus' }, /^timeZone: expected an IANA time zone/],
      [
        { ...base, query: { since: '{{window.begin}}' } },
        /^query\.since: unknown variable \{\{window\.begin\}\}/,
      ],
      [{ ...base, query: { since: '{{window.start | upper}}' } }, /^query\.since: unknown filter "upper"/],
      [{ ...base, query: { q: 'x' } }, /^query: no request field uses \{\{window\.start\}\}/],
      [
        { ...base, pagination: { type: 'scroll' } },
        /^pagination(\.type)?: expected a pagination type: none, link-header/,
      ],
      [{ ...base, pagination: { type: 'cursor', param: 'c' } }, /^pagination\.cursorPath: /],
      [
        { ...base, pagination: { type: 'cursor', cursorPath: 'next' } },
        /^pagination\.param: required: the query parameter that carries the cursor, unless the query or body uses \{\{cursor\}\}/,
      ],
      [
        {
          ...base,
          query: { ...base.query, c: '{{cursor}}' },
          pagination: { type: 'cursor', cursorPath: 'n', param: 'c' },
        },
        /^pagination\.param: the cursor is sent twice/,
      ],
      [
        {
          ...base,
          query: { ...base.query, after: '{{cursor}}' },
          pagination: { type: 'offset', limit: 10, param: 'o' },
        },
        /^query\.after: \{\{cursor\}\} needs pagination type cursor \(pagination\.type is offset\)/,
      ],
      [{ ...base, pagination: { type: 'offset', param: 'offset' } }, /^pagination\.limit: /],
      [{ ...base, body: '{}' }, /^body: a body is only sent with method POST/],
      [
        {
          ...base,
          method: 'POST',
          body: '{"after":{{cursor}}}',
          pagination: { type: 'cursor', cursorPath: 'n' },
        },
        /^body: expected JSON once rendered .*\{\{cursor \| json\}\}/,
      ],
      [{ ...base, method: 'PUT' }, /^method: expected GET, or POST/],
      [
        { ...base, headers: { Authorization: 'Bearer x' } },
        /^headers\.Authorization: credentials belong in the account/,
      ],
      [
        { ...base, headers: { 'X-Since': '{{window.start}}' } },
        /^headers\.X-Since: headers are sent as written/,
      ],
      [
        { ...base, headers: { 'Content-Type': 'text/plain' } },
        /^headers\.Content-Type: the body is sent as JSON/,
      ],
      [
        { ...base, url: 'http://api.example.com/x' },
        /^url: plain http:\/\/ is accepted only for loopback hosts/,
      ],
      [{ ...base, url: 'https://user:pw@api.example.com/x' }, /^url: credentials belong in the account/],
      [{ ...base, url: 'api.example.com/x' }, /^url: expected an absolute URL/],
      [{ ...base, lag: 'soon' }, /^lag: expected a lag such as 30s/],
      [{ ...base, order: 'newest' }, /^order: expected ascending, descending or unknown/],
      [{ ...base, surprise: 1 }, /surprise/],
    ];
    for (const [raw, re] of cases) {
      const got = issues(raw);
      assert.ok(
        got.some((i) => re.test(i)),
        `${JSON.stringify(raw)}\n  got: ${got.join(' | ')}`,
      );
    }
  });

  it('accepts each pagination strategy in query-parameter and template form', () => {
    for (const raw of [
      { ...base, pagination: { type: 'link-header' } },
      { ...base, pagination: { type: 'next-url', nextUrlPath: '@odata.nextLink' } },
      {
        ...base,
        pagination: { type: 'cursor', cursorPath: 'meta.next', param: 'cursor', hasMorePath: 'has_more' },
      },
      {
        ...base,
        query: { ...base.query, c: '{{cursor}}' },
        pagination: { type: 'cursor', cursorPath: 'meta.next' },
      },
      { ...base, pagination: { type: 'offset', limit: 50, param: 'offset', limitParam: 'limit' } },
      {
        ...base,
        query: { ...base.query, o: '{{offset}}', n: '{{limit}}' },
        pagination: { type: 'offset', limit: 50 },
      },
      { ...base, pagination: { type: 'page', param: 'page', firstPage: 0 } },
      {
        ...base,
        method: 'POST',
        query: {},
        body: '{"from":"{{window.start | epoch_s}}","page":{{page}},"size":{{limit}}}',
        pagination: { type: 'page', limit: 100 },
      },
    ])
      assert.deepEqual(issues(raw), [], JSON.stringify(raw));
  });

  it('takes the generic account kinds and none, and says which when another is named', () => {
    const refs = (kind: string) => ({ accountKind: () => kind, hasDestination: () => true, sites: [] });
    const def = { source: 'rest-api', account: 'a', destinations: ['d'], settings: base };
    for (const kind of ['none', 'api-key', 'bearer', 'basic', 'oauth2-client-credentials'])
      assert.equal(checkCollector(def, refs(kind)).ok, true, kind);
    const r = checkCollector(def, refs('okta'));
    assert.equal(r.ok, false);
    if (!r.ok)
      assert.deepEqual(r.issues, [
        'account: "a" is an okta account; the rest-api source needs an api-key, bearer, basic, oauth2-client-credentials or none account',
      ]);
  });
});

describe('rest-api collection through the engine', () => {
  const q = (pageSize: number) => ({
    since: '{{window.start}}',
    until: '{{window.end}}',
    limit: String(pageSize),
  });

  it('cursor in a query parameter, bearer token: every event once', async () => {
    const s = await sim({ pagination: 'cursor', auth: { kind: 'bearer', token: 'T0k' } });
    const { ids, out } = await drain(
      {
        url: `${s.url}/v1/events`,
        query: q(10),
        recordsPath: 'data',
        timePath: 'created_at',
        idPath: 'id',
        pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
      },
      'bearer',
      { token: 'T0k' },
    );
    assert.deepEqual(ids, s.expectedIds());
    assert.equal(out.length, 6);
    assert.equal(out[0].events[0].time, s.record(0).created_at);
    assert.equal(s.seen[0].headers.accept, 'application/json');
    assert.equal(s.seen[1].query.get('cursor') !== null, true);
  });

  it('offset and page numbers, as query parameters or as template variables', async () => {
    for (const [pagination, extra, p] of [
      ['offset', {}, { type: 'offset', limit: 10, param: 'offset', limitParam: 'limit' }],
      ['offset', { o: '{{offset}}', limit: '{{limit}}' }, { type: 'offset', limit: 10 }],
      ['page', {}, { type: 'page', param: 'page', limit: 10, limitParam: 'limit' }],
      ['page', { page: '{{page}}', limit: '{{limit}}' }, { type: 'page', limit: 10 }],
    ] as const) {
      const s = await sim({ pagination });
      const query: Record<string, string> = { since: '{{window.start}}', until: '{{window.end}}', ...extra };
      if ('o' in extra) {
        delete query.o;
        query.offset = '{{offset}}';
      }
      const { ids } = await drain({
        url: `${s.url}/v1/events`,
        query,
        recordsPath: 'data',
        timePath: 'created_at',
        idPath: 'id',
        pagination: p,
      });
      assert.deepEqual(ids, s.expectedIds(), `${pagination} ${JSON.stringify(p)}`);
      const pages = s.seen.map((r) => r.query.get(pagination === 'offset' ? 'offset' : 'page'));
      assert.deepEqual(
        pages,
        pagination === 'offset' ? ['0', '10', '20', '30', '40', '50'] : ['1', '2', '3', '4', '5', '6'],
      );
      assert.ok(s.seen.every((r) => r.query.get('limit') === '10'));
    }
  });

  it('next URL in the body (relative), Basic auth', async () => {
    const s = await sim({ pagination: 'next-url', auth: { kind: 'basic', username: 'u', password: 'p:w' } });
    const { ids } = await drain(
      {
        url: `${s.url}/v1/events`,
        query: q(20),
        recordsPath: 'data',
        timePath: 'created_at',
        idPath: 'id',
        pagination: { type: 'next-url', nextUrlPath: 'meta.next_url' },
      },
      'basic',
      { username: 'u', password: 'p:w' },
    );
    assert.deepEqual(ids, s.expectedIds());
  });

  it('no pagination: one page per window; no idPath: ids are hashes of the records', async () => {
    const s = await sim({ pagination: 'none', ids: false, timeFormat: 'epoch_s' });
    const { ids } = await drain({
      url: `${s.url}/v1/events`,
      query: { since: '{{window.start | epoch_s}}', until: '{{window.end | epoch_s}}' },
      recordsPath: 'data',
      timePath: 'timestamp',
      timeFormat: 'epoch_s',
    });
    assert.deepEqual(ids, s.expectedIds());
    assert.equal(ids[0], hashId(s.record(0)));
  });

  it('Link header, newest first: the position moves only when a window is complete', async () => {
    const s = await sim({ pagination: 'link-header', order: 'desc', timeFormat: 'epoch_ms' });
    const raw = {
      url: `${s.url}/v1/events`,
      query: { since: '{{window.start | epoch_ms}}', until: '{{window.end | epoch_ms}}', limit: '10' },
      timePath: 'timestamp',
      timeFormat: 'epoch_ms',
      idPath: 'id',
      pagination: { type: 'link-header' },
      order: 'descending',
    };
    const { ids, out } = await drain(raw);
    assert.deepEqual(sorted(ids), sorted(s.expectedIds()));
    const first = out[0].checkpoint as { since: string; end?: string; next?: { url: string } };
    assert.ok(
      first.end && first.next?.url.includes('cursor='),
      'mid-window: the window end and next page are saved',
    );
    const lastSince = (out[out.length - 1].checkpoint as { since: string }).since;
    assert.ok(
      Date.parse(lastSince) > Date.parse(first.since),
      'the position moves when the window is complete',
    );
    // A crash after the first page resumes at the saved next page, not at the window start.
    const resumed = await drain(raw, 'none', {}, first);
    assert.deepEqual(
      sorted([...out[0].events.map((e) => e.id ?? ''), ...resumed.ids]),
      sorted(s.expectedIds()),
    );
  });

  it('POST search with the cursor in the JSON body, OAuth 2.0 client credentials', async () => {
    const s = await sim({
      pagination: 'cursor',
      auth: { kind: 'oauth2', clientId: 'cid', clientSecret: 'cs' },
    });
    const account = {
      tokenUrl: `${s.url}/oauth/token`,
      clientId: 'cid',
      clientSecret: 'cs',
      clientAuthentication: 'body',
    };
    const { ids } = await drain(
      {
        url: `${s.url}/v1/events/search`,
        method: 'POST',
        body: '{"since":"{{window.start}}","until":"{{window.end}}","limit":25,"cursor":{{cursor | json}}}',
        recordsPath: 'data',
        timePath: 'created_at',
        idPath: 'id',
        pagination: { type: 'cursor', cursorPath: 'meta.next_cursor' },
      },
      'oauth2-client-credentials',
      account,
    );
    assert.deepEqual(ids, s.expectedIds());
    const bodies = s.seen.map((r) => r.body as { cursor: string | null; since: string });
    assert.equal(bodies.length, 3);
    assert.equal(bodies[0].cursor, null, 'the first page has no cursor');
    assert.ok(bodies[1].cursor && bodies[2].cursor && bodies[1].cursor !== bodies[2].cursor);
    assert.ok(
      bodies.every((b) => b.since === bodies[0].since),
      'every page asks for the same window',
    );
    assert.deepEqual(s.writeCalls(), []);
  });

  it('a records path that finds no list is a config error naming the setting', async () => {
    const s = await sim({ pagination: 'cursor' });
    await assert.rejects(
      drain({ url: `${s.url}/v1/events`, query: q(10), recordsPath: 'items', timePath: 'created_at' }),
      (err: Error & { code?: string; action?: string }) =>
        err.code === 'records_not_found' &&
        /no field items .*top-level keys: data, meta/.test(err.message) &&
        /recordsPath/.test(err.action ?? ''),
    );
  });

  it('reads times in a pattern and zone, and ids from a nested path', () => {
    const c = compile(
      settings({
        ...base,
        timePath: 'meta.when',
        timeFormat: '%d/%m/%Y %H:%M:%S',
        timeZone: 'Europe/Berlin',
        idPath: 'meta.uid',
      }),
    );
    const r = { meta: { when: '25/11/2026 11:00:00', uid: 42 } };
    assert.equal(new Date(c.timeOf(r) ?? 0).toISOString(), '2026-11-25T10:00:00.000Z');
    assert.equal(c.idOf(r), '42');
    assert.equal(c.def.eventId?.({ other: 1 }), hashId({ other: 1 }));
    assert.equal(c.cursor.clip, false, 'millisecond windows need no clipping');
    assert.equal(
      compile(settings({ ...base, query: { since: '{{window.start|epoch_s}}' } })).cursor.clip,
      true,
    );
  });

  it('applies the base URL override to the endpoint', () => {
    const c = compile(settings({ ...base, baseUrl: 'http://127.0.0.1:9/proxy/' }));
    const r = c.firstRequest({ start: new Date(0), end: new Date(1000) });
    assert.equal(r.url, 'http://127.0.0.1:9/proxy/v1/events');
    assert.deepEqual(r.query, { since: '1970-01-01T00:00:00.000Z' });
  });
});

describe('rest-api Test Connection', () => {
  const def = (s: RestApiSimulator, extra: Record<string, unknown> = {}) =>
    settings({
      url: `${s.url}/v1/events`,
      query: { since: '{{window.start}}', until: '{{window.end}}' },
      recordsPath: 'data',
      timePath: 'created_at',
      pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
      ...extra,
    });

  it('passes with working credentials and a records path that finds a list', async () => {
    const s = await sim({ auth: { kind: 'api-key', header: 'X-Api-Key', key: 'k-1' } });
    const r = await testConnection(
      restApi,
      accountKinds['api-key'],
      { key: 'k-1', headerName: 'X-Api-Key' },
      def(s),
    );
    assert.deepEqual(r, { ok: true });
    assert.equal(s.seen[0].headers['x-api-key'], 'k-1');
  });

  it('explains a rejected credential without echoing it', async () => {
    const s = await sim({ auth: { kind: 'bearer', token: 'right' } });
    const r = await testConnection(restApi, accountKinds.bearer, { token: 'wrong-SECRET' }, def(s));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.error.code, 'rest_api_unauthorized');
    assert.equal(r.error.type, 'config');
    assert.match(r.error.action, /check the account/);
    assert.doesNotMatch(JSON.stringify(r.error), /wrong-SECRET/);
  });

  it('explains a refused query (400) and a wrong records path', async () => {
    const s = await sim();
    const bad = await testConnection(
      restApi,
      accountKinds.none,
      {},
      def(s, { query: { since: '{{window.start | epoch_s}}' } }),
    );
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.equal(bad.error.code, 'rest_api_bad_request');
      assert.match(bad.error.action, /format of \{\{window\.start\}\}.*since: expected an ISO-8601 time/);
    }
    const path = await testConnection(
      restApi,
      accountKinds.none,
      {},
      def(s, { recordsPath: 'result.items' }),
    );
    assert.equal(path.ok, false);
    if (!path.ok) assert.equal(path.error.code, 'records_not_found');
  });
});

describe('rest-api preview', () => {
  const now = () => Date.now();

  it('returns one page as envelopes, the next page found, and no warnings when all is well', async () => {
    const s = await sim({ pagination: 'cursor' });
    const raw = {
      url: `${s.url}/v1/events`,
      query: { since: '{{window.start}}', until: '{{window.end}}', limit: '10' },
      recordsPath: 'data',
      timePath: 'created_at',
      idPath: 'id',
      pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
    };
    const r = await previewCollector(restApi, accountKinds.none, {}, settings(raw), {
      window: { lookbackMs: 3 * 3_600_000 },
      collector: 'try-me',
      sitename: 'hq',
      now,
    });
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.records, 10);
    assert.equal(r.events.length, 10);
    const e = r.events[0];
    assert.equal(e.id, s.expectedIds()[0]);
    assert.equal(e.time, s.record(0).created_at);
    assert.equal(e.collector, 'try-me');
    assert.equal(e.sitename, 'hq');
    assert.deepEqual(JSON.parse(JSON.stringify(e.raw)), s.record(0));
    assert.match(r.request?.url ?? '', /\/v1\/events\?since=.*&until=.*&limit=10$/);
    assert.ok(r.next && typeof r.next.token === 'string' && r.next.url.includes(`cursor=${r.next.token}`));
    assert.deepEqual(r.warnings, []);
    assert.equal(s.seen.length, 1, 'one page only');
  });

  it('warns about a wrong records path, unreadable times, missing ids, and records out of order', async () => {
    const s = await sim({ pagination: 'link-header', order: 'desc', timeFormat: 'epoch_ms' });
    const common = {
      url: `${s.url}/v1/events`,
      query: { since: '{{window.start | epoch_ms}}', until: '{{window.end | epoch_ms}}', limit: '5' },
      pagination: { type: 'link-header' },
    };
    const opts = { window: { lookbackMs: 3 * 3_600_000 }, now };
    const wrongPath = await previewCollector(
      restApi,
      accountKinds.none,
      {},
      settings({ ...common, recordsPath: 'data', timePath: 'timestamp' }),
      opts,
    );
    assert.ok(wrongPath.ok);
    if (wrongPath.ok) {
      assert.equal(wrongPath.records, 0);
      assert.ok(
        wrongPath.warnings.some((w) =>
          /No records at recordsPath "data": .*not a list|set recordsPath to \./.test(w),
        ),
        wrongPath.warnings.join('\n'),
      );
    }
    const bad = await previewCollector(
      restApi,
      accountKinds.none,
      {},
      settings({ ...common, timePath: 'timestamp', timeFormat: 'iso', idPath: 'uuid' }),
      opts,
    );
    assert.ok(bad.ok);
    if (!bad.ok) return;
    assert.equal(bad.events.length, 5);
    assert.ok(
      bad.warnings.some((w) =>
        /^5 of 5 records have no time at timePath "timestamp" readable as iso \(e\.g\. \d+\)/.test(w),
      ),
      bad.warnings.join('\n'),
    );
    assert.ok(
      bad.warnings.some((w) => /^5 of 5 records have no id at idPath "uuid": their ids are hashes/.test(w)),
    );
    assert.equal(bad.events[0].id, hashId(s.record(56)), 'newest first, hashed');
    assert.ok(bad.next?.url.includes('cursor='));
    const order = await previewCollector(
      restApi,
      accountKinds.none,
      {},
      settings({ ...common, timePath: 'timestamp', timeFormat: 'epoch_ms' }),
      opts,
    );
    assert.ok(order.ok && order.warnings.some((w) => /not oldest first: set order to descending/.test(w)));
    assert.ok(order.ok && order.warnings.some((w) => /No idPath: every id is a hash/.test(w)));
  });

  it('reports a vendor failure as a classified error', async () => {
    const s = await sim({ auth: { kind: 'bearer', token: 'ok' } });
    const r = await previewCollector(
      restApi,
      accountKinds.bearer,
      { token: 'nope' },
      settings({ ...base, url: `${s.url}/v1/events`, recordsPath: 'data' }),
      {
        window: { lookbackMs: 3_600_000 },
        now,
      },
    );
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'rest_api_unauthorized');
  });
});

describe('rest-api simulator', () => {
  it('answers as documented: 401 without credentials, 400 on a bad limit or time, the token endpoint', async () => {
    const s = await sim({ auth: { kind: 'oauth2', clientId: 'a', clientSecret: 'b' } });
    assert.equal((await fetch(`${s.url}/v1/events`)).status, 401);
    const tok = await fetch(`${s.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=a&client_secret=b',
    });
    const { access_token } = (await tok.json()) as { access_token: string };
    const auth = { authorization: `Bearer ${access_token}` };
    assert.equal((await fetch(`${s.url}/v1/events?limit=5000`, { headers: auth })).status, 400);
    const badTime = await fetch(`${s.url}/v1/events?since=yesterday`, { headers: auth });
    assert.equal(badTime.status, 400);
    assert.match(await badTime.text(), /since: expected an ISO-8601 time/);
    const ok = await fetch(`${s.url}/v1/events?limit=3`, { headers: auth });
    const body = (await ok.json()) as { data: unknown[]; meta: { next_cursor: string } };
    assert.equal(body.data.length, 3);
    assert.ok(body.meta.next_cursor);
    assert.deepEqual(s.writeCalls(), [], 'the token and search POSTs are reads');
  });
});
