import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type AwsAccount, aws, awsFields } from '../../accounts/aws.ts';
import { validateSettings } from '../../config/config-file.ts';
import { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import alarms, { historyItemId, monitoringEndpoint } from './index.ts';
import { CloudWatchAlarmsSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const sims: CloudWatchAlarmsSimulator[] = [];
after(() => Promise.all(sims.map((s) => s.stop())));

async function sim(n = 90) {
  const clock = new ManualClock(T0);
  const s = new CloudWatchAlarmsSimulator({ clock: clock.now, region: 'eu-west-1' });
  s.addItems(n, { from: T0 - 3_600_000, spacingMs: 30_000 });
  await s.start();
  sims.push(s);
  return { s, clock, account: awsFields.parse(s.account()) as AwsAccount };
}

type Rig = Awaited<ReturnType<typeof sim>>;

async function drain(o: Rig, stream: string, account = o.account, checkpoint?: unknown): Promise<Batch[]> {
  const checked = validateSettings('aws-cloudwatch-alarms', { region: 'eu-west-1', pageSize: 10 });
  assert.ok(checked.ok);
  const http: Http = new Http({
    vendor: 'Amazon CloudWatch',
    authorize: (headers, refresh, url, req) =>
      aws.authorize(account, headers, { refresh, http, url, ...req }),
    explain: alarms.explain,
    rateLimited: alarms.rateLimited,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  const ctx = readContext(http, {
    stream,
    settings: checked.settings,
    account,
    checkpoint,
    now: o.clock.now,
    window: { lookbackMs: 2 * 3_600_000 },
  });
  const out: Batch[] = [];
  for await (const b of alarms.streams[stream]!.read(ctx)) out.push(b);
  return out;
}

const ids = (batches: Batch[]) => batches.flatMap((b) => b.events.map((e) => e.id));

describe('aws-cloudwatch-alarms source', () => {
  it('validates settings with paths; ids are stable and differ by summary', () => {
    const bad = validateSettings('aws-cloudwatch-alarms', { region: 'Paris', pageSize: 500 });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.match(bad.issues.join(), /region: expected an AWS region code/);
      assert.match(bad.issues.join(), /pageSize: /);
    }
    const item = {
      AlarmName: 'cpu',
      Timestamp: 1_764_072_000.123,
      HistoryItemType: 'StateUpdate',
      HistorySummary: 'a',
      HistoryData: '{}',
    };
    assert.equal(historyItemId(item), historyItemId({ ...item }));
    assert.match(historyItemId(item)!, /^cpu@2025-11-25T12:00:00\.123Z#StateUpdate#[0-9a-f]{16}$/);
    assert.notEqual(historyItemId(item), historyItemId({ ...item, HistorySummary: 'b' }));
    assert.equal(historyItemId({ AlarmName: 'x' }), undefined);
    assert.equal(monitoringEndpoint({}, 'us-gov-west-1'), 'https://monitoring.us-gov-west-1.amazonaws.com/');
  });

  it('reads each item type on its own stream, oldest first, both alarm types, windows in epoch seconds', async () => {
    const o = await sim();
    const state = await drain(o, 'state-updates');
    const expected = o.s
      .all()
      .filter((i) => i.HistoryItemType === 'StateUpdate')
      .map((i) => historyItemId(o.s.apiItem(i)));
    assert.deepEqual(ids(state), expected);
    const first = o.s.inputs[0]!;
    assert.equal(first.HistoryItemType, 'StateUpdate');
    assert.equal(first.ScanBy, 'TimestampAscending');
    assert.deepEqual(first.AlarmTypes, ['MetricAlarm', 'CompositeAlarm']);
    assert.equal(first.EndDate, (T0 - 60_000 - 1) / 1000);
    assert.ok(
      o.s.inputs.some((i) => typeof i.NextToken === 'string'),
      'paged with NextToken',
    );
    assert.ok(
      state.some((b) =>
        b.events.some((e) => (e.raw as { AlarmType: string }).AlarmType === 'CompositeAlarm'),
      ),
    );
    const actions = await drain(o, 'actions');
    assert.ok(ids(actions).every((id) => id?.includes('#Action#')));
    // Nothing again on the next run from the last checkpoint.
    assert.deepEqual(ids(await drain(o, 'state-updates', o.account, state.at(-1)!.checkpoint)), []);
    assert.deepEqual(o.s.writeCalls(), []);
  });

  it('waits out Throttling, names AccessDenied with its IAM action, and never echoes a secret', async () => {
    const o = await sim(12);
    o.s.throttle(1);
    assert.equal(ids(await drain(o, 'configuration-updates')).length, 4);
    const wrong = await drain(o, 'actions', { ...o.account, secretAccessKey: 'not-the-cw-secret' }).catch(
      (e) => e,
    );
    assert.ok(wrong instanceof TributaryError, String(wrong));
    assert.equal(wrong.code, 'aws_invalid_credentials');
    assert.doesNotMatch(JSON.stringify(wrong.toJSON()), /not-the-cw-secret|sim-cloudwatch-secret/);

    assert.deepEqual(await testConnection(alarms, aws, o.account, { region: 'eu-west-1' }, []), { ok: true });
    o.s.deny();
    const denied = await testConnection(alarms, aws, o.account, { region: 'eu-west-1' }, []);
    assert.equal(denied.ok, false);
    if (!denied.ok) {
      assert.equal(denied.error.code, 'aws_access_denied');
      assert.match(denied.error.action, /Allow cloudwatch:DescribeAlarmHistory/);
    }
  });
});
