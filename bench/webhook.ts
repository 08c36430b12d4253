import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { genericSender } from '../src/sources/webhook/simulator.ts';
import { cpuSeconds } from './sim-process.ts';

/**
 * Webhook: one `tributary serve` process (its own process, SQLite store, a file destination fsynced per
 * delivery) receives batches of 100 events of ≈1 KB as NDJSON on `/ingest/{collector}`; this process is
 * the load generator, over loopback. Figures:
 * - capacity: events/s answered 200 — accepted, delivered to the file, counted — by BENCH_CONCURRENCY
 *   (default 32) senders each sending its next batch as soon as the previous one is answered;
 * - latency at half that rate (BENCH_RATE: at that many events/s instead): batches sent on a fixed schedule
 *   (open loop, measured from the scheduled time, so a stall counts against every request it delays),
 *   after an unmeasured second at that rate; p50/p99/max, how late this process sent (p99/max of its own
 *   lag behind the schedule, counted in the latency), and the CPU seconds both processes used over the
 *   phase (the bare floor's turns below included: `tributary serve` idles through them);
 * - the bare floor at the same rate (`bareFloorInTurns`): the same schedule sent to a receiver that only
 *   appends each body to a file and fsyncs before answering (bench/bare-receiver.ts), taking turns with
 *   `tributary serve` a second each, so that both meet the machine's bursts alike: what the disk and
 *   the scheduler leave to any receiver that answers once the events are on disk.
 * Every acknowledged event must be in the file and in the collector's counts, or the run fails.
 *
 * Then the worst case (`webhookWorstCase`), each on a fresh `tributary serve`: the largest bodies the
 * default limits allow, each sent alone — a 10 MB body of 2-byte lines, the same lines gzipped up to 100 MB,
 * a gzip bomb of 100 MB of zeros, 100 MB (gzipped) of 1 KB records just under maxRecords (valid, then
 * each one broken: dead letters), 10 MB of nested brackets, 10 MB of 1 KB records — with, for each, the answer, the time, the growth of the
 * server's resident memory (sampled every 5 ms from /proc, against its RSS just before the request),
 * and the latency of `/healthz` requests sent one after another while the body is being handled.
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

interface Loop {
  /** Latencies of the requests answered 200, ms from their scheduled time, sorted. */
  latencies: number[];
  /** How late this process sent each request (its timer, its own garbage collection), sorted. */
  lags: number[];
  /** Scheduled ms. */
  ms: number;
}

/**
 * Sends `rate` requests a second on a fixed schedule (open loop, each latency measured from its scheduled
 * time, so a stall counts against every request it delays, this process's lateness included). It starts
 * with an unmeasured second at that rate, after this process's garbage is collected, the requests
 * alternating between the targets: the switch from a closed loop (requests still being committed, this
 * heap full of its garbage) would otherwise weigh on the first requests measured. Then `seconds` measured
 * seconds per target, the targets taking turns a second each, so that the machine's bursts (other jobs,
 * the disk) fall on each alike. `measuring` is called when the measured part starts.
 */
async function openLoop(
  rate: number,
  seconds: number,
  targets: Array<() => Promise<number>>,
  measuring: () => void,
): Promise<Loop[]> {
  const interval = 1000 / rate;
  const loops = targets.map(() => ({ latencies: [] as number[], lags: [] as number[], ms: seconds * 1000 }));
  const inflight: Promise<unknown>[] = [];
  (globalThis as { gc?: () => void }).gc?.();
  const w0 = performance.now();
  const l0 = w0 + 1000;
  let started = false;
  for (let i = 0; ; i++) {
    const at = w0 + i * interval;
    if (at >= l0 + seconds * 1000 * targets.length) break;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (at < l0) {
      inflight.push(targets[i % targets.length]!());
      continue;
    }
    if (!started) {
      started = true;
      measuring();
    }
    const turn = Math.floor((at - l0) / 1000) % targets.length;
    const loop = loops[turn]!;
    loop.lags.push(performance.now() - at);
    inflight.push(
      targets[turn]!().then((status) => {
        if (status === 200) loop.latencies.push(performance.now() - at);
      }),
    );
  }
  await Promise.all(inflight);
  for (const loop of loops) {
    loop.latencies.sort((a, b) => a - b);
    loop.lags.sort((a, b) => a - b);
  }
  return loops;
}

