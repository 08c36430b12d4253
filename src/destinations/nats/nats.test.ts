import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { envelopes } from '../../../test/support/envelopes.ts';
import { encodeLine } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { natsConfigSchema } from './index.ts';
import { NatsDestination } from './nats-destination.ts';
import { NatsServer } from './nats-server.ts';

/** The machine's nats-server with JetStream (127.0.0.1:4222); each run uses its own subject and stream. */
const SHARED = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const run = randomBytes(4).toString('hex');
const SUBJECT_ROOT = `trib${run}`;
const STREAM = `TRIB_${run}`;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: SHARED, timeout: 5000 });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`${SUBJECT_ROOT}.>`], duplicate_window: 120_000_000_000 });
});
after(async () => {
  await jsm?.streams.delete(STREAM).catch(() => {});
  await nc?.close();
});

const dest = (over: Record<string, unknown> = {}) =>
  new NatsDestination(
    'bus',
    natsConfigSchema.parse({
      kind: 'nats',
      servers: [SHARED],
      subject: `${SUBJECT_ROOT}.{source}.{stream}`,
      ...over,
    }),
  );

async function messages(
  stream = STREAM,
  m = jsm,
): Promise<Array<{ subject: string; id: string; data: string }>> {
  const info = await m.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await m.streams.getMessage(stream, { seq });
    if (!msg) continue;
    out.push({
      subject: msg.subject,
      id: msg.header.get('Nats-Msg-Id'),
      data: new TextDecoder().decode(msg.data),
    });
  }
  return out;
}

const signal = () => AbortSignal.timeout(30_000);

async function rejects(p: Promise<unknown>, type: string, pattern: RegExp): Promise<TributaryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.type, type, err.message);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('nats destination (real nats-server with JetStream)', () => {
  it('publishes every event with Nats-Msg-Id = its id, acknowledged by JetStream; a re-send is de-duplicated', async () => {
    await jsm.streams.purge(STREAM);
    const d = dest();
    const events = envelopes(1200); // more than maxInFlight: the window slides
    await d.send(events, signal());
    const got = await messages();
    assert.equal(got.length, 1200);
    assert.deepEqual(
      got.map((m) => m.id),
      events.map((e) => e.id),
    );
    assert.equal(got[0]!.subject, `${SUBJECT_ROOT}.okta.logs`);
    assert.equal(got[5]!.data, encodeLine(events[5]!));
    await d.send(events.slice(0, 300), signal()); // the batch in flight, sent again
    assert.equal((await jsm.streams.info(STREAM)).state.messages, 1200, 'duplicates dropped by JetStream');
    await d.test(signal());
    await d.close();
  });

  it('no stream for the subject, or another stream than expected, is a config error', async () => {
    const none = dest({ subject: `nostream${run}.{source}` });
    await rejects(none.send(envelopes(2), signal()), 'config', /no JetStream stream captures the subject/);
    await rejects(none.test(signal()), 'config', /no JetStream stream captures subject nostream/);
    await none.close();
    const wrong = dest({ stream: 'SOME_OTHER' });
    await rejects(wrong.send(envelopes(2), signal()), 'config', /not captured by stream SOME_OTHER/);
    await rejects(wrong.test(signal()), 'config', /is captured by TRIB_.*not by stream SOME_OTHER/);
    await wrong.close();
    const right = dest({ stream: STREAM });
    await right.send(envelopes(2, { prefix: 'right' }), signal());
    await right.close();
  });

  it('user/password and NKey auth against a private server; wrong credentials are config errors without the secret', async () => {
    const user = createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = new NatsServer();
    await server.start(
      `authorization { users = [ { user: "t", password: "right-password" }, { nkey: "${user.getPublicKey()}" } ] }`,
    );
    try {
      const admin = await connect({ servers: server.url, user: 't', pass: 'right-password' });
      const m = await jetstreamManager(admin);
      await m.streams.add({ name: 'AUTH', subjects: ['auth.>'] });
      const make = (auth: Record<string, unknown>) =>
        new NatsDestination(
          'bus',
          natsConfigSchema.parse({ kind: 'nats', servers: [server.url], subject: 'auth.{source}', auth }),
        );
      const viaNkey = make({ type: 'nkey', seed });
      await viaNkey.send(envelopes(3), signal());
      await viaNkey.test(signal());
      await viaNkey.close();
      const viaUser = make({ type: 'user', user: 't', password: 'right-password' });
      await viaUser.send(envelopes(2, { prefix: 'u' }), signal());
      await viaUser.close();
      assert.equal((await m.streams.info('AUTH')).state.messages, 5);
      const bad = make({ type: 'user', user: 't', password: 'wrong-password' });
      const e = await rejects(bad.test(signal()), 'config', /refused the credentials/);
      assert.doesNotMatch(JSON.stringify(e.toJSON()), /wrong-password/);
      await bad.close();
      const otherSeed = new TextDecoder().decode(createUser().getSeed());
      await rejects(
        make({ type: 'nkey', seed: otherSeed }).send(envelopes(1), signal()),
        'config',
        /refused the credentials/,
      );
      await admin.close();
    } finally {
      await server.stop();
    }
  });

  it('a server that goes away is a transient error (the runtime re-sends the batch)', async () => {
    const server = new NatsServer();
    await server.start();
    const url = server.url;
    const d = new NatsDestination(
      'bus',
      natsConfigSchema.parse({ kind: 'nats', servers: [url], subject: 'down.{source}', timeout: 1500 }),
    );
    try {
      const admin = await connect({ servers: url });
      await (await jetstreamManager(admin)).streams.add({ name: 'DOWN', subjects: ['down.>'] });
      await admin.close();
      await d.send(envelopes(5), signal());
      await server.stop();
      await rejects(d.send(envelopes(5, { prefix: 'x' }), signal()), 'transient', /did not acknowledge/);
    } finally {
      await d.close();
      await server.stop();
    }
  });

  it('settings: servers, subject template and auth are validated with paths', () => {
    const issues = (c: Record<string, unknown>) =>
      natsConfigSchema
        .safeParse({ kind: 'nats', servers: ['nats://127.0.0.1:4222'], ...c })
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(issues({ servers: [] }).join(), /servers:/);
    assert.match(issues({ servers: ['http://x'] }).join(), /servers\.0: expected a server/);
    assert.match(issues({ subject: 'logs.>' }).join(), /subject: expected a subject/);
    assert.match(issues({ subject: 'logs.{bucket}' }).join(), /subject: expected a subject/);
    assert.match(
      issues({ auth: { type: 'nkey', seed: 'SUxyz' } }).join(),
      /auth\.seed: expected a user NKey seed/,
    );
    assert.match(issues({ cert: '-----BEGIN CERTIFICATE-----' }).join(), /key: cert and key go together/);
    assert.deepEqual(issues({ subject: 'sec.{source}.{collector}.{stream}' }), []);
  });
});
