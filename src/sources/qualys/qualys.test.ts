import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain-stream.ts';
import { qualysFields, qualys as qualysKind, qualysUrl } from '../../accounts/qualys.ts';
import { validateSettings } from '../../config/config-file.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import qualys, { activityPage, activityTime, detectionId } from './index.ts';
import { QualysSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('qualys', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

const drain = (
  sim: QualysSimulator,
  stream: string,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; truncationLimit?: number },
) =>
  drainStream<TimeWindowCheckpoint>({
    source: qualys,
    kind: qualysKind,
    account: sim.account(),
    stream,
    settings: o.truncationLimit ? { truncationLimit: o.truncationLimit } : {},
    ...o,
    http: { maxRetryAfterMs: 5000 },
  });

describe('qualys', () => {
  it('resolves the platform API server; the password is a secret', () => {
    assert.equal(qualysUrl({}), 'https://qualysapi.qualys.com');
    assert.equal(qualysUrl({ platform: 'eu2' }), 'https://qualysapi.qg2.apps.qualys.eu');
    assert.equal(
      qualysUrl({ url: 'https://qualysapi.qg1.apps.qualys.ca/' }),
      'https://qualysapi.qg1.apps.qualys.ca',
    );
    assert.equal(qualysFields.safeParse({ username: 'u', password: 'p', platform: 'us9' }).success, false);
    assert.equal(
      qualysFields.safeParse({ username: 'u', password: 'p', platform: 'us2', url: 'https://x.example' })
        .success,
      false,
    );
    assert.deepEqual(qualysKind.secrets, ['password']);
  });

  it('reads host detections from XML, following the truncation WARNING URL (id_min), one event per detection', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new QualysSimulator({ clock: clock.now, records: 25, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'host-detections', { now: clock.now(), truncationLimit: 10 });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('detections').sort());
    const calls = sim.requests().filter((r) => r.path === '/api/2.0/fo/asset/host/vm/detection/');
    assert.equal(calls.length, 3);
    assert.equal(calls[0].query.get('vm_processed_after'), '2026-11-25T09:59:59Z');
    assert.equal(calls[0].headers['x-requested-with'], 'Tributary');
    assert.match(String(calls[0].headers.authorization), /^Basic /);
    assert.ok(calls[1].query.get('id_min'), 'the second page is the WARNING URL');
    const e = first.batches[0].events[0].raw as any;
    assert.equal(typeof e.host.ID, 'string');
    assert.equal(e.host.DETECTION_LIST, undefined);
    assert.match(e.detection.RESULTS, /TLSv1\.0 is supported & <weak>/);
    // The host processed again after a new scan: its detections are new events.
    clock.advance(30 * 60_000);
    const again = sim.addHosts(1, { seq: 4, from: clock.now() - 20 * 60_000 });
    const second = await drain(sim, 'host-detections', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual([...second.ids].sort(), [...again].sort());
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('waits out a 409 blocked call as X-RateLimit-ToWait-Sec says', async (t) => {
    const sim = new QualysSimulator({ clock: () => T0, records: 5, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    sim.blockNext(1);
    const r = await drain(sim, 'host-detections', { now: T0 });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('detections').sort());
    assert.equal(sim.requests().length, 2, 'the blocked call, then the same call again');
    // The blocked answer as Qualys documents it: 409 with SIMPLE_RETURN code 1965 (Appendix D).
    sim.blockNext(1);
    const blocked = await fetch(new URL('/api/2.0/fo/asset/host/vm/detection/?action=list', sim.url), {
      headers: {
        authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`,
        'x-requested-with': 'test',
      },
    });
    const body = await blocked.text();
    assert.equal(blocked.status, 409);
    assert.match(body, /<CODE>1965<\/CODE>/);
    assert.match(body, /blocked by one or more existing Business Objects/);
    assert.equal(blocked.headers.get('x-ratelimit-towait-sec'), '1');
    const hook = qualys.rateLimited!;
    const ctx = { status: 409, url: new URL('https://q.example/') } as never;
    assert.deepEqual(hook(ctx, new Headers({ 'x-ratelimit-towait-sec': '86272' })), {
      defaultWaitMs: 86_272_000,
    });
    assert.deepEqual(
      hook(ctx, new Headers({ 'x-concurrency-limit-limit': '2', 'x-concurrency-limit-running': '2' })),
      { defaultWaitMs: 30_000 },
    );
    assert.equal(
      hook({ status: 400, url: new URL('https://q.example/') } as never, new Headers()),
      undefined,
    );
  });

  it('reads the activity log as the documented CSV export: documented parameters, header names, footer URL pages', async (t) => {
    const sim = new QualysSimulator({ clock: () => T0, records: 12, seed: 5, activityPageSize: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'activity-log', { now: T0 });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('activity').sort());
    const calls = sim.requests().filter((x) => x.path === '/api/2.0/fo/activity_log/');
    assert.equal(calls.length, 3, 'twelve rows at five an answer');
    // Only what "Export User Activity Log" documents, bounds as YYYY-MM-DD HH:ii:ss (UTC).
    assert.deepEqual([...calls[0].query.keys()].sort(), ['action', 'since_datetime', 'until_datetime']);
    assert.equal(calls[0].query.get('action'), 'list');
    assert.equal(calls[0].query.get('since_datetime'), '2026-11-25 09:59:59');
    assert.equal(calls[0].query.get('until_datetime'), '2026-11-25 12:00:00');
    assert.ok(calls[1].query.get('id_max'), 'the second page is the footer WARNING URL');
    const e = r.batches[0].events[0];
    const raw = e.raw as Record<string, string>;
    assert.deepEqual(Object.keys(raw).sort(), [
      'Action',
      'Date',
      'Details',
      'Module',
      'User IP',
      'User Name',
      'User Role',
    ]);
    assert.equal(e.time, new Date(Date.parse(raw.Date)).toISOString());
    assert.ok(
      r.batches.flatMap((b) => b.events).some((x) => /"Weekly, DMZ"/.test((x.raw as any).Details)),
      'a quoted field with a comma and quotes is read whole',
    );
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('an activity answer: rows by the header, identical rows numbered, UTC times, cut-off and XML refused', async () => {
    const answer = (text: string) => activityPage(new Response(text) as never);
    const row = '"2026-11-25 10:00:00","login","auth","user_logged in","acme_tr1","Manager","198.51.100.7"';
    const plain = await answer(
      `"Date","Action","Module","Details","User Name","User Role","User IP"\n${row}\n${row}\n`,
    );
    assert.equal(plain.rows.length, 2);
    assert.equal(plain.rows[0].row['User Name'], 'acme_tr1');
    assert.equal(plain.rows[1].id, `${plain.rows[0].id}#2`, 'two identical entries are two events');
    assert.equal(plain.next, undefined);
    assert.equal(activityTime(plain.rows[0].row), '2026-11-25T10:00:00Z');
    assert.equal(activityTime({ Date: '2026-11-25T10:00:00Z' }), '2026-11-25T10:00:00Z');
    const paged = await answer(
      `----BEGIN_RESPONSE_BODY_CSV\n"Date","Action"\n"2026-11-25T10:00:00Z","x"\n----END_RESPONSE_BODY_CSV\n` +
        `----BEGIN_RESPONSE_FOOTER_CSV\nWARNING\n"CODE","TEXT","URL"\n"1980","limit","https://q.example/api/2.0/fo/activity_log/?action=list&id_max=7"\n----END_RESPONSE_FOOTER_CSV\n`,
    );
    assert.deepEqual(
      paged.rows.map((x) => x.row),
      [{ Date: '2026-11-25T10:00:00Z', Action: 'x' }],
    );
    assert.equal(paged.next, 'https://q.example/api/2.0/fo/activity_log/?action=list&id_max=7');
    await assert.rejects(answer('----BEGIN_RESPONSE_BODY_CSV\n"Date"\n"2026-11-25'), /cut off/);
    await assert.rejects(answer('----BEGIN_RESPONSE_BODY_CSV\n"Date"\n"2026-11-25T10:00:00Z"\n'), /cut off/);
    await assert.rejects(answer('<?xml version="1.0"?><SIMPLE_RETURN/>'), /XML where CSV/);
  });

  it('the simulator refuses activity bounds not in the documented format, and parameters the page does not list', async (t) => {
    const sim = new QualysSimulator({ clock: () => T0, records: 2, seed: 8 });
    await sim.start();
    t.after(() => sim.stop());
    const get = async (q: string) => {
      const res = await fetch(new URL(`/api/2.0/fo/activity_log/?action=list&${q}`, sim.url), {
        headers: {
          authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`,
          'x-requested-with': 'test',
        },
      });
      return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
    };
    assert.match((await get('since_datetime=2026-11-25T10:00:00Z')).body, /YYYY-MM-DD HH:ii:ss/);
    assert.equal((await get('output_format=XML')).status, 400);
    assert.equal(
      (await get('since_datetime=2026-11-25%2011:00:00&until_datetime=2026-11-25%2010:00:00')).status,
      400,
    );
    const ok = await get('since_datetime=2026-11-25%2010:00:00');
    assert.equal(ok.status, 200);
    assert.match(ok.type ?? '', /^text\/csv/);
    assert.match(
      ok.body,
      /^----BEGIN_RESPONSE_BODY_CSV\n"Date","Action","Module","Details","User Name","User Role","User IP"\n/,
    );
  });

  it('Test Connection names the credentials or the permission, without the password', async (t) => {
    const ok = new QualysSimulator({ records: 2, seed: 6 });
    const noActivity = new QualysSimulator({ records: 2, seed: 7, forbidden: ['activity'] });
    for (const s of [ok, noActivity]) {
      await s.start();
      t.after(() => s.stop());
    }
    assert.deepEqual(await testConnection(qualys, qualysKind, ok.account(), settingsOf()), { ok: true });
    const bad = await testConnection(
      qualys,
      qualysKind,
      { ...ok.account(), password: 'wrong-password-42' },
      settingsOf(),
    );
    assert.equal(!bad.ok && bad.error.code, 'qualys_invalid_credentials');
    assert.doesNotMatch(JSON.stringify(bad), /wrong-password-42/);
    const act = await testConnection(qualys, qualysKind, noActivity.account(), settingsOf());
    assert.equal(!act.ok && act.error.code, 'qualys_forbidden');
    if (!act.ok) assert.match(act.error.action, /activity log/);
  });

  it('keys a detection without UNIQUE_VULN_ID by host, QID, port and protocol', () => {
    assert.equal(
      detectionId(
        { ID: '7' },
        { QID: '38170', PORT: '443', PROTOCOL: 'tcp', LAST_PROCESSED_DATETIME: '2026-11-25T10:00:00Z' },
      ),
      '7:38170:443:tcp@2026-11-25T10:00:00Z',
    );
    assert.equal(detectionId({ ID: '7' }, { QID: '1' }), undefined);
  });
});
