/**
 * Runs a vendor simulator in its own process, for benchmarks and crash tests:
 *
 *   node src/app/simulators.ts okta --events 100000 --event-bytes 1024 [--spacing-ms 10] [--seed 1] [--prerender]
 *        [--token T] [--port 0] [--live 5] [--rate-limit 100000]
 *   node src/app/simulators.ts chatgpt-enterprise [--files-per-type 3] [--events-per-file 5] [--api-key K]
 *   node src/app/simulators.ts event-hub [--partitions 4] [--events 0] [--event-bytes 1024]
 *
 * Prints one JSON line with the URL and credentials once listening, e.g.
 * `{"ready":true,"source":"okta","url":"http://127.0.0.1:40123","token":"00…"}`.
 * Then reads JSON-line commands on stdin and answers each with one JSON line on stdout:
 *   {"cmd":"addEvents","n":100,"visibleDelayMs":0}     (okta)
 *   {"cmd":"startLive","rate":5} / {"cmd":"stopLive"}
 *   {"cmd":"send","n":100} / {"cmd":"disconnect"} / {"cmd":"hubStats"}  (event-hub: AMQP, hub `insights`)
 *   {"cmd":"inject","fault":{"kind":"status","status":503,"times":3,"path":"^/api/"}}
 *   {"cmd":"stats"}   → {"requests":N,"writeCalls":[…],"events":N}
 *   {"cmd":"stop"}
 * Stops on SIGTERM/SIGINT, on `stop`, and when a stdin pipe closes (the parent went away).
 * No vendor behaviour of its own: it hosts the vendor simulators, which cite the documentation they follow.
 */
import { fstatSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { EventHubAmqpSim } from '../sim/event-hub-amqp.ts';
import type { Fault, RecordedRequest } from '../sim/kit.ts';
import { type AddFileOptions, ChatGptComplianceSimulator } from '../sources/chatgpt-enterprise/simulator.ts';
import { OktaSimulator } from '../sources/okta/simulator.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    events: { type: 'string' },
    'event-bytes': { type: 'string' },
    prerender: { type: 'boolean' },
    'spacing-ms': { type: 'string' },
    seed: { type: 'string' },
    token: { type: 'string' },
    'api-key': { type: 'string' },
    port: { type: 'string' },
    live: { type: 'string' },
    'rate-limit': { type: 'string' },
    'files-per-type': { type: 'string' },
    'events-per-file': { type: 'string' },
    partitions: { type: 'string' },
  },
});

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const kind = positionals[0];

interface Running {
  info: Record<string, unknown>;
  stop(): Promise<void>;
  inject(f: Fault): void;
  requests(): RecordedRequest[];
  writeCalls(): RecordedRequest[];
  events(): number;
  command(cmd: Record<string, any>): unknown;
}

