import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { appJwt } from '../../accounts/github.ts';
import { signJwt } from '../../engine/jwt.ts';
import { ManualClock } from '../../sim/kit.ts';
import { GitHubSimulator, parsePhrase } from './simulator.ts';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const DAY = 86_400_000;

function links(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (res.headers.get('link') ?? '').matchAll(/<([^>]+)>;\s*rel="(\w+)"/g)) out[m[2]] = m[1];
  return out;
}

describe('GitHubSimulator: audit log', () => {
  const clock = new ManualClock(T0);
  // 250 events one second apart, the first at T0 - 1h; 20 % Git, 10 % enterprise-only.
  const sim = new GitHubSimulator({
    events: 250,
    start: T0 - 3_600_000,
    spacingMs: 1000,
    seed: 3,
    clock: clock.now,
  });
  let url = '';
  const auth = { authorization: `Bearer ${sim.token}` };
  const get = (path: string, headers: Record<string, string> = auth) => fetch(`${url}${path}`, { headers });
  const ids = async (res: Response) =>
    ((await res.json()) as Array<{ _document_id: string }>).map((e) => e._document_id);
  before(async () => {
    url = await sim.start();
  });
  after(() => sim.stop());

  test('defaults: web events only, newest first, 30 a page, epoch-ms @timestamp and _document_id', async () => {
    const res = await get(`/orgs/${sim.org}/audit-log`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Array<Record<string, any>>;
    assert.equal(body.length, 30);
    const web = sim.events({ kinds: ['web'] });
    assert.deepEqual(
      body.map((e) => e._document_id),
      web
        .slice(-30)
        .reverse()
        .map((e) => e._document_id),
    );
    const e = body[0];
    assert.equal(typeof e['@timestamp'], 'number');
    assert.equal(e.created_at, e['@timestamp']);
    assert.match(e._document_id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(e.org, sim.org);
    assert.ok(
      !body.some((x) => String(x.action).startsWith('git.') || String(x.action).startsWith('business.')),
    );
    assert.equal(res.headers.get('x-ratelimit-resource'), 'core');
    assert.ok(Number(res.headers.get('x-ratelimit-remaining')) < 5000);
  });

  test('cursor pages: Link next carries after=<base64 "ms|_document_id">, first and prev links, no next at the end', async () => {
    const all = sim.eventIds(); // include=all, oldest first
    const first = `/orgs/${sim.org}/audit-log?include=all&order=asc&per_page=100&phrase=${encodeURIComponent(`created:>=2026-11-25`)}`;
    let res = await get(first);
    const got = await ids(res);
    let l = links(res);
    assert.ok(l.first && !l.prev);
    const next = new URL(l.next);
    assert.equal(next.searchParams.get('before'), '');
    assert.equal(next.searchParams.get('per_page'), '100');
    const decoded = Buffer.from(next.searchParams.get('after') ?? '', 'base64').toString();
    const last = sim.events().find((e) => e._document_id === got.at(-1));
    assert.equal(decoded, `${last?.['@timestamp'].toExponential()}|${got.at(-1)}`);
    while (l.next) {
      res = await fetch(l.next, { headers: auth });
      got.push(...(await ids(res)));
      l = links(res);
      assert.ok(l.prev, 'later pages link back');
    }
    assert.deepEqual(got, all);
  });

  test('order=desc pages newest first through the same cursors; per_page is capped at 100', async () => {
    const got: string[] = [];
    let next: string | undefined = `${url}/orgs/${sim.org}/audit-log?include=all&per_page=500`;
    const sizes: number[] = [];
    while (next) {
      const res: Response = await fetch(next, { headers: auth });
      const page = await ids(res);
      sizes.push(page.length);
      got.push(...page);
      next = links(res).next;
    }
    assert.deepEqual(sizes, [100, 100, sim.eventIds().length - 200]);
    assert.deepEqual(got, [...sim.eventIds()].reverse());
  });

  test('created: a date covers its day, a time its whole second; ranges, >, >=, <, <=', () => {
    const p = (s: string) => {
      const r = parsePhrase(s, T0);
      assert.ok(r, s);
      return [r.from, r.to];
    };
    const d = Date.parse('2026-11-24T00:00:00Z');
    assert.deepEqual(p('created:2026-11-24'), [d, d + DAY]);
    assert.deepEqual(p('created:2026-11-24..2026-11-25'), [d, d + 2 * DAY]);
    assert.deepEqual(p('created:>=2026-11-24'), [d, Number.POSITIVE_INFINITY]);
    assert.deepEqual(p('created:>2026-11-24'), [d + DAY, Number.POSITIVE_INFINITY]);
    assert.deepEqual(p('created:<2026-11-24'), [Number.NEGATIVE_INFINITY, d]);
    const s = Date.parse('2026-11-24T10:00:05Z');
    assert.deepEqual(p('created:2026-11-24T10:00:05+00:00..2026-11-24T10:00:09+00:00'), [s, s + 5000]);
    assert.deepEqual(p('created:<=2026-11-24T12:00:05+02:00'), [Number.NEGATIVE_INFINITY, s + 1000]);
    assert.deepEqual(p('action:repo'), [T0 - 90 * DAY, Number.POSITIVE_INFINITY], 'three months by default');
    assert.equal(parsePhrase('created:yesterday', T0), undefined);
    assert.equal(parsePhrase('some free text', T0), undefined);
    assert.equal(parsePhrase('flavour:vanilla', T0), undefined);
  });

  test('phrase filters the window, the qualifiers and include; an invalid phrase is a 400', async () => {
    const events = sim.events();
    const a = events[40]['@timestamp'];
    const b = events[49]['@timestamp'];
    const range = `created:${new Date(a).toISOString().slice(0, 19)}+00:00..${new Date(b).toISOString().slice(0, 19)}+00:00`;
    const res = await get(
      `/orgs/${sim.org}/audit-log?include=all&order=asc&phrase=${encodeURIComponent(range)}`,
    );
    assert.deepEqual(await ids(res), sim.eventIds().slice(40, 50), 'both ends inclusive, to the second');
    const git = await get(`/orgs/${sim.org}/audit-log?include=git&per_page=100`);
    const gitBody = (await git.json()) as Array<{ action: string }>;
    assert.ok(gitBody.length > 0 && gitBody.every((e) => e.action.startsWith('git.')));
    const teams = await get(
      `/orgs/${sim.org}/audit-log?per_page=100&phrase=${encodeURIComponent('action:team -actor:octocat')}`,
    );
    const teamBody = (await teams.json()) as Array<{ action: string; actor: string }>;
    assert.ok(teamBody.length > 0);
    assert.ok(teamBody.every((e) => e.action.startsWith('team.') && e.actor !== 'octocat'));
    const bad = await get(`/orgs/${sim.org}/audit-log?phrase=${encodeURIComponent('who deleted the repo')}`);
    assert.equal(bad.status, 400);
    assert.deepEqual(((await bad.json()) as { message: string }).message, 'The supplied query is invalid');
  });

  test('the enterprise log holds every organization event plus business events; only classic tokens', async () => {
    const res = await get(
      `/enterprises/${sim.enterprise}/audit-log?include=all&order=asc&per_page=100&phrase=created:>=2026-11-01`,
    );
    const page = await ids(res);
    assert.deepEqual(page, sim.eventIds({ scope: 'enterprise' }).slice(0, 100));
    assert.equal((await get('/enterprises/other/audit-log')).status, 404);
    assert.equal((await get('/orgs/other-org/audit-log')).status, 404);
  });

  test('auth: Bearer or token scheme; anything else is 401 Bad credentials', async () => {
    assert.equal(
      (await get(`/orgs/${sim.org}/audit-log`, { authorization: `token ${sim.token}` })).status,
      200,
    );
    const res = await get(`/orgs/${sim.org}/audit-log`, { authorization: 'Bearer ghp_wrong' });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), {
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    });
    assert.equal((await get(`/orgs/${sim.org}/audit-log`, {})).status, 401);
  });

  test('late indexing: an event is searchable only from its visibility time', async () => {
    const [id] = sim.addEvents(1, { from: clock.now() - 10_000, visibleDelayMs: 60_000 });
    const seen = async () =>
      (await ids(await get(`/orgs/${sim.org}/audit-log?include=all&per_page=5`))).includes(id);
    assert.equal(await seen(), false);
    clock.advance(60_000);
    assert.equal(await seen(), true);
  });
});

