import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { GoogleTokenSimulator } from '../sim/google.ts';
import { SimServer } from '../sim/kit.ts';
import {
  apiFor,
  BIGQUERY_API,
  type GoogleAccount,
  type GoogleApi,
  google,
  LOGGING_READ_SCOPE,
  PUBSUB_API,
  parseServiceAccountKey,
  REPORTS_AUDIT_SCOPE,
  SECURITY_CENTER_API,
  scopesFor,
  signAssertion,
} from './google.ts';

const REPORTS_URL = new URL(
  'https://admin.googleapis.com/admin/reports/v1/activity/users/all/applications/login',
);
const LOGGING_URL = new URL('https://logging.googleapis.com/v2/entries:list');

describe('google account kind: fields', () => {
  const sim = new GoogleTokenSimulator();
  const key = JSON.parse(sim.keyJson());
  const parse = (fields: Record<string, unknown>) => google.fields.safeParse(fields);

  it('accepts a service-account key file and keeps it a string (so it is stored encrypted)', () => {
    const r = parse({ serviceAccountKey: sim.keyJson(), subject: 'admin@example.com' });
    assert.ok(r.success, r.success ? '' : formatIssues(r.error).join('; '));
    assert.equal(typeof r.data.serviceAccountKey, 'string');
    assert.deepEqual(google.secrets, ['serviceAccountKey']);
  });

  it('names what is wrong with a key, without echoing it', () => {
    const bad = (k: Record<string, unknown>) => {
      const r = parse({ serviceAccountKey: JSON.stringify(k) });
      assert.equal(r.success, false);
      return r.success ? [] : formatIssues(r.error);
    };
    assert.match(
      bad({ ...key, type: 'authorized_user' }).join(),
      /^serviceAccountKey: type must be "service_account", got "authorized_user"/,
    );
    assert.match(
      bad({ ...key, client_email: undefined }).join(),
      /serviceAccountKey: client_email is missing/,
    );
    const pem = bad({
      ...key,
      private_key: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n',
    });
    assert.match(pem.join(), /serviceAccountKey: private_key: expected a PEM private key/);
    assert.match(
      bad({ ...key, token_uri: 'http://oauth2.example.com/token' }).join(),
      /token_uri must be an https:\/\/ URL/,
    );
    const notJson = parse({ serviceAccountKey: '{"type": "service_account", "private_key": "-----BEGIN' });
    assert.equal(notJson.success, false);
    if (!notJson.success) {
      const text = formatIssues(notJson.error).join();
      assert.match(text, /serviceAccountKey: not valid JSON/);
      assert.doesNotMatch(text, /BEGIN/);
    }
    for (const issue of bad({ ...key, type: 'x' })) assert.doesNotMatch(issue, /PRIVATE KEY/);
  });

  it('validates the subject, the scopes and the token URL override', () => {
    const r = parse({
      serviceAccountKey: sim.keyJson(),
      subject: 'not an email',
      scopes: ['admin.reports.audit.readonly'],
      tokenUrl: 'http://10.0.0.5/token',
    });
    assert.equal(r.success, false);
    const issues = r.success ? [] : formatIssues(r.error);
    assert.ok(issues.some((i) => i.startsWith('subject: expected the email address')));
    assert.ok(issues.some((i) => i.startsWith('scopes.0: expected a Google OAuth scope')));
    assert.ok(
      issues.some((i) => i.startsWith('tokenUrl: plain http:// is accepted only for loopback hosts')),
    );
    assert.ok(parse({ serviceAccountKey: sim.keyJson(), tokenUrl: 'http://127.0.0.1:9/token' }).success);
  });
});

