import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EventHubConsumerClient } from '@azure/event-hubs';
import { azureEventHubs, azureEventHubsFields } from '../../src/accounts/azure-event-hubs.ts';
import { tokenCache } from '../../src/engine/oauth.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { EventHubAmqpSim } from '../../src/sim/event-hub-amqp.ts';
import { SimServer } from '../../src/sim/kit.ts';
import { EntraIdentitySim } from '../../src/sim/microsoft.ts';
import eventHub from '../../src/sources/azure-event-hub/index.ts';
import { consumerRig, store, until } from '../support/event-hub-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * The `azure-event-hubs` account with an Entra ID app (RBAC) in place of a connection string: the official
 * client asks the app's token for `https://eventhubs.azure.net/.default` through the microsoft account's
 * credential (accounts/microsoft-credential.ts) and puts it on `$cbs` as type `jwt`; the AMQP simulator
 * checks it against the simulated Entra token endpoint and the app's role assignments.
 */

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const SECRET = 'rbac~s3cret~value';
const RECEIVER = 'Azure Event Hubs Data Receiver';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers) await c();
});

async function rig(o: { roles?: string[]; tokenLifetimeSec?: number } = {}) {
  tokenCache.clear();
  const server = new SimServer({ name: 'entra' });
  const identity = new EntraIdentitySim(server, {
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: SECRET,
    resources: ['https://eventhubs.azure.net'],
    tokenLifetimeSec: o.tokenLifetimeSec,
  });
  await server.start();
  const sim = await new EventHubAmqpSim({
    hubs: { insights: { partitions: 2, consumerGroups: ['tributary'] } },
    entra: { inspect: (t) => identity.inspect(t), roles: { [CLIENT]: o.roles ?? [RECEIVER] } },
  }).start();
  closers.push(
    () => sim.close(),
    () => server.stop(),
  );
  const account = (over: Record<string, unknown> = {}) =>
    azureEventHubsFields.parse({
      fullyQualifiedNamespace: `127.0.0.1:${sim.port}`,
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: server.url,
      eventHubName: 'insights',
      consumerGroup: 'tributary',
      ...over,
    });
  return { identity, sim, account };
}

const event = (i: number) => ({
  records: [{ time: '2026-12-07T04:00:00.0000000Z', operationName: `op${i}` }],
});