async function launch(): Promise<Running> {
  if (kind === 'okta') {
    const sim = new OktaSimulator({
      events: num(values.events),
      eventBytes: num(values['event-bytes']),
      prerender: values.prerender,
      spacingMs: num(values['spacing-ms']),
      seed: values.seed,
      token: values.token,
      port: num(values.port),
      rateLimitPerMinute: num(values['rate-limit']),
    });
    const url = await sim.start();
    if (values.live) sim.startLive(Number(values.live));
    return {
      info: { source: 'okta', url, token: sim.token },
      stop: () => sim.stop(),
      inject: (f) => sim.inject(f),
      requests: () => sim.requests(),
      writeCalls: () => sim.writeCalls(),
      events: () => sim.eventCount,
      command: (c) => {
        if (c.cmd === 'addEvents') return { ids: sim.addEvents(c.n ?? 1, c) };
        if (c.cmd === 'startLive') return sim.startLive(c.rate ?? 1);
        if (c.cmd === 'stopLive') return sim.stopLive();
        throw new Error(`unknown command ${c.cmd}`);
      },
    };
  }
  if (kind === 'chatgpt-enterprise') {
    const sim = new ChatGptComplianceSimulator({
      seed: values.seed,
      apiKey: values['api-key'],
      rateLimitPerMinute: num(values['rate-limit']),
      filesPerType: num(values['files-per-type']),
      eventsPerFile: num(values['events-per-file']),
    });
    const url = await sim.start();
    if (values.live) sim.startLive(Number(values.live));
    return {
      info: {
        source: 'chatgpt-enterprise',
        url,
        baseUrl: sim.baseUrl,
        apiKey: sim.apiKey,
        workspaceId: sim.workspaceId,
        organizationId: sim.organizationId,
      },
      stop: () => sim.stop(),
      inject: (f) => sim.inject(f),
      requests: () => sim.requests(),
      writeCalls: () => sim.writeCalls(),
      events: () => sim.events().length,
      command: (c) => {
        if (c.cmd === 'addFile') return sim.addFile(c.eventType, c as AddFileOptions);
        if (c.cmd === 'startLive') return sim.startLive(c.rate);
        if (c.cmd === 'stopLive') return sim.stopLive();
        throw new Error(`unknown command ${c.cmd}`);
      },
    };
  }
  if (kind === 'event-hub') {
    const sim = await new EventHubAmqpSim({
      hubs: { insights: { partitions: num(values.partitions) ?? 4, consumerGroups: ['tributary'] } },
    }).start();
    const bytes = num(values['event-bytes']) ?? 1024;
    let n = 0;
    // Azure Monitor diagnostic events, `{"records":[…]}` with one record each, rendered once as text.
    const send = (count: number) => {
      const bodies: string[] = [];
      for (let i = 0; i < count; i++, n++) {
        const record = {
          time: new Date(Date.UTC(2026, 11, 7, 5, 0, 0, n)).toISOString(),
          resourceId: '/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1',
          operationName: 'SecretGet',
          category: 'AuditEvent',
          properties: { n, pad: '' },
        };
        const base = JSON.stringify({ records: [record] }).length;
        record.properties.pad = 'x'.repeat(Math.max(0, bytes - base));
        bodies.push(JSON.stringify({ records: [record] }));
      }
      sim.send('insights', bodies);
      return count;
    };
    send(num(values.events) ?? 0);
    return {
      info: { source: 'event-hub', connectionString: sim.connectionString(), hub: 'insights' },
      stop: () => sim.close(),
      inject: () => {
        throw new Error('event-hub: use the disconnect command');
      },
      requests: () => [],
      writeCalls: () => [],
      events: () => sim.hub('insights').all().length,
      command: (c) => {
        if (c.cmd === 'send') return send(Number(c.n));
        if (c.cmd === 'disconnect') return sim.disconnect();
        if (c.cmd === 'hubStats') return sim.stats;
        throw new Error(`unknown command ${c.cmd}`);
      },
    };
  }
  throw new Error(
    `usage: node src/app/simulators.ts <okta|chatgpt-enterprise|event-hub> [options] (got ${kind ?? 'nothing'})`,
  );
}

const running = await launch();
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await running.stop();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdout.write(`${JSON.stringify({ ready: true, ...running.info })}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let answer: unknown;
  try {
    const c = JSON.parse(line);
    if (c.cmd === 'stop') return void shutdown();
    if (c.cmd === 'inject') {
      const f = { ...c.fault };
      if (typeof f.path === 'string') f.path = new RegExp(f.path);
      running.inject(f);
      answer = { ok: true };
    } else if (c.cmd === 'stats') {
      const brief = (r: RecordedRequest) => ({
        method: r.method,
        path: r.path,
        query: r.query.toString(),
        at: r.at,
      });
      answer = {
        requests: running.requests().length,
        writeCalls: running.writeCalls().map(brief),
        events: running.events(),
      };
    } else answer = { ok: true, result: running.command(c) ?? null };
  } catch (err) {
    answer = { ok: false, error: (err as Error).message };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
// Only a pipe from a parent means "parent gone" when it closes (not /dev/null or a terminal).
const stdin = fstatSync(0);
if (stdin.isFIFO() || stdin.isSocket()) lines.on('close', shutdown);
