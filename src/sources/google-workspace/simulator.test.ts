import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { google } from '../../accounts/google.ts';
import { Http } from '../../engine/http.ts';
import { ManualClock } from '../../sim/kit.ts';
import { GoogleWorkspaceSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const PATH = '/admin/reports/v1/activity/users/all/applications';

describe('Reports API simulator', () => {
  const clock = new ManualClock(T0);
  const sim = new GoogleWorkspaceSimulator({
    clock: clock.now,
    seed: 9,
    activities: { login: 25, drive: 20 },
  });
  let auth = '';
  before(async () => {
    await sim.start();
    const http = new Http({ vendor: 'Google' });
    const headers = new Headers();
    await google.authorize(
      { serviceAccountKey: sim.tokens.keyJson(), subject: sim.admin, tokenUrl: sim.tokens.tokenUrl },
      headers,
      { refresh: false, http, url: new URL(`${sim.url}${PATH}/login`) },
    );
    auth = headers.get('authorization') ?? '';
  });
  after(() => sim.stop());

  const get = async (path: string, query: Record<string, string> = {}, authorization = auth) => {
    const res = await fetch(`${sim.url}${path}?${new URLSearchParams(query)}`, {
      headers: { authorization },
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('pages newest first within an inclusive window, and omits items when there are none', async () => {
    const all = sim.activities('login');
    const start = all[5].id as { time: string };
    const end = all[14].id as { time: string };
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await get(`${PATH}/login`, {
        startTime: start.time,
        endTime: end.time,
        maxResults: '4',
        ...(token ? { pageToken: token } : {}),
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.kind, 'admin#reports#activities');
      for (const a of r.body.items ?? []) seen.push(a.id.time);
      token = r.body.nextPageToken;
    } while (token);
    assert.equal(seen.length, 10, 'both ends inclusive');
    assert.deepEqual(seen, [...seen].sort().reverse(), 'newest first');
    const none = await get(`${PATH}/login`, {
      startTime: '2026-11-25T11:59:59Z',
      endTime: '2026-11-25T11:59:59Z',
    });
    assert.equal(none.status, 200);
    assert.equal(none.body.items, undefined);
    assert.equal(none.body.nextPageToken, undefined);
  });

  it('binds a page token to its time interval', async () => {
    const first = await get(`${PATH}/login`, {
      startTime: '2026-11-25T10:00:00Z',
      endTime: '2026-11-25T12:00:00Z',
      maxResults: '2',
    });
    const token = first.body.nextPageToken as string;
    assert.ok(token);
    const other = await get(`${PATH}/login`, {
      startTime: '2026-11-25T09:00:00Z',
      endTime: '2026-11-25T12:00:00Z',
      pageToken: token,
    });
    assert.equal(other.status, 400);
    assert.match(other.body.error.message, /same time interval/);
    assert.equal(other.body.error.status, 'INVALID_ARGUMENT');
  });

  it('validates parameters as the API does', async () => {
    assert.equal((await get(`${PATH}/mail`)).status, 400);
    assert.match((await get(`${PATH}/login`, { maxResults: '1001' })).body.error.message, /\[1, 1000\]/);
    assert.equal((await get(`${PATH}/login`, { startTime: 'yesterday' })).status, 400);
    const gmail = await get(`${PATH}/gmail`, { startTime: '2026-11-01T00:00:00Z' });
    assert.equal(gmail.status, 400);
    assert.match(gmail.body.error.message, /Gmail/);
  });

  it('bundles several events in one Drive sharing activity, one event per login activity', () => {
    const drive = sim.activities('drive') as Array<{ events: unknown[] }>;
    assert.ok(drive.some((a) => a.events.length > 1));
    assert.ok(sim.activities('login').every((a) => (a.events as unknown[]).length === 1));
  });

  it('refuses missing or unknown tokens (401) and reads only as an administrator (403)', async () => {
    const none = await get(`${PATH}/login`, {}, '');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.status, 'UNAUTHENTICATED');
    assert.equal((await get(`${PATH}/login`, {}, 'Bearer ya29.forged')).status, 401);
    const http = new Http({ vendor: 'Google' });
    const headers = new Headers();
    await google.authorize(
      { serviceAccountKey: sim.tokens.keyJson(), subject: sim.user, tokenUrl: sim.tokens.tokenUrl },
      headers,
      { refresh: false, http, url: new URL(`${sim.url}${PATH}/login`) },
    );
    const user = await get(`${PATH}/login`, {}, headers.get('authorization') ?? '');
    assert.equal(user.status, 403);
    assert.match(user.body.error.message, /Not Authorized/);
    assert.deepEqual(sim.writeCalls(), [], 'the token POST is not a write');
  });
});
