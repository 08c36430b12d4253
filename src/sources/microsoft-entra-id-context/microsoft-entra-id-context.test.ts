import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type MicrosoftAccount, microsoft } from '../../accounts/microsoft.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import type { ContextCheckpoint } from '../../engine/context-snapshot.ts';
import type { DeltaCheckpoint } from '../../engine/delta-cursor.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import msSource from './index.ts';
import { EntraDirectorySimulator } from './simulator.ts';

const fast = { requests: 1000, windowMs: 1000 };

const accountOf = (sim: EntraDirectorySimulator): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
});

async function read(
  sim: EntraDirectorySimulator,
  stream: string,
  o: {
    clock?: ManualClock;
    checkpoint?: unknown;
    settings?: Record<string, unknown>;
    stopAfter?: number;
  } = {},
) {
  const account = accountOf(sim);
  const http: Http = new Http({
    vendor: msSource.title,
    backoffBaseMs: 1,
    explain: msSource.explain,
    authorize: (h, refresh, url) => microsoft.authorize(account, h, { refresh, http, url }),
  });
  const warnings: TributaryError[] = [];
  const batches: Batch<ContextCheckpoint>[] = [];
  const ctx = readContext(http, {
    stream,
    settings: { baseUrl: sim.url, ...o.settings },
    account,
    checkpoint: o.checkpoint,
    now: o.clock?.now ?? Date.now,
    warn: (w) => warnings.push(w),
  });
  for await (const b of msSource.streams[stream].read(ctx)) {
    batches.push(b as Batch<ContextCheckpoint>);
    if (o.stopAfter && batches.length >= o.stopAfter) break;
  }
  const all = batches.flatMap((b) => b.events);
  const events = all.filter((e) => e.context?.op !== 'end');
  return {
    events,
    ids: events.map((e) => e.id!),
    markers: all.filter((e) => e.context?.op === 'end'),
    checkpoint: batches.at(-1)?.checkpoint,
    /** The Graph reader's own position inside the context checkpoint. */
    inner: batches.at(-1)?.checkpoint.position as DeltaCheckpoint | undefined,
    warnings,
  };
}

