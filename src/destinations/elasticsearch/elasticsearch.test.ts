import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { createDestination, destinationCatalog, destinationConfigSchema } from '../index.ts';
import type { BulkDestination } from './bulk-destination.ts';
import { ElasticSimulator } from './simulator.ts';

const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
const es = new ElasticSimulator({ apiKey: API_KEY, pipelines: ['geoip'] });
const os = new ElasticSimulator({
  flavor: 'opensearch',
  basic: { username: 'tributary', password: 'pw-SECRET-1' },
});
before(async () => {
  await es.start();
  await os.start();
});
after(async () => {
  await es.stop();
  await os.stop();
});

const signal = new AbortController().signal;
let seq = 0;
/** Events with unique ids per call, so tests on the shared cluster do not collide. */
const envs = (
  n: number,
  raw: (i: number) => unknown = (i) => ({ i, actor: { id: `u${i}` } }),
): Envelope[] => {
  const base = seq;
  seq += n;
  return Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 'okta', stream: 'system-log', collector: 'okta-prod' },
      raw(i),
      `e${base + i}`,
      '2026-11-25T10:00:00.000Z',
      '2026-11-25T10:00:01.000Z',
    ),
  );
};

function dest(o: Record<string, unknown> = {}, kind: 'elasticsearch' | 'opensearch' = 'elasticsearch') {
  const config = destinationConfigSchema.parse({
    kind,
    url: kind === 'elasticsearch' ? es.url : os.url,
    auth:
      kind === 'elasticsearch'
        ? { type: 'apiKey', apiKey: API_KEY }
        : { type: 'basic', username: 'tributary', password: 'pw-SECRET-1' },
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    ...o,
  });
  return createDestination('search', config, { baseDir: '.', files: undefined as never }) as BulkDestination;
}
const isError = (type: string, code: string) => (e: unknown) =>
  e instanceof TributaryError && e.type === type && e.code === code;

