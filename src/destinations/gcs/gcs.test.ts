import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { envelopes } from '../../../test/support/envelopes.ts';
import { destinationAccount } from '../../app/destination-account.ts';
import { TributaryError } from '../../core/errors.ts';
import type { DestinationContext } from '../kind.ts';
import { ndjson } from '../ndjson.ts';
import { GcsDestination } from './gcs-destination.ts';
import { GcsSimulator } from './gcs-simulator.ts';
import { gcsConfigSchema } from './index.ts';

const BUCKET = 'tributary-logs';
const sim = new GcsSimulator([BUCKET, 'locked-bucket']);
sim.readOnlyBuckets.add('locked-bucket');

before(() => sim.start());
after(() => sim.stop());

function ctxFor(
  fields: Record<string, unknown>,
  kind = 'google',
  origins: string[] = [],
): DestinationContext {
  return {
    baseDir: '.',
    files: undefined as never,
    account: async (name) => destinationAccount({ name, kind, fields, origins, version: '1' }),
  };
}

function dest(over: Record<string, unknown> = {}, ctx = ctxFor(sim.accountFields())) {
  const config = gcsConfigSchema.parse({
    kind: 'gcs',
    bucket: BUCKET,
    account: 'gcp',
    endpoint: sim.url,
    ...over,
  });
  return new GcsDestination('lake', config, ctx);
}

const stored = (prefix: string, bucket = BUCKET) =>
  [...(sim.buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
const text = (name: string) => {
  const o = sim.buckets.get(BUCKET)!.get(name)!;
  return name.endsWith('.gz') ? gunzipSync(o.body).toString() : o.body.toString();
};
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

describe('gcs destination (simulated JSON API upload, real google account kind)', () => {
  it('uploads gzip NDJSON objects per event hour with a service-account token', async () => {
    const events = envelopes(30);
    await dest({ prefix: 'a' }).send(events, signal());
    const names = stored('a/');
    assert.equal(names.length, 2);
    assert.match(
      names[0]!,
      /^a\/source=okta\/dt=2026-03-01\/hour=10\/okta-prod-ev-0001-[0-9a-f]{16}\.ndjson\.gz$/,
    );
    assert.equal(text(names[0]!), ndjson(events.slice(0, 10)));
    assert.equal(text(names[1]!), ndjson(events.slice(10)));
    assert.equal(sim.buckets.get(BUCKET)!.get(names[0]!)!.contentType, 'application/gzip');
  });

  it('a re-sent batch replaces the same objects; a large batch becomes several', async () => {
    const d = dest({ prefix: 'b', maxObjectBytes: 20_000 });
    const batch = () => envelopes(60, { start: '2026-03-01T08:00:00.000Z', size: 1000 });
    await d.send(batch(), signal());
    const first = stored('b/');
    assert.ok(first.length >= 3);
    await d.send(batch(), signal());
    assert.deepEqual(stored('b/'), first);
    const ids = first.flatMap((n) =>
      text(n)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id),
    );
    assert.deepEqual(
      ids,
      batch().map((e) => e.id),
    );
  });

  it('retries 5xx and 429; a failure after storing is not an acknowledgement', async () => {
    sim.server.faults.inject({ kind: 'status', status: 503, times: 2, path: '/upload/' });
    await dest({ prefix: 'r' }).send(envelopes(3), signal());
    assert.equal(stored('r/').length, 1);
    sim.failAfterStore(4);
    const batch = envelopes(4, { prefix: 'z', start: '2026-03-01T09:00:00.000Z' });
    await rejects(
      dest({ prefix: 's' }).send(batch, signal()),
      'transient',
      /could not store the object in bucket tributary-logs \(HTTP 503\)/,
    );
    const kept = stored('s/');
    assert.equal(kept.length, 1, 'stored, though unacknowledged');
    await dest({ prefix: 's' }).send(batch, signal());
    assert.deepEqual(stored('s/'), kept);
  });

  it('Test Connection proves the token and the create permission', async () => {
    await dest({ prefix: 'probe' }).test(signal());
    assert.deepEqual(stored('probe/'), ['probe/_tributary/connection-test.txt']);
    const e = await rejects(
      dest({ bucket: 'locked-bucket' }).test(signal()),
      'config',
      /HTTP 403 forbidden.*storage\.objects\.create/,
    );
    assert.match(e.action, /roles\/storage\.objectUser on bucket locked-bucket/);
    await rejects(dest({ bucket: 'no-such-bucket' }).test(signal()), 'config', /HTTP 404 notFound/);
    // an account limited to other scopes cannot get a storage token
    await rejects(
      dest(
        {},
        ctxFor({ ...sim.accountFields(), scopes: ['https://www.googleapis.com/auth/logging.read'] }),
      ).test(signal()),
      'config',
      /scopes include none the Cloud Storage JSON API accepts/,
    );
    await rejects(
      dest({}, ctxFor(sim.accountFields(), 'aws')).test(signal()),
      'config',
      /needs a google account/,
    );
  });

  it('sends the token only to the account’s origins; an unreachable endpoint is transient', async () => {
    const elsewhere = 'http://127.0.0.2:9';
    await rejects(
      dest({ endpoint: elsewhere }).test(signal()),
      'config',
      /did not send the credentials of account gcp to http:\/\/127\.0\.0\.2:9/,
    );
    const down = dest(
      { endpoint: elsewhere, timeout: 1000 },
      ctxFor(sim.accountFields(), 'google', [elsewhere]),
    );
    await rejects(down.send(envelopes(1), signal()), 'transient', /network error/);
  });
});
