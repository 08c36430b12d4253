import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import type { Destination } from '../../src/core/destination.ts';
import { decodeObject, detectedFormat } from '../../src/engine/object-decode.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';
import s3logs, { fieldOf, globToRegExp, keyFilter } from '../../src/sources/aws-s3/index.ts';
import { sources } from '../../src/sources/index.ts';
import { type AwsRig, awsRigs } from '../support/aws-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `aws-s3` (an object-notification source: its own suite) against the S3 and SQS
 * simulators over HTTP that verify every request's SigV4 (src/sim/aws-object-http.ts), with the real
 * runner, HTTP client, `aws` account and store: every format detected (gzip NDJSON WAF logs, ALB
 * space-delimited lines, CSV with a header, JSON arrays, {"Records":[…]}), key include/exclude patterns,
 * ids and times (object + index and LastModified, or configured fields), a crash at every batch boundary
 * and between delivery and the delete, redelivery repeating nothing, the listing by prefix, Test
 * Connection proving each permission, and no write call but the declared receive and delete.
 */

const awsRig = awsRigs('tributary-s3logs');
const VISIBILITY = 30_000;
const ACCOUNT = '111122223333';
async function rig(o: { settings?: Record<string, unknown> } = {}): Promise<AwsRig> {
  return awsRig({
    source: s3logs,
    name: 's3',
    stream: 'logs',
    sim: { bucket: 'log-bucket', visibilityTimeoutMs: VISIBILITY, chunkBytes: 1024 },
    http: { region: 'us-east-1', accountId: ACCOUNT, queueName: 's3-logs' },
    settings: (http) => ({
      bucket: 'log-bucket',
      region: 'us-east-1',
      queueUrl: http.queueUrl,
      ...o.settings,
    }),
  });
}

const raws = (d: MemoryDestination) => d.events.map((e) => JSON.parse(JSON.stringify(e.raw)));

const ALB = `AWSLogs/${ACCOUNT}/elasticloadbalancing/us-east-1/2026/11/25/${ACCOUNT}_elasticloadbalancing_us-east-1_app.my-lb.50dc6c495c0c9188_20261125T1155Z_192.0.2.1_2et2e1mx.log.gz`;
const WAF = `AWSLogs/${ACCOUNT}/WAFLogs/us-east-1/my-acl/2026/11/25/11/55/${ACCOUNT}_waflogs_us-east-1_my-acl_20261125T1155Z_abc.log.gz`;
const CSV = 'exports/vendor/2026-11-25/alerts.csv';
const ARRAY = 'exports/vendor/2026-11-25/findings.json';
const RECS = 'exports/vendor/2026-11-25/records.json.gz';
const SKIP = `AWSLogs/${ACCOUNT}/elasticloadbalancing/us-east-1/ELBAccessLogTestFile`;

/** An ALB access log line shaped like the documented example (ELB User Guide, "Access log entries"). */
const albLine = (i: number) =>
  `https 2026-11-25T11:55:${String(i % 60).padStart(2, '0')}.086039Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/p${i} HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-1:${ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012" 1 2026-11-25T11:55:00.000000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234`;

/** Objects of every format, each notified; returns what each should yield. */
function fill(sim: ObjectStoreSim) {
  const alb = Array.from({ length: 1200 }, (_, i) => albLine(i));
  sim.put(ALB, gzipSync(`${alb.join('\n')}\n`));
  const waf = Array.from({ length: 300 }, (_, i) => ({
    timestamp: 1_795_000_000_000 + i,
    formatVersion: 1,
    webaclId: `arn:aws:wafv2:us-east-1:${ACCOUNT}:regional/webacl/my-acl/a1b2`,
    action: i % 7 ? 'ALLOW' : 'BLOCK',
    httpRequest: { clientIp: '198.51.100.7', uri: `/p${i}`, requestId: `req-${i}` },
  }));
  sim.put(WAF, gzipSync(waf.map((w) => JSON.stringify(w)).join('\n')));
  sim.put(CSV, 'id,severity,title\n1,high,"Login, failed"\n2,low,"multi\nline"\n3,low,x\n');
  sim.put(ARRAY, JSON.stringify([{ n: 1 }, { n: 2 }]));
  sim.put(RECS, gzipSync(JSON.stringify({ Records: [{ r: 'a' }, { r: 'b' }, { r: 'c' }] })));
  sim.put(SKIP, 'Enable AccessLog for ELB: my-lb at 2026-11-25T11:00:00.000Z');
  sim.sendTestEvent();
  sim.notify([ALB, SKIP]);
  sim.notify([WAF]);
  sim.notify([CSV, ARRAY]);
  sim.notify([RECS, ALB]); // ALB again: read once
  return { alb, waf, count: alb.length + waf.length + 3 + 2 + 3 };
}

