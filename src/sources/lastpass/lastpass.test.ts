import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  type LastPassAccount,
  lastpass as lastpassAccount,
  lastpassFields,
  withCredentials,
} from '../../accounts/lastpass.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch, Logger } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { OriginSet } from '../../engine/credential-origins.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import lastpass, {
  eastern,
  eventTime,
  type LastPassSettings,
  lastpassEventId,
  reportingBody,
} from './index.ts';
import { LastPassSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('lastpass', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings as unknown as LastPassSettings;
};

/** Every log line's fields, to check that no credential is ever logged. */
function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const put = (...args: unknown[]) => lines.push(JSON.stringify(args));
  return { log: { debug: put, info: put, warn: put, error: put }, lines };
}

async function drain(
  sim: LastPassSimulator,
  o: {
    now: () => number;
    checkpoint?: TimeWindowCheckpoint;
    account?: Record<string, unknown>;
    settings?: Record<string, unknown>;
    log?: Logger;
  },
) {
  const account = (o.account ?? sim.account()) as unknown as LastPassAccount;
  const http: Http = new Http({
    vendor: 'LastPass',
    backoffBaseMs: 1,
    maxAttempts: 2,
    log: o.log,
    credentialOrigins: { set: new OriginSet(lastpassAccount.origins!(account)), account: 'lp' },
    authorize: (h, refresh, url, req) =>
      lastpassAccount.authorize(account, h, { refresh, http, url, ...req }),
    explain: lastpass.explain,
  });
  const ctx = readContext(http, {
    stream: 'events',
    settings: { ...settingsOf(), ...o.settings },
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    log: o.log,
    window: { lookbackMs: 3_600_000 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of lastpass.streams.events.read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return { batches, ids: batches.flatMap((b) => b.events.map((e) => e.id as string)) };
}

describe('lastpass account and settings', () => {
  it('keeps the provisioning hash secret, sends credentials only to the API origin, and checks the fields', () => {
    const a = lastpassFields.parse({ cid: 12345678, provhash: 'abcdef0123456789abcdef' }) as LastPassAccount;
    assert.deepEqual(lastpassAccount.origins?.(a), ['https://lastpass.com']);
    const eu = lastpassFields.parse({
      cid: '1',
      provhash: 'abcdef0123456789abcdef',
      apiUrl: 'https://lastpass.eu/',
    });
    assert.deepEqual(lastpassAccount.origins?.(eu as LastPassAccount), ['https://lastpass.eu']);
    assert.deepEqual(lastpassAccount.secrets.includes('provhash'), true);
    const bad = lastpassFields.safeParse({ cid: 'acme', provhash: 'short"hash' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /cid: expected the numeric company ID/);
    assert.match(issues, /provhash: expected the provisioning hash/);
    assert.doesNotMatch(issues, /short"hash/);
    // The credentials are added to the body sent, first, as in LastPass's samples.
    const sent = JSON.parse(withCredentials(a, '{"cmd":"reporting","data":{"from":"x"}}'));
    assert.deepEqual(Object.keys(sent), ['cid', 'provhash', 'cmd', 'data']);
    assert.equal(sent.cid, 12345678);
    assert.ok(!validateSettings('lastpass', { user: '' }).ok);
  });

  it('converts US/Eastern times to UTC across daylight saving, and asks wider windows next to a change', () => {
    assert.equal(
      new Date(eventTime({ Time: '2026-07-01 12:00:00' })!).toISOString(),
      '2026-07-01T16:00:00.000Z',
    );
    assert.equal(
      new Date(eventTime({ Time: '2026-01-15 12:00:00' })!).toISOString(),
      '2026-01-15T17:00:00.000Z',
    );
    // 2026-03-08 02:30 does not exist in Eastern time (02:00 → 03:00): read forward.
    assert.equal(
      new Date(eventTime({ Time: '2026-03-08 03:30:00' })!).toISOString(),
      '2026-03-08T07:30:00.000Z',
    );
    assert.equal(eastern(Date.parse('2026-11-25T12:00:00Z')), '2026-11-25 07:00:00');
    assert.equal(eastern(Date.parse('2026-06-25T12:00:00Z')), '2026-06-25 08:00:00');
    assert.equal(eventTime({ Time: 'yesterday' }), undefined);
    const s = settingsOf();
    const plain = JSON.parse(
      reportingBody(s, Date.parse('2026-11-25T11:00:00.250Z'), Date.parse('2026-11-25T12:00:00.250Z')),
    );
    assert.deepEqual(plain, {
      cmd: 'reporting',
      data: { from: '2026-11-25 06:00:00', to: '2026-11-25 07:00:01', user: 'allusers' },
    });
    // Daylight saving ends 2026-11-01 06:00Z: 01:00–02:00 Eastern happens twice; an hour more each side.
    const fall = JSON.parse(
      reportingBody(s, Date.parse('2026-11-01T05:30:00Z'), Date.parse('2026-11-01T06:30:00Z')),
    );
    assert.deepEqual([fall.data.from, fall.data.to], ['2026-11-01 00:30:00', '2026-11-01 02:30:00']);
    const admin = JSON.parse(reportingBody(settingsOf({ adminOnly: true }), T0 - 60_000, T0));
    assert.equal(admin.data.admin, '1');
  });
});

describe('lastpass events', () => {
  it('follows next through answers at the cap, newest first, with no credential in checkpoints or logs', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new LastPassSimulator({ clock: clock.now, events: 25, maxPerAnswer: 10, spacingMs: 90_000 });
    await sim.start();
    t.after(() => sim.stop());
    const { log, lines } = capture();
    const first = await drain(sim, { now: clock.now, log });
    const expected = sim.records().filter((e) => eventTime(e)! >= T0 - 3_600_000);
    assert.deepEqual(first.ids.sort(), expected.map((e) => lastpassEventId(e)).sort());
    assert.equal(new Set(first.ids).size, first.ids.length);
    const asked = sim.requests().filter((r) => r.path === '/enterpriseapi.php');
    assert.ok(asked.length >= 3, `several answers (${asked.length})`);
    const saved = JSON.stringify(first.batches.map((b) => b.checkpoint));
    assert.match(saved, /reporting/, 'the checkpoint keeps the request');
    for (const secret of [sim.provhash, String(sim.cid)]) {
      assert.ok(!saved.includes(secret), 'no credential in a checkpoint');
      assert.ok(!lines.join('\n').includes(secret), 'no credential in a log line');
    }
    assert.deepEqual(sim.writeCalls(), []);

    // A later run delivers only what is new.
    clock.advance(120_000);
    sim.addEvents(2, { from: T0 - 30_000, spacingMs: 5000 });
    const second = await drain(sim, { now: clock.now, checkpoint: first.batches.at(-1)!.checkpoint });
    assert.equal(second.ids.length, 2);
    assert.ok(second.ids.every((id) => !first.ids.includes(id)));
  });

  it('resumes a saved next page (without credentials) and finishes the window', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new LastPassSimulator({ clock: clock.now, events: 25, maxPerAnswer: 10, spacingMs: 90_000 });
    await sim.start();
    t.after(() => sim.stop());
    const all = await drain(sim, { now: clock.now });
    const mid = all.batches.find((b) => JSON.stringify(b.checkpoint).includes('"next'));
    assert.ok(mid, 'a checkpoint holds a next page');
    const before = all.batches
      .slice(0, all.batches.indexOf(mid) + 1)
      .flatMap((b) => b.events.map((e) => e.id));
    const rest = await drain(sim, { now: clock.now, checkpoint: mid.checkpoint });
    assert.deepEqual([...before, ...rest.ids].sort(), [...all.ids].sort());
  });

  it('maps a refused provisioning hash to lastpass_refused without the hash, and sends it nowhere else', async (t) => {
    const sim = new LastPassSimulator({ clock: () => T0, events: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const { log, lines } = capture();
    const wrong = { ...sim.account(), provhash: 'wrong-hash-00000000000001' };
    const err = await drain(sim, { now: () => T0, account: wrong, log }).catch((e) => e);
    assert.equal(err.code, 'lastpass_refused');
    assert.equal(err.type, 'config');
    assert.match(err.message, /Authorization Error/);
    assert.doesNotMatch(JSON.stringify(err) + err.message + lines.join('\n'), /wrong-hash/);

    // A collector URL outside the account's origins never gets the credentials: refused before sending.
    const other = new LastPassSimulator({ clock: () => T0, events: 3, seed: 2 });
    await other.start();
    t.after(() => other.stop());
    const refused = await drain(sim, { now: () => T0, settings: { baseUrl: other.url } }).catch((e) => e);
    assert.equal(refused.code, 'credential_origin_refused');
    assert.equal(other.requests().length, 0, 'nothing was sent to the other origin');
  });

  it('test connection proves the CID and hash with one reporting call', async (t) => {
    const sim = new LastPassSimulator({ events: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const test = (over: Record<string, unknown> = {}) =>
      testConnection(lastpass, lastpassAccount, { ...sim.account(), ...over }, settingsOf(), ['events']);
    assert.deepEqual(await test(), { ok: true });
    const bad = await test({ provhash: 'wrong-hash-00000000000001' });
    assert.equal(!bad.ok && bad.error.code, 'lastpass_refused');
    assert.doesNotMatch(JSON.stringify(bad), /wrong-hash/);
    assert.deepEqual(sim.writeCalls(), []);
  });
});
