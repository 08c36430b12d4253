import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain-stream.ts';
import { type WizAccount, wiz } from '../../accounts/wiz.ts';
import { validateSettings } from '../../config/config-file.ts';
import { TributaryError } from '../../core/errors.ts';
import type { SourceDef } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import wizApi from '../wiz-api/index.ts';
import wizIssues from './index.ts';
import { WizSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (id: string, raw: Record<string, unknown> = {}) => {
  const r = validateSettings(id, raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

function _httpFor(source: SourceDef, account: WizAccount) {
  const http: Http = new Http({
    vendor: 'Wiz',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => wiz.authorize(account, h, { refresh, http, url, ...req }),
    explain: source.explain,
    rateLimitedBody: source.rateLimitedBody,
  });
  return http;
}

const drain = (
  sim: WizSimulator,
  source: SourceDef,
  stream: string,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; pageSize?: number; stopAfter?: number },
) =>
  drainStream<TimeWindowCheckpoint>({
    source,
    kind: wiz,
    account: sim.account(),
    stream,
    settings: o.pageSize ? { pageSize: o.pageSize } : {},
    ...o,
  });

const bodies = (sim: WizSimulator) =>
  sim
    .requests()
    .filter((r) => r.path === '/graphql')
    .map((r) => r);

describe('wiz-issues', () => {
  it('reads issuesV2 by statusChangedAt, following pageInfo.endCursor, one event per status', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new WizSimulator({ clock: clock.now, records: 23, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, wizIssues, 'issues', { now: clock.now(), pageSize: 10 });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('issues').sort());
    assert.ok(first.batches.length >= 3, 'three pages of at most 10');
    assert.match(first.ids[0], /^[0-9a-f-]{36}@2026-11-25T\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(bodies(sim).length, first.batches.length);
    // A status change is a new event with a new id; the earlier status stays delivered once.
    clock.advance(5 * 60_000);
    const [resolved] = sim.addRecords('issues', 1, {
      seq: 4,
      from: clock.now() - 60_000,
      status: 'RESOLVED',
    });
    const second = await drain(sim, wizIssues, 'issues', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [resolved]);
    const raw = second.batches.flatMap((b) => b.events)[0].raw as Record<string, unknown>;
    assert.equal(raw.status, 'RESOLVED');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('sends the window as filterBy.statusChangedAt {after, before}, ordered by STATUS_CHANGED_AT, and after = endCursor', async (t) => {
    const seen: any[] = [];
    const sim = new WizSimulator({ clock: () => T0, records: 12, seed: 6 });
    sim.server.hooks.decorate = (req) => {
      if (req.path === '/graphql') seen.push(JSON.parse(req.body.toString()));
    };
    await sim.start();
    t.after(() => sim.stop());
    await drain(sim, wizIssues, 'issues', { now: T0, pageSize: 5 });
    const [a, b] = seen;
    assert.match(a.query, /issuesV2\(first: \$first, after: \$after, filterBy: \$filterBy/);
    assert.equal(a.variables.first, 5);
    assert.equal(a.variables.after, undefined);
    assert.deepEqual(a.variables.orderBy, { field: 'STATUS_CHANGED_AT', direction: 'ASC' });
    assert.deepEqual(Object.keys(a.variables.filterBy.statusChangedAt), ['after', 'before']);
    assert.equal(
      a.variables.filterBy.statusChangedAt.after,
      '2026-11-25T09:59:59.000Z',
      'lookback less the 1 s overlap',
    );
    assert.equal(typeof b.variables.after, 'string');
    assert.deepEqual(b.variables.filterBy, a.variables.filterBy, 'later pages keep the filter');
  });

  it('resumes a window at the saved endCursor after a crash between pages', async (t) => {
    const sim = new WizSimulator({ clock: () => T0, records: 30, seed: 7 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await drain(sim, wizIssues, 'issues', { now: T0, pageSize: 10, stopAfter: 1 });
    assert.equal(part.ids.length, 10);
    const before = bodies(sim).length;
    const rest = await drain(sim, wizIssues, 'issues', {
      now: T0,
      pageSize: 10,
      checkpoint: part.checkpoint,
    });
    assert.deepEqual([...part.ids, ...rest.ids].sort(), sim.expectedIds('issues').sort());
    assert.equal(new Set([...part.ids, ...rest.ids]).size, 30, 'nothing delivered twice');
    assert.ok(bodies(sim).length - before <= 3, 'the resumed run starts at page 2');
  });

  it('reads a window again from its first page when Wiz refuses the saved endCursor', async (t) => {
    const sim = new WizSimulator({ clock: () => T0, records: 30, seed: 13 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await drain(sim, wizIssues, 'issues', { now: T0, pageSize: 10, stopAfter: 1 });
    sim.expireCursors();
    const rest = await drain(sim, wizIssues, 'issues', {
      now: T0,
      pageSize: 10,
      checkpoint: part.checkpoint,
    });
    assert.deepEqual([...part.ids, ...rest.ids].sort(), sim.expectedIds('issues').sort());
    assert.equal(
      new Set([...part.ids, ...rest.ids]).size,
      30,
      'what the first page delivered is not delivered again',
    );
  });

  it('waits out a rate limit told in a 200 body and a 429, then goes on', async (t) => {
    const sim = new WizSimulator({ clock: () => T0, records: 5, seed: 8 });
    await sim.start();
    t.after(() => sim.stop());
    sim.rateLimitInBody(1);
    sim.inject({ kind: 'rate-limit', retryAfter: 0, path: '/graphql' });
    const r = await drain(sim, wizIssues, 'issues', { now: T0 });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('issues').sort());
    assert.equal(bodies(sim).length, 3);
  });

  it('maps GraphQL errors to codes and actions naming the scope, without the secret', async (t) => {
    const sim = new WizSimulator({ clock: () => T0, records: 3, seed: 9, forbidden: ['issues'] });
    await sim.start();
    t.after(() => sim.stop());
    const err = await drain(sim, wizIssues, 'issues', { now: T0 }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'wiz_permission_denied');
    assert.equal(err.type, 'config');
    assert.match(err.action, /read:issues/);
    assert.match(err.message, /FORBIDDEN/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), new RegExp(sim.clientSecret));
  });

  it('Test Connection proves the credentials and the scope of each stream collected', async (t) => {
    const ok = new WizSimulator({ records: 2, seed: 10 });
    const noAudit = new WizSimulator({ records: 2, seed: 11, forbidden: ['audit'] });
    for (const s of [ok, noAudit]) {
      await s.start();
      t.after(() => s.stop());
    }
    assert.deepEqual(await testConnection(wizIssues, wiz, ok.account(), settingsOf('wiz-issues')), {
      ok: true,
    });
    const bad = await testConnection(
      wizIssues,
      wiz,
      { ...ok.account(), clientSecret: 'rotated-secret-0123456789' },
      settingsOf('wiz-issues'),
    );
    assert.equal(!bad.ok && bad.error.code, 'oauth_token_refused');
    assert.doesNotMatch(JSON.stringify(bad), /rotated-secret/);
    const audit = await testConnection(wizApi, wiz, noAudit.account(), settingsOf('wiz-api'));
    assert.equal(!audit.ok && audit.error.code, 'wiz_permission_denied');
    if (!audit.ok) assert.match(audit.error.action, /admin:audit/);
    assert.deepEqual(
      await testConnection(wizApi, wiz, noAudit.account(), settingsOf('wiz-api'), [
        'vulnerability-findings',
        'cloud-detections',
      ]),
      { ok: true },
    );
    assert.deepEqual(ok.audiences.slice(0, 1), ['wiz-api']);
    for (const s of [ok, noAudit]) assert.deepEqual(s.writeCalls(), []);
  });

  it('checks the page size against the 500 the API allows', () => {
    assert.deepEqual(settingsOf('wiz-issues'), { pageSize: 500 });
    assert.equal(validateSettings('wiz-issues', { pageSize: 501 }).ok, false);
  });
});

describe('wiz-api', () => {
  it('reads the named queries: audit log (by timestamp), vulnerability findings (versions), detections', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new WizSimulator({ clock: clock.now, records: 14, seed: 12 });
    await sim.start();
    t.after(() => sim.stop());
    const audit = await drain(sim, wizApi, 'audit-log', { now: clock.now(), pageSize: 5 });
    assert.deepEqual([...audit.ids].sort(), sim.expectedIds('audit').sort());
    const det = await drain(sim, wizApi, 'cloud-detections', { now: clock.now(), pageSize: 5 });
    assert.deepEqual([...det.ids].sort(), sim.expectedIds('detections').sort());
    const vulns = await drain(sim, wizApi, 'vulnerability-findings', { now: clock.now(), pageSize: 5 });
    assert.deepEqual([...vulns.ids].sort(), sim.expectedIds('vulnerabilities').sort());
    clock.advance(5 * 60_000);
    const [fixed] = sim.addRecords('vulnerabilities', 1, {
      seq: 2,
      from: clock.now() - 60_000,
      status: 'RESOLVED',
    });
    const again = await drain(sim, wizApi, 'vulnerability-findings', {
      now: clock.now(),
      checkpoint: vulns.checkpoint,
    });
    assert.deepEqual(again.ids, [fixed]);
    const sent = sim.requests().filter((r) => r.path === '/graphql');
    assert.ok(sent.length > 0);
    assert.deepEqual(sim.writeCalls(), []);
    assert.deepEqual(Object.keys(wizApi.streams), [
      'audit-log',
      'vulnerability-findings',
      'cloud-detections',
    ]);
  });

  it('sends only queries, never a mutation (the query texts are constants)', async () => {
    for (const s of Object.values(wizApi.streams)) assert.ok(s.title);
    const { AUDIT_QUERY, VULNERABILITY_QUERY, DETECTIONS_QUERY } = await import('../wiz-api/index.ts');
    const { ISSUES_QUERY } = await import('./index.ts');
    for (const q of [AUDIT_QUERY, VULNERABILITY_QUERY, DETECTIONS_QUERY, ISSUES_QUERY])
      assert.match(q, /^query \w+\(/);
    assert.equal(validateSettings('wiz-api', { query: 'mutation { deleteIssue }' }).ok, false);
  });
});