describe('conformance: aws-s3 (S3 + SQS over HTTP, SigV4 verified)', () => {
  it('is registered as an object-storage source with its declared writes', () => {
    assert.equal(sources['aws-s3'], s3logs);
    assert.equal(s3logs.family, 'object-storage');
    assert.equal(s3logs.stability, 'early-access');
    assert.equal(s3logs.vendorWrites?.length, 2);
  });

  it('drains every format once, detected per object; exclude patterns skip keys; times from LastModified', async () => {
    const r = await rig({ settings: { exclude: ['**/ELBAccessLogTestFile'] } });
    const want = fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.ids().length, want.count);
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0, 'every message deleted');
    const all = raws(r.dest);
    assert.equal(
      all.filter((x) => typeof x === 'string' && x.startsWith('https ')).length,
      1200,
      'ALB lines raw',
    );
    assert.ok(all.includes(want.alb[17]), 'an ALB line kept exactly');
    assert.equal(all.filter((x) => x?.webaclId).length, 300, 'WAF NDJSON');
    assert.deepEqual(
      all.filter((x) => x?.severity),
      [
        { id: '1', severity: 'high', title: 'Login, failed' },
        { id: '2', severity: 'low', title: 'multi\nline' },
        { id: '3', severity: 'low', title: 'x' },
      ],
      'CSV by header',
    );
    assert.deepEqual(
      all.filter((x) => x?.n),
      [{ n: 1 }, { n: 2 }],
      'JSON array',
    );
    assert.deepEqual(
      all.filter((x) => x?.r),
      [{ r: 'a' }, { r: 'b' }, { r: 'c' }],
      'Records',
    );
    assert.ok(!all.some((x) => typeof x === 'string' && x.startsWith('Enable AccessLog')), 'excluded key');
    for (const e of r.dest.events) assert.equal(e.time, '2026-11-25T12:00:00.000Z', 'LastModified');
    assert.equal(r.http.stats.writes, 0, 'no write call');
    assert.equal(r.http.stats.refused, 0, 'every request correctly signed');
    const gets = r.sim.calls.filter((c) => c.op === 'get').length;
    assert.equal(gets, 5, 'each object fetched once');
    // a redelivered notification repeats nothing
    r.sim.notify([WAF, CSV]);
    r.clock.advance(VISIBILITY + 1);
    const again = await r.run();
    assert.equal(again.status, 'succeeded', JSON.stringify(again.error));
    assert.equal(again.events, 0);
    assert.equal(r.sim.pending(), 0);
    assert.equal(r.sim.calls.filter((c) => c.op === 'get').length, gets, 'not fetched again');
  });

  it('ids from a configured id field, times from a time field; include patterns and the prefix narrow keys', async () => {
    const r = await rig({
      settings: {
        prefix: 'AWSLogs/',
        include: ['AWSLogs/*/WAFLogs/**'],
        idField: 'httpRequest.requestId',
        timeField: 'timestamp',
      },
    });
    const want = fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(want.waf.map((w) => w.httpRequest.requestId)));
    const e = r.dest.events.find((x) => x.id === 'req-5')!;
    assert.equal(e.time, new Date(1_795_000_000_005).toISOString());
    assert.equal(r.sim.pending(), 0, 'messages naming only other keys deleted too');
    assert.deepEqual(
      r.sim.calls.filter((c) => c.op === 'get').map((c) => c.detail),
      [`${WAF}@0`],
      'only the included key fetched',
    );
  });

  it('a forced format: csv for a key detection would read as lines', async () => {
    const r = await rig({ settings: { format: 'csv', queueUrl: undefined, prefix: 'x/' } });
    r.sim.put('x/a.txt', 'k,v\n1,2\n');
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(raws(r.dest), [{ k: '1', v: '2' }]);
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    const probe = await rig();
    fill(probe.sim);
    await probe.run();
    const batches = probe.dest.batches.length;
    assert.ok(batches >= 5, `several batches (${batches})`);
    for (let k = 1; k <= batches; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        fill(r.sim);
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
        // A receive the killed run had sent acts at the time of the kill (see the next test).
        await r.http.settled();
        r.clock.advance(VISIBILITY + 1);
        const second = await r.run({}, [crashing]);
        assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
        const ids = dest.ids();
        assert.deepEqual(sorted([...new Set(ids)]), sorted(probe.dest.ids()), `crash at batch ${k}: no loss`);
        if (!written) assert.deepEqual(duplicates(ids), [], `crash at batch ${k} before the write`);
        else for (const d of duplicates(ids)) assert.ok(inFlight.includes(d), `duplicate ${d} in flight`);
        assert.equal(r.sim.pending(), 0, `crash at batch ${k}: every message deleted in the end`);
      }
    }
  });

  it('a receive the killed run had in flight is answered before the restart: its messages come back', async () => {
    // The runner reads ahead: while the last batch is delivered, the reader already asks the queue for
    // more. Here that ReceiveMessage is held at the simulator while the run is killed, as a request on
    // the wire when a process dies; SQS still acts on it. Answered at the time of the kill, it finds
    // every message in flight and takes none. Answered only after the clock moved past the visibility
    // timeout, it would take the messages not yet deleted and hide them from the restarted run for one
    // more timeout: what made the test above flaky before it awaited `settled`.
    const probe = await rig();
    fill(probe.sim);
    await probe.run();
    const last = probe.dest.batches.length;
    const r = await rig();
    fill(r.sim);
    const receive = r.sim.queue.receive;
    let receives = 0;
    let reached!: () => void;
    const heldReached = new Promise<void>((ok) => (reached = ok));
    let release!: () => void;
    const released = new Promise<void>((ok) => (release = ok));
    const heldAnswer: string[][] = [];
    r.sim.queue.receive = async (o) => {
      if (++receives !== 2) return receive(o);
      reached();
      await released;
      const out = await receive(o);
      heldAnswer.push(out.map((m) => m.id));
      return out;
    };
    const crash = new AbortController();
    const dest = new MemoryDestination();
    const crashing: Destination = {
      name: 'crashing',
      kind: 'memory',
      send: async (events) => {
        if (!crash.signal.aborted && dest.batches.length + 1 === last) {
          await heldReached; // the reader read past the last batch and asked for more
          crash.abort();
          throw new Error('process killed');
        }
        return dest.send(events);
      },
      close: async () => {},
    };
    const first = await r.run({ signal: crash.signal }, [crashing]);
    assert.equal(first.status, 'cancelled');
    let done = false;
    const settled = r.http.settled().then(() => {
      done = true;
    });
    await new Promise<void>((ok) => setImmediate(ok));
    assert.equal(done, false, 'settled waits for the receive still at the simulator');
    release();
    await settled;
    assert.deepEqual(heldAnswer, [[]], 'answered at the time of the kill: every message was in flight');
    r.clock.advance(VISIBILITY + 1);
    const second = await r.run({}, [crashing]);
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.deepEqual(sorted(dest.ids()), sorted(probe.dest.ids()), 'no loss');
    assert.equal(r.sim.pending(), 0, 'every message deleted');
  });

  it('a crash between delivery and the delete: the message comes back, repeats nothing and is deleted', async () => {
    const r = await rig({ settings: { exclude: ['**/ELBAccessLogTestFile'] } });
    const want = fill(r.sim);
    const receipts: string[] = [];
    const del = r.sim.queue.delete;
    r.sim.queue.delete = async (receipt, o) => {
      if (!receipts.includes(receipt)) receipts.push(receipt);
      if (receipts.indexOf(receipt) === 2) throw new Error('process killed before the delete');
      return del(receipt, o);
    };
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(r.sim.pending(), 1, 'the message whose delete was lost is still queued');
    r.clock.advance(VISIBILITY + 1);
    const second = await r.run();
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.events, 0, 'nothing repeated');
    assert.equal(r.dest.ids().length, want.count, 'nothing lost');
    assert.equal(r.sim.pending(), 0, 'deleted this time');
  });

  it('without a queue, lists the prefix after startAfter, filtered, resuming after the last key', async () => {
    const r = await rig({
      settings: {
        queueUrl: undefined,
        prefix: 'logs/',
        startAfter: 'logs/2026/11/24/',
        exclude: ['**.tmp'],
      },
    });
    r.sim.put('logs/2026/11/23/a.ndjson', '{"old":1}\n');
    r.sim.put('logs/2026/11/24/b.ndjson', '{"b":1}\n{"b":2}\n');
    r.sim.put('logs/2026/11/24/c.tmp', '{"tmp":1}\n');
    r.sim.put('other/x.ndjson', '{"other":1}\n');
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(raws(r.dest), [{ b: 1 }, { b: 2 }]);
    r.sim.put('logs/2026/11/25/d.ndjson', '{"d":1}\n');
    const next = await r.run();
    assert.equal(next.status, 'succeeded', JSON.stringify(next.error));
    assert.deepEqual(raws(r.dest), [{ b: 1 }, { b: 2 }, { d: 1 }], 'only the new object');
    assert.equal(r.http.stats.requests['sqs:ReceiveMessage'], undefined, 'no queue used');
  });

  it('Test Connection proves the credentials and each permission, naming the missing IAM action', async () => {
    const r = await rig();
    fill(r.sim);
    assert.deepEqual(
      await testConnection(s3logs, aws, awsFields.parse(r.http.account()), r.settings, ['logs']),
      {
        ok: true,
      },
    );
    for (const action of ['sqs:GetQueueAttributes', 's3:ListBucket', 's3:GetObject'] as const) {
      const h = await rig();
      fill(h.sim);
      h.http.deny(action);
      const res = await testConnection(s3logs, aws, awsFields.parse(h.http.account()), h.settings, ['logs']);
      assert.equal(res.ok, false);
      if (res.ok) continue;
      assert.equal(res.error.code, 'aws_access_denied', JSON.stringify(res.error));
      assert.match(res.error.message, new RegExp(action));
      assert.match(res.error.action, new RegExp(action));
    }
    const wrong = await testConnection(
      s3logs,
      aws,
      awsFields.parse(r.http.account({ secretAccessKey: 'not-the-secret' })),
      r.settings,
      ['logs'],
    );
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'aws_invalid_credentials');
      assert.ok(!JSON.stringify(wrong.error).includes('not-the-secret'), 'no secret in the error');
    }
  });

  it('a cut object body, S3 SlowDown and SQS throttling are retried; nothing lost or repeated', async () => {
    const r = await rig({ settings: { exclude: ['**/ELBAccessLogTestFile'] } });
    const want = fill(r.sim);
    r.sim.cutBodiesNext(1, ALB);
    r.http.throttle(1);
    r.http.slowDownNext(1);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.ids().length, want.count);
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0);
  });

  it('a message that is not a notification, or names another bucket, is a dead letter and deleted', async () => {
    const r = await rig();
    r.sim.send('{"hello":"world"}');
    r.sim.send(
      JSON.stringify({
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: 'someone-elses' }, object: { key: 'a.log', size: 1, eTag: 'e' } },
          },
        ],
      }),
    );
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(res.deadLetters, 2);
    assert.equal(r.sim.pending(), 0);
    assert.equal(r.sim.calls.filter((c) => c.op === 'get').length, 0, 'nothing fetched');
  });

  it('glob patterns: * within a folder, ** across, ? one character; the rest literal', () => {
    assert.ok(globToRegExp('a/*/c.log').test('a/b/c.log'));
    assert.ok(!globToRegExp('a/*/c.log').test('a/b/x/c.log'));
    assert.ok(globToRegExp('a/**/c.log').test('a/b/x/c.log'));
    assert.ok(globToRegExp('**.gz').test('x/y.gz'));
    assert.ok(globToRegExp('f?.txt').test('f1.txt'));
    assert.ok(!globToRegExp('f?.txt').test('f/.txt'));
    assert.ok(!globToRegExp('a.b').test('axb'), 'a dot is literal');
    assert.ok(globToRegExp('(x)+[y]').test('(x)+[y]'));
    const f = keyFilter({ prefix: 'p/', include: ['p/**.gz'], exclude: ['**/skip/**'] });
    assert.equal(f('p/a/b.gz'), true);
    assert.equal(f('p/skip/b.gz'), false);
    assert.equal(f('q/b.gz'), false);
    assert.equal(f('p/b.txt'), false);
    assert.equal(fieldOf({ a: { b: 3 } }, 'a.b'), 3);
    assert.equal(fieldOf({ 'a.b': 4 }, 'a.b'), 4);
    const bad = s3logs.settings.safeParse({ bucket: 'log-bucket', region: 'us-east-1', include: [''] });
    assert.equal(bad.success, false);
    if (!bad.success) assert.deepEqual(bad.error.issues[0].path, ['include', 0]);
    const badFormat = s3logs.settings.safeParse({ bucket: 'log-bucket', region: 'us-east-1', format: 'xml' });
    assert.equal(badFormat.success, false);
  });

  it('detection: gzip, JSON array, Records, NDJSON, CSV by key, plain lines; across tiny chunks', async () => {
    const chunked = (s: string | Buffer, n = 3) =>
      (async function* () {
        const b = Buffer.from(s);
        for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
      })();
    const read = async (key: string, body: string | Buffer) => {
      const out: unknown[] = [];
      for await (const r of decodeObject(chunked(body), detectedFormat(key), 'auto'))
        out.push('value' in r ? r.value : { error: r.error });
      return JSON.parse(JSON.stringify(out));
    };
    assert.deepEqual(await read('a', '  \n [ {"x":1} , {"x":2} ]'), [{ x: 1 }, { x: 2 }]);
    assert.deepEqual(await read('a', gzipSync('{ "Records" : [{"y":1}]}')), [{ y: 1 }]);
    assert.deepEqual(await read('a', '{"Recordsx":1}\n{"z":2}\n'), [{ Recordsx: 1 }, { z: 2 }]);
    assert.deepEqual(await read('a.csv.gz', gzipSync('h\nv\n')), [{ h: 'v' }]);
    assert.deepEqual(await read('a.log', 'version account-id\n2 1234\n\n'), ['version account-id', '2 1234']);
    assert.deepEqual(await read('a', ''), []);
  });
});
