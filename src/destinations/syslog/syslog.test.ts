import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { envelopes } from '../../../test/support/envelopes.ts';
import { encodeLine } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { certificateAuthority } from '../../sim/x509.ts';
import { syslogConfigSchema } from './index.ts';
import { Rsyslog } from './rsyslog.ts';
import { SyslogDestination } from './syslog-destination.ts';

/** Real rsyslogd instances (Debian rsyslog + rsyslog-gnutls); a missing rsyslogd fails these tests. */
const servers: Rsyslog[] = [];
after(async () => {
  for (const s of servers) {
    await s.stop();
    s.cleanup();
  }
});

async function rsyslog(o: Parameters<Rsyslog['start']>[0]): Promise<Rsyslog> {
  const r = new Rsyslog();
  servers.push(r);
  await r.start(o);
  return r;
}

const dest = (r: Rsyslog, over: Record<string, unknown>) =>
  new SyslogDestination(
    'siem',
    syslogConfigSchema.parse({ kind: 'syslog', host: '127.0.0.1', port: r.port, ...over }),
  );
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

describe('syslog destination (real rsyslogd)', () => {
  it('TCP with octet counting: every event arrives exactly, as the envelope JSON', async () => {
    const r = await rsyslog({ protocol: 'tcp' });
    const d = dest(r, { protocol: 'tcp' });
    const events = envelopes(2000, { size: 1000 });
    await d.send(events.slice(0, 1000), signal());
    await d.send(events.slice(1000), signal());
    const got = await r.waitFor(2000);
    assert.equal(got.length, 2000);
    assert.deepEqual(got, events.map(encodeLine));
    await d.test(signal());
    await d.close();
  });

  it('TCP with newline framing', async () => {
    const r = await rsyslog({ protocol: 'tcp' });
    const d = dest(r, { protocol: 'tcp', framing: 'newline' });
    const events = envelopes(300);
    await d.send(events, signal());
    assert.deepEqual(await r.waitFor(300), events.map(encodeLine));
    await d.close();
  });

  it('TLS (RFC 5425) with the CA and a client certificate rsyslog requires', async () => {
    const r = await rsyslog({ protocol: 'tls', clientAuth: true });
    const d = dest(r, {
      protocol: 'tls',
      ca: r.ca!.certificatePem,
      cert: r.client!.certificatePem,
      key: r.client!.privateKeyPem,
    });
    const events = envelopes(500);
    await d.test(signal());
    await d.send(events, signal());
    assert.deepEqual(await r.waitFor(500), events.map(encodeLine));
    await d.close();
    // without the CA the receiver's certificate is refused: a config error, nothing sent
    await rejects(
      dest(r, { protocol: 'tls' }).test(signal()),
      'config',
      /certificate of tls:\/\/127\.0\.0\.1:\d+ was not accepted/,
    );
    const stranger = certificateAuthority('Another CA');
    await rejects(
      dest(r, { protocol: 'tls', ca: stranger.certificatePem }).send(envelopes(1), signal()),
      'config',
      /was not accepted/,
    );
  });

  it('UDP is fire and forget, and still delivers on loopback', async () => {
    const r = await rsyslog({ protocol: 'udp' });
    const d = dest(r, { protocol: 'udp' });
    const events = envelopes(50);
    await d.send(events, signal());
    assert.deepEqual(await r.waitFor(50), events.map(encodeLine));
    await d.close();
  });

  it('a receiver that restarts: the next batch reconnects and arrives whole; a receiver gone is transient', async () => {
    const r = await rsyslog({ protocol: 'tcp' });
    const d = dest(r, { protocol: 'tcp' });
    const before = envelopes(10, { prefix: 'before' });
    await d.send(before, signal());
    await r.waitFor(10);
    await r.stop();
    await r.start({ protocol: 'tcp', port: r.port });
    const again = envelopes(20, { prefix: 'again' });
    await d.send(again, signal());
    assert.deepEqual(await r.waitFor(30), [...before, ...again].map(encodeLine));
    await r.stop();
    await rejects(
      d.send(envelopes(5, { prefix: 'gone' }), signal()),
      'transient',
      /could not deliver to tcp:\/\/127\.0\.0\.1/,
    );
    await d.close();
  });

  it('an event larger than maxMessageBytes is refused with an action; settings validated', async () => {
    const r = await rsyslog({ protocol: 'tcp' });
    const d = dest(r, { protocol: 'tcp', maxMessageBytes: 1000 });
    await rejects(
      d.send(envelopes(1, { size: 2000 }), signal()),
      'config',
      /makes a \d+-byte syslog message; maxMessageBytes is 1000/,
    );
    await d.close();
    const issues = (c: Record<string, unknown>) =>
      syslogConfigSchema
        .safeParse({ kind: 'syslog', host: 'siem.example.com', ...c })
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(
      issues({ protocol: 'tcp', ca: '-----BEGIN CERTIFICATE-----' }).join(),
      /ca: only used with protocol tls/,
    );
    assert.match(issues({ facility: 'local9' }).join(), /facility:/);
    assert.match(issues({ appName: 'has space' }).join(), /appName: expected 1–48 printable/);
    assert.match(
      issues({ protocol: 'udp', maxMessageBytes: 100_000 }).join(),
      /maxMessageBytes: a UDP datagram/,
    );
    assert.deepEqual(issues({}), []);
    assert.ok(
      new SyslogDestination(
        's',
        syslogConfigSchema.parse({
          kind: 'syslog',
          host: 'h',
          hostname: 'tributary-1',
          facility: 'local4',
          severity: 'notice',
        }),
      )
        .message(envelopes(1)[0]!)
        .toString()
        .replace(/^\d+ /, '')
        .startsWith('<165>1 2026-03-01T10:59:50.000Z tributary-1 tributary - logs - {"id":"ev-0001"'),
    );
  });
});