describe('elasticsearch destination', () => {
  it('creates one document per event in a data stream: _id is the event id, @timestamp its time, gzipped', async () => {
    const batch = envs(3);
    assert.equal(await dest().send(batch, signal), undefined);
    const ds = 'logs-tributary-default';
    assert.ok(es.targets.get(ds)?.dataStream, 'the default name is a data stream (logs-*-*)');
    assert.deepEqual(
      batch.map((e) => es.doc(ds, e.id)),
      batch.map((e) => ({ '@timestamp': e.time, ...JSON.parse(JSON.stringify(e)) })),
    );
    const last = es.bulks.at(-1)!;
    assert.equal(last.gzip, true);
    const req = es.server.requests.matching('/_bulk', 'POST').at(-1)!;
    assert.equal(req.headers.authorization, `ApiKey ${API_KEY}`);
    assert.match(req.query.get('filter_path') ?? '', /items\.\*\.status/);
  });

  it('a re-delivered batch is a no-op: 409 "already there" acknowledges', async () => {
    const batch = envs(4);
    const d = dest();
    await d.send(batch, signal);
    const created = es.created.length;
    const conflicts = es.bulks.length;
    assert.equal(await d.send(batch, signal), undefined);
    assert.equal(es.created.length, created, 'nothing created twice');
    assert.equal(es.bulks.length, conflicts + 1, 'one request, no retry of conflicts');
  });

  it('mixed items: created and existing acknowledge, 429/503 go again alone, a mapping error is dead-lettered', async () => {
    const d = dest({ index: 'tributary-mixed' });
    const [seen] = envs(1, () => ({ n: 1 }));
    await d.send([seen!], signal); // raw.n is now a number
    const batch = [
      seen!, // already there: 409
      ...envs(5, (i) => (i === 2 ? { n: 'not a number' } : { n: i })),
    ];
    es.rejectItems(1, 429); // the first item of the next request
    es.rejectItems(1, 503);
    const bulksBefore = es.bulks.length;
    const r = await d.send(batch, signal);
    assert.deepEqual(
      r?.rejected?.map((x) => x.event.id),
      [batch[3]!.id],
    );
    assert.match(
      r!.rejected![0]!.reason,
      /^Elasticsearch 400 document_parsing_exception: .*failed to parse field \[raw\.n\] of type \[long\]/,
    );
    const rounds = es.bulks.slice(bulksBefore);
    assert.deepEqual(
      rounds.map((b) => b.items),
      [6, 2],
      'the second request carries only the two items refused with 429 and 503',
    );
    const stored = new Set(es.ids('tributary-mixed'));
    for (const e of batch) assert.equal(stored.has(e.id), e !== batch[3], e.id);
  });

  it('items refused 429 beyond maxAttempts fail the batch as transient; sending it again completes it', async () => {
    const batch = envs(5);
    es.rejectIds([batch[0]!.id, batch[1]!.id], 3); // three rounds: the same two refused each time
    const d = dest({ maxAttempts: 3 });
    await assert.rejects(d.send(batch, signal), (e: TributaryError) => {
      assert.ok(isError('transient', 'destination_unavailable')(e));
      assert.match(e.message, /2 of 2 events refused with 2×429/);
      return true;
    });
    assert.equal(new Set(es.ids('logs-tributary-default')).has(batch[0]!.id), false, 'refused: not stored');
    assert.equal(
      await d.send(batch, signal),
      undefined,
      'the re-sent batch: 409 for the three created, 201 for the rest',
    );
    const stored = new Set(es.ids('logs-tributary-default'));
    for (const e of batch) assert.ok(stored.has(e.id));
  });

  it("honours a whole request's 429 Retry-After, and treats 413 as a setting to lower", async () => {
    es.server.inject({ kind: 'rate-limit', retryAfter: 0, path: '/_bulk' });
    await dest().send(envs(1), signal);
    es.server.inject({ kind: 'status', status: 413, path: '/_bulk', body: '' });
    await assert.rejects(dest().send(envs(1), signal), (e: TributaryError) => {
      assert.ok(isError('config', 'destination_rejected')(e));
      assert.match(e.action, /maxBatchBytes/);
      return true;
    });
  });

  it('wrong credentials are a config error with the cluster reason and without the secret', async () => {
    const wrong = dest({ auth: { type: 'apiKey', apiKey: 'd3Jvbmc6a2V5LVNFQ1JFVA==' } });
    for (const p of [() => wrong.send(envs(1), signal), () => wrong.test(signal)])
      await assert.rejects(p(), (e: TributaryError) => {
        assert.ok(isError('config', 'destination_rejected')(e));
        assert.equal(e.status, 401);
        assert.match(e.message, /security_exception: unable to authenticate/);
        assert.doesNotMatch(
          JSON.stringify({ ...e.toJSON(), stack: e.stack }),
          /d3Jvbmc6a2V5LVNFQ1JFVA|SECRET/,
        );
        return true;
      });
  });

  it('sends a bearer token when configured', async () => {
    const withBearer = new ElasticSimulator({ bearer: 'es-bearer-SECRET' });
    await withBearer.start();
    try {
      const config = destinationConfigSchema.parse({
        kind: 'elasticsearch',
        url: withBearer.url,
        auth: { type: 'bearer', token: 'es-bearer-SECRET' },
      });
      const d = createDestination('b', config, { baseDir: '.', files: undefined as never });
      await d.send(envs(2), signal);
      assert.equal(withBearer.created.length, 2);
      assert.equal(
        withBearer.server.requests.matching('/_bulk').at(-1)!.headers.authorization,
        'Bearer es-bearer-SECRET',
      );
    } finally {
      await withBearer.stop();
    }
  });

  it('a user without the write privilege: a config error in send, and test() says so first', async () => {
    es.writable = false;
    try {
      await assert.rejects(dest().send(envs(2), signal), (e: TributaryError) => {
        assert.ok(isError('config', 'destination_rejected')(e));
        assert.match(e.action, /create_doc/);
        return true;
      });
      await assert.rejects(dest().test(signal), isError('config', 'destination_forbidden'));
    } finally {
      es.writable = true;
    }
    await dest().test(signal);
  });

  it('sends every document through the ingest pipeline; a missing one is a config error, in send and test', async () => {
    await dest({ pipeline: 'geoip' }).send(envs(2), signal);
    assert.equal(es.bulks.at(-1)!.pipeline, 'geoip');
    await dest({ pipeline: 'geoip' }).test(signal);
    await assert.rejects(dest({ pipeline: 'nope' }).send(envs(2), signal), (e: TributaryError) => {
      assert.ok(isError('config', 'destination_rejected')(e));
      assert.match(e.message, /pipeline with id \[nope\] does not exist/);
      assert.match(e.action, /Create ingest pipeline nope/);
      return true;
    });
    await assert.rejects(
      dest({ pipeline: 'nope' }).test(signal),
      isError('config', 'destination_pipeline_missing'),
    );
  });

  it('splits batches by events and bytes', async () => {
    const before = es.bulks.length;
    await dest({ maxBatchEvents: 3 }).send(envs(7), signal);
    assert.deepEqual(
      es.bulks
        .slice(before)
        .map((b) => b.items)
        .sort(),
      [1, 3, 3],
    );
  });

  it('is listed with titled settings; API key, password and token write-only; the URL decides where they go', () => {
    const k = destinationCatalog().find((c) => c.kind === 'elasticsearch')!;
    assert.deepEqual(k.secrets.sort(), ['auth.apiKey', 'auth.password', 'auth.token']);
    const o = destinationCatalog().find((c) => c.kind === 'opensearch')!;
    assert.deepEqual(o.secrets.sort(), ['auth.password', 'auth.token']);
    for (const kind of [k, o]) {
      const props = (
        kind.settings as { properties: Record<string, { title?: string; description?: string }> }
      ).properties;
      for (const [key, p] of Object.entries(props))
        if (key !== 'kind')
          assert.ok(p.title && p.description, `${kind.kind}.${key} has a title and a description`);
    }
    assert.equal(
      destinationConfigSchema.safeParse({ kind: 'elasticsearch', url: es.url, index: 'Logs' }).success,
      false,
    );
  });
});

describe('opensearch destination', () => {
  it('creates documents with basic auth; a mapping error is dead-lettered with OpenSearch’s reason', async () => {
    const d = dest({ index: 'tributary-events' }, 'opensearch');
    const batch = envs(3, (i) => (i === 1 ? { actor: 'a string' } : { actor: { id: i } }));
    const r = await d.send(batch, signal);
    assert.deepEqual(
      r?.rejected?.map((x) => x.event.id),
      [batch[1]!.id],
    );
    assert.match(
      r!.rejected![0]!.reason,
      /^OpenSearch 400 mapper_parsing_exception: object mapping for \[raw\.actor\] tried to parse field \[actor\] as object/,
    );
    assert.deepEqual(os.ids('tributary-events').sort(), [batch[0]!.id, batch[2]!.id].sort());
    const req = os.server.requests.matching('/_bulk').at(-1)!;
    assert.equal(
      req.headers.authorization,
      `Basic ${Buffer.from('tributary:pw-SECRET-1').toString('base64')}`,
    );
  });

  it('test() proves the address and the credentials', async () => {
    await dest({}, 'opensearch').test(signal);
    await assert.rejects(
      dest({ auth: { type: 'basic', username: 'tributary', password: 'wrong' } }, 'opensearch').test(signal),
      (e: TributaryError) => e.status === 401,
    );
  });
});
