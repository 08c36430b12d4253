import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type MimecastAccount, mimecast as mimecastAccount } from '../../accounts/mimecast.ts';
import { validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import mimecast, { type FileListCheckpoint } from './index.ts';
import { MimecastSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('mimecast', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

function reader(sim: MimecastSimulator, clock: ManualClock, settings: Record<string, unknown> = {}) {
  const account: MimecastAccount = { clientId: sim.clientId, clientSecret: sim.clientSecret, url: sim.url };
  return async (checkpoint?: FileListCheckpoint, take = Number.POSITIVE_INFINITY) => {
    const http: Http = new Http({
      vendor: 'Mimecast',
      backoffBaseMs: 1,
      authorize: (h, refresh, url) => mimecastAccount.authorize(account, h, { refresh, http, url }),
      explain: mimecast.explain,
    });
    const ctx = readContext(http, {
      stream: 'receipt',
      settings: settingsOf({ pageSize: 2, ...settings }),
      account,
      checkpoint,
      now: clock.now,
      window: { lookbackMs: 2 * 3_600_000 },
    });
    const out: Batch<FileListCheckpoint>[] = [];
    for await (const b of mimecast.streams.receipt.read(ctx) as AsyncIterable<Batch<FileListCheckpoint>>) {
      out.push(b);
      if (out.length >= take) break;
    }
    return out;
  };
}

const ids = (bs: Batch[]) => bs.flatMap((b) => b.events.map((e) => e.id as string));
const expected = (sim: MimecastSimulator) => sim.records('receipt').map((r) => hashId(r));

describe('mimecast SIEM log files', () => {
  it('lists files with the day range, fetches each from its signed URL without the token, and dead-letters a corrupted file', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new MimecastSimulator({ clock: clock.now, files: 5, corrupt: [2], seed: 1 });
    await sim.start();
    t.after(() => sim.stop());
    const bs = await reader(sim, clock)();
    assert.deepEqual(ids(bs).sort(), expected(sim).sort(), 'every record of the readable files');
    const dead = bs.flatMap((b) => b.deadLetters ?? []);
    assert.equal(dead.length, 1);
    assert.match(dead[0].reason, /not valid gzip/);
    assert.deepEqual(sim.credentialLeaks(), [], 'the storage host never saw the token');
    const first = sim.requests().find((r) => r.path === '/siem/v1/batch/events/cg');
    assert.equal(first?.query.get('type'), 'receipt');
    assert.equal(first?.query.get('dateRangeStartsAt'), '2026-11-25');
    assert.equal(first?.query.get('dateRangeEndsAt'), '2026-11-25');
    assert.ok(sim.requests().some((r) => r.path === '/oauth/token'));
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('continues from @nextPage: a later run gets only the new files', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new MimecastSimulator({ clock: clock.now, files: 3, seed: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const read = reader(sim, clock);
    const a = await read();
    const before = new Set(ids(a));
    clock.advance(10 * 60_000);
    sim.addFiles('receipt', 2, { from: clock.now() - 60_000 });
    const b = await read(a.at(-1)?.checkpoint);
    assert.ok(b.length > 0);
    assert.ok(
      ids(b).every((id) => !before.has(id)),
      'nothing again',
    );
    assert.deepEqual([...ids(a), ...ids(b)].sort(), expected(sim).sort());
    assert.ok(
      sim.requests().some((r) => r.query.get('nextPage')),
      'listed by the saved token',
    );
  });

  it('a restart inside a large file resumes after the records already delivered', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new MimecastSimulator({ clock: clock.now, files: 1, recordsPerFile: 2500, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const read = reader(sim, clock);
    const first = await read(undefined, 1);
    assert.equal(first[0].events.length, 1000);
    assert.equal(first[0].checkpoint.file?.records, 1000);
    const rest = await read(first[0].checkpoint);
    const all = [...ids(first), ...ids(rest)];
    assert.equal(new Set(all).size, 2500);
    assert.deepEqual([...new Set(all)].sort(), expected(sim).sort());
  });

  it('a signed URL that expired before its fetch ends the run; the next run lists again and delivers', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new MimecastSimulator({ clock: clock.now, files: 2, urlTtlMs: 60_000, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const account: MimecastAccount = { clientId: sim.clientId, clientSecret: sim.clientSecret, url: sim.url };
    const http: Http = new Http({
      vendor: 'Mimecast',
      backoffBaseMs: 1,
      authorize: (h, refresh, url) => mimecastAccount.authorize(account, h, { refresh, http, url }),
      explain: mimecast.explain,
    });
    const ctx = readContext(http, {
      stream: 'receipt',
      settings: settingsOf({ pageSize: 2 }),
      account,
      now: clock.now,
      window: { lookbackMs: 2 * 3_600_000 },
    });
    const it = (mimecast.streams.receipt.read(ctx) as AsyncIterable<Batch<FileListCheckpoint>>)[
      Symbol.asyncIterator
    ]();
    const first = (await it.next()).value as Batch<FileListCheckpoint>; // the first file; then delivery stalls
    clock.advance(5 * 60_000); // longer than the listed URLs last
    await assert.rejects(it.next(), (err: TributaryError) => err.code === 'mimecast_file_url_expired');
    const again = await reader(sim, clock)(first.checkpoint);
    assert.deepEqual(
      [...ids([first]), ...ids(again)].sort(),
      expected(sim).sort(),
      'listed again with fresh URLs',
    );
  });
});

describe('mimecast Test Connection', () => {
  it('passes; explains a wrong secret and an application without the SIEM product', async (t) => {
    const sim = new MimecastSimulator({ files: 1 });
    const noSiem = new MimecastSimulator({ files: 1, siem: false });
    for (const s of [sim, noSiem]) {
      await s.start();
      t.after(() => s.stop());
    }
    const ok = await testConnection(
      mimecast,
      mimecastAccount,
      { clientId: sim.clientId, clientSecret: sim.clientSecret, url: sim.url },
      settingsOf(),
    );
    assert.deepEqual(ok, { ok: true });
    const bad = await testConnection(
      mimecast,
      mimecastAccount,
      { clientId: sim.clientId, clientSecret: 'not-the-secret', url: sim.url },
      settingsOf(),
    );
    assert.equal(!bad.ok && bad.error.code, 'oauth_token_refused');
    assert.doesNotMatch(JSON.stringify(bad), /not-the-secret/);
    const forbidden = await testConnection(
      mimecast,
      mimecastAccount,
      { clientId: noSiem.clientId, clientSecret: noSiem.clientSecret, url: noSiem.url },
      settingsOf(),
    );
    assert.equal(!forbidden.ok && forbidden.error.code, 'mimecast_forbidden');
    if (!forbidden.ok) assert.match(forbidden.error.action, /SIEM/);
  });
});
