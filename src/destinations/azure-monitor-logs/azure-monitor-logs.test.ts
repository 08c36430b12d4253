import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControl } from '../../../test/support/control.ts';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { CONFIG_FILE } from '../../control/service.ts';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { SimServer } from '../../sim/kit.ts';
import { createDestination, destinationCatalog, destinationConfigSchema } from '../index.ts';
import { AzureMonitorLogsSimulator, MONITOR_RESOURCE } from './simulator.ts';

const fresh = tempDirs('tributary-azure');
const sim = new AzureMonitorLogsSimulator();
const elsewhere = new SimServer({ name: 'elsewhere' });
let rig: Awaited<ReturnType<typeof startControl>>;

before(async () => {
  await sim.start();
  await elsewhere.start();
  rig = await startControl(fresh());
  await rig.control.createAccount(CONFIG_FILE, {
    name: 'entra',
    kind: 'microsoft',
    fields: {
      tenantId: sim.identity.tenantId,
      clientId: sim.identity.clientId,
      clientSecret: sim.identity.clientSecret,
      authorityHost: sim.url,
    },
    origins: [sim.url], // the simulator stands for the data collection endpoint
  });
  await rig.control.createAccount(CONFIG_FILE, {
    name: 'okta-main',
    kind: 'okta',
    fields: { url: 'https://acme.okta.com', token: 'okta-token-0001' },
  });
});
after(async () => {
  await rig?.close();
  await sim.stop();
  await elsewhere.stop();
});

const signal = new AbortController().signal;
let seq = 0;
const envs = (n: number, raw: (i: number) => unknown = (i) => ({ i })): Envelope[] => {
  const base = seq;
  seq += n;
  return Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 'okta', stream: 'system-log', collector: 'okta-prod', timezone: 'Europe/Berlin' },
      raw(i),
      `a${base + i}`,
      '2026-11-25T10:00:00.000Z',
      '2026-11-25T10:00:02.000Z',
    ),
  );
};

function dest(o: Record<string, unknown> = {}, waits?: number[]): Destination {
  const config = destinationConfigSchema.parse({
    kind: 'azure-monitor-logs',
    account: 'entra',
    endpoint: sim.url,
    dcrImmutableId: sim.dcrId,
    stream: 'Custom-TributaryEvents',
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    ...o,
  });
  const d = createDestination('sentinel', config, rig.runtime.destinationContext());
  if (waits)
    (d as unknown as { delivery: { o: { sleep: unknown } } }).delivery.o.sleep = async (ms: number) =>
      void waits.push(ms);
  return d;
}
const isError = (type: string, code: string) => (e: unknown) =>
  e instanceof TributaryError && e.type === type && e.code === code;

