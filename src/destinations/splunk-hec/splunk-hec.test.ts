import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { destinationCatalog, destinationConfigSchema } from '../index.ts';
import { splunkHecConfigSchema } from './index.ts';
import { SplunkHecSimulator } from './simulator.ts';
import { channelFor, SplunkHecDestination } from './splunk-hec-destination.ts';

const sim = new SplunkHecSimulator({ indexes: ['main', 'security'] });
before(() => sim.start());
after(() => sim.stop());
beforeEach(() => {
  sim.server.clearFaults();
  sim.events.length = 0;
  sim.ids.length = 0;
  sim.received.length = 0;
  sim.ack = false;
  sim.ackAfterPolls = 0;
  sim.loseAcks = false;
  sim.invalid = () => false;
  sim.disabled = false;
});

const signal = new AbortController().signal;
const envs = (n: number, from = 0): Envelope[] =>
  Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 'okta', stream: 'system-log', collector: 'okta-prod', sitename: 'hq' },
      { i: i + from, note: 'ünïcödé' },
      `id${i + from}`,
      `2026-11-25T10:00:0${(i + from) % 10}.250Z`,
      '2026-11-25T10:01:00.000Z',
    ),
  );

function dest(o: Record<string, unknown> = {}, waits?: number[]) {
  const config = splunkHecConfigSchema.parse({
    kind: 'splunk-hec',
    url: sim.url,
    token: sim.token,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    ackPollMs: 10,
    ackTimeoutMs: 1000,
    ...o,
  });
  const d = new SplunkHecDestination('splunk', config);
  if (waits)
    (d as unknown as { delivery: { o: { sleep: unknown } } }).delivery.o.sleep = async (ms: number) =>
      void waits.push(ms);
  return d;
}
const isError = (type: string, code: string) => (e: unknown) =>
  e instanceof TributaryError && e.type === type && e.code === code;

