import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { genericSender } from '../src/sources/webhook/simulator.ts';
import { cpuSeconds } from './sim-process.ts';

/**
 * Webhook: one `tributary serve` process (its own process, SQLite store, a file destination fsynced per
 * delivery) receives batches of 100 events of ≈1 KB as NDJSON on `/ingest/{collector}`; this process is
 * the load generator, over loopback. Figures:
 * - capacity: events/s answered 200 — accepted, delivered to the file, counted — by BENCH_CONCURRENCY
 *   (default 32) senders each sending its next batch as soon as the previous one is answered;
 * - latency at half that rate: batches sent on a fixed schedule (open loop, measured from the scheduled
 *   time, so a stall counts against every request it delays), p50/p99/max.
 * Every acknowledged event must be in the file and in the collector's counts, or the run fails.
 */

const BATCH = 100;
const EVENT_BYTES = 1024;

interface Serve {
  child: ChildProcess;
  base: string;
}

async function startServe(dir: string): Promise<Serve> {
  const config = join(dir, 'tributary.yaml');
  writeFileSync(
    config,
    ['destinations:', '  out: { kind: file, path: ./out.ndjson, maxBytes: 1000000000000, maxFiles: 1 }'].join(
      '\n',
    ),
  );
  const child = spawn(
    join(import.meta.dirname, '../bin/tributary'), // the launcher users run (BENCH_NODE_FLAGS: other V8 flags)
    ['serve', '--config', config, '--port', '0', '--data-dir', join(dir, 'data')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ...(process.env.BENCH_NODE_FLAGS !== undefined && {
          TRIBUTARY_NODE_FLAGS: process.env.BENCH_NODE_FLAGS,
        }),
        TRIBUTARY_ADMIN_PASSWORD: 'bench-password-123',
        TRIBUTARY_LOG_LEVEL: 'warn',
      },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const base = await new Promise<string>((ok, fail) => {
    lines.on('line', (l) => {
      const m = /running: (http:\/\/[^/]+)\//.exec(l);
      if (m) ok(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`tributary serve exited with ${code}`)));
  });
  return { child, base };
}

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const res = await fetch(base + path, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** One POST over the keep-alive agent; resolves with the status. */
function post(agent: Agent, url: URL, token: string, body: Buffer): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/x-ndjson',
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode ?? 0));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export async function webhook(
  seconds = Number(process.env.BENCH_SECONDS ?? 10),
  concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32),
) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-webhook-'));
  const serve = await startServe(dir);
  try {
    const login = await call(
      serve.base,
      'POST',
      '/api/login',
      {},
      { username: 'admin', password: 'bench-password-123' },
    );
    const session = {
      cookie: login.headers.get('set-cookie')!.split(';')[0]!,
      'x-csrf-token': login.json.csrfToken,
    };
    const created = await call(serve.base, 'POST', '/api/collectors', session, {
      name: 'bench',
      source: 'webhook',
      destinations: ['out'],
      settings: { format: 'json', idPath: 'uuid' },
    });
    const token = created.json.ingestToken as string;
    const url = new URL(`${serve.base}/ingest/bench`);

    // Distinct batches: every event has its own id, so the file can be checked event by event. One
    // batch is generated; the others differ in their ids' prefix (cheap, so the generator keeps up).
    const vendor = genericSender({ format: 'ndjson', eventBytes: EVENT_BYTES });
    const template = vendor.request(vendor.records(BATCH, 0), token).body.toString().split('"uuid":"0-');
    let seed = 0;
    const nextBody = () => Buffer.from(template.join(`"uuid":"${++seed}-`));
    const eventBytes = Math.round(nextBody().length / BATCH);
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency * 4 });
    let acked = 0;
    const refused: Record<number, number> = {};
    const send = async () => {
      const body = nextBody();
      const status = await post(agent, url, token, body);
      if (status === 200) acked += BATCH;
      else refused[status] = (refused[status] ?? 0) + 1;
      return status;
    };

    // Capacity: closed loop, a warm-up second first.
    let until = performance.now() + 1000;
    const loop = async () => {
      while (performance.now() < until) await send();
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    const cpu0 = cpuSeconds(serve.child.pid);
    const genCpu0 = process.cpuUsage();
    const acked0 = acked;
    const t0 = performance.now();
    until = t0 + seconds * 1000;
    await Promise.all(Array.from({ length: concurrency }, loop));
    const capacityMs = performance.now() - t0;
    const capacityEvents = acked - acked0;
    const serveCpu = (cpuSeconds(serve.child.pid) ?? Number.NaN) - (cpu0 ?? Number.NaN);
    const genCpu = process.cpuUsage(genCpu0);
    const eventsPerSec = capacityEvents / (capacityMs / 1000);

    // Latency at half that rate: open loop on a fixed schedule.
    const rate = eventsPerSec / 2 / BATCH; // requests per second
    const interval = 1000 / rate;
    const latencies: number[] = [];
    const inflight: Promise<void>[] = [];
    const l0 = performance.now();
    for (let i = 0; ; i++) {
      const at = l0 + i * interval;
      if (at > l0 + seconds * 1000) break;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(
        send().then((status) => {
          if (status === 200) latencies.push(performance.now() - at);
        }),
      );
    }
    await Promise.all(inflight);
    const latencyMs = performance.now() - l0;
    latencies.sort((a, b) => a - b);

    // Nothing acknowledged is missing: the file and the collector's counts hold every event.
    const ids = new Set<string>();
    let lines = 0;
    for await (const l of createInterface({ input: createReadStream(join(dir, 'out.ndjson')) })) {
      if (!l) continue;
      lines++;
      ids.add(l.slice(7, l.indexOf('"', 7)));
    }
    const view = await call(serve.base, 'GET', '/api/collectors/bench', session);
    if (lines !== acked || ids.size !== acked || view.json.volumeLastDay !== acked)
      throw new Error(
        `acknowledged ${acked} events; the file has ${lines} (${ids.size} distinct), the counts ${view.json.volumeLastDay}`,
      );
    agent.destroy();
    return {
      batch: BATCH,
      eventBytes,
      concurrency,
      capacity: {
        eventsPerSec: Math.round(eventsPerSec),
        requestsPerSec: Math.round(eventsPerSec / BATCH),
        mbPerSec: ((eventsPerSec * eventBytes) / 1048576).toFixed(1),
        seconds: Math.round(capacityMs / 1000),
        // CPU seconds used meanwhile by `tributary serve` and by this load generator (2 cores shared)
        serveCpuSec: serveCpu.toFixed(2),
        generatorCpuSec: ((genCpu.user + genCpu.system) / 1e6).toFixed(2),
      },
      atHalfLoad: {
        eventsPerSec: Math.round((latencies.length * BATCH) / (latencyMs / 1000)),
        requests: latencies.length,
        p50Ms: quantile(latencies, 0.5).toFixed(1),
        p99Ms: quantile(latencies, 0.99).toFixed(1),
        maxMs: latencies.at(-1)!.toFixed(1),
      },
      refused,
      verified: `${acked} acknowledged events, all in the file and the counts`,
    };
  } finally {
    serve.child.kill('SIGTERM');
    await new Promise((ok) => serve.child.once('exit', ok));
    rmSync(dir, { recursive: true, force: true });
  }
}
