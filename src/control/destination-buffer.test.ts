import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CONFIG_FILE, startControl } from '../../test/support/control.ts';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { Auth } from '../api/auth.ts';
import { startApiServer } from '../api/server.ts';
import { destinationConfigSchema } from '../destinations/index.ts';
import { BufferedDestination } from '../engine/destination-buffer.ts';
import { silentLogger } from '../engine/log.ts';
import { metrics } from '../engine/metrics.ts';
import type { Control } from './service.ts';

const fresh = tempDirs('tributary-control-buffer');

/** An HTTP endpoint that answers 503 until `up`. */
let up = false;
const received: string[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (!up) return void res.writeHead(503).end();
    for (const l of body.split('\n')) if (l) received.push(JSON.parse(l).id);
    res.writeHead(200).end();
  });
});

let rig: Awaited<ReturnType<typeof startControl>>;
let control: Control;
let url = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  rig = await startControl(fresh());
  control = rig.control;
});
after(async () => {
  await rig.close();
  server.close();
});

const config = (buffer?: object) =>
  destinationConfigSchema.parse({
    kind: 'http',
    url,
    maxAttempts: 1,
    ...(buffer ? { buffer } : {}),
  });

const envelope = (id: string) => ({
  id,
  time: '2026-01-01T00:00:00.000Z',
  source: 's',
  stream: 't',
  collector: 'c',
  ingested_at: '2026-01-01T00:00:00.000Z',
  raw: { id },
});

describe('a destination with a buffer, through the control plane', () => {
  it('shows what the buffer holds, refuses to strand it, and drains', async () => {
    await control.createDestination(CONFIG_FILE, {
      name: 'sink',
      config: config({ maxBytes: 1 << 20, backoffBaseMs: 5, backoffMaxMs: 20 }),
    });
    const d = await rig.runtime.destination('sink');
    assert.ok(d instanceof BufferedDestination);
    await d.send([envelope('e1'), envelope('e2')], new AbortController().signal); // 503: buffered
    const view = (await control.getDestination('sink')) as {
      buffer?: {
        batches: number;
        events: number;
        bytes: number;
        oldestAt?: string;
        lastError?: { code: string };
      };
    };
    assert.equal(view.buffer?.batches, 1);
    assert.equal(view.buffer?.events, 2);
    assert.ok(view.buffer?.oldestAt);
    assert.equal(view.buffer?.lastError?.code, 'destination_unavailable');
    const listed = (await control.listDestinations()).find((x) => x.name === 'sink') as {
      buffer?: { batches: number };
    };
    assert.equal(listed.buffer?.batches, 1);

    const text = await metrics.registry.metrics();
    assert.match(text, /tributary_destination_buffer_batches\{destination="sink"\} 1/);
    assert.match(text, /tributary_destination_buffer_bytes\{destination="sink"\} [1-9]\d*/);
    assert.match(text, /tributary_destination_buffer_oldest_age_seconds\{destination="sink"\} /);

    await assert.rejects(
      control.deleteDestination(CONFIG_FILE, 'sink'),
      /1 batch\(es\) in its buffer not yet delivered/,
    );
    await assert.rejects(
      control.updateDestination(CONFIG_FILE, 'sink', { kind: 'http', url, maxAttempts: 1 }),
      /turning its buffer off would strand them/,
    );

    up = true;
    await (d as BufferedDestination).drained();
    assert.deepEqual(received, ['e1', 'e2']);
    const after = (await control.getDestination('sink')) as { buffer?: { batches: number } };
    assert.equal(after.buffer?.batches, 0);
    await control.deleteDestination(CONFIG_FILE, 'sink');
  });

  it('a push is answered 200 while a buffered destination is down, and reaches it once back', async () => {
    up = false;
    received.length = 0;
    await control.createDestination(CONFIG_FILE, {
      name: 'push-sink',
      config: config({ maxBytes: 1 << 20, backoffBaseMs: 5, backoffMaxMs: 20 }),
    });
    const c = (await control.createCollector(CONFIG_FILE, {
      name: 'hook',
      source: 'webhook',
      destinations: ['push-sink'],
      settings: { format: 'json' },
    } as never)) as { ingestToken?: string };
    const api = await startApiServer(control, new Auth(rig.runtime.store), { port: 0, log: silentLogger });
    try {
      const r = await fetch(`http://127.0.0.1:${api.port}/ingest/hook`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.ingestToken}`, 'content-type': 'application/x-ndjson' },
        body: '{"id":"a1"}\n{"id":"a2"}\n',
      });
      assert.equal(r.status, 200, await r.text());
      const d = (await rig.runtime.destination('push-sink')) as BufferedDestination;
      assert.equal(d.status().events, 2, 'the buffer owns them');
      assert.deepEqual(received, []);
      up = true;
      await d.drained();
      assert.equal(received.length, 2);
    } finally {
      await api.close();
    }
  });

  it('is refused in cluster mode, naming the setting', async () => {
    rig.runtime.cluster = true;
    try {
      await assert.rejects(
        control.createDestination(CONFIG_FILE, { name: 'clustered', config: config({ maxBytes: 1 << 20 }) }),
        (err: Error & { issues?: unknown }) => {
          assert.match(
            JSON.stringify({ m: err.message, d: err.issues }),
            /"path":"config.buffer","message":"destination buffers are not available in cluster mode/,
          );
          return true;
        },
      );
      await control.createDestination(CONFIG_FILE, { name: 'plain', config: config() });
    } finally {
      rig.runtime.cluster = false;
    }
  });
});
