import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { Auth } from '../../api/auth.ts';
import { startApiServer } from '../../api/server.ts';
import { Runtime } from '../../app/runtime.ts';
import { parseConfig } from '../../config/config-file.ts';
import { CONFIG_FILE, Control } from '../../control/service.ts';
import { isPushSource } from '../../core/source.ts';
import { silentLogger } from '../../engine/log.ts';
import { type PushVendor, pushBatch } from '../../sim/push-sender.ts';
import { SecretBox } from '../../store/secrets.ts';
import { SqliteStore } from '../../store/sqlite/sqlite-store.ts';
import { criblWebhook } from '../cribl/simulator.ts';
import { databahnHttp } from '../databahn/simulator.ts';
import { sources } from '../index.ts';
import { cortexHttpsForwarding } from '../palo-alto-cortex-data-lake/simulator.ts';
import { zscalerNssFeed } from '../zscaler-zia/simulator.ts';

/**
 * The push presets with their vendors' senders (simulator.ts beside each preset): each vendor's
 * documented body format, compression and auth reaches the file destination as the vendor's records,
 * with the right time, and each vendor reads our answers the way its documentation says.
 */

const fresh = tempDirs('tributary-push-presets');
let dir = '';
let base = '';
let runtime: Runtime;
let control: Control;
let close: () => Promise<void>;
const PUSH = ['webhook', 'zscaler-zia', 'palo-alto-cortex-data-lake', 'cribl', 'databahn'];

before(async () => {
  dir = fresh();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger, dir);
  control = new Control(runtime);
  await control.createDestination(CONFIG_FILE, {
    name: 'out',
    config: { kind: 'file', path: 'out.ndjson' } as never,
  });
  const server = await startApiServer(control, new Auth(store), { port: 0, log: silentLogger });
  base = `http://127.0.0.1:${server.port}`;
  close = server.close;
});

after(async () => {
  await close();
  await runtime.close();
});

async function install(
  name: string,
  source: string,
  settings: Record<string, unknown> = {},
): Promise<string> {
  const c = (await control.createCollector(CONFIG_FILE, {
    name,
    source,
    destinations: ['out'],
    settings,
  })) as { ingestToken?: string };
  assert.ok(c.ingestToken);
  return c.ingestToken;
}

