import { randomBytes } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Destination } from '../src/core/destination.ts';
import { type Envelope, lineLength, makeEnvelope } from '../src/core/envelope.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from '../src/destinations/azure-blob/azurite.ts';
import { GcsSimulator } from '../src/destinations/gcs/gcs-simulator.ts';
import {
  createDestination,
  type DestinationConfigInput,
  destinationConfigSchema,
} from '../src/destinations/index.ts';
import type { DestinationContext } from '../src/destinations/kind.ts';
import { S3Gate } from '../src/destinations/s3/s3-gate.ts';
import { Rsyslog } from '../src/destinations/syslog/rsyslog.ts';
import { destinationAccount } from '../src/engine/destination-account.ts';

/**
 * Destinations: events/s and MB/s of NDJSON delivered by one destination instance, batches of
 * BENCH_BATCH (default 500) events of ≈1 KB sent one after the other (each acknowledged before the
 * next, as the runner does), against each kind's local server or simulator. One table entry per
 * kind: `start` brings up the target and returns the destination's config (and context), `stop`
 * takes it down. MB/s counts the envelope lines (what a file destination would write), before any
 * compression. BENCH_EVENTS (default 20000) events per kind.
 */

interface Target {
  config: DestinationConfigInput;
  ctx?: Partial<DestinationContext>;
  /** What the figures include besides the destination (a gate, an emulator). */
  note: string;
  stop(): Promise<void>;
}

const ENTRIES: Array<{ kind: string; start(): Promise<Target> }> = [
  {
    kind: 's3',
    async start() {
      const gate = new S3Gate({ buckets: ['bench-logs'] });
      await gate.start();
      return {
        config: {
          kind: 's3',
          bucket: 'bench-logs',
          endpoint: gate.url,
          accessKeyId: gate.accessKeyId,
          secretAccessKey: gate.secretAccessKey,
        },
        note: 's3rver on disk behind the SigV4-verifying gate (gzip objects)',
        stop: () => gate.stop(),
      };
    },
  },
  {
    kind: 'azure-blob',
    async start() {
      const azurite = new Azurite();
      await azurite.start();
      await new BlobServiceClient(
        azurite.endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      )
        .getContainerClient('bench-logs')
        .create();
      return {
        config: {
          kind: 'azure-blob',
          endpoint: azurite.endpoint,
          container: 'bench-logs',
          accountKey: AZURITE_KEY,
        },
        note: 'Azurite on disk (gzip blobs)',
        stop: () => azurite.stop(),
      };
    },
  },
  {
    kind: 'gcs',
    async start() {
      const sim = new GcsSimulator(['bench-logs']);
      await sim.start();
      const fields = sim.accountFields();
      return {
        config: { kind: 'gcs', bucket: 'bench-logs', account: 'gcp', endpoint: sim.url },
        ctx: { account: async (name) => destinationAccount({ name, kind: 'google', fields, version: '1' }) },
        note: 'the JSON API simulator, in memory (gzip objects)',
        stop: () => sim.stop(),
      };
    },
  },
  {
    kind: 'nats',
    async start() {
      const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
      const run = randomBytes(4).toString('hex');
      const nc = await connect({ servers });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: `BENCH_${run}`, subjects: [`bench${run}.>`] });
      return {
        config: { kind: 'nats', servers: [servers], subject: `bench${run}.{source}` },
        note: 'nats-server with JetStream (file storage), every PubAck awaited',
        async stop() {
          await jsm.streams.delete(`BENCH_${run}`);
          await nc.close();
        },
      };
    },
  },
  {
    kind: 'syslog',
    async start() {
      const rsyslog = new Rsyslog();
      await rsyslog.start({ protocol: 'tcp' });
      return {
        config: { kind: 'syslog', host: '127.0.0.1', port: rsyslog.port, protocol: 'tcp' },
        note: 'rsyslogd imtcp to omfile, octet counting (written to the socket; no acknowledgement)',
        async stop() {
          await rsyslog.stop();
          rsyslog.cleanup();
        },
      };
    },
  },
  {
    kind: 'syslog (tls)',
    async start() {
      const rsyslog = new Rsyslog();
      await rsyslog.start({ protocol: 'tls' });
      return {
        config: {
          kind: 'syslog',
          host: '127.0.0.1',
          port: rsyslog.port,
          protocol: 'tls',
          ca: rsyslog.ca!.certificatePem,
        },
        note: 'rsyslogd imtcp with gtls to omfile',
        async stop() {
          await rsyslog.stop();
          rsyslog.cleanup();
        },
      };
    },
  },
];

function events(n: number): Envelope[] {
  const ctx = { source: 'okta', stream: 'logs', collector: 'okta-bench' };
  const start = Date.parse('2026-03-01T10:00:00.000Z');
  const pad = randomBytes(600).toString('base64').slice(0, 780);
  return Array.from({ length: n }, (_, i) => {
    const id = `bench-${String(i).padStart(8, '0')}`;
    const time = new Date(start + i * 50).toISOString();
    return makeEnvelope(
      ctx,
      { uuid: id, eventType: 'user.session.start', actor: { id: 'u1' }, pad },
      id,
      time,
      time,
    );
  });
}

export async function destinations() {
  const total = Number(process.env.BENCH_EVENTS ?? 20_000);
  const batch = Number(process.env.BENCH_BATCH ?? 500);
  const only = process.env.BENCH_KINDS?.split(',');
  const all = events(total);
  const bytes = all.reduce((n, e) => n + lineLength(e) + 1, 0);
  const rows: Array<Record<string, unknown>> = [];
  for (const entry of ENTRIES) {
    if (only && !only.includes(entry.kind)) continue;
    const target = await entry.start();
    let d: Destination | undefined;
    try {
      const config = destinationConfigSchema.parse(target.config);
      d = createDestination(`bench-${entry.kind}`, config, {
        baseDir: '.',
        files: undefined as never,
        ...target.ctx,
      });
      await d.send(all.slice(0, batch), AbortSignal.timeout(60_000)); // warm-up: connections, tokens
      const started = process.hrtime.bigint();
      for (let i = 0; i < total; i += batch)
        await d.send(all.slice(i, i + batch), AbortSignal.timeout(120_000));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rows.push({
        kind: entry.kind,
        events: total,
        eventBytes: Math.round(bytes / total),
        batch,
        seconds: Number(seconds.toFixed(2)),
        eventsPerSecond: Math.round(total / seconds),
        mbPerSecond: Number((bytes / seconds / 1e6).toFixed(1)),
        target: target.note,
      });
    } finally {
      await d?.close();
      await target.stop();
    }
  }
  return { rows };
}
