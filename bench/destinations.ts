import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fetch } from 'undici';
import { accountKinds } from '../src/accounts/index.ts';
import { type Envelope, keepVendorText, lineLength, makeEnvelope } from '../src/core/envelope.ts';
import { fileScope } from '../src/destinations/file/file-scope.ts';
import {
  type AccountCredential,
  createDestination,
  type DestinationConfigInput,
  destinationConfigSchema,
} from '../src/destinations/index.ts';
import { envelopeLine } from '../src/destinations/ndjson.ts';
import { Http } from '../src/engine/http.ts';
import { cpuSeconds } from './sim-process.ts';

/**
 * Destinations: batches of 1,000 envelopes of ≈1 KB (as a vendor page arrives) sent one after the
 * other, as one collector's runner does, to each destination kind's simulator running in its own
 * process (bench/destination-sims.ts), with the kind's default settings (gzip where it is the default).
 * Every event must have arrived (for Splunk with acknowledgement: been acknowledged) or the row fails.
 * Figures per kind: events/s and MB/s of envelope lines, this process's CPU seconds and the simulator's.
 *
 * Context rows, measured in the same run:
 * - bare limit, as bench/throughput.ts measures one: the same vendor pages (JSON text) through
 *   `JSON.parse`, `JSON.stringify` of each record with its id, and a file write, with no engine, HTTP,
 *   retries or fsync (best of three);
 * - bare HTTP: the same NDJSON bodies POSTed one after the other to a receiver that only counts lines.
 *
 * One entry per kind in ROWS: a kind added is one more entry. BENCH_KINDS=splunk-hec,http runs some.
 */

type Info = Record<string, string>;

interface Row {
  name: string;
  /** The simulator (bench/destination-sims.ts) and its arguments; none: no network. */
  sim?: [string, ...string[]];
  config(info: Info, dir: string): DestinationConfigInput;
  /** The account credentials a kind sending with an account's token uses. */
  account?(info: Info): AccountCredential;
}

const http = new Http({ vendor: 'bench', maxAttempts: 3 });
const credential = (kind: string, fields: unknown): AccountCredential => ({
  kind,
  authorize: (headers, url, refresh) =>
    accountKinds[kind]!.authorize(fields, headers, { refresh, http, url }),
});

const ROWS: Row[] = [
  {
    name: 'file',
    config: (_, dir) => ({ kind: 'file', path: join(dir, 'out.ndjson'), maxBytes: 2 ** 40, maxFiles: 1 }),
  },
  { name: 'http', sim: ['sink'], config: (i) => ({ kind: 'http', url: `${i.url}/ingest` }) },
  {
    name: 'splunk-hec',
    sim: ['splunk-hec'],
    config: (i) => ({ kind: 'splunk-hec', url: i.url!, token: i.token! }),
  },
  {
    name: 'splunk-hec (indexer acknowledgement)',
    sim: ['splunk-hec', 'ack'],
    config: (i) => ({ kind: 'splunk-hec', url: i.url!, token: i.token!, ack: true, ackPollMs: 10 }),
  },
  {
    name: 'elasticsearch',
    sim: ['elasticsearch'],
    config: (i) => ({
      kind: 'elasticsearch',
      url: i.url!,
      auth: { type: 'basic', username: 'bench', password: 'bench-pw' },
    }),
  },
  {
    name: 'opensearch',
    sim: ['opensearch'],
    config: (i) => ({
      kind: 'opensearch',
      url: i.url!,
      auth: { type: 'basic', username: 'bench', password: 'bench-pw' },
    }),
  },
  {
    name: 'azure-monitor-logs',
    sim: ['azure-monitor-logs'],
    config: (i) => ({
      kind: 'azure-monitor-logs',
      account: 'entra',
      endpoint: i.url!,
      dcrImmutableId: i.dcrId!,
      stream: 'Custom-TributaryEvents',
    }),
    account: (i) =>
      credential('microsoft', {
        tenantId: i.tenantId,
        clientId: i.clientId,
        clientSecret: i.clientSecret,
        authorityHost: i.url,
        cloud: 'global',
      }),
  },
  {
    name: 'google-secops',
    sim: ['google-secops'],
    config: (i) => ({
      kind: 'google-secops',
      account: 'gcp',
      region: i.location!,
      project: i.project!,
      instance: i.instance!,
      logType: 'OKTA',
      endpoint: i.url!,
    }),
    account: (i) => credential('google', { serviceAccountKey: i.key, tokenUrl: i.tokenUrl }),
  },
  {
    name: 'exabeam',
    sim: ['exabeam'],
    config: (i) => ({ kind: 'exabeam', url: `${i.url}/cloud-collectors/v1/logs/json`, token: i.token! }),
  },
];

const PAGE = 1000;

/**
 * Envelopes of ≈1 KB lines, in pages, carrying their vendor text as the engine's parsed records do;
 * and each page as the vendor's JSON text (for the bare limit).
 */