describe('azure-monitor-logs destination', () => {
  it("posts the envelopes with TimeGenerated to the DCR's stream, gzipped, with a token for https://monitor.azure.com", async () => {
    const batch = envs(3);
    assert.equal(await dest().send(batch, signal), undefined);
    assert.deepEqual(
      sim.records.slice(-3),
      batch.map((e) => ({ TimeGenerated: e.time, ...JSON.parse(JSON.stringify(e)) })),
    );
    const req = sim.server.requests.matching(/^\/dataCollectionRules\//).at(-1)!;
    assert.equal(req.path, `/dataCollectionRules/${sim.dcrId}/streams/Custom-TributaryEvents`);
    assert.equal(req.query.get('api-version'), '2023-01-01');
    assert.equal(req.headers['content-encoding'], 'gzip');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(
      [...new Set(sim.identity.tokenRequests.map((t) => t.scope))],
      [`${MONITOR_RESOURCE}/.default`],
    );
  });

  it('keeps every call within 1 MB, compressed or not, and dead-letters an event larger than a call may be', async () => {
    const big = 'x'.repeat(300_000);
    const batch = envs(7, (i) => (i === 4 ? { huge: 'y'.repeat(1_100_000) } : { i, big }));
    const calls = sim.calls.length;
    const r = await dest({ gzip: false }).send(batch, signal);
    assert.deepEqual(
      r?.rejected?.map((x) => x.event.id),
      [batch[4]!.id],
    );
    assert.match(r!.rejected![0]!.reason, /larger than a Logs Ingestion API call may be/);
    const made = sim.calls.slice(calls);
    assert.ok(made.length >= 2, `${made.length} calls`);
    for (const c of made) assert.ok(c.raw <= 1_000_000, `a call of ${c.raw} bytes`);
    assert.equal(
      made.reduce((n, c) => n + c.records, 0),
      6,
    );
  });

  it('retries 429 and 503 after their Retry-After', async () => {
    const waits: number[] = [];
    sim.server.inject({ kind: 'rate-limit', retryAfter: 3, path: '/dataCollectionRules' });
    sim.server.inject({
      kind: 'status',
      status: 503,
      path: '/dataCollectionRules',
      headers: { 'retry-after': '1' },
    });
    const batch = envs(2);
    await dest({}, waits).send(batch, signal);
    assert.deepEqual(waits, [3000, 1000]);
    assert.deepEqual(
      sim.ids.slice(-2),
      batch.map((e) => e.id),
    );
  });

  it('a token refused once is fetched again; the batch goes through', async () => {
    sim.identity.revokeTokens();
    const before = sim.identity.tokenRequests.length;
    await dest().send(envs(1), signal);
    assert.equal(sim.identity.tokenRequests.length, before + 1, 'one fresh token');
  });

  it('refuses a token issued for another API (the audience check)', async () => {
    const form = new URLSearchParams({
      client_id: sim.identity.clientId,
      client_secret: sim.identity.clientSecret!,
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
    });
    const token = (await (
      await fetch(`${sim.url}/${sim.identity.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form })
    ).json()) as { access_token: string };
    const res = await fetch(
      `${sim.url}/dataCollectionRules/${sim.dcrId}/streams/Custom-TributaryEvents?api-version=2023-01-01`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: '[]',
      },
    );
    assert.equal(res.status, 401);
    const noVersion = await fetch(
      `${sim.url}/dataCollectionRules/${sim.dcrId}/streams/Custom-TributaryEvents`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[]',
      },
    );
    assert.equal(noVersion.status, 400, 'the simulator checks api-version too');
    assert.match(await noVersion.text(), /MissingApiVersionParameter/);
  });

  it('without the Monitoring Metrics Publisher role: a config error saying so, in send and in test', async () => {
    sim.roleAssigned = false;
    try {
      for (const run of [(d: Destination) => d.send(envs(1), signal), (d: Destination) => d.test!(signal)])
        await assert.rejects(run(dest()), (e: TributaryError) => {
          assert.ok(isError('config', 'destination_rejected')(e));
          assert.equal(e.status, 403);
          assert.match(e.action, /Monitoring Metrics Publisher/);
          assert.match(e.message, /does not have access to ingest data/);
          return true;
        });
    } finally {
      sim.roleAssigned = true;
    }
    await dest().test!(signal);
  });

  it('a stream the DCR does not declare, or an unknown DCR, are config errors', async () => {
    await assert.rejects(dest({ stream: 'Custom-Nope' }).send(envs(1), signal), (e: TributaryError) => {
      assert.equal(e.status, 400);
      assert.match(e.message, /InvalidStream/);
      return true;
    });
    await assert.rejects(
      dest({ dcrImmutableId: 'dcr-ffffffffffffffffffffffffffffffff' }).test!(signal),
      (e: TributaryError) => e.type === 'config' && e.status === 404,
    );
  });

  it("never sends the account's token outside its origins, and names the account it needs", async () => {
    await assert.rejects(
      dest({ endpoint: elsewhere.url }).send(envs(1), signal),
      isError('config', 'credential_origin_refused'),
    );
    assert.equal(elsewhere.requests.all().length, 0, 'nothing reached the other host');
    await assert.rejects(
      dest({ account: 'nobody' }).send(envs(1), signal),
      isError('config', 'account_missing'),
    );
    await assert.rejects(
      dest({ account: 'okta-main' }).send(envs(1), signal),
      isError('config', 'account_kind_mismatch'),
    );
  });

  it('is listed with its account kind and titled settings; maxBatchBytes is capped at the call limit', () => {
    const k = destinationCatalog().find((c) => c.kind === 'azure-monitor-logs')!;
    assert.deepEqual(k.accountKinds, ['microsoft']);
    assert.deepEqual(k.secrets, []);
    const props = (k.settings as { properties: Record<string, { title?: string; description?: string }> })
      .properties;
    for (const [key, p] of Object.entries(props))
      if (key !== 'kind') assert.ok(p.title && p.description, `${key} has a title and a description`);
    assert.equal(
      destinationConfigSchema.safeParse({
        kind: 'azure-monitor-logs',
        account: 'a',
        endpoint: sim.url,
        dcrImmutableId: 'x',
        stream: 'Custom-A',
      }).success,
      false,
    );
    assert.equal(
      destinationConfigSchema.safeParse({
        kind: 'azure-monitor-logs',
        account: 'a',
        endpoint: sim.url,
        dcrImmutableId: sim.dcrId,
        stream: 'Custom-A',
        maxBatchBytes: 2_000_000,
      }).success,
      false,
      'maxBatchBytes may not pass the 1 MB call limit',
    );
  });
});
