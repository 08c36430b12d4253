import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Auth } from '../../src/api/auth.ts';
import { startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { CONFIG_FILE, Control } from '../../src/control/service.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { json, SimServer } from '../../src/sim/kit.ts';
import { pushBatch } from '../../src/sim/push-sender.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from '../support/temp-dirs.ts';
import { pushSuites } from './push-suites.ts';

/**
 * The push-source conformance suite (docs/architecture.md, "Push sources"): every push source, the same
 * checks, over real HTTP against `tributary serve`'s server, with each vendor's own sender (its body
 * format, compression and auth) and two destinations — a file and an HTTP receiver (the SIEM) that can
 * hold its answer or be down:
 * - 200 only after every destination acknowledged the request's events (and they were counted);
 * - a destination down: 503 with Retry-After, nothing counted, and the vendor's resend is delivered with
 *   the same ids;
 * - over the collector's rate: 429 with Retry-After;
 * - a body over the size or record limits: 413, nothing of it delivered.
 */

const fresh = tempDirs('tributary-push-conformance');
let dir = '';
let base = '';
let runtime: Runtime;
let control: Control;
let close: () => Promise<void>;

/** The SIEM behind the `siem` HTTP destination: it can hold its answers or be down. */
const siem = {
  down: false,
  lines: [] as string[],
  gate: undefined as Promise<void> | undefined,
  received: [] as Array<() => void>,
};
let siemServer: SimServer;

before(async () => {
  dir = fresh();
  siemServer = new SimServer({ name: 'siem' }).route('POST', '/events', async (req) => {
    for (const r of siem.received.splice(0)) r();
    await siem.gate;
    if (siem.down) return json(503, { error: 'maintenance' });
    siem.lines.push(...req.body.toString('utf8').split('\n').filter(Boolean));
    return json(200, { ok: true });
  });
  await siemServer.start();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger, dir);
  control = new Control(runtime);
  await control.updateSettings(CONFIG_FILE, { earlyAccess: true });
  await control.createDestination(CONFIG_FILE, {
    name: 'file-out',
    config: { kind: 'file', path: 'pushed.ndjson' } as never,
  });
  await control.createDestination(CONFIG_FILE, {
    name: 'siem',
    config: { kind: 'http', url: `${siemServer.url}/events`, maxAttempts: 1, timeout: 10_000 } as never,
  });
  const server = await startApiServer(control, new Auth(store), { port: 0, log: silentLogger });
  base = `http://127.0.0.1:${server.port}`;
  close = server.close;
});

after(async () => {
  await close();
  await runtime.close();
  await siemServer.stop();
});

/** The file destination's envelopes of one collector, in order. */
function atFile(collector: string): Array<{ id: string; collector: string; raw: unknown }> {
  const find = (d: string): string | undefined => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isFile() && e.name === 'pushed.ndjson') return p;
      if (e.isDirectory()) {
        const found = find(p);
        if (found) return found;
      }
    }
    return undefined;
  };
  const path = find(dir);
  if (!path) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.collector === collector);
}

const atSiem = (collector: string) =>
  siem.lines.map((l) => JSON.parse(l)).filter((e) => e.collector === collector);

async function volume(collector: string): Promise<number> {
  return ((await control.getCollector(collector)) as { volumeLastDay: number }).volumeLastDay;
}

let n = 0;
async function install(source: string, settings: Record<string, unknown> = {}) {
  const name = `${source}-${++n}`;
  const c = (await control.createCollector(CONFIG_FILE, {
    name,
    source,
    destinations: ['file-out', 'siem'],
    settings,
  })) as { ingestToken?: string };
  assert.ok(c.ingestToken);
  return { name, token: c.ingestToken, url: `${base}/ingest/${name}` };
}