function latencyFigures({ latencies, lags, ms }: Loop) {
  return {
    eventsPerSec: Math.round((latencies.length * BATCH) / (ms / 1000)),
    requests: latencies.length,
    p50Ms: quantile(latencies, 0.5).toFixed(1),
    p99Ms: quantile(latencies, 0.99).toFixed(1),
    maxMs: latencies.at(-1)!.toFixed(1),
    sendLagP99Ms: quantile(lags, 0.99).toFixed(1),
    sendLagMaxMs: lags.at(-1)!.toFixed(1),
  };
}

/** bench/bare-receiver.ts in its own process, appending to `file`. */
async function startBare(file: string) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'bare-receiver.ts'), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((ok, fail) => {
    lines.once('line', (l) => ok(JSON.parse(l).url));
    child.once('exit', (code) => fail(new Error(`bare receiver exited with ${code}`)));
  });
  return {
    url: new URL(url),
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function webhook(
  seconds = Number(process.env.BENCH_SECONDS ?? 10),
  concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32),
) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-webhook-'));
  const serve = await startServe(dir);
  const bare = await startBare(join(dir, 'bare.ndjson'));
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
    // The template's pieces are bytes, joined by the ids' prefix straight into one buffer: no 100 KB
    // string per request, so the generator's own garbage collection stalls its schedule less.
    const template = vendor
      .request(vendor.records(BATCH, 0), token)
      .body.toString()
      .split('"uuid":"0-')
      .map((part) => Buffer.from(part));
    let seed = 0;
    const nextBody = () => {
      const prefix = Buffer.from(`"uuid":"${++seed}-`);
      const parts: Buffer[] = [template[0]!];
      for (let i = 1; i < template.length; i++) parts.push(prefix, template[i]!);
      return Buffer.concat(parts);
    };
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

    // Latency at half that rate (or at BENCH_RATE events/s), in turns with the bare floor (openLoop).
    const fixedRate = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
    const rate = (fixedRate ?? eventsPerSec / 2) / BATCH; // requests per second
    const cpu = () => ({ serve: cpuSeconds(serve.child.pid), gen: process.cpuUsage() });
    let cpuAtStart: ReturnType<typeof cpu> | undefined;
    // The bare floor: the same bodies, appended and fsynced by a receiver that does nothing else
    // (bench/bare-receiver.ts), with the same group commit.
    let bareBytes = 0;
    const sendBare = async () => {
      const body = nextBody();
      const status = await post(agent, bare.url, 'none', body);
      if (status === 200) bareBytes += body.length;
      return status;
    };
    const [served, floor] = await openLoop(rate, seconds, [send, sendBare], () => {
      cpuAtStart = cpu();
    });
    const latencyServeCpu = (cpuSeconds(serve.child.pid) ?? Number.NaN) - (cpuAtStart?.serve ?? Number.NaN);
    const latencyGenCpu = process.cpuUsage(cpuAtStart?.gen);

    // Nothing acknowledged is missing: the file and the collector's counts hold every event.
    // An id is `${batch}-${index}-…`: kept as the number batch × BATCH + index (a slice of the line would
    // keep the whole line alive: gigabytes for a run of millions of events).
    const ids = new Set<number>();
    let lines = 0;
    for await (const l of createInterface({ input: createReadStream(join(dir, 'out.ndjson')) })) {
      if (!l) continue;
      lines++;
      const dash = l.indexOf('-', 7);
      ids.add(Number(l.slice(7, dash)) * BATCH + Number(l.slice(dash + 1, l.indexOf('-', dash + 1))));
    }
    const view = await call(serve.base, 'GET', '/api/collectors/bench', session);
    const bareSize = statSync(join(dir, 'bare.ndjson')).size;
    if (bareSize !== bareBytes)
      throw new Error(`bare receiver: acknowledged ${bareBytes} bytes, wrote ${bareSize}`);
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
      [fixedRate ? 'atFixedRate' : 'atHalfLoad']: {
        ...latencyFigures(served!),
        serveCpuSec: latencyServeCpu.toFixed(2),
        generatorCpuSec: ((latencyGenCpu.user + latencyGenCpu.system) / 1e6).toFixed(2),
      },
      bareFloorInTurns: latencyFigures(floor!),
      refused,
      verified: `${acked} acknowledged events, all in the file and the counts`,
    };
  } finally {
    await bare.stop();
    serve.child.kill('SIGTERM');
    await new Promise((ok) => serve.child.once('exit', ok));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident set size of a process in MB, from /proc (Linux); NaN elsewhere. */
function rssMB(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One request with a body; resolves with the status and the body's text. */
function send(
  url: URL,
  headers: Record<string, string | number>,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** The largest bodies the default limits allow (maxBodyMB 10, maxDecompressedMB 100, maxRecords 100,000). */
function worstBodies(): Array<{ name: string; body: Buffer; gzip: boolean }> {
  const MB = 1024 * 1024;
  const tiny = (bytes: number) => Buffer.from('1\n'.repeat(bytes / 2));
  const record = (i: number) => `{"n":${i},"pad":"${'x'.repeat(1000 - 20 - String(i).length)}"}\n`;
  const records = (n: number, line = record) =>
    Buffer.from(Array.from({ length: n }, (_, i) => line(i)).join(''));
  // A trailing comma: each line is a dead letter (stored with the reason) instead of an event.
  const broken = (i: number) => `${record(i).slice(0, -3)}",}\n`;
  const out = [
    { name: 'max body of 2-byte lines (10 MB)', body: tiny(10 * MB), gzip: false },
    { name: 'gzip: 2-byte lines up to the limit (100 MB)', body: gzipSync(tiny(100 * MB - 2)), gzip: true },
    { name: 'gzip bomb: 100 MB of zeros', body: gzipSync(Buffer.alloc(100 * MB)), gzip: true },
    { name: 'gzip: 99,999 records of 1 KB (≈98 MB)', body: gzipSync(records(99_999)), gzip: true },
    {
      name: 'gzip: 99,999 broken JSON lines of 1 KB (dead letters)',
      body: gzipSync(records(99_999, broken)),
      gzip: true,
    },
    {
      name: 'deep nesting: 10 MB of brackets',
      body: Buffer.from(`${'['.repeat(5 * MB)}${']'.repeat(5 * MB)}`),
      gzip: false,
    },
    { name: 'max body of 1 KB records (10 MB)', body: records(10_240), gzip: false },
  ];
  return out;
}

export async function webhookWorstCase() {
  const rows = [];
  for (const b of worstBodies()) rows.push(await worstCaseRow(b));
  return rows;
}

/** One worst-case body sent alone to a fresh `tributary serve` (so that earlier bodies leave no room). */
async function worstCaseRow(b: ReturnType<typeof worstBodies>[number]) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-webhook-worst-'));
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
      name: 'worst',
      source: 'webhook',
      destinations: ['out'],
    });
    const token = created.json.ingestToken as string;
    const url = new URL(`${serve.base}/ingest/worst`);
    const health = new URL(`${serve.base}/healthz`);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const probe = () =>
      new Promise<number>((ok, fail) => {
        const t = performance.now();
        request(health, { agent }, (res) => {
          res.resume();
          res.on('end', () => ok(performance.now() - t));
        })
          .on('error', fail)
          .end();
      });
    await send(url, { authorization: `Bearer ${token}` }, Buffer.from('{"warm":1}\n'));
    await probe();
    await new Promise((r) => setTimeout(r, 500)); // the server settles after starting
    const before = rssMB(serve.child.pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMB(serve.child.pid));
    }, 5);
    const t0 = performance.now();
    let done = false;
    const answer = send(
      url,
      { authorization: `Bearer ${token}`, ...(b.gzip && { 'content-encoding': 'gzip' }) },
      b.body,
    ).finally(() => {
      done = true;
    });
    const latencies: number[] = [];
    while (!done) latencies.push(await probe());
    const { status, text } = await answer;
    const ms = performance.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, rssMB(serve.child.pid));
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssMB(serve.child.pid);
    latencies.sort((x, y) => x - y);
    let code: string | undefined;
    try {
      const j = JSON.parse(text);
      code = j.error?.code ?? `accepted ${j.accepted}, dead-lettered ${j.deadLettered}`;
    } catch {
      code = text.slice(0, 80);
    }
    agent.destroy();
    return {
      body: b.name,
      sentMB: (b.body.length / 1048576).toFixed(2),
      answer: `${status} ${code}`,
      seconds: (ms / 1000).toFixed(2),
      rssBeforeMB: Math.round(before),
      rssGrowthPeakMB: Math.round(peak - before),
      rssGrowthAfter1sMB: Math.round(after - before),
      healthz: {
        probes: latencies.length,
        p50Ms: latencies.length ? quantile(latencies, 0.5).toFixed(1) : null,
        maxMs: latencies.length ? latencies.at(-1)!.toFixed(1) : null,
      },
    };
  } finally {
    serve.child.kill('SIGTERM');
    await new Promise((ok) => serve.child.once('exit', ok));
    rmSync(dir, { recursive: true, force: true });
  }
}