describe('google account kind: JWT bearer token exchange', () => {
  const server = new SimServer();
  const sim = new GoogleTokenSimulator({
    users: ['admin@example.com'],
    delegatedScopes: [REPORTS_AUDIT_SCOPE],
  });
  sim.mount(server);
  const http = new Http({ vendor: 'Google', backoffBaseMs: 1, backoffMaxMs: 2 });
  let account: GoogleAccount;
  before(async () => {
    await server.start();
    account = { serviceAccountKey: sim.keyJson(), subject: 'admin@example.com', tokenUrl: sim.tokenUrl };
  });
  after(() => server.stop());

  const authorize = async (a: GoogleAccount, url: URL, refresh = false) => {
    const headers = new Headers();
    await google.authorize(a, headers, { refresh, http, url });
    return headers.get('authorization') ?? '';
  };
  // The token requests' bodies, as the simulated endpoint received them.
  const lastBodies: string[] = [];
  const claimsOf = (n: number) => {
    const form = new URLSearchParams(lastBodies[n]);
    return JSON.parse(Buffer.from((form.get('assertion') ?? '..').split('.')[1], 'base64url').toString());
  };
  server.hooks.decorate = (req) => {
    if (req.path === '/token') lastBodies.push(req.body.toString());
  };

  it('signs an RS256 assertion the token endpoint verifies, and sends the token as a bearer', async () => {
    const auth = await authorize(account, REPORTS_URL);
    assert.match(auth, /^Bearer ya29\./);
    const claims = claimsOf(0);
    assert.equal(claims.iss, sim.clientEmail);
    assert.equal(claims.sub, 'admin@example.com');
    assert.equal(claims.scope, REPORTS_AUDIT_SCOPE);
    assert.equal(claims.aud, 'https://oauth2.googleapis.com/token');
    assert.equal(claims.exp - claims.iat, 3600);
    const form = new URLSearchParams(lastBodies[0]);
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const header = JSON.parse(
      Buffer.from((form.get('assertion') ?? '').split('.')[0], 'base64url').toString(),
    );
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: sim.privateKeyId });
  });

  it('caches the token per API, reads Cloud Logging as the service account itself, refreshes after a 401', async () => {
    const before = sim.tokenRequestCount;
    const a = await authorize(account, REPORTS_URL);
    assert.equal(sim.tokenRequestCount, before, 'cached');
    const l = await authorize(account, LOGGING_URL);
    assert.notEqual(l, a);
    const claims = claimsOf(lastBodies.length - 1);
    assert.equal(claims.sub, undefined, 'Cloud Logging is read without domain-wide delegation');
    assert.equal(claims.scope, LOGGING_READ_SCOPE);
    const refreshed = await authorize(account, LOGGING_URL, true);
    assert.notEqual(refreshed, l);
    assert.equal(sim.tokenRequestCount, before + 2);
  });

  it('recognises the API by path behind a base-URL override (same token as the real host)', async () => {
    const real = await authorize(account, REPORTS_URL);
    const before = sim.tokenRequestCount;
    const proxied = await authorize(
      account,
      new URL('http://127.0.0.1:1/admin/reports/v1/activity/users/all/applications/saml'),
    );
    assert.equal(proxied, real);
    assert.equal(sim.tokenRequestCount, before);
  });

  it('needs a subject for the Reports API and a scope the API accepts', async () => {
    const noSubject = await authorize({ ...account, subject: undefined }, REPORTS_URL).catch((e) => e);
    assert.ok(noSubject instanceof TributaryError);
    assert.equal(noSubject.code, 'google_subject_required');
    assert.match(noSubject.action, /subject/);
    const scoped = await authorize({ ...account, scopes: [LOGGING_READ_SCOPE] }, REPORTS_URL).catch((e) => e);
    assert.equal(scoped.code, 'google_scope_missing');
    assert.match(scoped.action, /admin\.reports\.audit\.readonly/);
  });

  it('explains a missing domain-wide delegation with the client ID and the exact scope', async () => {
    sim.delegatedScopes.clear();
    const err = await authorize({ ...account, subject: 'admin@example.com' }, REPORTS_URL, true).catch(
      (e) => e,
    );
    sim.delegatedScopes.add(REPORTS_AUDIT_SCOPE);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'oauth_token_refused');
    assert.match(err.message, /unauthorized_client/);
    assert.ok(err.action.includes(sim.clientId));
    assert.ok(err.action.includes(REPORTS_AUDIT_SCOPE));
    assert.match(err.action, /Domain Wide Delegation/);
  });

  it('explains an unknown subject and a deleted key, never echoing the key', async () => {
    const unknown = await authorize({ ...account, subject: 'ghost@example.com' }, REPORTS_URL).catch(
      (e) => e,
    );
    assert.match(unknown.message, /Invalid email or User ID/);
    assert.match(unknown.action, /ghost@example\.com is not an active user/);
    sim.rotateKey();
    const rotated = await authorize(account, LOGGING_URL, true).catch((e) => e);
    assert.match(rotated.message, /Invalid JWT Signature/);
    assert.match(rotated.action, /create a new JSON key/);
    const pem = parseServiceAccountKey(account.serviceAccountKey).privateKeyPem;
    assert.ok(!JSON.stringify(rotated.toJSON()).includes(pem.slice(40, 80)));
  });

  it('signs claims Google checks: a one-hour assertion with the key id', async () => {
    const key = parseServiceAccountKey(sim.keyJson());
    const jwt = await signAssertion(key, { scope: 'a b' }, Date.parse('2026-11-25T10:00:00Z'));
    const [h, c] = jwt
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.equal(h.kid, key.privateKeyId);
    assert.equal(c.iat, Date.parse('2026-11-25T10:00:00Z') / 1000);
    assert.equal(c.exp, c.iat + 3600);
    assert.equal(c.sub, undefined);
  });
});

describe('google account kind: Google Cloud APIs', () => {
  it('recognises Pub/Sub, Security Command Center and BigQuery by host or path, each with its least-privilege scope', () => {
    const cases: Array<[string, GoogleApi, string]> = [
      [
        'https://pubsub.googleapis.com/v1/projects/p/subscriptions/s:pull',
        PUBSUB_API,
        'https://www.googleapis.com/auth/pubsub',
      ],
      [
        'http://127.0.0.1:9/v1/projects/p/subscriptions/s:acknowledge',
        PUBSUB_API,
        'https://www.googleapis.com/auth/pubsub',
      ],
      [
        'http://127.0.0.1:9/v2/organizations/1/sources/-/locations/global/findings',
        SECURITY_CENTER_API,
        'https://www.googleapis.com/auth/cloud-platform',
      ],
      [
        'https://bigquery.googleapis.com/bigquery/v2/projects/p/queries',
        BIGQUERY_API,
        'https://www.googleapis.com/auth/bigquery.readonly',
      ],
      [
        'http://127.0.0.1:9/bigquery/v2/projects/p/queries/j1',
        BIGQUERY_API,
        'https://www.googleapis.com/auth/bigquery.readonly',
      ],
    ];
    for (const [url, api, scope] of cases) {
      assert.equal(apiFor(new URL(url)), api, url);
      assert.equal(api.delegation, 'never');
      assert.deepEqual(scopesFor({}, api), [scope]);
    }
    // An account limited to logging.read has no scope for them: the source names the one to add.
    assert.equal(scopesFor({ scopes: [LOGGING_READ_SCOPE] }, SECURITY_CENTER_API), undefined);
  });
});
