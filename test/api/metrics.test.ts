import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startApiServer } from '../../src/api/server.ts';
import { json, SimServer } from '../../src/sim/kit.ts';
import { sources } from '../../src/sources/index.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { type Family, parseExposition, promtoolCheck, sampleValue } from '../support/prometheus.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * /metrics as an operator scrapes it, after a demo-like run: an Okta simulator (one 429 on the way) read
 * by a collector into an HTTP destination that fails twice before it acknowledges and a file
 * destination, plus a push collector that receives a batch with one part that is not JSON, a request
 * with a wrong token and requests to a path that names no collector. The exposition passes `promtool
 * check metrics`; every Tributary series has exactly its documented labels, and every label value is a
 * name the admin chose or one of a closed set (never vendor data); the numbers match what happened and
 * move with the next run. Then the metrics scope of API tokens, through the API.
 */

const fresh = tempDirs('tributary-metrics');
let api: ApiServer;
let okta: OktaSimulator;
let siemServer: SimServer;
const siem = { failures: 2, lines: 0 };
let pushToken = '';

const editor = (body?: unknown) => ({ as: 'editor' as const, body });

async function scrape(
  base = api.base,
  token?: string,
): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${base}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** Scrapes until `check` holds (deadline 20 s); returns the parsed families. */
async function scrapeUntil(what: string, check: (f: Map<string, Family>) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await scrape();
    assert.equal(r.status, 200, r.text);
    const families = parseExposition(r.text);
    if (check(families)) return { families, text: r.text };
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(50);
  }
}

