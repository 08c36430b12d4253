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
import logs, { logsEndpoint } from './index.ts';
import { CloudWatchLogsSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const LAMBDA = '/aws/lambda/payments';
const FLOW = '/aws/vpc/flow-logs';

const sims: CloudWatchLogsSimulator[] = [];
after(() => Promise.all(sims.map((s) => s.stop())));

async function sim(groups: Record<string, number> = { [LAMBDA]: 25, [FLOW]: 12 }) {
  const clock = new ManualClock(T0);
  const s = new CloudWatchLogsSimulator({ clock: clock.now, region: 'eu-west-1' });
  for (const [g, n] of Object.entries(groups)) s.addEvents(g, n, { from: T0 - 3_600_000, spacingMs: 60_000 });
  await s.start();
  sims.push(s);
  return { s, clock, account: awsFields.parse(s.account()) as AwsAccount };
}

async function drain(
  o: { s: CloudWatchLogsSimulator; clock: ManualClock; account: AwsAccount },
  settings: Record<string, unknown>,
  checkpoint?: PartsCheckpoint,
  stopAfter = Infinity,
): Promise<Batch<PartsCheckpoint>[]> {
  const checked = validateSettings('aws-cloudwatch-logs', settings);
  assert.ok(checked.ok, checked.ok ? '' : checked.issues.join('; '));
  const http: Http = new Http({
    vendor: 'Amazon CloudWatch Logs',
    authorize: (headers, refresh, url, req) =>
      aws.authorize(o.account, headers, { refresh, http, url, ...req }),
    explain: logs.explain,
    rateLimited: logs.rateLimited,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  const ctx = readContext(http, {
    stream: 'events',
    settings: checked.settings,
    account: o.account,
    checkpoint,
    now: o.clock.now,
    window: { lookbackMs: 2 * 3_600_000 },
  });
  const out: Batch<PartsCheckpoint>[] = [];
  for await (const b of logs.streams.events!.read(ctx)) {
    out.push(b as Batch<PartsCheckpoint>);
    if (out.length >= stopAfter) break;
  }
  return out;
}

const ids = (batches: Batch[]) => batches.flatMap((b) => b.events.map((e) => e.id));

describe('aws-cloudwatch-logs source', () => {
  it('validates settings with paths: a region, and names or a prefix', () => {
    const none = validateSettings('aws-cloudwatch-logs', { region: 'eu-west-1' });
    assert.equal(none.ok, false);
    if (!none.ok) assert.match(none.issues.join(), /logGroupNames: expected either logGroupNames/);
    const bad = validateSettings('aws-cloudwatch-logs', { region: 'Ireland', logGroupNames: ['bad name'] });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.match(bad.issues.join(), /region: expected an AWS region code/);
      assert.match(bad.issues.join(), /logGroupNames\.0: expected a log group name/);
    }
    assert.ok(
      validateSettings('aws-cloudwatch-logs', { region: 'eu-west-1', logGroupNamePrefix: '/aws/' }).ok,
    );
    assert.equal(logsEndpoint({}, 'cn-north-1'), 'https://logs.cn-north-1.amazonaws.com.cn/');
  });

  it('reads each group oldest first with inclusive bounds, adds the group name, ids by eventId', async () => {
    const o = await sim();
    const batches = await drain(o, { region: 'eu-west-1', logGroupNames: [LAMBDA, FLOW], pageSize: 10 });
    const expected = [...o.s.events(LAMBDA), ...o.s.events(FLOW)].map((e) => e.eventId);
    assert.deepEqual(ids(batches), expected);
    const first = batches[0]!.events[0]!;
    assert.equal((first.raw as { logGroupName: string }).logGroupName, LAMBDA);
    assert.equal(first.time, new Date(T0 - 3_600_000).toISOString());
    const calls = o.s.inputs.filter((c) => c.action === 'FilterLogEvents');
    assert.equal(calls[0]!.input.logGroupName, LAMBDA);
    assert.equal(calls[0]!.input.limit, 10);
    // The window [start, now − 2 min) asks endTime one millisecond before its end (FilterLogEvents' endTime is inclusive).
    assert.equal(calls[0]!.input.endTime, T0 - 120_000 - 1);
    assert.ok(
      calls.some((c) => typeof c.input.nextToken === 'string'),
      'paged with nextToken',
    );
    assert.deepEqual(o.s.writeCalls(), []);
    // Every group keeps its own watermark.
    const cp = batches.at(-1)!.checkpoint;
    assert.deepEqual(Object.keys(cp.parts).sort(), [FLOW, LAMBDA].sort());
  });

  it('lists the groups under a prefix (DescribeLogGroups pages) and resumes each from its watermark', async () => {
    const groups: Record<string, number> = { 'other-app': 3 };
    for (let i = 0; i < 55; i++) groups[`/aws/lambda/fn-${String(i).padStart(2, '0')}`] = i < 2 ? 4 : 0;
    const o = await sim(groups);
    const settings = { region: 'eu-west-1', logGroupNamePrefix: '/aws/lambda/' };
    const part = await drain(o, settings, undefined, 1);
    const describes = o.s.inputs.filter((c) => c.action === 'DescribeLogGroups');
    assert.equal(describes.length, 2, '55 groups: two pages of at most 50');
    const rest = await drain(o, settings, part.at(-1)!.checkpoint);
    assert.deepEqual(
      [...ids(part), ...ids(rest)],
      [...o.s.events('/aws/lambda/fn-00'), ...o.s.events('/aws/lambda/fn-01')].map((e) => e.eventId),
    );
    // A later run reads only what is new, each group from its own watermark.
    o.clock.advance(10 * 60_000);
    o.s.addEvents('/aws/lambda/fn-01', 2, { from: T0 + 60_000, spacingMs: 1000 });
    const later = await drain(o, settings, rest.at(-1)!.checkpoint);
    assert.deepEqual(
      ids(later),
      o.s
        .events('/aws/lambda/fn-01')
        .slice(-2)
        .map((e) => e.eventId),
    );
  });

  it('waits out ThrottlingException and names the vendor error, action and field, with no secret', async () => {
    const o = await sim();
    o.s.throttle(2);
    const batches = await drain(o, { region: 'eu-west-1', logGroupNames: [LAMBDA] });
    assert.equal(ids(batches).length, 25);

    const missing = await drain(o, { region: 'eu-west-1', logGroupNames: ['no-such-group'] }).catch((e) => e);
    assert.ok(missing instanceof TributaryError, String(missing));
    assert.equal(missing.code, 'aws_log_group_not_found');
    assert.match(missing.action, /log group names and region/);

    o.s.expireCredentials(true);
    const expired = await drain(o, { region: 'eu-west-1', logGroupNames: [LAMBDA] }).catch((e) => e);
    o.s.expireCredentials(false);
    assert.equal(expired.code, 'aws_expired_token');

    const wrong = await drain(
      { ...o, account: { ...o.account, secretAccessKey: 'not-the-secret-logs' } },
      { region: 'eu-west-1', logGroupNames: [LAMBDA] },
    ).catch((e) => e);
    assert.equal(wrong.code, 'aws_invalid_credentials');
    assert.doesNotMatch(JSON.stringify(wrong.toJSON()), /not-the-secret-logs|sim-logs-secret/);
  });

  it('Test Connection proves the identity (STS), then logs:FilterLogEvents, naming a missing action', async () => {
    const o = await sim();
    const settings = { region: 'eu-west-1', logGroupNames: [LAMBDA] };
    assert.deepEqual(await testConnection(logs, aws, o.account, settings, ['events']), { ok: true });
    assert.ok(
      o.s.requests().some((r) => r.path.startsWith('/sts')),
      `GetCallerIdentity first: ${o.s.requests().map((r) => r.path)}`,
    );

    const wrong = await testConnection(
      logs,
      aws,
      { ...o.account, secretAccessKey: 'nope-secret-x' },
      settings,
      ['events'],
    );
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'aws_invalid_credentials');
      assert.match(wrong.error.message, /GetCallerIdentity/);
      assert.doesNotMatch(JSON.stringify(wrong.error), /nope-secret-x/);
    }

    o.s.deny('logs:FilterLogEvents');
    const denied = await testConnection(logs, aws, o.account, settings, ['events']);
    assert.equal(denied.ok, false);
    if (!denied.ok) {
      assert.equal(denied.error.code, 'aws_access_denied');
      assert.match(denied.error.action, /Allow logs:FilterLogEvents on log group \/aws\/lambda\/payments/);
    }
    o.s.deny('logs:DescribeLogGroups');
    const prefix = await testConnection(
      logs,
      aws,
      o.account,
      { region: 'eu-west-1', logGroupNamePrefix: '/aws/' },
      ['events'],
    );
    assert.equal(prefix.ok, false);
    if (!prefix.ok) assert.match(prefix.error.action, /Allow logs:DescribeLogGroups/);
    assert.deepEqual(o.s.writeCalls(), []);
  });
});
