import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Envelope, keepVendorText, makeEnvelope } from '../../core/envelope.ts';
import type { TributaryError } from '../../core/errors.ts';
import { createDestination, destinationCatalog, destinationConfigSchema } from '../index.ts';
import { exabeamUrl } from './index.ts';
import { ExabeamSimulator } from './simulator.ts';

const sim = new ExabeamSimulator();
before(() => sim.start());
after(() => sim.stop());

const signal = new AbortController().signal;
const envs = (n: number): Envelope[] =>
  Array.from({ length: n }, (_, i) => {
    const raw = { uuid: `x${i}`, eventType: 'user.session.start' };
    keepVendorText(raw, JSON.stringify(raw, null, 2)); // the vendor's own (pretty) text
    return makeEnvelope(
      { source: 'okta', stream: 'system-log', collector: 'c', sitename: 'hq' },
      raw,
      `x${i}`,
      undefined,
      '2026-11-25T10:00:00.000Z',
    );
  });

const dest = (o: Record<string, unknown> = {}) =>
  createDestination(
    'exa',
    destinationConfigSchema.parse({
      kind: 'exabeam',
      url: `${sim.url}/cloud-collectors/v1/logs/${o.format ?? 'json'}`,
      token: sim.token,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      ...o,
    }),
    { baseDir: '.', files: undefined as never },
  );

describe('exabeam destination (early access)', () => {
  it('posts a gzipped JSON array of envelopes with the collector token', async () => {
    const batch = envs(3);
    await dest().send(batch, signal);
    assert.deepEqual(sim.events.splice(0), JSON.parse(JSON.stringify(batch)));
    const req = sim.server.requests.matching('/cloud-collectors/v1/logs/json').at(-1)!;
    assert.equal(req.headers['content-encoding'], 'gzip');
    assert.equal(req.headers.authorization, `Bearer ${sim.token}`);
  });

  it("sends the vendor's records alone, one per line, to /logs/raw when asked", async () => {
    await dest({ format: 'raw', payload: 'raw' }).send(envs(2), signal);
    assert.deepEqual(
      sim.events.splice(0),
      ['x0', 'x1'].map((id) => `{  "uuid": "${id}",  "eventType": "user.session.start"}`),
      "the vendor's own text, its line breaks taken out",
    );
  });

  it('retries 429 and 503; a wrong token is a config error; test() passes with the right one', async () => {
    sim.server.inject({ kind: 'rate-limit', retryAfter: 0 });
    sim.server.inject({ kind: 'status', status: 503 });
    await dest().send(envs(1), signal);
    assert.equal(sim.events.splice(0).length, 1);
    await assert.rejects(dest({ token: 'wrong' }).send(envs(1), signal), (e: TributaryError) => {
      assert.equal(e.type, 'config');
      assert.equal(e.status, 401);
      return true;
    });
    await dest().test!(signal);
    await assert.rejects(dest({ token: 'wrong' }).test!(signal), (e: TributaryError) => e.status === 401);
  });

  it('builds the regional URL, and is listed as early access', () => {
    assert.equal(
      exabeamUrl({ region: 'eu', format: 'json' }),
      'https://api2.eu.exabeam.cloud/cloud-collectors/v1/logs/json',
    );
    const d = createDestination(
      'exa',
      destinationConfigSchema.parse({ kind: 'exabeam', region: 'us-east', token: 't' }),
      { baseDir: '.', files: undefined as never },
    );
    assert.equal(d.kind, 'exabeam');
    const k = destinationCatalog().find((c) => c.kind === 'exabeam')!;
    assert.equal(k.stability, 'early-access');
    assert.deepEqual(k.secrets, ['token']);
  });
});