const push = (path: string, body: string, token: string, method = 'POST') =>
  fetch(`${api.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: method === 'POST' ? body : undefined,
  });

before(async () => {
  siemServer = new SimServer({ name: 'siem' }).route('POST', '/events', (req) => {
    if (siem.failures > 0) {
      siem.failures--;
      return json(503, { error: 'maintenance' });
    }
    siem.lines += req.body.toString('utf8').split('\n').filter(Boolean).length;
    return json(200, { ok: true });
  });
  await siemServer.start();
  okta = new OktaSimulator({ events: 40, token: 'okta-token-metrics-0001' });
  await okta.start();
  api = await startTestApi(fresh(), {
    scheduler: { destinationBackoff: { baseMs: 20, maxMs: 50 } },
  });
  const account = await api.call(
    'POST',
    '/api/accounts',
    editor({ name: 'okta-acct', kind: 'okta', fields: { url: okta.url, token: okta.token } }),
  );
  assert.equal(account.status, 201, account.text);
  for (const [name, config] of [
    [
      'siem',
      { kind: 'http', url: `${siemServer.url}/events`, maxAttempts: 1, backoffBaseMs: 0, timeout: 5000 },
    ],
    // With a buffer it never needs (the file takes every batch): its gauges are there, at 0.
    ['file-out', { kind: 'file', path: 'okta.ndjson', buffer: { maxBytes: 1048576 } }],
    ['push-file', { kind: 'file', path: 'push.ndjson' }],
  ] as const) {
    const r = await api.call('POST', '/api/destinations', editor({ name, config }));
    assert.equal(r.status, 201, r.text);
  }
  // The vendor says "slow down" once, with Retry-After: 1.
  okta.inject({ kind: 'rate-limit', retryAfter: 1, path: '/api/v1/logs' });
  const pulled = await api.call(
    'POST',
    '/api/collectors',
    editor({
      name: 'okta-main',
      source: 'okta',
      account: 'okta-acct',
      destinations: ['siem', 'file-out'],
      interval: '1h',
      lookback: '1h',
      lag: '0s',
    }),
  );
  assert.equal(pulled.status, 201, pulled.text);
  const pushed = await api.call(
    'POST',
    '/api/collectors',
    editor({ name: 'hook', source: 'webhook', destinations: ['push-file'], settings: { format: 'json' } }),
  );
  assert.equal(pushed.status, 201, pushed.text);
  pushToken = pushed.body.ingestToken;
});

after(async () => {
  await api?.close();
  await siemServer?.stop();
  await okta?.stop();
});

const succeeded = (f: Map<string, Family>) =>
  (sampleValue(f, 'tributary_runs_total', { collector: 'okta-main', result: 'succeeded' }) ?? 0) >= 1;

/** The labels each Tributary series has, exactly (histograms' _bucket samples add `le`). */
const LABELS: Record<string, string[]> = {
  tributary_events_delivered_total: ['collector', 'destination', 'source', 'stream'],
  tributary_bytes_delivered_total: ['collector', 'destination', 'source', 'stream'],
  tributary_checkpoint_lag_seconds: ['collector', 'stream'],
  tributary_vendor_requests_total: ['account', 'source', 'status'],
  tributary_vendor_request_duration_seconds: ['account', 'source'],
  tributary_rate_limit_wait_seconds_total: ['account'],
  tributary_destination_retries_total: ['destination'],
  tributary_dead_letters_total: ['collector', 'reason'],
  tributary_runs_total: ['collector', 'result'],
  tributary_collector_health: ['collector', 'level'],
  tributary_ingest_requests_total: ['collector', 'status'],
  tributary_ingest_events_total: ['collector'],
  tributary_ingest_request_duration_seconds: ['collector'],
  tributary_destination_buffer_bytes: ['destination'],
  tributary_destination_buffer_max_bytes: ['destination'],
  tributary_destination_buffer_batches: ['destination'],
  tributary_destination_buffer_oldest_age_seconds: ['destination'],
  tributary_destination_buffered_events_total: ['destination'],
  tributary_destination_buffer_drained_events_total: ['destination'],
  tributary_destination_buffer_full_total: ['destination'],
  tributary_cluster_leases_held: [],
  tributary_cluster_failovers_total: [],
  tributary_cluster_leases_lost_total: [],
};

describe('/metrics after a demo-like run', () => {
  let families: Map<string, Family>;
  let text: string;

  before(async () => {
    // The push collector: one batch with a part that is not JSON, a wrong token, unknown paths.
    const ok = await push('/ingest/hook', '{"a":1}\nnot json\n{"a":2}\n', pushToken);
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await push('/ingest/hook', '{"a":3}\n', 'trbi_wrong')).status, 401);
    for (const name of ['nope', 'also-nope', '%3Cscript%3E'])
      assert.equal((await push(`/ingest/${name}`, '{}', pushToken)).status, 401);
    assert.equal((await push('/ingest/anything-at-all', '', pushToken, 'GET')).status, 405);
    ({ families, text } = await scrapeUntil('the first run to be counted', succeeded));
  });

  it('is the Prometheus text format that promtool accepts, with the process defaults', async () => {
    const r = await scrape();
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    promtoolCheck(r.text);
    for (const name of [
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      assert.ok(families.get(name)?.samples.length, `${name} has a sample`);
    assert.equal(families.get('nodejs_gc_duration_seconds')?.type, 'histogram', 'GC durations');
  });

  it('every Tributary series has exactly its labels, with values an admin chose or from a closed set', () => {
    const allowed: Record<string, Set<string>> = {
      collector: new Set(['okta-main', 'hook', '']),
      source: new Set(['okta', 'webhook']),
      stream: new Set([...Object.keys(sources.okta!.streams), 'events']),
      destination: new Set(['siem', 'file-out', 'push-file']),
      account: new Set(['okta-acct']),
      status: new Set(['200', '401', '404', '405', '429', '503']),
      result: new Set(['succeeded', 'failed', 'cancelled']),
      reason: new Set(['missing_id', 'truncated', 'not_an_object', 'invalid_json', 'other']),
      level: new Set(['OK', 'WARNING', 'ERROR']),
    };
    const seen = new Set<string>();
    for (const f of families.values()) {
      if (!f.name.startsWith('tributary_')) continue;
      assert.ok(Object.hasOwn(LABELS, f.name), `undocumented series ${f.name}`);
      assert.ok(f.help.length > 20, `${f.name} has help text`);
      for (const s of f.samples) {
        const names = Object.keys(s.labels)
          .filter((k) => !(k === 'le' && s.name.endsWith('_bucket')))
          .sort();
        assert.deepEqual(names, LABELS[f.name], `${s.name}${JSON.stringify(s.labels)}`);
        for (const [k, v] of Object.entries(s.labels))
          if (k !== 'le') assert.ok(allowed[k]!.has(v), `${s.name}: ${k}="${v}" is not an admin's name`);
        seen.add(f.name);
      }
    }
    // Cluster series count a worker's leases; the buffer counters count a destination being down.
    const whenItHappens = new Set([
      'tributary_destination_buffered_events_total',
      'tributary_destination_buffer_drained_events_total',
      'tributary_destination_buffer_full_total',
    ]);
    for (const name of Object.keys(LABELS).filter(
      (n) => !n.startsWith('tributary_cluster_') && !whenItHappens.has(n),
    ))
      assert.ok(seen.has(name), `${name} has samples after the run`);
    assert.doesNotMatch(text, /="[^"]*(script|nope|anything-at-all)/, 'paths senders made up are no label');
  });

  it('the numbers are what happened', () => {
    const stream = Object.keys(sources.okta!.streams)[0]!;
    const pulled = { collector: 'okta-main', source: 'okta', stream };
    assert.equal(
      sampleValue(families, 'tributary_events_delivered_total', { ...pulled, destination: 'siem' }),
      40,
    );
    assert.equal(
      sampleValue(families, 'tributary_events_delivered_total', { ...pulled, destination: 'file-out' }),
      40,
    );
    assert.equal(siem.lines, 40, 'the destination has them');
    const file = join(api.dir, 'output', 'okta.ndjson');
    assert.equal(
      sampleValue(families, 'tributary_bytes_delivered_total', { ...pulled, destination: 'file-out' }),
      statSync(file).size,
      'bytes delivered = the bytes the file destination wrote',
    );
    assert.equal(sampleValue(families, 'tributary_destination_retries_total', { destination: 'siem' }), 2);
    const buffer = (name: string) => sampleValue(families, name, { destination: 'file-out' });
    assert.equal(buffer('tributary_destination_buffer_max_bytes'), 1048576);
    assert.equal(
      buffer('tributary_destination_buffer_bytes'),
      0,
      'a destination that takes every batch buffers none',
    );
    assert.equal(buffer('tributary_destination_buffer_batches'), 0);
    assert.equal(buffer('tributary_destination_buffer_oldest_age_seconds'), 0);
    assert.equal(
      sampleValue(families, 'tributary_vendor_requests_total', {
        source: 'okta',
        account: 'okta-acct',
        status: '429',
      }),
      1,
    );
    const ok = sampleValue(families, 'tributary_vendor_requests_total', {
      source: 'okta',
      account: 'okta-acct',
      status: '200',
    });
    assert.ok(ok !== undefined && ok >= 1);
    assert.equal(
      sampleValue(families, 'tributary_vendor_request_duration_seconds_count', {
        source: 'okta',
        account: 'okta-acct',
      }),
      ok + 1,
      'every request timed',
    );
    const waited = sampleValue(families, 'tributary_rate_limit_wait_seconds_total', { account: 'okta-acct' });
    assert.ok(waited !== undefined && waited >= 0.9 && waited < 30, `waited ${waited}s for Retry-After: 1`);
    assert.equal(
      sampleValue(families, 'tributary_collector_health', { collector: 'okta-main', level: 'OK' }),
      1,
    );
    assert.equal(
      sampleValue(families, 'tributary_collector_health', { collector: 'okta-main', level: 'ERROR' }),
      0,
    );
    const lag = sampleValue(families, 'tributary_checkpoint_lag_seconds', { collector: 'okta-main', stream });
    assert.ok(lag !== undefined && lag >= 0 && lag < 60, `caught up: lag ${lag}s`);
    assert.equal(
      sampleValue(families, 'tributary_checkpoint_lag_seconds', { collector: 'hook', stream: 'events' }),
      undefined,
      'no lag for a push collector',
    );
    // Push.
    assert.equal(
      sampleValue(families, 'tributary_ingest_requests_total', { collector: 'hook', status: '200' }),
      1,
    );
    // Refused before the sender proved it is the collector's (a wrong token, a name that is no push
    // collector): no series of their own, so made-up names cannot add any.
    assert.equal(
      sampleValue(families, 'tributary_ingest_requests_total', { collector: 'hook', status: '401' }),
      undefined,
    );
    assert.equal(
      sampleValue(families, 'tributary_ingest_requests_total', { collector: '', status: '401' }),
      4,
    );
    assert.equal(
      sampleValue(families, 'tributary_ingest_requests_total', { collector: '', status: '405' }),
      1,
    );
    assert.equal(sampleValue(families, 'tributary_ingest_events_total', { collector: 'hook' }), 2);
    assert.equal(
      sampleValue(families, 'tributary_ingest_request_duration_seconds_count', { collector: 'hook' }),
      1,
    );
    assert.equal(
      sampleValue(families, 'tributary_dead_letters_total', { collector: 'hook', reason: 'invalid_json' }),
      1,
    );
    assert.equal(
      readFileSync(join(api.dir, 'output', 'push.ndjson'), 'utf8')
        .trim()
        .split('\n').length,
      2,
      'the push file destination has the two events',
    );
  });

  it('values move as the collector runs again', async () => {
    const stream = Object.keys(sources.okta!.streams)[0]!;
    const labels = { collector: 'okta-main', source: 'okta', stream, destination: 'siem' };
    okta.addEvents(7, { from: Date.now() - 500, spacingMs: 10 }); // newer than the first run's window
    const run = await api.call('POST', '/api/collectors/okta-main/run', editor());
    assert.equal(run.status, 202, run.text);
    const later = await scrapeUntil(
      'the second run',
      (f) =>
        (sampleValue(f, 'tributary_runs_total', { collector: 'okta-main', result: 'succeeded' }) ?? 0) >= 2,
    );
    assert.equal(sampleValue(later.families, 'tributary_events_delivered_total', labels), 47);
  });
});

