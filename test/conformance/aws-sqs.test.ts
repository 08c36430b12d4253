import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import type { Destination } from '../../src/core/destination.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import sqs, { queueRegion } from '../../src/sources/aws-sqs/index.ts';
import { sources } from '../../src/sources/index.ts';
import { type AwsRig, awsRigs } from '../support/aws-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `aws-sqs` (raw queue messages on the queue-message reader, engine/queue-messages.ts: its
 * own suite, not the pull-source harness) against the SQS simulator over HTTP that verifies every
 * request's SigV4 (src/sim/aws-object-http.ts), with the real runner, HTTP client, `aws` account and
 * store: the exact message set with attributes, the ReceiveMessage parameters, deletes only after the
 * commit (DeleteMessageBatch), a crash at every batch boundary and between delivery and the delete, a
 * redelivery repeating nothing, visibility extended while a batch waits for delivery, throttling waited
 * out, Test Connection, and no write call but the declared ones.
 */

const awsRig = awsRigs('tributary-sqs');
const ACCOUNT = '111122223333';
async function rig(o: { visibilityMs?: number } = {}): Promise<AwsRig> {
  return awsRig({
    source: sqs,
    name: 'sqs',
    stream: 'messages',
    sim: { visibilityTimeoutMs: o.visibilityMs ?? 30_000 },
    http: { region: 'eu-west-1', accountId: ACCOUNT, queueName: 'app-events' },
    settings: (http) => ({ queueUrl: http.queueUrl, region: 'eu-west-1' }),
  });
}

/** n messages, sent a second apart, with message attributes; returns their ids. */
function fill(r: AwsRig, n = 25): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      r.sim.send(JSON.stringify({ order: i, status: 'shipped' }), {
        messageAttributes: {
          tenant: { DataType: 'String', StringValue: `t${i % 3}` },
          priority: { DataType: 'Number', StringValue: String(i % 5) },
        },
      }),
    );
    r.clock.advance(1000);
  }
  return ids;
}

async function eventually<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setImmediate(ok));
  }
}

