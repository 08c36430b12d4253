import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  type CloudflareAccount,
  cloudflare as cloudflareAccount,
  cloudflareFields,
} from '../../accounts/cloudflare.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import cloudflare from './index.ts';
import { CloudflareSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('cloudflare', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: CloudflareSimulator,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; limit?: number },
) {
  const account: CloudflareAccount = { apiToken: sim.token, url: sim.url };
  const http: Http = new Http({
    vendor: 'Cloudflare',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => cloudflareAccount.authorize(account, h, { refresh, http, url }),
    explain: cloudflare.explain,
  });
  const ctx = readContext(http, {
    stream: 'audit-logs',
    settings: settingsOf({ accountId: sim.accountId, limit: o.limit ?? 1000 }),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of cloudflare.streams['audit-logs'].read(ctx) as AsyncIterable<
    Batch<TimeWindowCheckpoint>
  >)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('cloudflare settings and account', () => {
  it('checks the account ID and the token shape, naming the field', () => {
    const bad = validateSettings('cloudflare', { accountId: 'acme' });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.issues.join(), /accountId: expected the 32-character account ID/);
    const t = cloudflareFields.safeParse({ apiToken: 'short' });
    assert.match(formatIssues(t.error!).join(), /^apiToken: expected a Cloudflare API token/);
    assert.deepEqual(cloudflareAccount.origins?.({ apiToken: 'x' }), ['https://api.cloudflare.com']);
  });
});

describe('cloudflare Test Connection', () => {
  it('passes; explains a bad token, a token without the permission, and a wrong account ID', async (t) => {
    const sim = new CloudflareSimulator({ events: 3 });
    const noPerm = new CloudflareSimulator({ events: 1, permission: false });
    for (const s of [sim, noPerm]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (s: CloudflareSimulator, token = s.token, accountId = s.accountId) =>
      testConnection(
        cloudflare,
        cloudflareAccount,
        { apiToken: token, url: s.url },
        settingsOf({ accountId }),
      );
    assert.deepEqual(await test(sim), { ok: true });
    const r401 = await test(sim, 'wrongwrongwrongwrongwrong');
    assert.equal(!r401.ok && r401.error.code, 'cloudflare_invalid_token');
    assert.doesNotMatch(JSON.stringify(r401), /wrongwrong/);
    const r403 = await test(noPerm);
    assert.equal(!r403.ok && r403.error.code, 'cloudflare_missing_permission');
    if (!r403.ok) assert.match(r403.error.action, /Access: Audit Logs → Read/);
    const r404 = await test(sim, sim.token, 'f'.repeat(32));
    assert.equal(!r404.ok && r404.error.code, 'cloudflare_account_not_found');
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('cloudflare reading', () => {
  it('asks oldest first with since/before, follows result_info.cursor, Bearer token', async (t) => {
    const sim = new CloudflareSimulator({ events: 50, spacingMs: 60_000, clock: () => T0, seed: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const { ids, batches } = await drain(sim, { now: T0, limit: 20 });
    assert.deepEqual(ids, sim.eventIds(), 'oldest first, each once');
    assert.equal(batches.length, 3);
    const [first, second] = sim.requests();
    assert.equal(first.path, `/client/v4/accounts/${sim.accountId}/logs/audit`);
    assert.equal(first.query.get('direction'), 'asc');
    assert.equal(first.query.get('limit'), '20');
    assert.equal(first.query.get('before'), new Date(T0).toISOString());
    assert.equal(
      first.query.get('since'),
      new Date(T0 - 2 * 3_600_000 - 1000).toISOString(),
      'one second of overlap',
    );
    assert.equal(first.headers.authorization, `Bearer ${sim.token}`);
    assert.ok(second.query.get('cursor'));
  });

  it('an entry at exactly the saved position is not lost though since is exclusive, nor repeated', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new CloudflareSimulator({ events: 0, clock: clock.now, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    sim.addEvents(3, { from: T0 - 3_000, spacingMs: 1000 });
    const a = await drain(sim, { now: T0 });
    assert.equal(a.ids.length, 3);
    const since = Date.parse(a.checkpoint?.since ?? '');
    const [late] = sim.addEvents(1, { from: since }); // exactly at the position, listed late
    clock.advance(60_000);
    const b = await drain(sim, { now: clock.now(), checkpoint: a.checkpoint });
    assert.deepEqual(b.ids, [late]);
  });
});
