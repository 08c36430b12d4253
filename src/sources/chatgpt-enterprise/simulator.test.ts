import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isoMicros, ManualClock } from '../../sim/kit.ts';
import { ChatGptComplianceSimulator, type ChatGptComplianceSimulatorOptions } from './simulator.ts';

const T0 = Date.parse('2026-07-09T12:00:00.000Z');
const MIN = 60_000;

interface ListBody {
  data: {
    id: string;
    event_type: string;
    end_time: string;
    file_name: string;
    file_size: number;
    file_sha256: string;
  }[];
  has_more: boolean;
  last_end_time: string | null;
}

function client(sim: ChatGptComplianceSimulator, path = `compliance/workspaces/${sim.workspaceId}`) {
  const headers = { authorization: `Bearer ${sim.apiKey}` };
  return {
    headers,
    list: (query: string, h: Record<string, string> = headers) =>
      fetch(`${sim.baseUrl}/${path}/logs?${query}`, { headers: h }),
    get: (rel: string, init: RequestInit = {}) =>
      fetch(`${sim.baseUrl}/${path}/${rel}`, { headers, ...init }),
  };
}

/** The OpenAI loop: after = last_end_time while has_more; returns every listed file. */
async function listAll(sim: ChatGptComplianceSimulator, types: string[], afterIso: string, limit = 100) {
  const c = client(sim);
  const files: ListBody['data'] = [];
  let cursor = afterIso;
  for (let guard = 0; guard < 100; guard++) {
    const q = new URLSearchParams({ after: cursor, limit: String(limit) });
    for (const t of types) q.append('event_type', t);
    const res = await c.list(q.toString());
    assert.equal(res.status, 200);
    const body = (await res.json()) as ListBody;
    files.push(...body.data);
    if (!body.has_more || body.last_end_time === null) break;
    cursor = body.last_end_time;
  }
  return files;
}

async function download(
  sim: ChatGptComplianceSimulator,
  fileId: string,
): Promise<{ location: string; bytes: Buffer }> {
  const res = await client(sim).get(`logs/${fileId}`, { redirect: 'manual' });
  assert.equal(res.status, 307);
  const location = res.headers.get('location')!;
  const blob = await fetch(location); // no Authorization header
  assert.equal(blob.status, 200);
  return { location, bytes: Buffer.from(await blob.arrayBuffer()) };
}

/** JSONL or concatenated JSON. */
function parseRecords(text: string): any[] {
  const out: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}