describe('GitHubSimulator: limits, retention, Enterprise Server, App tokens', () => {
  test('primary limit: 403 with x-ratelimit-remaining 0; the audit-log limit: 403 secondary with retry-after', async (t) => {
    const sim = new GitHubSimulator({ events: 3, rateLimitPerHour: 2, auditLimitPerHour: 1000 });
    const url = await sim.start();
    t.after(() => sim.stop());
    const get = () =>
      fetch(`${url}/orgs/${sim.org}/audit-log`, { headers: { authorization: `Bearer ${sim.token}` } });
    assert.equal((await get()).status, 200);
    assert.equal((await get()).status, 200);
    const limited = await get();
    assert.equal(limited.status, 403);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.ok(Number(limited.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    assert.match(((await limited.json()) as { message: string }).message, /API rate limit exceeded/);
    await sim.stop();

    const audit = new GitHubSimulator({ events: 3, auditLimitPerHour: 1 });
    const url2 = await audit.start();
    t.after(() => audit.stop());
    const get2 = () =>
      fetch(`${url2}/orgs/${audit.org}/audit-log`, { headers: { authorization: `Bearer ${audit.token}` } });
    assert.equal((await get2()).status, 200);
    const second = await get2();
    assert.equal(second.status, 403);
    assert.ok(Number(second.headers.get('retry-after')) > 0);
    assert.notEqual(second.headers.get('x-ratelimit-remaining'), '0');
    assert.match(((await second.json()) as { message: string }).message, /secondary rate limit/);
    await audit.stop();
  });

  test('retention: web events 180 days, Git events 7 days', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new GitHubSimulator({ events: 0, clock: clock.now, gitShare: 0, enterpriseShare: 0 });
    const url = await sim.start();
    t.after(() => sim.stop());
    const [oldWeb] = sim.addEvents(1, { from: T0 - 100 * DAY, kind: 'web' });
    const [oldGit] = sim.addEvents(1, { from: T0 - 8 * DAY, kind: 'git' });
    const [newGit] = sim.addEvents(1, { from: T0 - 6 * DAY, kind: 'git' });
    const res = await fetch(`${url}/orgs/${sim.org}/audit-log?include=all&phrase=created:>=2026-01-01`, {
      headers: { authorization: `Bearer ${sim.token}` },
    });
    const got = ((await res.json()) as Array<{ _document_id: string }>).map((e) => e._document_id);
    assert.deepEqual(got.sort(), [oldWeb, newGit].sort());
    assert.ok(!got.includes(oldGit));
    await sim.stop();
  });

  test('Enterprise Server: routes under /api/v3 and page-number links', async (t) => {
    const sim = new GitHubSimulator({ events: 60, enterpriseServer: true, gitShare: 0, enterpriseShare: 0 });
    const url = await sim.start();
    t.after(() => sim.stop());
    assert.ok(url.endsWith('/api/v3'));
    const res = await fetch(`${url}/orgs/${sim.org}/audit-log?per_page=25&order=asc`, {
      headers: { authorization: `Bearer ${sim.token}` },
    });
    const l = links(res);
    assert.equal(new URL(l.next).searchParams.get('page'), '2');
    assert.equal(new URL(l.last).searchParams.get('page'), '3');
    await sim.stop();
  });

  test('installation tokens: a valid JWT gets a one-hour ghs_ token; bad JWTs are refused as GitHub does', async (t) => {
    const sim = new GitHubSimulator({ events: 3 });
    const url = await sim.start();
    t.after(() => sim.stop());
    const exchange = (jwt: string, id = sim.installationId) =>
      fetch(`${url}/app/installations/${id}/access_tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, accept: 'application/vnd.github+json' },
      });
    const ok = await exchange(await appJwt(String(sim.appId), sim.privateKeyPem));
    assert.equal(ok.status, 201);
    const body = (await ok.json()) as { token: string; expires_at: string };
    assert.match(body.token, /^ghs_[A-Za-z0-9]{36}$/);
    const ttl = Date.parse(body.expires_at) - Date.now();
    assert.ok(ttl > 3_590_000 && ttl <= 3_600_000, `ttl ${ttl}`);
    const pages = await fetch(`${url}/orgs/${sim.org}/audit-log`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    assert.equal(pages.status, 200);
    const ent = await fetch(`${url}/enterprises/${sim.enterprise}/audit-log`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    assert.equal(ent.status, 403, 'enterprise endpoints take classic tokens only');

    const nowS = Math.floor(Date.now() / 1000);
    const tooLong = await signJwt({ iat: nowS - 60, exp: nowS + 900, iss: sim.appId }, sim.privateKeyPem);
    const r1 = await exchange(tooLong);
    assert.equal(r1.status, 401);
    assert.match(((await r1.json()) as { message: string }).message, /too far in the future/);
    const expired = await signJwt({ iat: nowS - 700, exp: nowS - 100, iss: sim.appId }, sim.privateKeyPem);
    assert.equal((await exchange(expired)).status, 401);
    const forged = `${(await appJwt(String(sim.appId), sim.privateKeyPem)).slice(0, -8)}AAAAAAAA`;
    assert.equal((await exchange(forged)).status, 401);
    assert.equal((await exchange(await appJwt('1', sim.privateKeyPem))).status, 401);
    assert.equal((await exchange(await appJwt(String(sim.appId), sim.privateKeyPem), 1)).status, 404);
    assert.equal(sim.tokenRequests().length, 6);
    assert.deepEqual(sim.writeCalls(), [], 'token exchanges are not writes');
    await sim.stop();
  });
});