describe('API tokens scoped to metrics', () => {
  let metricsToken = '';
  let metricsTokenId = '';
  let wide: { port: number; close(): Promise<void> };
  let wideBase = '';

  before(async () => {
    const r = await api.call('POST', '/api/tokens', {
      as: 'viewer',
      body: { name: 'prometheus', scopes: ['metrics'] },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.scopes, ['metrics']);
    metricsToken = r.body.token;
    metricsTokenId = r.body.id;
    // The same control plane listening beyond loopback, as with TRIBUTARY_HOST=0.0.0.0 (reached here
    // through 127.0.0.1 only).
    wide = await startApiServer(api.control, api.auth, { port: 0, host: '0.0.0.0', log: api.runtime.log });
    wideBase = `http://127.0.0.1:${wide.port}`;
  });
  after(() => wide?.close());

  it('a scope that does not exist is refused, naming the field', async () => {
    const r = await api.call('POST', '/api/tokens', { as: 'viewer', body: { name: 'x', scopes: ['admin'] } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.issues[0].path, 'scopes.0');
    const empty = await api.call('POST', '/api/tokens', { as: 'viewer', body: { name: 'x', scopes: [] } });
    assert.equal(empty.status, 400, empty.text);
    assert.equal(empty.body.error.issues[0].path, 'scopes');
  });

  it('a metrics token is good for /metrics and nothing else', async () => {
    for (const [method, path] of [
      ['GET', '/api/collectors'],
      ['GET', '/api/session'],
      ['GET', '/api/tokens'],
      ['GET', '/api/setup'],
    ] as const) {
      const r = await api.call(method, path, { token: metricsToken });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, 'token_scope');
    }
    const mint = await api.call('POST', '/api/tokens', { token: metricsToken, body: { name: 'escalate' } });
    assert.equal(mint.status, 403, 'it cannot mint a token with its user’s full role');
    const wideApi = await fetch(`${wideBase}/api/collectors`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    });
    assert.equal(wideApi.status, 403);
    const listed = await api.call('GET', '/api/tokens', { as: 'viewer' });
    assert.deepEqual(listed.body.find((t: { id: string }) => t.id === metricsTokenId).scopes, ['metrics']);
  });

  it('beyond loopback, /metrics needs a token; on loopback it is open', async () => {
    assert.equal((await scrape(api.base)).status, 200, 'loopback listener: open');
    const anonymous = await scrape(wideBase);
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(anonymous.text, /tributary_/);
    assert.equal((await scrape(wideBase, 'trb_not-a-token')).status, 401);
    const scoped = await scrape(wideBase, metricsToken);
    assert.equal(scoped.status, 200);
    assert.match(scoped.text, /tributary_runs_total/);
    assert.equal((await scrape(wideBase, api.tokens.viewer)).status, 200, 'an unscoped token reads it too');
    assert.equal((await fetch(`${wideBase}/readyz`)).status, 200, 'readiness stays open for probes');
    const revoked = await api.call('DELETE', `/api/tokens/${metricsTokenId}`, { as: 'viewer' });
    assert.equal(revoked.status, 204, revoked.text);
    assert.equal((await scrape(wideBase, metricsToken)).status, 401, 'a revoked token no longer reads it');
  });
});