describe('microsoft-entra-id-context', () => {
  it('reads a full snapshot first, then only changes; deletions come as @removed under the entity id', async (t) => {
    const sim = new EntraDirectorySimulator({ users: 23, groups: 4, pageSize: 10, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const snapshot = await read(sim, 'users');
    assert.deepEqual(snapshot.ids, sim.eventIds(['users']));
    assert.equal(snapshot.checkpoint?.phase, 'delta', 'the refresh is complete');
    assert.ok(new URL(snapshot.inner!.next.url).searchParams.has('$deltatoken'));
    const id = snapshot.checkpoint!.snapshot;
    assert.deepEqual(snapshot.events[0].context, { op: 'upsert', entity: 'user', snapshot: id });
    assert.equal(snapshot.markers.length, 1, 'one end-of-snapshot marker');
    assert.deepEqual(snapshot.markers[0].context, { op: 'end', entity: 'user', snapshot: id });
    assert.equal((snapshot.markers[0].raw as { records: number }).records, 23);
    assert.equal(sim.requests().filter((r) => r.path === '/v1.0/users/delta').length, 3, 'three pages');

    const nothing = await read(sim, 'users', { checkpoint: snapshot.checkpoint });
    assert.deepEqual(nothing.ids, []);

    const changed = sim.update('users', 3);
    const hard = sim.remove('users', 5);
    const soft = sim.remove('users', 6, { soft: true });
    const [created] = sim.add('users', 1);
    const delta = await read(sim, 'users', { checkpoint: nothing.checkpoint });
    assert.deepEqual(delta.ids, [changed, hard, soft, created]);
    const raw = (id: string) => delta.events.find((e) => e.id === id)!.raw as any;
    assert.deepEqual(raw(hard), { id: hard, '@removed': { reason: 'deleted' } });
    assert.deepEqual(raw(soft), { id: soft, '@removed': { reason: 'changed' } });
    const op = (i: string) => delta.events.find((e) => e.id === i)!.context;
    assert.deepEqual(
      op(hard),
      { op: 'delete', entity: 'user', snapshot: id },
      'a deletion, of the last snapshot',
    );
    assert.equal(op(soft)?.op, 'delete');
    assert.equal(op(changed)?.op, 'upsert');
    assert.deepEqual(delta.markers, [], 'deltas end no snapshot');
    assert.equal(raw(changed).id, changed);
    assert.ok(raw(changed).displayName);
    assert.equal(
      delta.events[0].time,
      undefined,
      'context records carry no change time: ingest time is used',
    );
    await sim.stop();
  });

  it('asks for the selected properties in the first request only; the links carry them', async (t) => {
    const sim = new EntraDirectorySimulator({ users: 3, groups: 2, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { groupProperties: ['displayName', 'mail'] };
    const first = await read(sim, 'groups', { settings });
    assert.deepEqual(Object.keys(first.events[0].raw as object).sort(), ['displayName', 'id', 'mail']);
    sim.update('groups', 1);
    const second = await read(sim, 'groups', { settings, checkpoint: first.checkpoint });
    assert.deepEqual(Object.keys(second.events[0].raw as object).sort(), ['displayName', 'id', 'mail']);
    const delta = sim.requests().filter((r) => r.path === '/v1.0/groups/delta');
    assert.equal(delta[0].query.get('$select'), 'displayName,mail');
    assert.equal(delta[1].query.get('$select'), null);
    await sim.stop();
  });

  it('resumes an interrupted snapshot at the page that was not committed', async (t) => {
    const sim = new EntraDirectorySimulator({ users: 25, groups: 0, pageSize: 10, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const part = await read(sim, 'users', { stopAfter: 2 }); // the refresh's id committed, then its first page
    assert.equal(part.checkpoint?.phase, 'refresh', 'not complete');
    assert.equal(part.inner?.phase, 'snapshot');
    assert.deepEqual(part.markers, []);
    const rest = await read(sim, 'users', { checkpoint: part.checkpoint });
    assert.deepEqual([...part.ids, ...rest.ids], sim.eventIds(['users']));
    assert.equal(rest.markers.length, 1, 'the resumed refresh ends with its marker');
    assert.equal(rest.markers[0].context?.snapshot, part.checkpoint?.snapshot, 'under the same snapshot id');
    assert.equal((rest.markers[0].raw as { records: number }).records, 25);
    await sim.stop();
  });

  it('starts a full snapshot again, with a warning, when the delta link expired (syncStateNotFound) or was reset (410)', async (t) => {
    const clock = new ManualClock('2026-11-25T12:00:00Z');
    const sim = new EntraDirectorySimulator({ clock: clock.now, users: 4, groups: 0, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { refreshEvery: '30d' }; // no refresh due: the deltas meet the expired link
    const first = await read(sim, 'users', { clock, settings });
    clock.advance(8 * 86_400_000); // Graph keeps directory delta links seven days
    const expired = await read(sim, 'users', { clock, settings, checkpoint: first.checkpoint });
    assert.deepEqual(expired.ids, sim.eventIds(['users']), 'the full snapshot again');
    assert.equal(expired.warnings.length, 1);
    assert.equal(expired.warnings[0].code, 'delta_link_expired');
    assert.equal(expired.warnings[0].type, 'gap');
    assert.match(expired.warnings[0].message, /sync state generation is not found/);
    assert.equal(expired.checkpoint?.phase, 'delta');

    sim.resetSync();
    const reset = await read(sim, 'users', { clock, settings, checkpoint: expired.checkpoint });
    assert.deepEqual(reset.ids, sim.eventIds(['users']));
    assert.equal(reset.warnings[0]?.code, 'delta_link_expired');
    assert.match(reset.warnings[0].message, /\(410\)/);
    await sim.stop();
  });

  it('reads the full state again once a refresh is due, under a new snapshot id', async (t) => {
    const clock = new ManualClock('2026-11-25T12:00:00Z');
    const sim = new EntraDirectorySimulator({ clock: clock.now, users: 5, groups: 0, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { refreshEvery: '24h' };
    const first = await read(sim, 'users', { clock, settings });
    clock.advance(3_600_000);
    const removed = sim.remove('users', 2);
    const delta = await read(sim, 'users', { clock, settings, checkpoint: first.checkpoint });
    assert.deepEqual(delta.ids, [removed]);
    clock.advance(86_400_000);
    const again = await read(sim, 'users', { clock, settings, checkpoint: delta.checkpoint });
    assert.deepEqual(again.ids, sim.eventIds(['users']), 'every current user, the deleted one not');
    assert.ok(!again.ids.includes(removed));
    assert.equal(again.markers.length, 1);
    assert.notEqual(again.checkpoint?.snapshot, first.checkpoint?.snapshot);
    assert.equal(again.markers[0].context?.snapshot, again.checkpoint?.snapshot);
    await sim.stop();
  });

  it('Test Connection passes, and names the missing permission per stream', async (t) => {
    const sim = new EntraDirectorySimulator({ rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    assert.deepEqual(await testConnection(msSource, microsoft, accountOf(sim), { baseUrl: sim.url }), {
      ok: true,
    });
    sim.permissions = new Set(['User.Read.All']);
    const r = await testConnection(msSource, microsoft, accountOf(sim), { baseUrl: sim.url }, [
      'users',
      'groups',
    ]);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'graph_permission_missing');
    assert.match(r.error.action, /GroupMember\.Read\.All/);
    assert.deepEqual(sim.writeCalls(), []);
    await sim.stop();
  });
});
