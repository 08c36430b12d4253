import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { GitHubSimulator } from '../sources/github/simulator.ts';
import { appJwt, type GitHubAccount, github } from './github.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = github.fields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

const claimsOf = (authorization: unknown) =>
  JSON.parse(Buffer.from(String(authorization).split(' ')[1].split('.')[1], 'base64url').toString());

/** An Http client authorised by the github account kind, as the runner builds it. */
const clientFor = (account: GitHubAccount) => {
  const http: Http = new Http({
    vendor: 'GitHub',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => github.authorize(account, h, { refresh, http, url, ...req }),
  });
  return http;
};

describe('github account kind: fields', () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

  it('accepts a token, or a complete GitHub App (numeric IDs as numbers or strings)', () => {
    assert.deepEqual(issues({ token: 'ghp_abc' }), []);
    const r = github.fields.safeParse({ appId: 123, installationId: '456', privateKey: key });
    assert.ok(r.success);
    assert.equal(r.data.appId, '123');
    assert.equal(r.data.installationId, '456');
    assert.deepEqual(issues({ url: 'https://github.example.com/api/v3', token: 'x' }), []);
  });

  it('names the fields that are missing, mixed or malformed, without echoing a secret', () => {
    assert.match(issues({}).join(), /token: required: a personal access token, or appId/);
    assert.match(issues({ token: 'x', appId: 1 }).join(), /appId: set either token .* not both/);
    assert.deepEqual(issues({ appId: 1 }), [
      'installationId: required with a GitHub App (appId, installationId and privateKey go together)',
      'privateKey: required with a GitHub App (appId, installationId and privateKey go together)',
    ]);
    assert.match(
      issues({ appId: 'my-app', installationId: 1, privateKey: key }).join(),
      /appId: expected the numeric/,
    );
    const bad = issues({ appId: 1, installationId: 2, privateKey: 'hunter2-secret-material' });
    assert.match(bad.join(), /privateKey: expected a PEM private key/);
    assert.doesNotMatch(bad.join(), /hunter2/);
    assert.match(issues({ url: 'http://github.example.com', token: 'x' }).join(), /url: plain http/);
    assert.deepEqual(github.secrets, ['token', 'privateKey']);
  });

  it('signs the App JWT as GitHub documents: RS256, iat 60 s back, exp within 10 minutes, iss the App ID', async () => {
    const now = 1_800_000_000;
    const jwt = await appJwt('42', key, now);
    const [h, p] = jwt
      .split('.')
      .slice(0, 2)
      .map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    assert.equal(h.alg, 'RS256');
    assert.equal(p.iss, '42');
    assert.equal(p.iat, now - 60);
    assert.ok(p.exp > now && p.exp <= now + 600, `exp ${p.exp - now} s ahead`);
  });
});

describe('github account kind: authorize', () => {
  const sim = new GitHubSimulator({ events: 5 });
  const app = (): GitHubAccount => ({
    url: sim.url,
    appId: String(sim.appId),
    installationId: String(sim.installationId),
    privateKey: sim.privateKeyPem,
  });
  before(() => sim.start());
  after(() => sim.stop());

  it('sends a personal access token as Bearer', async () => {
    const http = clientFor({ url: sim.url, token: sim.token });
    await http.getJson(`${sim.url}/orgs/${sim.org}/audit-log`);
    const last = sim.requests().at(-1);
    assert.equal(last?.headers.authorization, `Bearer ${sim.token}`);
    assert.deepEqual(sim.tokenRequests(), []);
  });

  it('exchanges the App JWT for one installation token, shared and reused until a 401 renews it', async () => {
    const before = sim.tokenRequests().length;
    const account = app();
    const a = clientFor(account);
    const b = clientFor({ ...account }); // another collector of the same account
    await Promise.all([
      a.getJson(`${sim.url}/orgs/${sim.org}/audit-log`),
      b.getJson(`${sim.url}/orgs/${sim.org}/audit-log`),
      a.getJson(`${sim.url}/orgs/${sim.org}/audit-log`),
    ]);
    const exchanges = sim.tokenRequests().slice(before);
    assert.equal(exchanges.length, 1, 'one token request for concurrent callers');
    const claims = claimsOf(exchanges[0].headers.authorization);
    const nowS = Date.now() / 1000;
    assert.equal(claims.iss, String(sim.appId));
    assert.ok(Math.abs(claims.iat - (nowS - 60)) < 5, 'iat 60 s in the past');
    assert.ok(claims.exp <= nowS + 600, 'exp at most 10 minutes ahead');
    assert.equal(exchanges[0].headers['x-github-api-version'], '2022-11-28');
    const pages = sim
      .requests()
      .filter((r) => r.path.endsWith('/audit-log'))
      .slice(-3);
    assert.ok(pages.every((r) => /^Bearer ghs_/.test(String(r.headers.authorization))));

    // The token dies early (revoked, or its hour is up): the 401 drops it and one new exchange follows.
    sim.expireInstallationTokens();
    const { response } = await a.getJson(`${sim.url}/orgs/${sim.org}/audit-log`);
    assert.equal(response.status, 200);
    assert.equal(sim.tokenRequests().length - before, 2);
    assert.deepEqual(sim.writeCalls(), [], 'the token exchange is not a write');
  });

  it('renews a token that nears its expiry instead of sending it', async (t) => {
    const short = new GitHubSimulator({ events: 1, installationTokenLifetimeMs: 4 * 60_000 });
    await short.start();
    t.after(() => short.stop());
    const http = clientFor({
      url: short.url,
      appId: String(short.appId),
      installationId: String(short.installationId),
      privateKey: short.privateKeyPem,
    });
    await http.getJson(`${short.url}/orgs/${short.org}/audit-log`);
    await http.getJson(`${short.url}/orgs/${short.org}/audit-log`);
    // 4 minutes left is inside the 5-minute renewal margin: each request gets a fresh token.
    assert.equal(short.tokenRequests().length, 2);
    await short.stop();
  });

  it('explains a refused exchange with a config error per cause, never echoing the key', async () => {
    const refused = async (account: GitHubAccount) => {
      const err = await clientFor(account)
        .getJson(`${sim.url}/orgs/${sim.org}/audit-log`)
        .catch((e) => e);
      assert.ok(err instanceof TributaryError, String(err));
      assert.equal(err.type, 'config');
      assert.equal(err.code, 'github_app_token_refused');
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /PRIVATE KEY|ghs_/);
      return err;
    };
    const wrongInstallation = await refused({ ...app(), installationId: '999' });
    assert.equal(wrongInstallation.status, 404);
    assert.match(wrongInstallation.action, /installationId/);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const wrongKey = await refused({ ...app(), privateKey: otherKey });
    assert.equal(wrongKey.status, 401);
    assert.match(wrongKey.message, /could not be decoded/);
    assert.match(wrongKey.action, /privateKey/);
    const wrongApp = await refused({ ...app(), appId: '1' });
    assert.equal(wrongApp.status, 401);
    sim.suspendInstallation(true);
    sim.expireInstallationTokens(); // the cached token dies: the renewal meets the suspension
    const suspended = await refused({ ...app(), installationId: String(sim.installationId) });
    sim.suspendInstallation(false);
    assert.equal(suspended.status, 403);
    assert.match(suspended.action, /unsuspend/);
  });
});