/** Polls `check` until it holds, or fails after `ms` (never a fixed sleep). */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const suite of pushSuites) {
  describe(`push conformance: ${suite.sourceId}`, () => {
    it('answers 200 only after every destination acknowledged the events, and counts them', async () => {
      const vendor = suite.sender();
      const c = await install(suite.sourceId);
      const records = vendor.records(6, 1);
      let open!: () => void;
      siem.gate = new Promise((r) => {
        open = r;
      });
      const arrived = new Promise<void>((r) => siem.received.push(r));
      let settled = false;
      const { body, headers } = vendor.request(records, c.token);
      const answer = fetch(c.url, { method: 'POST', headers, body }).finally(() => {
        settled = true;
      });
      try {
        await arrived;
        // The file destination acknowledged; the SIEM holds its answer: no answer to the sender yet. (An
        // absence can only be watched for a while: a receiver that answers early does so within
        // milliseconds of the file's acknowledgement, so half a second tells.)
        await until(() => atFile(c.name).length === records.length, 'the file destination');
        const early = await Promise.race([answer.then(() => true), delay(500).then(() => false)]);
        assert.equal(early || settled, false, 'no answer while a destination has not acknowledged');
        assert.equal(await volume(c.name), 0, 'nothing counted before every destination acknowledged');
      } finally {
        siem.gate = undefined;
        open();
      }
      const res = await answer;
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      assert.equal(vendor.outcome(res.status), 'delivered', 'the vendor reads 200 as delivered');
      assert.equal(atSiem(c.name).length, records.length);
      assert.deepEqual(
        atSiem(c.name).map((e) => e.id),
        atFile(c.name).map((e) => e.id),
      );
      assert.equal(await volume(c.name), records.length);
    });

    it('a destination down: 503 with Retry-After, nothing counted; the resend is delivered with the same ids', async () => {
      const vendor = suite.sender();
      const c = await install(suite.sourceId);
      const records = vendor.records(5, 2);
      siem.down = true;
      let retryAfter: string | null = null;
      let countedWhileDown = -1;
      const result = await pushBatch(c.url, vendor, records, c.token, {
        beforeRetry: async (_attempt, status) => {
          assert.equal(status, 503);
          countedWhileDown = await volume(c.name);
          const probe = vendor.request(vendor.records(1, 99), c.token);
          const res = await fetch(c.url, { method: 'POST', ...probe });
          await res.arrayBuffer();
          retryAfter = res.headers.get('retry-after');
          siem.down = false;
        },
      }).finally(() => {
        siem.down = false;
      });
      assert.deepEqual(
        result,
        { outcome: 'delivered', statuses: [503, 200] },
        'the vendor resends after 503',
      );
      assert.ok(Number(retryAfter) >= 1, `Retry-After in seconds (got ${retryAfter})`);
      assert.equal(countedWhileDown, 0, 'the refused request is not counted');
      const file = atFile(c.name).filter((e) =>
        records.some((r) => JSON.stringify(r) === JSON.stringify(e.raw)),
      );
      const sent = file.map((e) => e.id);
      // The file acknowledged the refused attempt too: its copy and the resend's carry the same ids.
      assert.deepEqual(sent.slice(0, records.length), sent.slice(records.length));
      assert.deepEqual(
        atSiem(c.name).map((e) => e.id),
        sent.slice(records.length),
        'the destination that was down got the resend, with the same ids',
      );
    });

    it('over the collector rate: 429 with Retry-After, which the vendor retries', async () => {
      const vendor = suite.sender();
      const c = await install(suite.sourceId, { maxEventsPerSecond: 4 });
      const first = vendor.request(vendor.records(8, 3), c.token);
      const admitted = await fetch(c.url, { method: 'POST', ...first });
      await admitted.arrayBuffer();
      assert.equal(admitted.status, 200, 'a burst is admitted, then repaid');
      const over = await fetch(c.url, { method: 'POST', ...vendor.request(vendor.records(8, 4), c.token) });
      await over.arrayBuffer();
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers.get('retry-after')) >= 1);
      assert.equal(vendor.outcome(429), 'retry', 'the vendor keeps the batch');
      assert.equal(atFile(c.name).length, 8);
    });

    it('a body over the size or record limits: 413, nothing of it delivered', async () => {
      const vendor = suite.sender();
      const small = await install(suite.sourceId, { maxBodyMB: 0.001 });
      const big = vendor.request(vendor.records(200, 5), small.token);
      assert.ok(big.body.length > 1024, 'the body is over 1 KB as sent');
      const tooBig = await fetch(small.url, { method: 'POST', ...big });
      await tooBig.arrayBuffer();
      assert.equal(tooBig.status, 413);
      const few = await install(suite.sourceId, { maxRecords: 3 });
      const many = await fetch(few.url, {
        method: 'POST',
        ...vendor.request(vendor.records(5, 6), few.token),
      });
      await many.arrayBuffer();
      assert.equal(many.status, 413);
      assert.deepEqual([...atFile(small.name), ...atFile(few.name)], []);
      assert.deepEqual([...atSiem(small.name), ...atSiem(few.name)], []);
      assert.equal((await volume(small.name)) + (await volume(few.name)), 0);
    });
  });
}