describe('azure-event-hubs account with an Entra ID app (RBAC: Azure Event Hubs Data Receiver)', () => {
  it('reads a hub end to end with the app’s jwt token, asked once for the Event Hubs scope', async () => {
    const { identity, sim, account } = await rig();
    for (let i = 0; i < 10; i++) sim.send('insights', [event(i)]);
    const s = await store();
    const start = consumerRig(s, eventHub, account(), {}, 'events');
    const dest = new MemoryDestination();
    const c = start([dest]);
    await until('every event', () => dest.ids().length === 10);
    c.stop();
    await c.done;
    const want = sim
      .hub('insights')
      .all()
      .map((e) => `127.0.0.1/insights/${e.partition}/${e.sequenceNumber}/0`);
    assert.deepEqual(sorted(dest.ids()), sorted(want));
    assert.deepEqual(duplicates(dest.ids()), []);
    assert.equal(sim.stats.refusedTokens, 0);
    assert.equal(sim.stats.jwtTokens, 1, 'one Entra token, put for every link');
    assert.ok(sim.stats.putTokens >= 3);
    assert.deepEqual(
      [...new Set(identity.tokenRequests.map((r) => r.scope))],
      ['https://eventhubs.azure.net/.default'],
    );
    assert.equal(sim.stats.writes, 0);
  });

  it('Test Connection passes with the role; without it names azure_role_missing, the role and the app, no secret', async () => {
    const good = await rig();
    assert.deepEqual(await testConnection(eventHub, azureEventHubs, good.account(), {}, ['events']), {
      ok: true,
    });
    const { sim, account } = await rig({ roles: ['Reader'] });
    const res = await testConnection(eventHub, azureEventHubs, account(), {}, ['events']);
    assert.equal(res.ok, false);
    const err = !res.ok ? res.error : undefined;
    assert.equal(err?.code, 'azure_role_missing');
    assert.equal(err?.type, 'config');
    assert.match(err?.message ?? '', new RegExp(`${RECEIVER} role on the Event Hubs namespace`));
    assert.match(
      err?.action ?? '',
      /Access control \(IAM\).*Add role assignment.*Azure Event Hubs Data Receiver/,
    );
    assert.match(err?.action ?? '', new RegExp(CLIENT));
    assert.doesNotMatch(JSON.stringify(res), new RegExp(SECRET));
    assert.ok(sim.stats.refusedTokens >= 1, 'the token was refused at put-token');
    assert.equal(sim.stats.delivered, 0);
  });

  it('a wrong client secret fails with the Entra action and no secret in the error', async () => {
    const { sim, account } = await rig();
    const res = await testConnection(
      eventHub,
      azureEventHubs,
      account({ clientSecret: 'wrong~secret~value' }),
      {},
      ['events'],
    );
    assert.equal(res.ok, false);
    assert.match(!res.ok ? res.error.action : '', /client secret is wrong/);
    assert.doesNotMatch(JSON.stringify(res), /wrong~secret~value|rbac~s3cret/);
    assert.equal(sim.stats.jwtTokens, 0);
  });

  it('renews the token before it expires: new tokens are put on the open connection, reading goes on', async () => {
    // The client renews 2 minutes before expiry; a 125 s token is renewed about every 5 s.
    const { identity, sim, account } = await rig({ tokenLifetimeSec: 125 });
    sim.send('insights', [event(0), event(1)]);
    const s = await store();
    const start = consumerRig(s, eventHub, account(), {}, 'events');
    const dest = new MemoryDestination();
    const c = start([dest]);
    await until('the first events', () => dest.ids().length === 2);
    await until('both receivers attached', () => sim.attached().length === 2);
    const { attaches, jwtTokens } = sim.stats;
    // Each receiver (one per partition) renews on its own timer, about 5 s apart here. Stopping while a renewal
    // is in flight leaves the client's timer loop re-armed after close (it restarts when the task settles); the
    // closed client's credential never answers, so that loop ends at its next turn instead of keeping this
    // process alive (the file-timeout guard would fail the file).
    await until('both receivers renewed', () => sim.stats.jwtTokens >= jwtTokens + 2, 30_000);
    assert.equal(
      sim.stats.attaches,
      attaches,
      'new tokens on the open connection, no receiver attached again',
    );
    sim.send('insights', [event(2), event(3)]);
    await until('events after the renewals', () => dest.ids().length === 4);
    c.stop();
    await c.done;
    assert.equal(sim.stats.refusedTokens, 0);
    assert.ok(identity.tokenRequests.length > jwtTokens, 'the renewal asked Entra for a new token');
  });

  it('the simulator refuses a token Entra did not issue (put-token 401)', async () => {
    const { sim } = await rig();
    const client = new EventHubConsumerClient(
      'tributary',
      `127.0.0.1:${sim.port}/;UseDevelopmentEmulator=true;_=`,
      'insights',
      { getToken: async () => ({ token: 'eyJforged.token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
      { retryOptions: { maxRetries: 0 } },
    );
    closers.push(() => client.close());
    await assert.rejects(client.getEventHubProperties(), (err: { code?: string }) => {
      assert.equal(err.code, 'UnauthorizedError');
      return true;
    });
    assert.ok(sim.stats.refusedTokens >= 1);
  });

  it('the account takes either a connection string or an Entra app, naming the field', () => {
    const issue = (a: Record<string, unknown>) => {
      const r = azureEventHubsFields.safeParse({ eventHubName: 'h', ...a });
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    const app = { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET };
    assert.match(issue({}), /connectionString: required: a connection string, or an Entra ID app/);
    assert.match(
      issue({ ...app, fullyQualifiedNamespace: 'evil.example.com' }),
      /fullyQualifiedNamespace: expected a namespace host of the Global/,
    );
    assert.match(
      issue({ fullyQualifiedNamespace: 'ns1.servicebus.windows.net', clientId: CLIENT }),
      /tenantId: required.*clientSecret: required/,
    );
    const cs = 'Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=l;SharedAccessKey=abc=';
    assert.match(issue({ connectionString: cs, ...app }), /tenantId: only with an Entra ID app/);
    const ok = azureEventHubsFields.parse({
      ...app,
      fullyQualifiedNamespace: 'NS1.servicebus.windows.net',
      eventHubName: 'h',
    });
    assert.deepEqual(azureEventHubs.origins!(ok), [
      'https://ns1.servicebus.windows.net:5671',
      'https://login.microsoftonline.com',
    ]);
    assert.deepEqual(azureEventHubs.secrets.sort(), ['clientSecret', 'connectionString', 'privateKey']);
  });
});