function delivered(collector: string): Array<{ line: string; env: any }> {
  return readFileSync(join(dir, 'out.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ line, env: JSON.parse(line) }))
    .filter((e) => e.env.collector === collector);
}

async function roundTrip(name: string, vendor: PushVendor, token: string, batches = 3, size = 40) {
  const sent: unknown[] = [];
  for (let b = 0; b < batches; b++) {
    const records = vendor.records(size, b + 1);
    const r = await pushBatch(`${base}/ingest/${name}`, vendor, records, token, { maxAttempts: 1 });
    assert.deepEqual(r, { outcome: 'delivered', statuses: [200] }, `${name} batch ${b}`);
    sent.push(...records);
  }
  const got = delivered(name);
  assert.deepEqual(
    got.map((e) => e.env.raw),
    sent,
    `${name}: every record, whole and in order`,
  );
  return { sent, got };
}

describe('push presets', () => {
  it('are push sources in the catalog: no account, no pull streams, settings with the vendor defaults', async () => {
    const catalog = await control.catalog();
    for (const id of PUSH) {
      const s = catalog.find((c) => c.id === id);
      assert.ok(s, id);
      assert.equal(s.family, 'push');
      assert.equal(s.account, '');
      assert.deepEqual(s.streams, []);
      assert.match(s.setupGuide, /\/ingest\/NAME/, `${id}: the guide names the endpoint`);
      const props = (s.settings as { properties: Record<string, { default?: unknown }> }).properties;
      assert.ok(props.format && props.hmac && props.maxBodyMB && props.idPath, id);
      assert.ok(isPushSource(sources[id]));
    }
    const props = (id: string) =>
      (catalog.find((c) => c.id === id)!.settings as { properties: Record<string, { default?: unknown }> })
        .properties;
    assert.equal(props('zscaler-zia').timePath!.default, 'event.epochtime');
    assert.equal(props('zscaler-zia').stream!.default, 'web');
    assert.equal(props('palo-alto-cortex-data-lake').timePath!.default, 'time');
    assert.equal(props('palo-alto-cortex-data-lake').format!.default, 'json');
    assert.equal(props('cribl').timePath!.default, '_time');
    assert.equal(catalog.find((c) => c.id === 'databahn')!.stability, 'early-access');
  });

  it('zscaler-zia: JSON feed lines, JSON Array Notation and tab-separated feeds; epochtime is the time', async () => {
    const json = await roundTrip('zia-web', zscalerNssFeed(), await install('zia-web', 'zscaler-zia'));
    for (const { env } of json.got) {
      assert.equal(env.stream, 'web');
      assert.equal(env.source, 'zscaler-zia');
      assert.equal(Date.parse(env.time) / 1000, Number(env.raw.event.epochtime));
      assert.match(env.id, /^h:/, 'recordid uniqueness across feeds is undocumented: hashed');
    }
    await roundTrip(
      'zia-fw',
      zscalerNssFeed({ output: 'json-array', gzip: true }),
      await install('zia-fw', 'zscaler-zia', { stream: 'firewall', idPath: 'event.recordid' }),
    );
    const fw = delivered('zia-fw');
    assert.ok(fw.every((e) => e.env.stream === 'firewall' && e.env.id === e.env.raw.event.recordid));
    const tsv = await roundTrip(
      'zia-dns',
      zscalerNssFeed({ output: 'tab-separated' }),
      await install('zia-dns', 'zscaler-zia', { stream: 'dns' }),
    );
    assert.ok(tsv.got.every((e) => typeof e.env.raw === 'string' && e.env.raw.includes('\t')));
  });

  it('zscaler-zia reads our answers as documented: outages are retried, a bad line never drops the batch', async () => {
    const vendor = zscalerNssFeed();
    const token = await install('zia-answers', 'zscaler-zia');
    assert.equal((await control.setEnabled(CONFIG_FILE, 'zia-answers', false)).status, 'stopped');
    const records = vendor.records(5, 9);
    const r = await pushBatch(`${base}/ingest/zia-answers`, vendor, records, token, {
      beforeRetry: async () => {
        await control.setEnabled(CONFIG_FILE, 'zia-answers', true);
      },
    });
    assert.deepEqual(
      r,
      { outcome: 'delivered', statuses: [503, 200] },
      'a stopped collector: Zscaler retries',
    );
    const { body, headers } = vendor.request(vendor.records(2, 10), token);
    const mixed = Buffer.concat([body, Buffer.from('{"sourcetype":"zscalernss-web","event":{"broken"\n')]);
    const res = await fetch(`${base}/ingest/zia-answers`, { method: 'POST', headers, body: mixed });
    assert.equal(vendor.outcome(res.status), 'delivered', 'not a 400, which would make Zscaler drop it');
    assert.deepEqual(await res.json(), { accepted: 2, deadLettered: 1 });
    assert.equal(delivered('zia-answers').length, 7);
  });

  it('palo-alto-cortex-data-lake: gzipped stacked JSON with Basic auth, JSON arrays with Splunk auth', async () => {
    const token = await install('cdl', 'palo-alto-cortex-data-lake');
    await roundTrip('cdl', cortexHttpsForwarding(), token);
    await roundTrip(
      'cdl-array',
      cortexHttpsForwarding({ payload: 'array', auth: 'splunk' }),
      await install('cdl-array', 'palo-alto-cortex-data-lake'),
    );
    const got = delivered('cdl');
    for (const { env, line } of got) {
      assert.equal(env.stream, 'logs');
      assert.equal(Date.parse(env.time) / 1000, env.raw.time);
      assert.ok(line.includes(`"SequenceNo":${env.raw.event.SequenceNo}`), 'the vendor text, kept');
    }
    const cdl = cortexHttpsForwarding();
    const wrong = cdl.request(cdl.records(1), 'not-the-token');
    const res = await fetch(`${base}/ingest/cdl`, { method: 'POST', ...wrong });
    assert.equal(res.status, 401);
  });

  it('cribl: gzipped NDJSON and JSON arrays with a bearer token; _time is the time', async () => {
    const { got } = await roundTrip('cribl', criblWebhook(), await install('cribl', 'cribl'));
    for (const { env } of got) assert.equal(Date.parse(env.time), env.raw._time * 1000);
    await roundTrip(
      'cribl-array',
      criblWebhook({ format: 'json-array', compress: false }),
      await install('cribl-array', 'cribl'),
    );
  });

  it('config as code: a push collector with its HMAC secret from the environment; re-applying changes nothing', async () => {
    const text = [
      'collectors:',
      '  coded:',
      '    source: webhook',
      '    destinations: [out]',
      '    settings: { hmac: { secret: "${env:HOOK_SECRET}" } }',
    ].join('\n');
    const known = { accounts: {}, destinations: ['out'], sites: [] };
    const load = (secret: string) => parseConfig(text, { baseDir: dir, env: { HOOK_SECRET: secret }, known });
    const first = await control.apply(CONFIG_FILE, load('s'.repeat(20)));
    assert.deepEqual(first.created, ['collector/coded']);
    assert.deepEqual(Object.keys(first.ingestTokens), ['coded'], 'the new token, shown this once');
    assert.deepEqual(await control.apply(CONFIG_FILE, load('s'.repeat(20))), {
      created: [],
      updated: [],
      deleted: [],
      ingestTokens: {},
    });
    assert.deepEqual((await control.apply(CONFIG_FILE, load('t'.repeat(20)))).updated, ['collector/coded']);
    const view = (await control.getCollector('coded')) as { ingest: { signature: { secret: string } } };
    assert.equal(view.ingest.signature.secret, '••••tttt');
  });

  it('databahn: early access; a JSON array with a bearer token', async () => {
    await assert.rejects(install('databahn', 'databahn'), { status: 403, code: 'early_access_required' });
    await control.updateSettings(CONFIG_FILE, { earlyAccess: true });
    await roundTrip(
      'databahn',
      databahnHttp(),
      await install('databahn', 'databahn', { timePath: 'timestamp' }),
    );
    assert.ok(delivered('databahn').every((e) => e.env.time === e.env.raw.timestamp));
  });
});