describe('ChatGptComplianceSimulator: logs listing and download', () => {
  const clock = new ManualClock(T0);
  const sim = new ChatGptComplianceSimulator({
    seed: 3,
    clock: clock.now,
    filesPerType: 5,
    eventsPerFile: 4,
    eventTypes: ['AUDIT_LOG', 'AUTH_LOG', 'CONVERSATION_MESSAGE', 'COSTS'],
    concatenatedJson: true,
    rateLimitPerMinute: 1000,
  });
  before(() => sim.start());
  after(() => sim.stop());

  test('lists ascending by end_time, pages with has_more and last_end_time', async () => {
    const c = client(sim);
    const res = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z&limit=2');
    assert.equal(res.status, 200);
    const body = (await res.json()) as ListBody;
    assert.equal(body.data.length, 2);
    assert.equal(body.has_more, true);
    assert.equal(body.last_end_time, body.data[1].end_time);
    for (const f of body.data) {
      assert.deepEqual(Object.keys(f).sort(), [
        'end_time',
        'event_type',
        'file_name',
        'file_sha256',
        'file_size',
        'id',
      ]);
      assert.equal(f.event_type, 'AUDIT_LOG');
      assert.match(f.file_sha256, /^[0-9a-f]{64}$/);
      assert.match(f.end_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    }
    const all = await listAll(sim, ['AUDIT_LOG'], '2026-01-01T00:00:00Z', 2);
    assert.deepEqual(
      all.map((f) => f.id),
      sim.files('AUDIT_LOG').map((f) => f.id),
    );
    const ends = all.map((f) => f.end_time);
    assert.deepEqual(ends, [...ends].sort());
  });

  test('after is strictly later than end_time; empty page has last_end_time null', async () => {
    const files = sim.files('AUTH_LOG');
    const c = client(sim);
    const body = (await (await c.list(`event_type=AUTH_LOG&after=${files[2].endTime}`)).json()) as ListBody;
    assert.deepEqual(
      body.data.map((f) => f.id),
      files.slice(3).map((f) => f.id),
    );
    const last = files[files.length - 1].endTime;
    const empty = (await (await c.list(`event_type=AUTH_LOG&after=${last}`)).json()) as ListBody;
    assert.deepEqual(empty, { data: [], has_more: false, last_end_time: null });
    // microseconds count: one microsecond before the end time includes the file again
    const us = isoMicros(Date.parse(last) - 1, 999);
    const again = (await (await c.list(`event_type=AUTH_LOG&after=${us}`)).json()) as ListBody;
    assert.equal(again.data.length, 1);
  });

  test('several event types in one listing, before bounds it', async () => {
    const both = await listAll(sim, ['AUDIT_LOG', 'AUTH_LOG'], '2026-01-01T00:00:00Z');
    assert.equal(both.length, 10);
    assert.deepEqual(new Set(both.map((f) => f.event_type)), new Set(['AUDIT_LOG', 'AUTH_LOG']));
    const files = sim.files('AUDIT_LOG');
    const c = client(sim);
    const bounded = (await (
      await c.list(`event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z&before=${files[2].endTime}`)
    ).json()) as ListBody;
    assert.deepEqual(
      bounded.data.map((f) => f.id),
      files.slice(0, 2).map((f) => f.id),
    );
  });

  test('download: 307 to a signed URL on another origin; bytes match file_sha256 and the records', async () => {
    const listed = await listAll(sim, ['CONVERSATION_MESSAGE'], '2026-01-01T00:00:00Z');
    const seen: string[] = [];
    let concatenated = 0;
    for (const f of listed) {
      const { location, bytes } = await download(sim, f.id);
      assert.notEqual(new URL(location).origin, new URL(sim.url).origin);
      assert.equal(bytes.byteLength, f.file_size);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), f.file_sha256);
      const text = bytes.toString();
      if (!text.includes('\n')) concatenated++;
      const records = parseRecords(text);
      for (const r of records) {
        assert.equal(r.type, 'CONVERSATION_MESSAGE');
        assert.match(r.event_id, /^[0-9a-f-]{36}$/);
        assert.match(r.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
        assert.ok(r.timestamp <= f.end_time);
        assert.deepEqual(r.principal, { id: sim.workspaceId, type: 'CHATGPT_WORKSPACE' });
        assert.equal(r.actor.type, 'ACCOUNT_USER');
        assert.equal(typeof r.action_data.message.content.value, 'string');
        assert.ok(r.request_metadata.client_ip);
        seen.push(r.event_id);
      }
    }
    assert.ok(concatenated > 0, 'some files are concatenated JSON');
    assert.deepEqual(
      seen,
      sim.events('CONVERSATION_MESSAGE').map((r) => r.event_id),
    );
    assert.deepEqual(sim.authLeaks(), []);
  });

  test('the signed URL refuses and records a request carrying Authorization', async () => {
    const f = sim.files('AUDIT_LOG')[0];
    const res = await client(sim).get(`logs/${f.id}`, { redirect: 'manual' });
    const location = res.headers.get('location')!;
    const leak = await fetch(location, { headers: { authorization: `Bearer ${sim.apiKey}` } });
    assert.equal(leak.status, 400);
    assert.match(await leak.text(), /<Code>InvalidArgument<\/Code>/);
    const leaks = sim.authLeaks();
    assert.equal(leaks.length, 1);
    assert.equal(leaks[0].server, 'files');
    assert.equal(leaks[0].path, `/blob/${f.id}`);
  });

  test('the signed URL expires after 5 simulated minutes and cannot be tampered with', async () => {
    const f = sim.files('AUDIT_LOG')[1];
    const res = await client(sim).get(`logs/${f.id}`, { redirect: 'manual' });
    const location = res.headers.get('location')!;
    const tampered = location.replace(/sig=[^&]+/, 'sig=AAAA');
    assert.equal((await fetch(tampered)).status, 403);
    clock.advance(5 * MIN);
    const ok = await fetch(location);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    clock.advance(1);
    const expired = await fetch(location);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /AuthenticationFailed/);
  });

  test('max_event_time per event type, null when there is none', async () => {
    const c = client(sim);
    const res = await c.get('max_event_time?event_type=AUDIT_LOG&event_type=APP_LOG');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { max_event_time: Record<string, string | null> };
    const max = sim
      .events('AUDIT_LOG')
      .map((r) => r.timestamp as string)
      .sort()
      .pop();
    assert.deepEqual(body, { max_event_time: { AUDIT_LOG: max, APP_LOG: null } });
    const missing = await c.get('max_event_time');
    assert.equal(missing.status, 400);
    await missing.arrayBuffer();
  });

  test('COSTS files are organization-scoped', async () => {
    const ws = (await (
      await client(sim).list('event_type=COSTS&after=2026-01-01T00:00:00Z')
    ).json()) as ListBody;
    assert.equal(ws.data.length, 0);
    const org = client(sim, `compliance/organizations/${sim.organizationId}`);
    const body = (await (await org.list('event_type=COSTS&after=2026-01-01T00:00:00Z')).json()) as ListBody;
    assert.equal(body.data.length, 5);
  });

  test('required parameters and limits: 400 in the OpenAI error shape', async () => {
    const c = client(sim);
    const cases: [string, string, string][] = [
      ['after=2026-01-01T00:00:00Z', 'event_type', 'missing_required_parameter'],
      ['event_type=AUDIT_LOG', 'after', 'missing_required_parameter'],
      ['event_type=AUDIT_LOG&after=2026-01-01', 'after', 'invalid_value'],
      ['event_type=NOPE&after=2026-01-01T00:00:00Z', 'event_type', 'invalid_value'],
      ['event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z&limit=0', 'limit', 'integer_below_min_value'],
      ['event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z&limit=101', 'limit', 'integer_above_max_value'],
    ];
    for (const [query, param, code] of cases) {
      const res = await c.list(query);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as any;
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(body.error.param, param, query);
      assert.equal(body.error.code, code, query);
      assert.equal(body.error.type, 'invalid_request_error');
    }
  });

  test('auth: missing or wrong key 401, unknown workspace 404', async () => {
    const c = client(sim);
    const none = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z', {});
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as any).error.message, /didn't provide an API key/);
    const wrong = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z', {
      authorization: 'Bearer sk-wrong-key-1234',
    });
    assert.equal(wrong.status, 401);
    const body = (await wrong.json()) as any;
    assert.equal(body.error.code, 'invalid_api_key');
    assert.ok(!body.error.message.includes('sk-wrong-key-1234'), 'the key is redacted');
    const other = client(sim, 'compliance/workspaces/00000000-0000-4000-8000-000000000000');
    const nf = await other.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as any).error.code, 'not_found');
  });

  test('injected faults answer in the vendor shape; empty fault gives an empty page', async () => {
    const c = client(sim);
    sim.inject({ kind: 'rate-limit', retryAfter: 12, path: /\/logs$/ });
    const limited = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '12');
    assert.equal(((await limited.json()) as any).error.code, 'rate_limit_exceeded');

    sim.inject({ kind: 'status', status: 502 });
    const bad = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
    assert.equal(bad.status, 502);
    assert.equal(((await bad.json()) as any).error.type, 'server_error');

    sim.inject({ kind: 'empty', path: /\/logs$/ });
    const empty = (await (
      await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z')
    ).json()) as ListBody;
    assert.deepEqual(empty, { data: [], has_more: false, last_end_time: null });

    const f = sim.files('AUDIT_LOG')[0];
    sim.inject({ kind: 'truncate', path: /^\/blob\// });
    const res = await c.get(`logs/${f.id}`, { redirect: 'manual' });
    const blob = await fetch(res.headers.get('location')!);
    assert.equal(blob.status, 200);
    await assert.rejects(blob.arrayBuffer());
  });

  test('legacy object endpoints: conversations 410; DELETE answers but is a recorded write call', async () => {
    const c = client(sim);
    const gone = await c.get('conversations');
    assert.equal(gone.status, 410);
    await gone.arrayBuffer();
    const before = sim.writeCalls().length;
    assert.equal(before, 0, 'reads made no write calls');
    const del = await c.get('conversations/conv-123', { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.deepEqual(await del.json(), {
      deleted: true,
      object: 'compliance.workspace.conversation',
      id: 'conv-123',
    });
    assert.deepEqual(
      sim.writeCalls().map((r) => `${r.method} ${r.path}`),
      [`DELETE /v1/compliance/workspaces/${sim.workspaceId}/conversations/conv-123`],
    );
  });
});

describe('ChatGptComplianceSimulator: quirks and access', () => {
  test('reReturnBoundary re-returns the file at `after`; the OpenAI loop still ends', async () => {
    const sim = new ChatGptComplianceSimulator({
      seed: 4,
      reReturnBoundary: true,
      eventTypes: ['AUDIT_LOG'],
      filesPerType: 3,
    });
    await sim.start();
    try {
      const files = sim.files('AUDIT_LOG');
      const c = client(sim);
      const body = (await (
        await c.list(`event_type=AUDIT_LOG&after=${files[0].endTime}`)
      ).json()) as ListBody;
      assert.deepEqual(
        body.data.map((f) => f.id),
        files.map((f) => f.id),
      );
      const last = (await (
        await c.list(`event_type=AUDIT_LOG&after=${files[2].endTime}`)
      ).json()) as ListBody;
      assert.deepEqual(
        last.data.map((f) => f.id),
        [files[2].id],
      );
      assert.equal(
        last.last_end_time,
        files[2].endTime,
        'last_end_time == after: a client must not loop on it',
      );
    } finally {
      await sim.stop();
    }
  });

  test('corruptSha: the listed sha256 does not match the served bytes', async () => {
    const probe = new ChatGptComplianceSimulator({ seed: 8, eventTypes: ['AUTH_LOG'], filesPerType: 2 });
    const target = probe.files()[1].id;
    const sim = new ChatGptComplianceSimulator({
      seed: 8,
      eventTypes: ['AUTH_LOG'],
      filesPerType: 2,
      corruptSha: [target],
    });
    await sim.start();
    try {
      const listed = await listAll(sim, ['AUTH_LOG'], '2000-01-01T00:00:00Z');
      for (const f of listed) {
        const { bytes } = await download(sim, f.id);
        const actual = createHash('sha256').update(bytes).digest('hex');
        assert.equal(actual === f.file_sha256, f.id !== target, f.id);
      }
    } finally {
      await sim.stop();
    }
  });

  test('late files are listed only after end_time + visibleDelayMs', async () => {
    const clock = new ManualClock(T0);
    const sim = new ChatGptComplianceSimulator({
      seed: 9,
      clock: clock.now,
      eventTypes: ['AUDIT_LOG'],
      filesPerType: 1,
    });
    await sim.start();
    try {
      const late = sim.addFile('AUDIT_LOG', { endTime: T0 - 20 * MIN, events: 3, visibleDelayMs: 25 * MIN });
      const ids = async () => (await listAll(sim, ['AUDIT_LOG'], '2000-01-01T00:00:00Z')).map((f) => f.id);
      assert.ok(!(await ids()).includes(late.id));
      const dl = await client(sim).get(`logs/${late.id}`, { redirect: 'manual' });
      assert.equal(dl.status, 404);
      await dl.arrayBuffer();
      clock.advance(5 * MIN);
      assert.ok((await ids()).includes(late.id));
    } finally {
      await sim.stop();
    }
  });

  test('addFile with explicit records repeats event_ids across files (at-least-once)', () => {
    const sim = new ChatGptComplianceSimulator({ seed: 10, eventTypes: ['AUDIT_LOG'], filesPerType: 1 });
    const first = sim.events('AUDIT_LOG');
    sim.addFile('AUDIT_LOG', { endTime: Date.now(), records: [first[0]] });
    assert.equal(sim.events('AUDIT_LOG').length, first.length);
    assert.equal(sim.files('AUDIT_LOG').length, 2);
  });

  test('access not-enabled → 403, wrong-plan → 404, key without read scope → 403', async () => {
    const cases: [ChatGptComplianceSimulatorOptions, number][] = [
      [{ access: 'not-enabled' }, 403],
      [{ access: 'wrong-plan' }, 404],
      [{ scopes: ['delete'] }, 403],
    ];
    for (const [opts, status] of cases) {
      const sim = new ChatGptComplianceSimulator({ seed: 1, ...opts });
      await sim.start();
      try {
        const res = await client(sim).list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
        assert.equal(res.status, status);
        const body = (await res.json()) as any;
        assert.equal(typeof body.error.message, 'string');
        if (status === 403) assert.match(body.error.message, /insufficient permissions.*Missing scopes/);
      } finally {
        await sim.stop();
      }
    }
  });

  test('a key without delete scope cannot delete', async () => {
    const sim = new ChatGptComplianceSimulator({ seed: 1, scopes: ['read'] });
    await sim.start();
    try {
      const res = await client(sim).get('gpts/g-123', { method: 'DELETE' });
      assert.equal(res.status, 403);
      await res.arrayBuffer();
      assert.equal(sim.writeCalls().length, 1);
    } finally {
      await sim.stop();
    }
  });

  test('100 requests/minute per route: 429 with Retry-After, other routes unaffected, next minute OK', async () => {
    const clock = new ManualClock(T0 + 15_000);
    const sim = new ChatGptComplianceSimulator({ seed: 2, clock: clock.now, rateLimitPerMinute: 3 });
    await sim.start();
    try {
      const c = client(sim);
      for (let i = 0; i < 3; i++) {
        const r = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      }
      const limited = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '45');
      const body = (await limited.json()) as any;
      assert.equal(body.error.code, 'rate_limit_exceeded');
      const other = await c.get('max_event_time?event_type=AUDIT_LOG');
      assert.equal(other.status, 200);
      await other.arrayBuffer();
      clock.advance(45_000);
      const again = await c.list('event_type=AUDIT_LOG&after=2026-01-01T00:00:00Z');
      assert.equal(again.status, 200);
      await again.arrayBuffer();
    } finally {
      await sim.stop();
    }
  });

  test('startLive adds files as the clock advances', async () => {
    const clock = new ManualClock(T0);
    const sim = new ChatGptComplianceSimulator({
      seed: 5,
      clock: clock.now,
      filesPerType: 0,
      eventTypes: ['AUDIT_LOG', 'AUTH_LOG'],
    });
    sim.startLive(6);
    assert.equal(sim.files().length, 0);
    clock.advance(30 * MIN);
    const files = sim.files();
    assert.equal(files.length, 6);
    assert.ok(files.every((f) => Date.parse(f.endTime) <= clock.now()));
    assert.equal(sim.events('AUDIT_LOG').length, 3 * 60);
    sim.stopLive();
  });

  test('a huge file is generated and streamed without being held in memory', async () => {
    const clock = new ManualClock(T0);
    const sim = new ChatGptComplianceSimulator({
      seed: 6,
      clock: clock.now,
      filesPerType: 0,
      eventTypes: ['AUDIT_LOG'],
    });
    const size = 50 << 20;
    const info = sim.addFile('AUDIT_LOG', { endTime: T0 - MIN, huge: { bytes: size } });
    await sim.start();
    try {
      await sim.ready();
      const [listed] = await listAll(sim, ['AUDIT_LOG'], '2000-01-01T00:00:00Z');
      assert.equal(listed.id, info.id);
      assert.ok(listed.file_size >= size && listed.file_size < size + 4096, String(listed.file_size));

      global.gc?.();
      const base = process.memoryUsage.rss();
      let peak = base;
      const res = await client(sim).get(`logs/${info.id}`, { redirect: 'manual' });
      const blob = await fetch(res.headers.get('location')!);
      assert.equal(Number(blob.headers.get('content-length')), listed.file_size);
      const hash = createHash('sha256');
      let bytes = 0;
      let lines = 0;
      let firstLine = '';
      let pending = '';
      const decoder = new TextDecoder();
      for await (const chunk of blob.body!) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        const s = decoder.decode(chunk, { stream: true });
        for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) lines++;
        if (!firstLine) {
          pending += s;
          const nl = pending.indexOf('\n');
          if (nl !== -1) firstLine = pending.slice(0, nl);
        }
        peak = Math.max(peak, process.memoryUsage.rss());
      }
      assert.equal(bytes, listed.file_size);
      assert.equal(hash.digest('hex'), listed.file_sha256);
      assert.equal(lines, sim.files()[0].eventCount);
      assert.equal(sim.eventCount('AUDIT_LOG'), lines);
      const first = JSON.parse(firstLine);
      assert.equal(first.event_id, sim.eventIds('AUDIT_LOG').next().value);
      assert.equal(first.type, 'AUDIT_LOG');
      assert.ok(peak - base < 200 << 20, `RSS grew by ${Math.round((peak - base) / 1048576)} MB`);

      const m = (await (await client(sim).get('max_event_time?event_type=AUDIT_LOG')).json()) as any;
      assert.ok(m.max_event_time.AUDIT_LOG <= sim.files()[0].endTime);
    } finally {
      await sim.stop();
    }
  });

  test('loopNextLinks: has_more with last_end_time == after (for the loop guard); rotateApiKey revokes', async () => {
    const sim = new ChatGptComplianceSimulator({ seed: 12, eventTypes: ['AUDIT_LOG'], filesPerType: 2 });
    await sim.start();
    try {
      const c = client(sim);
      sim.loopNextLinks(1);
      const after = '2026-01-01T00:00:00Z';
      const body = (await (await c.list(`event_type=AUDIT_LOG&after=${after}`)).json()) as ListBody;
      assert.equal(body.has_more, true);
      assert.equal(body.last_end_time, after);
      const normal = (await (await c.list(`event_type=AUDIT_LOG&after=${after}`)).json()) as ListBody;
      assert.equal(normal.has_more, false);

      const old = sim.apiKey;
      const fresh = sim.rotateApiKey();
      const denied = await c.list(`event_type=AUDIT_LOG&after=${after}`, { authorization: `Bearer ${old}` });
      assert.equal(denied.status, 401);
      await denied.arrayBuffer();
      const ok = await c.list(`event_type=AUDIT_LOG&after=${after}`, { authorization: `Bearer ${fresh}` });
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
    } finally {
      await sim.stop();
    }
  });
});
