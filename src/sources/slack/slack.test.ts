import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type SlackAccount, slack as slackAccount } from '../../accounts/slack.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import slack from './index.ts';
import { SlackSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('slack', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function run(
  sim: SlackSimulator,
  o: {
    now: number;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    stopAfter?: number;
    lookbackMs?: number;
  },
) {
  const account: SlackAccount = { token: sim.token };
  const http: Http = new Http({
    vendor: slack.title,
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => slackAccount.authorize(account, h, { refresh, http, url }),
    explain: slack.explain,
  });
  const ctx = readContext(http, {
    stream: 'audit-logs',
    settings: settingsOf({ baseUrl: sim.url, ...o.settings }),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: o.lookbackMs ?? 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of slack.streams['audit-logs'].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>) {
    batches.push(b);
    if (o.stopAfter !== undefined && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe('slack source: settings and Test Connection', () => {
  it('validates settings with the field in every message', () => {
    const issues = (raw: Record<string, unknown>) => {
      const r = validateSettings('slack', raw);
      return r.ok ? [] : r.issues;
    };
    assert.deepEqual(settingsOf({}), { limit: 1000 });
    assert.match(issues({ limit: 10_000 }).join(), /limit/);
    assert.match(
      issues({ action: 'user login' }).join(),
      /action: expected action names separated by commas/,
    );
    assert.match(
      issues({ action: Array(31).fill('user_login').join(',') }).join(),
      /action: Slack accepts at most 30/,
    );
    assert.match(issues({ actor: 'bob' }).join(), /actor: expected a Slack user ID/);
    assert.match(issues({ baseUrl: 'http://example.com' }).join(), /baseUrl: plain http/);
  });

  it('passes with an org owner token; explains 401, missing scope and a non-Enterprise org without echoing the token', async (t) => {
    const sim = new SlackSimulator({ events: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const s = settingsOf({ baseUrl: sim.url });
    assert.deepEqual(await testConnection(slack, slackAccount, { token: sim.token }, s), { ok: true });
    const wrong = await testConnection(slack, slackAccount, { token: 'xoxp-1-2-3-notthetoken' }, s);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'slack_invalid_token');
      assert.equal(wrong.error.status, 401);
      assert.doesNotMatch(JSON.stringify(wrong.error), /notthetoken/);
    }
    const noScope = new SlackSimulator({ events: 1, scopes: ['admin'] });
    await noScope.start();
    t.after(() => noScope.stop());
    const r1 = await testConnection(
      slack,
      slackAccount,
      { token: noScope.token },
      settingsOf({ baseUrl: noScope.url }),
    );
    assert.equal(!r1.ok && r1.error.code, 'slack_missing_scope');
    if (!r1.ok) assert.match(r1.error.action, /auditlogs:read/);
    const pro = new SlackSimulator({ events: 1, enterprisePlan: false });
    await pro.start();
    t.after(() => pro.stop());
    const r2 = await testConnection(
      slack,
      slackAccount,
      { token: pro.token },
      settingsOf({ baseUrl: pro.url }),
    );
    assert.equal(!r2.ok && r2.error.code, 'slack_not_enterprise');
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('slack source: reading', () => {
  it('asks with inclusive whole-second oldest/latest, the limit and filters, Bearer auth', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SlackSimulator({ events: 30, clock: clock.now, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const { ids } = await run(sim, { now: T0 + 456, settings: { limit: 10 } });
    assert.deepEqual([...ids].sort(), [...sim.eventIds()].sort());
    const q = sim.requests()[0].query;
    // The first window: now - lookback - 1 s of overlap (09:59:59.456) up to now (12:00:00.456).
    assert.equal(q.get('oldest'), String(Date.parse('2026-11-25T10:00:00Z') / 1000));
    assert.equal(q.get('latest'), String(T0 / 1000));
    assert.equal(q.get('limit'), '10');
    assert.equal(sim.requests()[0].headers.authorization, `Bearer ${sim.token}`);
    assert.equal(sim.requests()[1].query.get('oldest'), q.get('oldest'), 'cursor pages keep the window');
    assert.ok(sim.requests()[1].query.get('cursor'));
    await run(sim, {
      now: T0 + 60_000,
      settings: { action: 'user_login,file_downloaded', actor: 'W0123ABCD' },
    });
    const last = sim.requests().at(-1)?.query;
    assert.equal(last?.get('action'), 'user_login,file_downloaded');
    assert.equal(last?.get('actor'), 'W0123ABCD');
  });

  it('loses and repeats nothing across runs ending mid-second, with many entries a second', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SlackSimulator({ events: 0, clock: clock.now, seed: 8, rateLimitPerMinute: 10_000 });
    sim.addEvents(300, { from: T0 - 60_000, spacingMs: 200 }); // five entries a second
    await sim.start();
    t.after(() => sim.stop());
    const all: string[] = [];
    let checkpoint: TimeWindowCheckpoint | undefined;
    for (const end of [T0 - 45_321, T0 - 30_000, T0 - 29_999, T0 - 12_777, T0]) {
      const r = await run(sim, { now: end, checkpoint, lookbackMs: 61_000, settings: { limit: 7 } });
      all.push(...r.ids);
      checkpoint = r.checkpoint;
    }
    assert.deepEqual(dupes(all), []);
    assert.deepEqual([...all].sort(), [...sim.eventIds()].sort());
  });

  it('newest first: a crash after any page resumes at the committed cursor, and since moves only at the window end', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SlackSimulator({ events: 0, clock: clock.now, seed: 4, rateLimitPerMinute: 10_000 });
    sim.addEvents(95, { from: T0 - 600_000, spacingMs: 1500 });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { limit: 10 };
    const full = await run(sim, { now: T0, settings });
    assert.equal(full.batches.length, 10);
    const windowStart = full.batches[0].checkpoint.since;
    for (let k = 1; k < full.batches.length; k++) {
      const first = await run(sim, { now: T0, settings, stopAfter: k });
      const cp = first.checkpoint as TimeWindowCheckpoint;
      assert.equal(cp.since, windowStart, 'since stays at the window start mid-window');
      assert.equal(cp.end, new Date(T0).toISOString());
      assert.ok(cp.next?.query?.cursor, 'the next page cursor is committed');
      const rest = await run(sim, { now: T0, checkpoint: cp, settings });
      const ids = [...first.ids, ...rest.ids];
      assert.deepEqual(dupes(ids), [], `crash after page ${k}`);
      assert.deepEqual([...ids].sort(), [...sim.eventIds()].sort(), `crash after page ${k}: nothing lost`);
      assert.equal(rest.checkpoint?.since, new Date(T0).toISOString(), 'the completed window moves since');
      assert.equal(rest.checkpoint?.next, undefined);
    }
  });

  it('rides out a 429 with Retry-After', async (t) => {
    const sim = new SlackSimulator({ events: 40 });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({ kind: 'rate-limit', retryAfter: 1, afterRequests: 1 });
    const started = Date.now();
    const { ids } = await run(sim, { now: Date.now(), settings: { limit: 10 } });
    assert.deepEqual([...ids].sort(), [...sim.eventIds()].sort());
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
    assert.ok(sim.requests().some((r) => r.query.get('cursor')));
  });
});
