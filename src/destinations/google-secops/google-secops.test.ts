import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControl } from '../../../test/support/control.ts';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { apiFor, CHRONICLE_API } from '../../accounts/google.ts';
import { accountKinds } from '../../accounts/index.ts';
import { CONFIG_FILE } from '../../control/service.ts';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { accountOrigins, OriginSet } from '../../engine/credential-origins.ts';
import { createDestination, destinationCatalog, destinationConfigSchema } from '../index.ts';
import { GoogleSecOpsSimulator } from './simulator.ts';

const fresh = tempDirs('tributary-secops');
const sim = new GoogleSecOpsSimulator();
let rig: Awaited<ReturnType<typeof startControl>>;

before(async () => {
  await sim.start();
  rig = await startControl(fresh());
  await rig.control.createAccount(CONFIG_FILE, {
    name: 'gcp',
    kind: 'google',
    fields: { serviceAccountKey: sim.tokens.keyJson(), tokenUrl: sim.tokens.tokenUrl },
  });
});
after(async () => {
  await rig?.close();
  await sim.stop();
});

const signal = new AbortController().signal;
let seq = 0;
const envs = (n: number, raw: (i: number) => unknown = (i) => ({ i })): Envelope[] => {
  const base = seq;
  seq += n;
  return Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 'okta', stream: 'system-log', collector: 'okta-prod' },
      raw(i),
      `g${base + i}`,
      '2026-11-25T10:00:00.000Z',
      '2026-11-25T10:00:05.000Z',
    ),
  );
};

function dest(o: Record<string, unknown> = {}): Destination {
  const config = destinationConfigSchema.parse({
    kind: 'google-secops',
    account: 'gcp',
    region: sim.location,
    project: sim.project,
    instance: sim.customerId,
    logType: 'OKTA',
    endpoint: sim.url,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    ...o,
  });
  return createDestination('secops', config, rig.runtime.destinationContext());
}
const isError = (type: string, code: string) => (e: unknown) =>
  e instanceof TributaryError && e.type === type && e.code === code;

describe('google-secops destination', () => {
  it('imports each envelope as a log of the log type, with its times, namespace and labels', async () => {
    const batch = envs(3);
    assert.equal(
      await dest({ namespace: 'prod', labels: { team: 'secops' } }).send(batch, signal),
      undefined,
    );
    const got = sim.logs.slice(-3);
    assert.deepEqual(
      got.map((l) => l.data),
      JSON.parse(JSON.stringify(batch)),
    );
    assert.deepEqual(
      got.map((l) => [l.logType, l.logEntryTime, l.collectionTime, l.environmentNamespace]),
      batch.map((e) => ['OKTA', e.time, e.ingested_at, 'prod']),
    );
    assert.deepEqual(got[0]!.labels, { team: { value: 'secops' } });
    const req = sim.server.requests.matching(/logs:import$/).at(-1)!;
    assert.equal(
      req.path,
      `/v1/projects/${sim.project}/locations/us/instances/${sim.customerId}/logTypes/OKTA/logs:import`,
    );
    assert.match(String(req.headers.authorization), /^Bearer /);
  });

  it('a batch sent again is dropped by Google as a duplicate', async () => {
    const batch = envs(2);
    const d = dest();
    await d.send(batch, signal);
    const dups = sim.duplicates;
    await d.send(batch, signal);
    assert.equal(sim.duplicates, dups + 1);
    assert.equal(sim.ids.filter((id) => id === batch[0]!.id).length, 1);
  });

  it('keeps requests within 1 MB, base64 included, and dead-letters a log too large for one', async () => {
    const batch = envs(6, (i) => (i === 3 ? { huge: 'z'.repeat(900_000) } : { i, pad: 'p'.repeat(200_000) }));
    const before = sim.requests.length;
    const r = await dest().send(batch, signal);
    assert.deepEqual(
      r?.rejected?.map((x) => x.event.id),
      [batch[3]!.id],
    );
    assert.match(r!.rejected![0]!.reason, /larger than a request may be/);
    const sizes = sim.requests.slice(before);
    assert.ok(sizes.length >= 2);
    for (const s of sizes) assert.ok(s <= 1_000_000, `a request of ${s} bytes`);
    for (const [i, e] of batch.entries()) assert.equal(sim.ids.includes(e.id), i !== 3, e.id);
  });

  it('retries RESOURCE_EXHAUSTED and UNAVAILABLE', async () => {
    sim.server.inject({ kind: 'rate-limit', retryAfter: 0, path: /logs:import$/ });
    sim.server.inject({ kind: 'status', status: 503, path: /logs:import$/ });
    const batch = envs(1);
    await dest().send(batch, signal);
    assert.ok(sim.ids.includes(batch[0]!.id));
  });

  it('without chronicle.logs.import: a config error naming the permission, in send and in test', async () => {
    sim.canImport = false;
    try {
      for (const run of [(d: Destination) => d.send(envs(1), signal), (d: Destination) => d.test!(signal)])
        await assert.rejects(run(dest()), (e: TributaryError) => {
          assert.ok(isError('config', 'destination_rejected')(e));
          assert.equal(e.status, 403);
          assert.match(e.message, /PERMISSION_DENIED: Permission 'chronicle\.logs\.import' denied/);
          assert.match(e.action, /chronicle\.logs\.import/);
          return true;
        });
    } finally {
      sim.canImport = true;
    }
  });

  it('test() passes on a good setup and writes nothing; an unknown log type or customer ID fails', async () => {
    const n = sim.ids.length;
    await dest().test!(signal);
    assert.equal(sim.ids.length, n);
    await assert.rejects(dest({ logType: 'NOPE' }).test!(signal), (e: TributaryError) => e.status === 404);
    await assert.rejects(
      dest({ instance: '00000000-0000-4000-8000-000000000000' }).test!(signal),
      (e: TributaryError) => e.status === 404 && /customer ID/.test(e.action),
    );
  });

  it('the default endpoint is the regional Chronicle API, which the google account may receive tokens for', () => {
    const config = destinationConfigSchema.parse({
      kind: 'google-secops',
      account: 'gcp',
      region: 'europe-west2',
      project: 'acme-secops',
      instance: sim.customerId,
      logType: 'OKTA',
    });
    const d = createDestination('secops', config, rig.runtime.destinationContext()) as unknown as {
      url: string;
    };
    assert.equal(
      d.url,
      `https://chronicle.europe-west2.rep.googleapis.com/v1/projects/acme-secops/locations/europe-west2/instances/${sim.customerId}/logTypes/OKTA/logs:import`,
    );
    const origins = new OriginSet(
      accountOrigins(accountKinds.google!, { serviceAccountKey: sim.tokens.keyJson() }),
    );
    assert.ok(origins.allows(d.url), 'a google account sends its tokens there');
    assert.equal(apiFor(new URL(d.url)), CHRONICLE_API, 'with a token for the Chronicle API');
    const k = destinationCatalog().find((c) => c.kind === 'google-secops')!;
    assert.deepEqual(k.accountKinds, ['google']);
    const props = (k.settings as { properties: Record<string, { title?: string; description?: string }> })
      .properties;
    for (const [key, p] of Object.entries(props))
      if (key !== 'kind') assert.ok(p.title && p.description, `${key} has a title and a description`);
  });
});
