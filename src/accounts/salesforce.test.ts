import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, type SimRequest, SimServer } from '../sim/kit.ts';
import {
  jwtAssertion,
  jwtAudience,
  type SalesforceAccount,
  salesforce,
  salesforceFields,
  salesforceInstanceUrl,
} from './salesforce.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const CLIENT_ID = '3MVG9VwZxxW3bBQjhE6m21CG2nSS4WC.GNbZCtKeQxFH7218ns6xOLCNnJVKnZFTZWKzt2qwSFqt2taMt5mcr';

const issues = (fields: Record<string, unknown>) => {
  const r = salesforceFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());

describe('salesforce account kind: fields', () => {
  const base = { url: 'https://acme.my.salesforce.com', clientId: CLIENT_ID };

  it('accepts the client credentials flow or the JWT bearer flow', () => {
    assert.deepEqual(issues({ ...base, clientSecret: 'F3A1B2' }), []);
    assert.deepEqual(issues({ ...base, username: 'integration@acme.com', privateKey: PEM }), []);
    assert.deepEqual(
      issues({
        ...base,
        username: 'integration@acme.com',
        privateKey: PEM,
        audience: 'https://acme.my.site.com/customers',
      }),
      [],
    );
    assert.deepEqual(salesforce.secrets, ['clientSecret', 'privateKey']);
  });

  it('names the fields that are missing, mixed or malformed, without echoing a secret', () => {
    assert.match(
      issues(base).join(),
      /clientSecret: required: clientSecret \(client credentials flow\), or username and privateKey/,
    );
    assert.match(
      issues({ ...base, clientSecret: 's', username: 'a@b.c' }).join(),
      /username: set either clientSecret/,
    );
    assert.deepEqual(issues({ ...base, username: 'a@b.c' }), [
      'privateKey: required with the JWT bearer flow (username and privateKey go together)',
    ]);
    assert.match(
      issues({ ...base, clientSecret: 's', audience: 'https://login.salesforce.com' }).join(),
      /audience: only used by the JWT bearer flow/,
    );
    assert.match(
      issues({ ...base, url: 'https://acme.my.salesforce.com/services', clientSecret: 's' }).join(),
      /url: expected the My Domain URL alone/,
    );
    assert.match(
      issues({ ...base, url: 'http://acme.my.salesforce.com', clientSecret: 's' }).join(),
      /url: plain http/,
    );
    assert.match(
      issues({ ...base, username: 'not-an-email', privateKey: PEM }).join(),
      /username: expected a Salesforce username/,
    );
    const bad = issues({ ...base, username: 'a@b.c', privateKey: 'hunter2-key-material' });
    assert.match(bad.join(), /privateKey: expected a PEM private key/);
    assert.doesNotMatch(bad.join(), /hunter2/);
  });

  it('picks the JWT audience from the My Domain URL: test.salesforce.com for sandboxes', () => {
    assert.equal(jwtAudience({ url: 'https://acme.my.salesforce.com' }), 'https://login.salesforce.com');
    assert.equal(
      jwtAudience({ url: 'https://acme--uat.sandbox.my.salesforce.com' }),
      'https://test.salesforce.com',
    );
    assert.equal(
      jwtAudience({ url: 'https://acme.my.salesforce.com', audience: 'https://acme.my.site.com/customers' }),
      'https://acme.my.site.com/customers',
    );
  });

  it('signs the assertion as Salesforce documents: RS256, iss, sub, aud, exp within 3 minutes', async () => {
    const now = 1_800_000_000;
    const jwt = await jwtAssertion({ ...base, username: 'integration@acme.com', privateKey: PEM }, now);
    const [h, p, s] = jwt.split('.');
    assert.equal(decode(h).alg, 'RS256');
    assert.deepEqual(decode(p), {
      iss: CLIENT_ID,
      sub: 'integration@acme.com',
      aud: 'https://login.salesforce.com',
      exp: now + 150,
    });
    assert.ok(decode(p).exp - now <= 180);
    assert.ok(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url')));
  });
});

/** The org: its token endpoint (both grants) and a REST resource that wants a current token. */
class OrgSim {
  readonly server = new SimServer({ name: 'salesforce' });
  readonly tokenRequests: URLSearchParams[] = [];
  readonly valid = new Set<string>();
  secret = 'consumer-secret-8A4BE698';
  approved = new Set(['integration@acme.com']);
  private n = 0;

  constructor() {
    this.server.route('POST', '/services/oauth2/token', (req) => this.token(req));
    this.server.route('GET', '/services/data/v62.0/limits', (req) => {
      const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!this.valid.has(token))
        return json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
      return json(200, { DailyApiRequests: { Max: 15000, Remaining: 14998 } });
    });
  }

  private issue() {
    const token = `00DS7000000oxzo!AR8AQ.token-${++this.n}`;
    this.valid.add(token);
    // As Salesforce answers: no expires_in.
    return json(200, {
      access_token: token,
      instance_url: this.server.url,
      id: 'https://login.salesforce.com/id/00Dd000000XXXXXXX/005d000000XXXXX',
      token_type: 'Bearer',
      issued_at: String(Date.now()),
      signature: 'nUFHwtfIGLKDTHcLWmDBG8frv0t+HQGl/iCZFIQUarE=',
    });
  }

  private token(req: SimRequest) {
    const form = new URLSearchParams(req.body.toString());
    this.tokenRequests.push(form);
    const grant = form.get('grant_type');
    if (grant === 'client_credentials') {
      if (form.get('client_id') !== CLIENT_ID)
        return json(400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
      if (form.get('client_secret') !== this.secret)
        return json(400, { error: 'invalid_client', error_description: 'invalid client credentials' });
      return this.issue();
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const [h, p, s] = String(form.get('assertion')).split('.');
      const claims = decode(p);
      const signed = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'));
      if (!signed || claims.iss !== CLIENT_ID || claims.exp * 1000 < Date.now())
        return json(400, { error: 'invalid_grant', error_description: 'invalid assertion' });
      if (claims.aud !== 'https://login.salesforce.com')
        return json(400, { error: 'invalid_grant', error_description: 'audience is invalid' });
      if (!this.approved.has(claims.sub))
        return json(400, { error: 'invalid_grant', error_description: "user hasn't approved this consumer" });
      return this.issue();
    }
    return json(400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
  }

  expireAll() {
    this.valid.clear();
  }
}

const clientFor = (account: SalesforceAccount) => {
  const http: Http = new Http({
    vendor: 'Salesforce',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => salesforce.authorize(account, h, { refresh, http, url, ...req }),
  });
  return http;
};

describe('salesforce account kind: token flows against an org simulator', () => {
  const org = new OrgSim();
  before(() => org.server.start());
  after(() => org.server.stop());
  const cc = (): SalesforceAccount => ({
    url: org.server.url,
    clientId: CLIENT_ID,
    clientSecret: org.secret,
  });

  it('client credentials: one token for concurrent requests, Bearer, renewed after a 401', async () => {
    const before = org.tokenRequests.length;
    const http = clientFor(cc());
    const limits = `${org.server.url}/services/data/v62.0/limits`;
    await Promise.all([http.getJson(limits), http.getJson(limits), clientFor(cc()).getJson(limits)]);
    const forms = org.tokenRequests.slice(before);
    assert.equal(forms.length, 1);
    assert.equal(forms[0].get('grant_type'), 'client_credentials');
    assert.equal(forms[0].get('client_id'), CLIENT_ID);
    org.expireAll(); // the org's session timeout passed
    const { body } = await http.getJson(limits);
    assert.equal(body.DailyApiRequests.Max, 15000);
    assert.equal(org.tokenRequests.length - before, 2);
  });

  it('exposes the instance_url of the token response to sources', async () => {
    const http = clientFor(cc());
    assert.equal(await salesforceInstanceUrl(cc(), http), org.server.url);
  });

  it('JWT bearer: a signed assertion for the user, exchanged for a Bearer token', async () => {
    const account: SalesforceAccount = {
      url: org.server.url,
      clientId: CLIENT_ID,
      username: 'integration@acme.com',
      privateKey: PEM,
    };
    const before = org.tokenRequests.length;
    await clientFor(account).getJson(`${org.server.url}/services/data/v62.0/limits`);
    const form = org.tokenRequests.at(-1)!;
    assert.equal(org.tokenRequests.length - before, 1);
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    assert.equal(decode(String(form.get('assertion')).split('.')[1]).sub, 'integration@acme.com');
  });

  it('explains each refusal with the setting to change, never echoing the secret or key', async () => {
    const refused = async (account: SalesforceAccount) => {
      const err = await clientFor(account)
        .getJson(`${org.server.url}/services/data/v62.0/limits`)
        .catch((e) => e);
      assert.ok(err instanceof TributaryError, String(err));
      assert.equal(err.type, 'config');
      assert.equal(err.code, 'oauth_token_refused');
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /wrong-secret-value|PRIVATE KEY/);
      return err;
    };
    const secret = await refused({ ...cc(), clientSecret: 'wrong-secret-value' });
    assert.match(secret.message, /invalid_client/);
    assert.match(secret.action, /clientSecret/);
    assert.match((await refused({ ...cc(), clientId: 'unknown' })).action, /clientId/);
    const notApproved = await refused({
      url: org.server.url,
      clientId: CLIENT_ID,
      username: 'new@acme.com',
      privateKey: PEM,
    });
    assert.match(notApproved.message, /user hasn't approved this consumer/);
    assert.match(notApproved.action, /pre-authorized/);
    const sandboxAud = await refused({
      url: org.server.url,
      clientId: CLIENT_ID,
      username: 'integration@acme.com',
      privateKey: PEM,
      audience: 'https://test.salesforce.com',
    });
    assert.match(sandboxAud.action, /login\.salesforce\.com for production/);
  });
});
