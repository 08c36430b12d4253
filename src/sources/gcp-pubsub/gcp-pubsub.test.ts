import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { consumerStores, until } from '../../../test/support/consumer.ts';
import { duplicates, sorted } from '../../../test/support/ids.ts';
import { MemoryDestination } from '../../../test/support/memory-destination.ts';
import { type GoogleAccount, google } from '../../accounts/google.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Destination } from '../../core/destination.ts';
import type { AckSource } from '../../core/stream-source.ts';
import { Http } from '../../engine/http.ts';
import { silentLogger } from '../../engine/log.ts';
import { consumeStream } from '../../engine/stream-consumer.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import type { SqliteStore } from '../../store/sqlite/sqlite-store.ts';
import pubsub, { messageEvent, type PubSubSettings, pubsubSource } from './index.ts';
import { PubSubSimulator } from './simulator.ts';

const store = consumerStores('tributary-pubsub', { id: 'c-ps', name: 'ps', source: 'gcp-pubsub' });

async function rig(o: ConstructorParameters<typeof PubSubSimulator>[0] = {}) {
  const sim = new PubSubSimulator(o);
  await sim.start();
  after(() => sim.stop());
  const account: GoogleAccount = { serviceAccountKey: sim.tokens.keyJson(), tokenUrl: sim.tokens.tokenUrl };
  const checked = validateSettings('gcp-pubsub', { subscription: sim.subscription, baseUrl: sim.url });
  assert.ok(checked.ok, checked.ok ? '' : checked.issues.join('; '));
  const settings = checked.settings as unknown as PubSubSettings;
  const http: Http = new Http({
    vendor: 'Google Cloud Pub/Sub',
    authorize: (headers, refresh, url) => google.authorize(account, headers, { refresh, http, url }),
    explain: pubsub.explain,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  return {
    sim,
    account,
    settings,
    http,
    source: (over: Partial<AckSource> = {}) => ({ ...pubsubSource(http, settings, account), ...over }),
  };
}

function consume(s: SqliteStore, source: AckSource, destinations: Destination[], maxRecords = 10) {
  const stop = new AbortController();
  const kill = new AbortController();
  const done = consumeStream({
    target: { id: 'c-ps', name: 'ps', source: 'gcp-pubsub', stream: 'messages', destinations },
    source,
    store: s,
    owner: 'w1',
    log: silentLogger,
    stop: stop.signal,
    signal: kill.signal,
    idleMs: 10,
    errorBackoffMs: 10,
    maxRecords,
    destinationBackoff: { baseMs: 1, maxMs: 5 },
  });
  return { stop: () => stop.abort(), kill: () => kill.abort(), done };
}

describe('gcp-pubsub source', () => {
  it('validates the subscription name and declares its vendor writes', () => {
    const bad = validateSettings('gcp-pubsub', { subscription: 'tributary-sub', ackDeadlineSeconds: 900 });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.ok(bad.issues.some((i) => i.startsWith('subscription: expected a subscription name')));
      assert.ok(bad.issues.some((i) => i.startsWith('ackDeadlineSeconds:')));
    }
    assert.equal(pubsub.family, 'queue');
    assert.equal(pubsub.vendorWrites?.length, 3);
    assert.ok(pubsub.streams.messages.consume, 'a long-running stream');
  });

  it('decodes data: a log entry stays JSON (its timestamp the time), text stays text, binary stays base64', () => {
    const entry = {
      insertId: 'abc',
      timestamp: '2026-11-25T10:00:00.123456Z',
      protoPayload: { methodName: 'X' },
    };
    const msg = (data: Buffer) => ({
      ackId: 'a1',
      message: {
        data: data.toString('base64'),
        attributes: { 'logging.googleapis.com/timestamp': entry.timestamp },
        messageId: '42',
        publishTime: '2026-11-25T10:00:01.5Z',
      },
    });
    const json = messageEvent(msg(Buffer.from(JSON.stringify(entry))))!;
    assert.deepEqual(json.raw, {
      messageId: '42',
      publishTime: '2026-11-25T10:00:01.5Z',
      attributes: { 'logging.googleapis.com/timestamp': entry.timestamp },
      data: entry,
    });
    assert.equal(json.id, '42');
    assert.equal(json.time, entry.timestamp);
    const text = messageEvent(msg(Buffer.from('plain text line')))!;
    assert.equal((text.raw as { data: string }).data, 'plain text line');
    assert.equal(text.time, '2026-11-25T10:00:01.5Z', 'publishTime when the payload has no timestamp');
    const bin = messageEvent(msg(Buffer.from([0xff, 0x00, 0xfe])))!;
    assert.deepEqual(
      [(bin.raw as { data: string }).data, (bin.raw as { dataEncoding: string }).dataEncoding],
      ['/wD+', 'base64'],
    );
    assert.equal(messageEvent({ message: { messageId: '1' } }), undefined, 'no ackId');
  });

  it('consumes every message once, acknowledging each batch only after its delivery', async () => {
    const s = await store();
    const clock = new ManualClock();
    const { sim, source } = await rig({ clock: clock.now });
    const ids = sim.publishLogEntries(35);
    const dest = new MemoryDestination();
    const early: string[] = [];
    const watched: AckSource = source();
    const ack = watched.ack;
    watched.ack = async (ackIds, o) => {
      for (const a of ackIds) if (!dest.ids().includes(a.split('-')[0])) early.push(a);
      return ack(ackIds, o);
    };
    const c = consume(s, watched, [dest]);
    await until('the subscription drained', () => sim.pending() === 0);
    c.stop();
    assert.equal((await c.done).status, 'succeeded');
    assert.deepEqual(sorted(dest.ids()), sorted(ids));
    assert.deepEqual(duplicates(dest.ids()), []);
    assert.deepEqual(early, [], 'nothing acknowledged before its delivery');
    assert.equal(sim.acks.length, 4, 'one acknowledge per batch of 10');
    const e = dest.events[0];
    assert.equal(e.source, 'gcp-pubsub');
    assert.equal((e.raw as { data: { logName: string } }).data.logName.endsWith('%2Factivity'), true);
    const paths = new Set(sim.writeCalls().map((r) => r.path.split(':').pop()));
    assert.deepEqual(
      [...paths].sort(),
      ['acknowledge', 'modifyAckDeadline', 'pull'],
      'only the declared writes',
    );
    // Each batch's lease was extended before its acknowledge (the extension is awaited before it).
    const acked = new Set(sim.acks.flat());
    assert.ok(
      [...acked].every((a) => sim.modifies.some((m) => m.ackIds.includes(a))),
      'every batch extended while held',
    );
  });

  it('kill -9 during delivery: nothing acknowledged; the messages come back after their ack deadline, same ids', async () => {
    const s = await store();
    const clock = new ManualClock();
    // The subscription's deadline (30 s) is shorter than the collector's lease (60 s, the setting's default).
    const { sim, source } = await rig({ clock: clock.now, ackDeadlineSeconds: 30 });
    const ids = sim.publishLogEntries(25);
    const dest = new MemoryDestination();
    let c: ReturnType<typeof consume>;
    let sends = 0;
    const dying: Destination = {
      name: 'dying',
      kind: 'memory',
      send: async (events) => {
        await dest.send(events);
        if (++sends === 2) {
          // Once this batch's lease was extended (the extension runs beside the delivery), the process dies:
          // written, but not acknowledged.
          try {
            await until('the second batch leased', () => sim.modifies.length === 2);
          } finally {
            c.kill();
          }
          throw new Error('process killed');
        }
      },
      close: async () => {},
    };
    c = consume(s, source(), [dying]);
    assert.equal((await c.done).status, 'cancelled');
    assert.equal(sim.pending(), 15, 'the batch in flight (10 messages) was not acknowledged');
    const acked = sim.acks.flat();
    assert.equal(acked.length, 10, 'only the first, delivered batch');
    const first = sim.modifies.find((m) => m.ackIds.includes(acked[0]));
    assert.deepEqual(
      [first?.seconds, first?.at, first?.ackIds.length],
      [60, clock.now(), 10],
      'the delivered batch was leased for 60 s as soon as it was pulled',
    );
    // The lease the killed process left on its batch, as Pub/Sub holds it: 60 s from its extension, past
    // the subscription's own 30 s.
    const inFlight = ids.slice(10, 20);
    const leaseEnd = sim.leaseEnd(inFlight);
    assert.equal(leaseEnd, clock.now() + 60_000);
    // Before the deadline the killed consumer's messages stay leased: a restart gets the rest only.
    const next = consume(s, source(), [dying]);
    await until('the unleased messages', () => sim.pending() === 10);
    clock.advance(leaseEnd - 1 - clock.now());
    const pulls = () => sim.requests().filter((r) => r.path.endsWith(':pull')).length;
    const seen = pulls();
    await until('two more pulls just before the deadline', () => pulls() >= seen + 2);
    assert.deepEqual(
      inFlight.map((id) => sim.deliveries().get(id)),
      inFlight.map(() => 1),
      'not redelivered before its deadline',
    );
    clock.advance(2); // the ack deadline passes: Pub/Sub redelivers
    await until('the subscription drained', () => sim.pending() === 0);
    next.stop();
    await next.done;
    assert.deepEqual(sorted([...new Set(dest.ids())]), sorted(ids));
    assert.deepEqual(sorted(duplicates(dest.ids())), sorted(inFlight), 'only the batch in flight');
    assert.equal(Math.max(...sim.deliveries().values()), 2);
  });

  /**
   * Five messages delivered to a destination that holds each batch until the simulator saw `extensions`
   * modifyAckDeadline requests; the requests seen.
   */
  async function heldUntilExtended(extensions: number, over: Partial<AckSource> = {}) {
    const s = await store();
    const { sim, source } = await rig({ ackDeadlineSeconds: 10 });
    const ids = sim.publishLogEntries(5);
    const dest = new MemoryDestination();
    const slow: Destination = {
      name: 'slow',
      kind: 'memory',
      send: async (events) => {
        await until(`${extensions} lease extensions`, () => sim.modifies.length >= extensions, 10_000);
        await dest.send(events);
      },
      close: async () => {},
    };
    const c = consume(s, source(over), [slow]);
    await until('the subscription drained', () => sim.pending() === 0);
    c.stop();
    await c.done;
    assert.deepEqual(sorted(dest.ids()), sorted(ids));
    assert.deepEqual(duplicates(dest.ids()), [], 'no redelivery while leased');
    return sim.modifies.map((m) => [m.seconds, m.ackIds.length]);
  }

  it('extends the ack deadline (modifyAckDeadline) as soon as a batch is held, before its delivery ends', async () => {
    // A 60 s lease is renewed every 30 s: only the extension at once can arrive within the 10 s wait.
    assert.deepEqual(await heldUntilExtended(1), [[60, 5]]);
  });

  it('renews the lease every half ackDeadlineSeconds while a slow destination holds the batch', async () => {
    // A 2 s lease is renewed every second (the engine's floor), so the test waits about one second.
    const seen = await heldUntilExtended(2, { extendSeconds: 2 });
    assert.deepEqual(seen.slice(0, 2), [
      [2, 5],
      [2, 5],
    ]);
  });

  it('renews a refused token while consuming, and waits out RESOURCE_EXHAUSTED', async () => {
    const s = await store();
    const { sim, source } = await rig();
    const first = sim.publishLogEntries(10);
    const dest = new MemoryDestination();
    const c = consume(s, source(), [dest]);
    await until('the first messages', () => sim.pending() === 0);
    const issued = sim.tokens.tokenRequestCount;
    sim.tokens.expireTokens();
    sim.inject({ kind: 'rate-limit', path: /:pull$/, retryAfter: 0 });
    const second = sim.publishLogEntries(5);
    await until('the later messages', () => sim.pending() === 0);
    c.stop();
    await c.done;
    assert.deepEqual(sorted(dest.ids()), sorted([...first, ...second]));
    assert.ok(sim.tokens.tokenRequestCount > issued, 'a new token after the 401');
  });

  it('Test Connection checks the permission without pulling; errors name the role or the subscription', async () => {
    const { sim, account, settings } = await rig();
    sim.publishLogEntries(3);
    const ok = await testConnection(pubsub, google, account, {
      subscription: sim.subscription,
      baseUrl: sim.url,
    });
    assert.deepEqual(ok, { ok: true });
    assert.equal(sim.pending(), 3);
    assert.equal(sim.requests().filter((r) => r.path.endsWith(':pull')).length, 0, 'no message leased');

    sim.roles.clear();
    sim.roles.add('roles/pubsub.viewer');
    const denied = await testConnection(pubsub, google, account, {
      subscription: sim.subscription,
      baseUrl: sim.url,
    });
    assert.equal(denied.ok, false);
    if (!denied.ok) {
      assert.equal(denied.error.code, 'pubsub_permission_denied');
      assert.match(denied.error.action, /roles\/pubsub\.subscriber/);
      assert.doesNotMatch(JSON.stringify(denied.error), /PRIVATE KEY|Bearer /);
    }
    const missing = await testConnection(pubsub, google, account, {
      subscription: `${settings.subscription}-old`,
      baseUrl: sim.url,
    });
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.equal(missing.error.code, 'pubsub_subscription_not_found');
  });
});
