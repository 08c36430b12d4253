import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type GitHubAccount, github as githubAccount } from '../../accounts/github.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import github, { createdRange } from './index.ts';
import { GitHubSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('github', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

/** An Http client as the runner builds it for this source. */
function httpFor(account: GitHubAccount, extra: Partial<ConstructorParameters<typeof Http>[0]> = {}) {
  const http: Http = new Http({
    vendor: github.title,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    authorize: (h, refresh, url, req) => githubAccount.authorize(account, h, { refresh, http, url, ...req }),
    explain: github.explain,
    rateLimited: github.rateLimited,
    ...extra,
  });
  return http;
}

/** Reads the stream once, like a run: every batch, or the first `stopAfter` (a crash after them). */
async function run(
  sim: GitHubSimulator,
  o: {
    now: number;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    stopAfter?: number;
    account?: GitHubAccount;
    lookbackMs?: number;
    warn?: (e: TributaryError) => void;
  },
) {
  const account = o.account ?? { url: sim.url, token: sim.token };
  const ctx = readContext(httpFor(account), {
    stream: 'audit-log',
    settings: settingsOf({ organization: sim.org, ...o.settings }),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: o.lookbackMs ?? 2 * 3_600_000, lagMs: 0 },
    warn: o.warn ?? (() => {}),
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of github.streams['audit-log'].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>) {
    batches.push(b);
    if (o.stopAfter !== undefined && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe('github source: settings and Test Connection', () => {
  it('validates settings with the field in every message', () => {
    const issues = (raw: Record<string, unknown>) => {
      const r = validateSettings('github', raw);
      return r.ok ? [] : r.issues;
    };
    assert.match(issues({}).join(), /organization: required/);
    assert.match(
      issues({ organization: 'a', enterprise: 'b' }).join(),
      /enterprise: set organization or enterprise, not both/,
    );
    assert.match(
      issues({ organization: 'acme', phrase: 'created:>2020-01-01' }).join(),
      /phrase: must not contain created:/,
    );
    assert.match(issues({ organization: 'acme', perPage: 500 }).join(), /perPage/);
    assert.match(
      issues({ organization: 'not a login' }).join(),
      /organization: expected an organization login/,
    );
    assert.match(issues({ organization: 'acme', include: 'everything' }).join(), /include/);
    assert.deepEqual(settingsOf({ organization: 'acme' }), {
      organization: 'acme',
      include: 'all',
      order: 'asc',
      perPage: 100,
    });
  });

  it('passes with an organization owner token and with a GitHub App', async (t) => {
    const sim = new GitHubSimulator({ events: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const s = settingsOf({ organization: sim.org });
    assert.deepEqual(await testConnection(github, githubAccount, { url: sim.url, token: sim.token }, s), {
      ok: true,
    });
    const app = {
      url: sim.url,
      appId: String(sim.appId),
      installationId: String(sim.installationId),
      privateKey: sim.privateKeyPem,
    };
    assert.deepEqual(await testConnection(github, githubAccount, app, s), { ok: true });
    const enterprise = settingsOf({ enterprise: sim.enterprise });
    const viaApp = await testConnection(github, githubAccount, app, enterprise);
    assert.equal(viaApp.ok, false);
    if (!viaApp.ok)
      assert.equal(viaApp.error.code, 'github_forbidden', 'the enterprise log takes classic tokens only');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('explains 401, 403 (permission, SAML), 404 and a bad phrase, without echoing the token', async (t) => {
    const sim = new GitHubSimulator({ events: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const s = settingsOf({ organization: sim.org });
    const wrong = await testConnection(
      github,
      githubAccount,
      { url: sim.url, token: 'ghp_wrongwrongwrong' },
      s,
    );
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'github_bad_credentials');
      assert.equal(wrong.error.status, 401);
      assert.doesNotMatch(JSON.stringify(wrong.error), /ghp_wrong/);
    }
    const account = { url: sim.url, token: sim.token };
    const missing = await testConnection(
      github,
      githubAccount,
      account,
      settingsOf({ organization: 'someone-else' }),
    );
    assert.equal(!missing.ok && missing.error.code, 'github_not_found');
    sim.inject({
      kind: 'status',
      status: 403,
      body: {
        message:
          'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.',
      },
    });
    const saml = await testConnection(github, githubAccount, account, s);
    assert.equal(!saml.ok && saml.error.code, 'github_saml_sso');
    const badPhrase = await testConnection(
      github,
      githubAccount,
      account,
      settingsOf({ organization: sim.org, phrase: 'free text' }),
    );
    assert.equal(!badPhrase.ok && badPhrase.error.code, 'github_invalid_query');
    const denied = new GitHubSimulator({ events: 1, permission: false });
    await denied.start();
    t.after(() => denied.stop());
    const r = await testConnection(
      github,
      githubAccount,
      { url: denied.url, token: denied.token },
      settingsOf({ organization: denied.org }),
    );
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'github_forbidden');
      assert.match(r.error.action, /read:audit_log/);
    }
  });
});

describe('github source: reading', () => {
  it('asks for a whole-second created range, include, order and per_page, with the API version headers', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new GitHubSimulator({ events: 25, clock: clock.now, seed: 5, enterpriseShare: 0 });
    await sim.start();
    t.after(() => sim.stop());
    const { ids } = await run(sim, { now: T0 + 123, settings: { perPage: 10 } });
    assert.deepEqual(ids, sim.eventIds());
    const q = sim.requests()[0].query;
    // The first window starts at now - lookback - 1 s of overlap (09:59:59.123), rounded up to the second.
    assert.equal(q.get('phrase'), 'created:2026-11-25T10:00:00+00:00..2026-11-25T12:00:00+00:00');
    assert.equal(q.get('include'), 'all');
    assert.equal(q.get('order'), 'asc');
    assert.equal(q.get('per_page'), '10');
    const h = sim.requests()[0].headers;
    assert.equal(h.authorization, `Bearer ${sim.token}`);
    assert.equal(h['x-github-api-version'], '2022-11-28');
    assert.equal(h.accept, 'application/vnd.github+json');
    assert.equal(sim.requests().length, 3, 'pages of 10, 10 and 5 through Link next; the last has none');
    assert.equal(
      createdRange({
        start: new Date('2026-11-25T10:00:00.000Z'),
        end: new Date('2026-11-25T10:00:00.400Z'),
      }),
      'created:2026-11-25T10:00:00+00:00..2026-11-25T10:00:00+00:00',
    );
  });

  for (const timeCoversSecond of [true, false])
    it(`loses and repeats nothing at window edges inside a second (range end ${timeCoversSecond ? 'covers its second' : 'is an instant'})`, async (t) => {
      const clock = new ManualClock(T0);
      const sim = new GitHubSimulator({ events: 0, clock: clock.now, seed: 9, timeCoversSecond });
      sim.addEvents(600, { from: T0 - 60_000, spacingMs: 100 }); // T0-60s … T0-0.1s
      await sim.start();
      t.after(() => sim.stop());
      const all: string[] = [];
      let checkpoint: TimeWindowCheckpoint | undefined;
      // Runs end at arbitrary milliseconds; each run's window starts 1 s before the previous end.
      for (const end of [T0 - 45_321, T0 - 30_050, T0 - 29_999, T0 - 12_777, T0]) {
        const r = await run(sim, { now: end, checkpoint, lookbackMs: 61_000, settings: { perPage: 7 } });
        all.push(...r.ids);
        checkpoint = r.checkpoint;
      }
      assert.deepEqual(dupes(all), []);
      assert.deepEqual([...all].sort(), [...sim.eventIds()].sort());
    });

  for (const order of ['asc', 'desc'] as const) {
    it(`order=${order}: a crash after any page resumes without loss or duplicates`, async (t) => {
      const clock = new ManualClock(T0);
      const sim = new GitHubSimulator({ events: 0, clock: clock.now, seed: 13, enterpriseShare: 0 });
      sim.addEvents(95, { from: T0 - 600_000, spacingMs: 250 }); // several events per second
      await sim.start();
      t.after(() => sim.stop());
      const settings = { order, perPage: 10 };
      const full = await run(sim, { now: T0, settings });
      assert.equal(full.batches.length, 10, '95 events, 10 a page');
      for (let k = 1; k < full.batches.length; k++) {
        const first = await run(sim, { now: T0, settings, stopAfter: k });
        const cp = first.checkpoint as TimeWindowCheckpoint;
        if (order === 'desc') {
          // Newest first: the position stays at the window start, the page to resume is committed.
          assert.equal(cp.since, full.batches[0].checkpoint.since, 'since does not move mid-window');
          assert.ok(cp.next && cp.end, 'the window end and next page are in the checkpoint');
        } else {
          assert.equal(cp.next, undefined, 'oldest first: a restart re-queries from since');
        }
        const rest = await run(sim, { now: T0, checkpoint: cp, settings });
        const ids = [...first.ids, ...rest.ids];
        assert.deepEqual(dupes(ids), [], `crash after page ${k}`);
        assert.deepEqual([...ids].sort(), [...sim.eventIds()].sort(), `crash after page ${k}: nothing lost`);
      }
    });
  }

  it("rides out GitHub's 403 secondary rate limit (retry-after) and stops on an exhausted primary budget", async (t) => {
    const sim = new GitHubSimulator({ events: 20 });
    await sim.start();
    t.after(() => sim.stop());
    sim.secondaryRateLimit({ retryAfter: 1 });
    const started = Date.now();
    const { ids } = await run(sim, { now: Date.now() });
    assert.deepEqual(ids, sim.eventIds());
    assert.ok(Date.now() - started >= 900, 'waited for retry-after');

    const tight = new GitHubSimulator({ events: 5, rateLimitPerHour: 1 });
    await tight.start();
    t.after(() => tight.stop());
    const account = { url: tight.url, token: tight.token };
    await httpFor(account).getJson(`${tight.url}/orgs/${tight.org}/audit-log`);
    const err = await httpFor(account, { maxRetryAfterMs: 1000 })
      .getJson(`${tight.url}/orgs/${tight.org}/audit-log`)
      .catch((e) => e);
    assert.equal(err.type, 'transient', 'a rate limit, not a permission problem');
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.status, 403);
  });

  it('reads the enterprise log (business events included) and include=web leaves Git events out', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new GitHubSimulator({ events: 80, clock: clock.now, seed: 21 });
    await sim.start();
    t.after(() => sim.stop());
    const ent = await run(sim, {
      now: T0,
      settings: { organization: undefined, enterprise: sim.enterprise },
    });
    assert.deepEqual(ent.ids, sim.eventIds({ scope: 'enterprise' }));
    assert.ok(sim.requests().every((r) => r.path === `/enterprises/${sim.enterprise}/audit-log`));
    const web = await run(sim, { now: T0, settings: { include: 'web' } });
    assert.deepEqual(web.ids, sim.eventIds({ kinds: ['web'] }));
  });

  it('warns when Git events fell out of their 7-day retention; Enterprise Server is not clamped', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new GitHubSimulator({ events: 3, clock: clock.now });
    await sim.start();
    t.after(() => sim.stop());
    const warnings: string[] = [];
    const old = { since: new Date(T0 - 10 * 86_400_000).toISOString() };
    await run(sim, { now: T0, checkpoint: old, warn: (e) => warnings.push(e.code) });
    assert.deepEqual(warnings, ['git_events_beyond_retention']);

    const ghes = new GitHubSimulator({ events: 40, clock: clock.now, enterpriseServer: true });
    await ghes.start();
    t.after(() => ghes.stop());
    const gw: string[] = [];
    const r = await run(ghes, {
      now: T0,
      account: { url: ghes.url, token: ghes.token },
      checkpoint: { since: new Date(T0 - 200 * 86_400_000).toISOString() },
      settings: { perPage: 15 },
      warn: (e) => gw.push(e.code),
    });
    assert.deepEqual(gw, [], 'no retention clamp on GitHub Enterprise Server');
    assert.deepEqual(r.ids, ghes.eventIds());
    assert.ok(
      ghes.requests().some((q) => q.query.get('page') === '3'),
      'followed page-number links',
    );
  });
});