describe('conformance: aws-sqs (SQS over HTTP, SigV4 verified)', () => {
  it('is registered as a queue source with its declared writes', () => {
    assert.equal(sources['aws-sqs'], sqs);
    assert.equal(sqs.family, 'queue');
    assert.equal(sqs.stability, 'early-access');
    assert.equal(sqs.vendorWrites?.length, 3);
  });

  it('drains the queue: every message once with its attributes, deleted in batches after delivery', async () => {
    const r = await rig();
    const ids = fill(r);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(ids));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0, 'every message deleted');
    const e = r.dest.events.find((x) => x.id === ids[4])!;
    const raw = JSON.parse(JSON.stringify(e.raw));
    assert.equal(raw.MessageId, ids[4]);
    assert.equal(raw.Body, '{"order":4,"status":"shipped"}', 'the body as sent');
    assert.deepEqual(raw.MessageAttributes.tenant, { DataType: 'String', StringValue: 't1' });
    assert.equal(raw.Attributes.SentTimestamp, String(Date.parse('2026-11-25T12:00:04.000Z')));
    assert.equal(raw.ReceiptHandle, undefined, 'the receipt handle is not kept');
    assert.equal(e.time, '2026-11-25T12:00:04.000Z', 'time = SentTimestamp');
    const receives = r.http.sqsInputs.filter((x) => x.action === 'ReceiveMessage');
    assert.equal(receives.length, 4, '10 + 10 + 5, then empty: caught up');
    for (const { input } of receives) {
      assert.equal(input.MaxNumberOfMessages, 10);
      assert.equal(input.WaitTimeSeconds, 1);
      assert.deepEqual(input.MessageAttributeNames, ['All']);
      assert.deepEqual(input.MessageSystemAttributeNames, ['All']);
    }
    assert.equal(r.http.stats.requests['sqs:DeleteMessageBatch'], 3);
    assert.equal(r.http.stats.requests['sqs:DeleteMessage'], undefined);
    assert.equal(r.http.stats.writes, 0, 'no undeclared write');
    assert.equal(r.http.stats.refused, 0, 'every request correctly signed');
  });

  it('nothing is deleted before its batch is committed: a run cancelled during delivery leaves every message queued', async () => {
    const r = await rig();
    fill(r, 12);
    const down: Destination = {
      name: 'down',
      kind: 'memory',
      send: async () => {
        throw Object.assign(new Error('destination refused'), { permanent: true });
      },
      close: async () => {},
    };
    const crash = new AbortController();
    const failing: Destination = {
      ...down,
      send: async (ev, s) => {
        crash.abort();
        return down.send(ev, s);
      },
    };
    const res = await r.run({ signal: crash.signal }, [failing]);
    assert.notEqual(res.status, 'succeeded');
    assert.equal(r.http.stats.requests['sqs:DeleteMessageBatch'], undefined, 'no delete');
    assert.equal(r.sim.pending(), 12);
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    for (let k = 1; k <= 3; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        const ids = fill(r);
        const crash = new AbortController();
        let inFlight: string[] = [];
        const dest = new MemoryDestination();
        const crashing: Destination = {
          name: 'crashing',
          kind: 'memory',
          send: async (events) => {
            if (!crash.signal.aborted && dest.batches.length + 1 === k) {
              if (written) await dest.send(events);
              inFlight = events.map((e) => e.id);
              crash.abort();
              throw new Error('process killed');
            }
            return dest.send(events);
          },
          close: async () => {},
        };
        const first = await r.run({ signal: crash.signal }, [crashing]);
        assert.equal(first.status, 'cancelled');
        // A receive the killed run had in flight acts at the time of the kill, not after the clock moved
        // (else it would hide the messages from the restart for one more timeout); then the killed
        // process's messages reappear after the visibility timeout, and one run takes them all.
        await r.http.settled();
        r.clock.advance(30_001);
        const next = await r.run({}, [crashing]);
        assert.equal(next.status, 'succeeded', JSON.stringify(next.error));
        const got = dest.ids();
        assert.deepEqual(sorted([...new Set(got)]), sorted(ids), `crash at batch ${k}: no loss`);
        if (!written) assert.deepEqual(duplicates(got), [], `crash at batch ${k} before the write`);
        else for (const d of duplicates(got)) assert.ok(inFlight.includes(d), `duplicate ${d} in flight`);
        assert.equal(r.sim.pending(), 0, `crash at batch ${k}: every message deleted in the end`);
      }
    }
  });

  it('a crash between delivery and the delete: the messages come back, repeat nothing and are deleted', async () => {
    const r = await rig();
    const ids = fill(r);
    // the second batch's delete never reaches the queue: the process died after the commit
    let batch = 0;
    const del = r.sim.queue.delete;
    const lost = new Set<string>();
    r.sim.queue.delete = async (receipt, o) => {
      const id = receipt.split('/')[0];
      if (lost.has(id)) throw new Error('process killed before the delete');
      return del(receipt, o);
    };
    const orig = r.sim.queue.receive;
    r.sim.queue.receive = async (o) => {
      const got = await orig(o);
      if (got.length && ++batch === 2) for (const m of got) lost.add(m.id);
      return got;
    };
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(r.sim.pending(), 10, 'the batch whose delete was lost is still queued');
    lost.clear();
    r.clock.advance(30_001);
    const second = await r.run();
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.events, 0, 'nothing repeated');
    assert.deepEqual(sorted(r.dest.ids()), sorted(ids), 'nothing lost');
    assert.equal(r.sim.pending(), 0, 'deleted this time');
  });

  it('extends the visibility of a batch (ChangeMessageVisibilityBatch) while it waits for delivery', async () => {
    const r = await rig({ visibilityMs: 2000 }); // extended every second
    fill(r, 3);
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    const slow: Destination = {
      name: 'slow',
      kind: 'memory',
      send: async (events) => {
        await gate;
        return r.dest.send(events);
      },
      close: async () => {},
    };
    const run = r.run({}, [slow]);
    await eventually('a visibility extension', () => r.http.stats.requests['sqs:ChangeMessageVisibility']);
    const change = r.http.sqsInputs.find((x) => x.action === 'ChangeMessageVisibilityBatch')!;
    const entries = change.input.Entries as Array<{ VisibilityTimeout: number }>;
    assert.equal(entries.length, 3);
    assert.equal(entries[0].VisibilityTimeout, 2, 'extended by the queue’s visibility timeout');
    release();
    const res = await run;
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.sim.pending(), 0);
    assert.equal(r.dest.ids().length, 3);
  });

  it('throttling (400 ThrottlingException) is waited out; nothing lost or repeated', async () => {
    const r = await rig();
    const ids = fill(r);
    r.http.throttle(2);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(ids));
    assert.deepEqual(duplicates(r.dest.ids()), []);
  });

  it('Test Connection proves the credentials, the queue and sqs:GetQueueAttributes', async () => {
    const r = await rig();
    const account = (over = {}) => awsFields.parse(r.http.account(over));
    assert.deepEqual(await testConnection(sqs, aws, account(), r.settings, ['messages']), { ok: true });
    assert.equal(r.http.stats.requests['sts:GetCallerIdentity'], 1, 'the identity is proven first (STS)');
    const h = await rig();
    h.http.deny('sqs:GetQueueAttributes');
    const denied = await testConnection(sqs, aws, awsFields.parse(h.http.account()), h.settings, [
      'messages',
    ]);
    assert.equal(denied.ok, false);
    if (!denied.ok) {
      assert.equal(denied.error.code, 'aws_access_denied');
      assert.match(denied.error.action, /sqs:GetQueueAttributes/);
    }
    const wrong = await testConnection(sqs, aws, account({ secretAccessKey: 'not-the-secret' }), r.settings, [
      'messages',
    ]);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'aws_invalid_credentials');
      assert.match(wrong.error.message, /GetCallerIdentity \(SignatureDoesNotMatch\)/);
      assert.ok(!JSON.stringify(wrong.error).includes('not-the-secret'), 'no secret in the error');
    }
    const missing = await testConnection(
      sqs,
      aws,
      account(),
      { ...r.settings, queueUrl: `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/missing` },
      ['messages'],
    );
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.equal(missing.error.code, 'aws_queue_not_found');
  });

  it('settings: the region must be the one the queue URL names; long polling 1–20 s', () => {
    assert.equal(queueRegion('https://sqs.eu-west-1.amazonaws.com/111122223333/q'), 'eu-west-1');
    assert.equal(queueRegion('https://us-east-2.queue.amazonaws.com/111122223333/q'), 'us-east-2');
    assert.equal(queueRegion('https://vpce-1.sqs.example.internal/111122223333/q'), undefined);
    const bad = sqs.settings.safeParse({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/q',
      region: 'us-east-1',
    });
    assert.equal(bad.success, false);
    if (!bad.success) {
      assert.deepEqual(bad.error.issues[0].path, ['region']);
      assert.match(bad.error.issues[0].message, /eu-west-1/);
    }
    const short = sqs.settings.safeParse({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/q',
      region: 'eu-west-1',
      waitTimeSeconds: 0,
    });
    assert.equal(short.success, false);
  });
});
