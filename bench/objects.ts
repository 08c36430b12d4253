import { spawn, spawnSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { AwsObjectHttpSim } from '../src/sim/aws-object-http.ts';
import { ObjectStoreSim } from '../src/sim/object-store.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { peakRss } from './rss.ts';

const LAUNCHER = join(import.meta.dirname, '../bin/tributary');
const MB = 1048576;

/** A WAF-like log record (AWS WAF Developer Guide, "Log fields"), about 420 bytes as JSON. */
function record(i: number): string {
  return JSON.stringify({
    timestamp: 1_795_000_000_000 + i,
    formatVersion: 1,
    webaclId:
      'arn:aws:wafv2:us-east-1:111122223333:regional/webacl/my-acl/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    terminatingRuleId: 'Default_Action',
    terminatingRuleType: 'REGULAR',
    action: i % 7 ? 'ALLOW' : 'BLOCK',
    httpSourceName: 'ALB',
    httpSourceId: '111122223333-app/my-lb/50dc6c495c0c9188',
    httpRequest: {
      clientIp: `198.51.${(i >> 8) & 255}.${i & 255}`,
      country: 'US',
      uri: `/api/items/${i}`,
      args: `page=${i % 100}`,
      httpVersion: 'HTTP/2.0',
      httpMethod: i % 3 ? 'GET' : 'POST',
      requestId: `req-${i.toString(36)}`,
    },
  });
}

/** Writes a gzip NDJSON object of about `mb` MB (decompressed) to `path`; returns its records and sizes. */
async function makeObject(path: string, mb: number) {
  const target = mb * MB;
  let plain = 0;
  let n = 0;
  const lines = Readable.from(
    (function* () {
      while (plain < target) {
        let chunk = '';
        for (let k = 0; k < 256 && plain < target; k++) {
          const line = `${record(n++)}\n`;
          plain += line.length;
          chunk += line;
        }
        yield chunk;
      }
    })(),
  );
  await pipeline(lines, createGzip({ level: 1 }), createWriteStream(path));
  return { records: n, plainBytes: plain, gzipBytes: statSync(path).size };
}

/**
 * The bare decode limit: gunzip + split lines + JSON.parse + JSON.stringify + write to a file, in this
 * process, with nothing of Tributary's (no envelope, no batching, no checkpoint).
 */
async function bareDecode(gz: string, out: string) {
  const started = performance.now();
  const sink = createWriteStream(out);
  let carry = '';
  let n = 0;
  const write = (s: string) =>
    sink.write(s) ? undefined : new Promise<void>((ok) => sink.once('drain', () => ok()));
  for await (const chunk of createReadStream(gz).pipe(createGunzip())) {
    const text = carry + (chunk as Buffer).toString('utf8');
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    let buf = '';
    for (const line of parts) {
      if (!line) continue;
      buf += `${JSON.stringify(JSON.parse(line))}\n`;
      n++;
    }
    const wait = write(buf);
    if (wait) await wait;
  }
  if (carry) {
    sink.write(`${JSON.stringify(JSON.parse(carry))}\n`);
    n++;
  }
  await new Promise<void>((ok) => sink.end(ok));
  return { records: n, seconds: (performance.now() - started) / 1000 };
}

/**
 * `npm run bench -- objects`: one gzip NDJSON object of BENCH_OBJECT_MB (default 1024) MB decompressed,
 * announced by an S3 notification on SQS and read by `bin/tributary run --once` (aws-s3 collector, file
 * destination) from the S3/SQS simulator over HTTP (SigV4 verified), in its own process: its peak RSS
 * (VmHWM) and its throughput, beside the bare decode limit of the same object measured in the same run.
 */
export async function objects(mb = Number(process.env.BENCH_OBJECT_MB ?? 1024)) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-objects-'));
  const sim = new ObjectStoreSim({ bucket: 'bench-bucket', visibilityTimeoutMs: 3_600_000 });
  const http = new AwsObjectHttpSim(sim, { accountId: '111122223333', queueName: 'bench' });
  try {
    const gz = join(dir, 'object.ndjson.gz');
    const made = await makeObject(gz, mb);
    const bareCpu0 = process.cpuUsage();
    const bare = await bareDecode(gz, join(dir, 'bare.ndjson'));
    const bareCpu = process.cpuUsage(bareCpu0);
    rmSync(join(dir, 'bare.ndjson'));
    if (bare.records !== made.records) throw new Error(`bare decode read ${bare.records} of ${made.records}`);

    await http.start();
    const key = 'AWSLogs/111122223333/WAFLogs/us-east-1/my-acl/2026/11/25/12/00/bench.log.gz';
    sim.putGenerated(key, made.gzipBytes, () => createReadStream(gz, { highWaterMark: 256 * 1024 }));
    sim.notify([key]);

    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  aws-main: { kind: aws, accessKeyId: ${http.accessKeyId}, secretAccessKey: "\${env:AWS_SECRET}", region: us-east-1, endpoints: { s3: "${http.s3Url}", sqs: "${http.sqsUrl}" } }`,
        'destinations:',
        '  out: { kind: file, path: ./out/events.ndjson, maxBytes: 100000000000 }',
        'collectors:',
        '  s3logs:',
        '    source: aws-s3',
        '    account: aws-main',
        '    destinations: [out]',
        `    settings: { bucket: bench-bucket, region: us-east-1, queueUrl: "${http.queueUrl}", format: ndjson, waitTimeSeconds: 0 }`,
      ].join('\n'),
    );
    const data = join(dir, 'data');
    const store = await SqliteStore.open(data); // aws-s3 is early access: an admin turned it on
    await store.migrate();
    await store.setSetting('earlyAccess', 'true');
    await store.close();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_SECRET: http.secretAccessKey,
      NODE_COMPILE_CACHE: join(dir, 'compile-cache'),
    };
    if (process.env.BENCH_NODE_FLAGS !== undefined) env.TRIBUTARY_NODE_FLAGS = process.env.BENCH_NODE_FLAGS;
    const warm = spawnSync(LAUNCHER, ['sources'], { env, stdio: 'ignore' });
    if (warm.status !== 0) throw new Error(`tributary sources failed (${warm.status})`);

    const cpu0 = childCpuSeconds();
    const started = performance.now();
    const child = spawn(LAUNCHER, ['run', '--config', config, '--once', '--data-dir', data], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const rss = peakRss(child.pid, started);
    const code = await new Promise<number | null>((ok) => child.once('exit', ok));
    const peakRssMb = rss.stop();
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = childCpuSeconds() - cpu0;
    if (code !== 0) throw new Error(`run failed (${code}): ${out}`);
    const outFile = join(dir, 'out', 'events.ndjson');
    const lines = await countLines(outFile);
    if (lines !== made.records) throw new Error(`delivered ${lines} of ${made.records} records`);
    if (sim.pending() !== 0) throw new Error('the notification was not deleted');
    const plainMb = made.plainBytes / MB;
    return {
      objectMb: Math.round(plainMb),
      gzipMb: Math.round(made.gzipBytes / MB),
      records: made.records,
      peakRssMb,
      seconds: seconds.toFixed(1),
      mbPerSecond: (plainMb / seconds).toFixed(1),
      // CPU seconds of the collector's process (all its threads): steadier than the wall clock on a shared machine
      cpuSeconds: cpuSeconds.toFixed(1),
      bareSeconds: bare.seconds.toFixed(1),
      bareMbPerSecond: (plainMb / bare.seconds).toFixed(1),
      shareOfBare: `${Math.round((bare.seconds / seconds) * 100)}%`,
      bareCpuSeconds: ((bareCpu.user + bareCpu.system) / 1e6).toFixed(1),
      outputMb: Math.round(statSync(outFile).size / MB),
      summary: out.trim(),
    };
  } finally {
    await http.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) of this process's children that have ended and been waited for (Linux). */
function childCpuSeconds(): number {
  try {
    // /proc/self/stat: after the command name in parentheses, fields 16 and 17 are cutime and cstime in ticks
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  }
  return n;
}