describe('splunk-hec destination', () => {
  it('sends JSON events with time, host and source from the envelope, gzipped, with its token and a stable channel', async () => {
    const batch = envs(3);
    const r = await dest().send(batch, signal);
    assert.equal(r, undefined, 'nothing refused');
    assert.deepEqual(sim.ids, ['id0', 'id1', 'id2']);
    const [e0] = sim.events;
    assert.equal(e0!.time, Date.parse('2026-11-25T10:00:00.250Z') / 1000);
    assert.equal(e0!.host, 'okta-prod', 'host: the collector');
    assert.equal(e0!.source, 'okta:system-log', 'source: source and stream');
    assert.equal(e0!.sourcetype, '_json');
    assert.equal(e0!.index, 'main', "the token's default index");
    assert.deepEqual(e0!.event, JSON.parse(JSON.stringify(batch[0])), 'the whole envelope is the event');
    const req = sim.server.requests.matching('/services/collector/event', 'POST').at(-1)!;
    assert.equal(req.headers['content-encoding'], 'gzip');
    assert.equal(req.headers.authorization, `Splunk ${sim.token}`);
    assert.equal(req.headers['x-splunk-request-channel'], channelFor('splunk'));
    assert.match(
      channelFor('splunk'),
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(channelFor('splunk'), channelFor('splunk'), 'the same channel after a restart');
    assert.notEqual(channelFor('splunk'), channelFor('other'));
  });

  it('sets index, source type, source and host when configured, and accepts a full collector URL', async () => {
    await dest({
      url: `${sim.url}/services/collector/event`,
      index: 'security',
      sourcetype: 'okta:im2',
      source: 'tributary',
      host: 'collector-1',
      gzip: false,
    }).send(envs(1), signal);
    const [e] = sim.events;
    assert.deepEqual(
      [e!.index, e!.sourcetype, e!.source, e!.host],
      ['security', 'okta:im2', 'tributary', 'collector-1'],
    );
    assert.equal(
      sim.server.requests.matching('/services/collector/event').at(-1)!.headers['content-encoding'],
      undefined,
    );
  });

  it('sends raw lines to /raw with the metadata in the query string', async () => {
    const batch = envs(2);
    await dest({ endpoint: 'raw', index: 'security' }).send(batch, signal);
    const req = sim.server.requests.matching('/services/collector/raw').at(-1)!;
    assert.equal(req.query.get('index'), 'security');
    assert.equal(req.query.get('sourcetype'), '_json');
    assert.equal(req.query.get('source'), 'okta:system-log');
    assert.equal(req.query.get('host'), 'okta-prod');
    assert.equal(req.query.get('channel'), channelFor('splunk'));
    assert.deepEqual(
      sim.events.map((e) => e.event),
      JSON.parse(JSON.stringify(batch)),
    );
  });

  it('splits batches by events and bytes; every event arrives once', async () => {
    await dest({ maxBatchEvents: 4 }).send(envs(10), signal);
    assert.equal(sim.server.requests.matching('/services/collector/event').length >= 3, true);
    assert.deepEqual(
      [...sim.ids].sort(),
      envs(10)
        .map((e) => e.id)
        .sort(),
    );
  });

  it('retries 503 "Server is busy" with backoff, or after its Retry-After', async () => {
    const waits: number[] = [];
    sim.busy(2);
    await dest({ backoffBaseMs: 100, backoffMaxMs: 100 }, waits).send(envs(2), signal);
    assert.equal(waits.length, 2);
    for (const w of waits) assert.ok(w >= 0 && w <= 100, `backoff ${w}`);
    assert.deepEqual(sim.ids, ['id0', 'id1']);

    const after: number[] = [];
    sim.busy(1, 2);
    await dest({}, after).send(envs(1, 5), signal);
    assert.deepEqual(after, [2000], 'Retry-After: 2 is waited, not the backoff');
  });

  it('reports a lasting 503 as transient after maxAttempts', async () => {
    sim.busy(10);
    await assert.rejects(dest({ maxAttempts: 3 }).send(envs(1), signal), (e: TributaryError) => {
      assert.ok(isError('transient', 'destination_unavailable')(e));
      assert.match(e.message, /Server is busy \(code 9\)/);
      return true;
    });
    sim.server.clearFaults();
  });

  it('dead-letters the event Splunk names as invalid and delivers the rest of the batch', async () => {
    sim.invalid = (event) =>
      (event as { id?: string }).id === 'id2' || (event as { id?: string }).id === 'id4';
    const batch = envs(6);
    const r = await dest().send(batch, signal);
    assert.deepEqual(
      r?.rejected?.map((x) => x.event.id),
      ['id2', 'id4'],
      'each invalid event, as Splunk named it',
    );
    assert.match(r!.rejected![0]!.reason, /^Splunk HEC Invalid data format \(code 6\)$/);
    const delivered = new Set(sim.ids);
    for (const id of ['id0', 'id1', 'id3', 'id5']) assert.ok(delivered.has(id), id);
    assert.ok(!delivered.has('id2') && !delivered.has('id4'));
  });

  it('refuses a wrong or disabled token as a config error without showing it', async () => {
    for (const [token, code] of [
      ['not-the-token', /Invalid token \(code 4\)/],
      [sim.token, /Token disabled \(code 1\)/],
    ] as const) {
      sim.disabled = token === sim.token;
      await assert.rejects(dest({ token }).send(envs(1), signal), (e: TributaryError) => {
        assert.ok(isError('config', 'destination_rejected')(e));
        assert.equal(e.status, 403);
        assert.match(e.message, code);
        assert.match(e.action, /HEC token/);
        assert.doesNotMatch(JSON.stringify({ ...e.toJSON(), stack: e.stack }), new RegExp(sim.token));
        return true;
      });
    }
    sim.disabled = false;
    await assert.rejects(dest({ token: 'x' }).test(signal), (e: TributaryError) => e.status === 403);
    // A token HEC cannot read as one (here: with a space) is 401 "Invalid authorization".
    await assert.rejects(dest({ token: 'two words' }).send(envs(1), signal), (e: TributaryError) => {
      assert.equal(e.status, 401);
      assert.match(e.message, /Invalid authorization \(code 3\)/);
      return true;
    });
    const bare = await fetch(`${sim.url}/services/collector/event`, {
      method: 'POST',
      body: '{"event":"x"}',
    });
    assert.deepEqual(
      [bare.status, ((await bare.json()) as { code: number }).code],
      [401, 2],
      'Token is required',
    );
  });

  it('an index the token may not write is a config error naming the fix', async () => {
    await assert.rejects(dest({ index: 'finance' }).send(envs(2), signal), (e: TributaryError) => {
      assert.ok(isError('config', 'destination_rejected')(e));
      assert.match(e.message, /Incorrect index \(code 7\)/);
      assert.match(e.action, /allowed indexes/);
      return true;
    });
  });

  it('with indexer acknowledgement, resolves only once every ackId turned true', async () => {
    sim.ack = true;
    sim.ackAfterPolls = 3;
    const queries = sim.ackQueries;
    await dest({ ack: true, maxBatchEvents: 2 }).send(envs(5), signal);
    assert.deepEqual([...sim.ids].sort(), ['id0', 'id1', 'id2', 'id3', 'id4']);
    assert.equal(sim.pendingAcks(), 0);
    assert.ok(sim.ackQueries - queries >= 4, 'polled until the late acks turned true');
  });

  it('an acknowledgement that never comes fails as transient; the batch sent again carries the same ids', async () => {
    sim.ack = true;
    sim.loseAcks = true;
    const d = dest({ ack: true });
    await assert.rejects(d.send(envs(3), signal), (e: TributaryError) => {
      assert.ok(isError('transient', 'splunk_ack_timeout')(e));
      assert.match(e.action, /same event ids/);
      return true;
    });
    assert.deepEqual(sim.ids, [], 'received but never indexed');
    sim.loseAcks = false;
    await d.send(envs(3), signal);
    assert.deepEqual(sim.ids, ['id0', 'id1', 'id2']);
    assert.deepEqual(sim.received, ['id0', 'id1', 'id2', 'id0', 'id1', 'id2'], 'the resend repeats the ids');
  });

  it('ack on a token without acknowledgement is a config error, in send and in test', async () => {
    sim.ack = false;
    await assert.rejects(dest({ ack: true }).send(envs(1), signal), isError('config', 'splunk_ack_disabled'));
    await assert.rejects(dest({ ack: true }).test(signal), (e: TributaryError) => {
      assert.match(e.message, /ACK is disabled \(code 14\)/);
      assert.match(e.action, /indexer acknowledgement/);
      return true;
    });
  });

  it('test() proves the token: "No data" passes, and writes nothing', async () => {
    await dest().test(signal);
    sim.ack = true;
    await dest({ ack: true }).test(signal);
    assert.deepEqual(sim.ids, []);
  });

  it('is listed with its settings, the token write-only and the URL deciding where it goes', () => {
    const k = destinationCatalog().find((c) => c.kind === 'splunk-hec')!;
    assert.deepEqual(k.secrets, ['token']);
    const props = (k.settings as { properties: Record<string, { title?: string; description?: string }> })
      .properties;
    for (const [key, p] of Object.entries(props))
      if (key !== 'kind') assert.ok(p.title && p.description, `${key} has a title and a description`);
    const bad = destinationConfigSchema.safeParse({
      kind: 'splunk-hec',
      url: 'http://splunk.example.com:8088',
      token: 't',
    });
    assert.equal(bad.success, false);
    const badChannel = destinationConfigSchema.safeParse({
      kind: 'splunk-hec',
      url: sim.url,
      token: 't',
      channel: 'x',
    });
    assert.equal(badChannel.success, false);
  });
});