function pages(events: number): { batches: Envelope[][]; texts: string[] } {
  const out: Envelope[][] = [];
  const texts: string[] = [];
  const ctx = { source: 'okta', stream: 'system-log', collector: 'okta-prod', sitename: 'hq' };
  for (let p = 0; p * PAGE < events; p++) {
    const page: Envelope[] = [];
    const records: unknown[] = [];
    for (let i = p * PAGE; i < Math.min(events, (p + 1) * PAGE); i++) {
      const published = new Date(Date.UTC(2026, 10, 25, 10) + i).toISOString();
      const raw = {
        uuid: `bench-${i.toString().padStart(8, '0')}`,
        published,
        eventType: 'user.session.start',
        actor: {
          id: `00u${i}`,
          type: 'User',
          alternateId: `user${i}@acme.example`,
          displayName: `User ${i}`,
        },
        client: {
          ipAddress: `10.${i % 256}.${(i >> 8) % 256}.1`,
          userAgent: { rawUserAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
        },
        outcome: { result: 'SUCCESS' },
        debugContext: { debugData: { requestId: `req-${i}`, padding: 'x'.repeat(560) } },
      };
      keepVendorText(raw, JSON.stringify(raw));
      records.push(raw);
      page.push(makeEnvelope(ctx, raw, raw.uuid, published, '2026-11-25T10:00:01.000Z'));
    }
    out.push(page);
    texts.push(JSON.stringify(records));
  }
  return { batches: out, texts };
}

async function spawnSim(args: string[]) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'destination-sims.ts'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const queue: Array<(l: string) => void> = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = () => new Promise<Record<string, any>>((ok) => queue.push((l) => ok(JSON.parse(l))));
  const info = (await next()) as Info;
  return {
    info,
    cpu: () => cpuSeconds(child.pid),
    async received(): Promise<number> {
      const answer = next();
      child.stdin!.write('{"cmd":"stats"}\n');
      return (await answer).received as number;
    },
    stop: async () => {
      child.stdin!.end();
      await new Promise((ok) => child.once('exit', ok));
    },
  };
}

const mb = (b: number, ms: number) => (b / 1048576 / (ms / 1000)).toFixed(1);
const eps = (n: number, ms: number) => Math.round(n / (ms / 1000));

export async function destinations(events = Number(process.env.BENCH_EVENTS ?? 50_000)) {
  const { batches, texts } = pages(events);
  let bytes = 0;
  for (const b of batches) for (const e of b) bytes += lineLength(e) + 1;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-dest-'));
  const signal = new AbortController().signal;
  try {
    // The bare limit (bench/throughput.ts): parse each page, stringify each record with its id, write.
    for (const t of texts) JSON.parse(t); // flattens each page's text before any timing
    let bareMs = Number.POSITIVE_INFINITY;
    let bareBytes = 0;
    for (let round = 0; round < 3; round++) {
      const fd = openSync(join(dir, 'bare.ndjson'), 'w');
      bareBytes = 0;
      const t0 = performance.now();
      for (const t of texts) {
        const records = JSON.parse(t) as Array<{ uuid: string }>;
        bareBytes += writeSync(
          fd,
          `${records.map((r) => JSON.stringify({ id: r.uuid, raw: r })).join('\n')}\n`,
        );
      }
      bareMs = Math.min(bareMs, performance.now() - t0);
      closeSync(fd);
    }
    rmSync(join(dir, 'bare.ndjson'));

    // Bare HTTP: the same bodies POSTed to a receiver that counts lines.
    const sink = await spawnSim(['sink']);
    const bodies = batches.map((b) => `${b.map(envelopeLine).join('\n')}\n`);
    const h0 = performance.now();
    for (const body of bodies) {
      const res = await fetch(`${sink.info.url}/bare`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      await res.arrayBuffer();
    }
    const bareHttpMs = performance.now() - h0;
    if ((await sink.received()) !== events) throw new Error('bare HTTP: events missing');
    await sink.stop();

    const rows: Array<Record<string, unknown>> = [];
    const only = process.env.BENCH_KINDS?.split(',').map((k) => k.trim());
    for (const row of ROWS.filter((r) => !only || only.includes(r.name.split(' ')[0]!))) {
      const sim = row.sim ? await spawnSim(row.sim) : undefined;
      const info = sim?.info ?? {};
      const config = destinationConfigSchema.parse(row.config(info, dir));
      const account = row.account?.(info);
      const dest = createDestination(`bench-${row.name}`, config, {
        baseDir: dir,
        files: fileScope(dir),
        account: async () => account!,
      });
      const simCpu0 = sim?.cpu();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (const b of batches) await dest.send(b, signal);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const simCpu = (sim?.cpu() ?? Number.NaN) - (simCpu0 ?? Number.NaN);
      await dest.close();
      const received = sim ? await sim.received() : events;
      await sim?.stop();
      if (received !== events) throw new Error(`${row.name}: ${received} of ${events} events arrived`);
      rows.push({
        kind: row.name,
        eventsPerSec: eps(events, ms),
        mbPerSec: mb(bytes, ms),
        ms: Math.round(ms),
        cpuSec: ((cpu.user + cpu.system) / 1e6).toFixed(2),
        simCpuSec: Number.isNaN(simCpu) ? undefined : simCpu.toFixed(2),
        vsBareLimit: `${Math.round((eps(events, ms) / eps(events, bareMs)) * 100)}%`,
      });
    }
    return {
      events,
      avgEventBytes: Math.round(bytes / events),
      batch: PAGE,
      bareLimit: {
        eventsPerSec: eps(events, bareMs),
        mbPerSec: mb(bareBytes, bareMs),
        ms: Math.round(bareMs),
      },
      bareHttp: {
        eventsPerSec: eps(events, bareHttpMs),
        mbPerSec: mb(bytes, bareHttpMs),
        ms: Math.round(bareHttpMs),
      },
      kinds: rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
