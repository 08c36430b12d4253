import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain.ts';
import { type OktaAccount, okta } from '../../accounts/okta.ts';
import type { ContextCheckpoint } from '../../engine/context-snapshot.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import source from './index.ts';
import { OktaDirectorySimulator } from './simulator.ts';

const T0 = '2026-12-01T12:00:00.000Z';

function read(
  sim: OktaDirectorySimulator,
  stream: string,
  o: { clock: ManualClock; checkpoint?: unknown; stopAfter?: number; settings?: Record<string, unknown> },
) {
  return drainStream(source, okta, stream, {
    account: { url: sim.url, token: sim.token } satisfies OktaAccount,
    settings: { baseUrl: sim.url, ...o.settings },
    now: o.clock.now,
    checkpoint: o.checkpoint,
    stopAfter: o.stopAfter,
  }).then((r) => ({ ...r, checkpoint: r.checkpoint as ContextCheckpoint | undefined }));
}

describe('okta-context', () => {
  it('a refresh lists every user, group and membership over Link pages, each stream ended by its marker', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new OktaDirectorySimulator({ clock: clock.now, users: 450, groups: 3 });
    await sim.start();
    t.after(() => sim.stop());
    sim.deprovision(7); // not listed without a filter
    const users = await read(sim, 'users', { clock });
    assert.deepEqual(users.ids, sim.userIds());
    assert.equal(users.ids.length, 449);
    assert.ok(!users.ids.includes(sim.userId({ n: 7 })));
    const pages = sim.requests.all().filter((r) => r.path === '/api/v1/users');
    assert.equal(pages.length, 3, '450 users at 200 a page');
    assert.equal(pages[0].query.get('limit'), '200');
    assert.equal(pages[1].query.get('after'), sim.userId({ n: 200 }));
    assert.equal(pages[0].headers.authorization, `SSWS ${sim.token}`);
    const snapshot = users.checkpoint!.snapshot;
    assert.equal(snapshot, T0);
    assert.deepEqual(users.records[0].context, { op: 'upsert', entity: 'user', snapshot });
    assert.deepEqual(
      users.markers.map((m) => m.context),
      [{ op: 'end', entity: 'user', snapshot }],
    );
    assert.equal((users.records[0].raw as { profile: { login: string } }).profile.login, 'user0@example.com');

    const groups = await read(sim, 'groups', { clock });
    assert.deepEqual(groups.ids, sim.groupIds());
    const members = await read(sim, 'group-members', { clock });
    assert.deepEqual(members.ids, sim.membershipIds());
    assert.equal(members.ids.length, 449);
    const first = members.records[0];
    assert.equal(first.context?.entity, 'membership');
    assert.equal((first.raw as { groupId: string }).groupId, sim.groupId({ n: 0 }));
    assert.equal(members.markers.length, 1);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('between refreshes reads lastUpdated deltas: changed users as upserts, deprovisioned ones as deletes', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new OktaDirectorySimulator({ clock: clock.now, users: 30, groups: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await read(sim, 'users', { clock });
    clock.advance(10 * 60_000);
    const changed = sim.updateUser(3);
    clock.advance(1000);
    const gone = sim.deprovision(4);
    const [created] = sim.addUsers(1);
    clock.advance(5 * 60_000); // past the lag
    const delta = await read(sim, 'users', { clock, checkpoint: first.checkpoint });
    assert.deepEqual(delta.ids.sort(), [changed, gone, created].sort());
    const op = (id: string) => delta.records.find((e) => e.id === id)!.context;
    assert.deepEqual(op(gone), { op: 'delete', entity: 'user', snapshot: T0 });
    assert.equal(op(changed)?.op, 'upsert');
    assert.deepEqual(delta.markers, []);
    const filter = sim.requests
      .all()
      .filter((r) => r.query.get('filter'))
      .map((r) => r.query.get('filter')!);
    assert.ok(filter.length >= 1);
    assert.match(filter[0], /^lastUpdated gt "2026-12-01T1[12]:\d\d:\d\d\.\d{3}Z" and lastUpdated lt "/);
    assert.ok(filter[0] <= `lastUpdated gt "${T0}"`, 'the first delta starts no later than the refresh');

    const again = await read(sim, 'users', { clock, checkpoint: delta.checkpoint });
    assert.deepEqual(again.ids, [], 'nothing new');
  });

  it('a refresh stopped half-way resumes at the uncommitted page under the same snapshot', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new OktaDirectorySimulator({ clock: clock.now, users: 25, groups: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await read(sim, 'group-members', { clock, stopAfter: 2 });
    assert.equal(part.checkpoint?.phase, 'refresh');
    assert.deepEqual(part.markers, []);
    clock.advance(60_000);
    const rest = await read(sim, 'group-members', { clock, checkpoint: part.checkpoint });
    assert.deepEqual([...part.ids, ...rest.ids], sim.membershipIds());
    assert.equal(rest.markers[0].context?.snapshot, T0);
    assert.equal((rest.markers[0].raw as { records: number }).records, 25);
  });

  it('a due refresh reads everything again; a deleted group is simply absent before the marker', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new OktaDirectorySimulator({ clock: clock.now, users: 10, groups: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await read(sim, 'groups', { clock, settings: { refreshEvery: '6h' } });
    const deleted = sim.deleteGroup(1);
    clock.advance(6 * 3_600_000);
    const next = await read(sim, 'groups', {
      clock,
      checkpoint: first.checkpoint,
      settings: { refreshEvery: '6h' },
    });
    assert.deepEqual(next.ids, sim.groupIds());
    assert.ok(!next.ids.includes(deleted));
    assert.notEqual(next.markers[0].context?.snapshot, T0);
  });

  it('names the error and the action, and never the token', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new OktaDirectorySimulator({ clock: clock.now });
    await sim.start();
    t.after(() => sim.stop());
    const account = { url: sim.url, token: sim.token };
    assert.deepEqual(await testConnection(source, okta, account, { baseUrl: sim.url }), { ok: true });
    sim.permissions.groups = false;
    const denied = await testConnection(source, okta, account, { baseUrl: sim.url }, ['users', 'groups']);
    assert.ok(!denied.ok);
    assert.equal(denied.error.code, 'okta_missing_permission');
    assert.match(denied.error.action, /okta\.groups\.read/);
    const only = await testConnection(source, okta, account, { baseUrl: sim.url }, ['users']);
    assert.deepEqual(only, { ok: true }, 'users alone do not need groups');
    const wrong = await testConnection(
      source,
      okta,
      { url: sim.url, token: 'wrong-token-1234' },
      { baseUrl: sim.url },
    );
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.code, 'okta_invalid_token');
    assert.equal(wrong.error.type, 'config');
    assert.ok(!JSON.stringify(wrong.error).includes('wrong-token-1234'));
    assert.deepEqual(sim.writeCalls(), []);
  });
});
