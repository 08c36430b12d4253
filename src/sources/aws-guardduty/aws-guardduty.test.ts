import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type AwsAccount, aws, awsFields } from '../../accounts/aws.ts';
import { validateSettings } from '../../config/config-file.ts';
import { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import type { KeyedCheckpoint as PartsCheckpoint } from '../../engine/keyed-stream.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import guardduty, { guardDutyEndpoint } from './index.ts';
import { GuardDutySimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const sims: GuardDutySimulator[] = [];
after(() => Promise.all(sims.map((s) => s.stop())));

async function sim(n = 120) {
  const clock = new ManualClock(T0);
  const s = new GuardDutySimulator({ clock: clock.now, region: 'eu-west-1' });
  s.addFindings(n, { from: T0 - 3_600_000, spacingMs: 20_000 });
  await s.start();
  sims.push(s);
  return { s, clock, account: awsFields.parse(s.account()) as AwsAccount };
}

type Rig = Awaited<ReturnType<typeof sim>>;

async function drain(
  o: Rig,
  checkpoint?: PartsCheckpoint,
  account = o.account,
): Promise<Batch<PartsCheckpoint>[]> {
  const checked = validateSettings('aws-guardduty', { regions: ['eu-west-1'] });
  assert.ok(checked.ok);
  const http: Http = new Http({
    vendor: 'Amazon GuardDuty',
    authorize: (headers, refresh, url, req) =>
      aws.authorize(account, headers, { refresh, http, url, ...req }),
    explain: guardduty.explain,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  const ctx = readContext(http, {
    stream: 'findings',
    settings: checked.settings,
    account,
    checkpoint,
    now: o.clock.now,
    window: { lookbackMs: 2 * 3_600_000 },
  });
  const out: Batch<PartsCheckpoint>[] = [];
  for await (const b of guardduty.streams.findings!.read(ctx)) out.push(b as Batch<PartsCheckpoint>);
  return out;
}

const ids = (batches: Batch[]) => batches.flatMap((b) => b.events.map((e) => e.id));

describe('aws-guardduty source', () => {
  it('validates regions with paths and builds regional endpoints', () => {
    const bad = validateSettings('aws-guardduty', { regions: ['Frankfurt'], pageSize: 100 });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.match(bad.issues.join(), /regions\.0: expected an AWS region code/);
      assert.match(bad.issues.join(), /pageSize: /);
    }
    assert.equal(guardDutyEndpoint({}, 'eu-central-1'), 'https://guardduty.eu-central-1.amazonaws.com');
  });

  it('lists on updatedAt oldest first, fetches ≤ 50 a call, ids every version {id}@{updatedAt}', async () => {
    const o = await sim();
    const batches = await drain(o);
    assert.deepEqual(ids(batches), o.s.versionIds());
    const list = o.s.inputs.filter((c) => c.action === 'ListFindings');
    assert.deepEqual(list[0]!.input.sortCriteria, { attributeName: 'updatedAt', orderBy: 'ASC' });
    assert.equal(list[0]!.input.findingCriteria.criterion.updatedAt.lessThan, T0 - 120_000);
    assert.ok(list.some((c) => typeof c.input.nextToken === 'string'));
    const gets = o.s.inputs.filter((c) => c.action === 'GetFindings');
    assert.ok(gets.every((c) => c.input.findingIds.length <= 50));
    assert.equal(gets.length, 3, '120 findings: three pages of at most 50');
    assert.deepEqual(Object.keys(batches.at(-1)!.checkpoint.parts), [`eu-west-1/${o.s.detectorId}`]);
    assert.deepEqual(o.s.writeCalls(), []);

    // A finding updated in place comes again as a new version; nothing else repeats.
    o.clock.advance(5 * 60_000);
    const updated = o.s.update(o.s.all()[3]!.id);
    o.clock.advance(3 * 60_000);
    const again = await drain(o, batches.at(-1)!.checkpoint);
    assert.deepEqual(ids(again), [`${updated.id}@${new Date(updated.updatedAt).toISOString()}`]);
    assert.equal((again[0]!.events[0]!.raw as { service: { count: number } }).service.count, 2);
  });

  it('names errors with their action and never echoes a secret', async () => {
    const o = await sim(5);
    o.s.deny('guardduty:ListFindings');
    const denied = await drain(o).catch((e) => e);
    assert.ok(denied instanceof TributaryError, String(denied));
    assert.equal(denied.code, 'aws_access_denied');
    assert.match(denied.action, /guardduty:ListFindings/);
    const wrong = await drain(o, undefined, { ...o.account, secretAccessKey: 'not-the-gd-secret' }).catch(
      (e) => e,
    );
    assert.equal(wrong.code, 'aws_invalid_credentials');
    assert.doesNotMatch(JSON.stringify(wrong.toJSON()), /not-the-gd-secret|sim-guardduty-secret/);
  });

  it('Test Connection proves the identity, the detector, ListFindings and GetFindings', async () => {
    const o = await sim(3);
    const settings = { regions: ['eu-west-1'] };
    assert.deepEqual(await testConnection(guardduty, aws, o.account, settings, ['findings']), { ok: true });
    assert.ok(o.s.requests().some((r) => r.path.startsWith('/sts')));
    assert.ok(o.s.inputs.some((c) => c.action === 'GetFindings'));
    o.s.deny('guardduty:GetFindings');
    const denied = await testConnection(guardduty, aws, o.account, settings, ['findings']);
    assert.equal(denied.ok, false);
    if (!denied.ok) {
      assert.equal(denied.error.code, 'aws_access_denied');
      assert.match(denied.error.action, /Allow guardduty:GetFindings on detector/);
    }
    assert.deepEqual(o.s.writeCalls(), []);
  });
});
