import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, SimServer } from '../sim/kit.ts';
import { EntraIdentitySim } from '../sim/microsoft.ts';
import { selfSignedCertificate } from '../sim/x509.ts';
import {
  clientAssertion,
  type MicrosoftAccount,
  microsoft,
  microsoftFields,
  microsoftRateLimit,
  resourceFor,
  tokenErrorAction,
  tokenUrl,
} from './microsoft.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A token endpoint and an API that echoes the bearer token it received, on one simulator. */
async function rig(o: { secret?: string | null; certificatePem?: string; resources?: string[] } = {}) {
  const server = new SimServer({ name: 'entra' });
  const identity = new EntraIdentitySim(server, {
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: o.secret === undefined ? 's3cret~value' : o.secret,
    certificatePem: o.certificatePem,
    resources: o.resources ?? ['https://graph.microsoft.com', 'https://manage.office.com'],
  });
  for (const path of ['/v1.0/me', '/api/v1.0/:tenant/activity/feed/subscriptions/list'])
    server.route('GET', path, (req) => {
      const graph = path.startsWith('/v1.0');
      const denied = identity.check(req, graph ? 'https://graph.microsoft.com' : 'https://manage.office.com');
      return denied ?? json(200, { ok: true });
    });
  await server.start();
  after(() => server.stop()); // the calling test's: on failure too
  return { server, identity };
}

function httpFor(account: MicrosoftAccount) {
  const http: Http = new Http({
    vendor: 'Test',
    backoffBaseMs: 1,
    maxAttempts: 2,
    authorize: (headers, refresh, url) => microsoft.authorize(account, headers, { refresh, http, url }),
  });
  return http;
}

const parse = (raw: Record<string, unknown>) => microsoftFields.safeParse(raw);

describe('microsoft account fields', () => {
  it('accepts a secret account and defaults the cloud to global', () => {
    const r = parse({ tenantId: TENANT, clientId: CLIENT, clientSecret: 'x' });
    assert.ok(r.success);
    assert.equal(r.data.cloud, 'global');
  });

  it('names each bad field', () => {
    const r = parse({ tenantId: 'common', clientId: 'app', cloud: 'mars' });
    assert.ok(!r.success);
    const issues = formatIssues(r.error).join('\n');
    assert.match(issues, /tenantId: expected the Directory \(tenant\) ID/);
    assert.match(issues, /clientId: expected the Application \(client\) ID/);
    assert.match(issues, /cloud:/);
  });

  it('requires a secret or a certificate, not both', () => {
    const none = parse({ tenantId: TENANT, clientId: CLIENT });
    assert.ok(!none.success);
    assert.match(
      formatIssues(none.error).join(),
      /clientSecret: required: a client secret, or privateKey \+ certificate/,
    );
    const { privateKeyPem, certificatePem } = selfSignedCertificate();
    const both = parse({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: 'x',
      privateKey: privateKeyPem,
      certificate: certificatePem,
    });
    assert.ok(!both.success);
    assert.match(formatIssues(both.error).join(), /not both/);
  });

  it('checks the certificate and key parse and belong together, without echoing them', () => {
    const a = selfSignedCertificate();
    const b = selfSignedCertificate();
    const mismatch = parse({
      tenantId: TENANT,
      clientId: CLIENT,
      privateKey: a.privateKeyPem,
      certificate: b.certificatePem,
    });
    assert.ok(!mismatch.success);
    assert.match(
      formatIssues(mismatch.error).join(),
      /certificate: the certificate does not belong to the private key/,
    );
    const garbage = parse({ tenantId: TENANT, clientId: CLIENT, privateKey: 'nope', certificate: 'nope' });
    assert.ok(!garbage.success);
    const issues = formatIssues(garbage.error).join('\n');
    assert.match(issues, /privateKey: not a PEM RSA private key/);
    assert.match(issues, /certificate: not a PEM X.509 certificate/);
    assert.doesNotMatch(issues, /nope/);
    // A PEM pasted with literal \n sequences (environment variables) is accepted.
    const flat = parse({
      tenantId: TENANT,
      clientId: CLIENT,
      privateKey: a.privateKeyPem.replace(/\n/g, '\\n'),
      certificate: a.certificatePem.replace(/\n/g, '\\n'),
    });
    assert.ok(flat.success, flat.success ? '' : formatIssues(flat.error).join());
  });

  it('allows plain http authority hosts only on loopback', () => {
    assert.ok(
      !parse({
        tenantId: TENANT,
        clientId: CLIENT,
        clientSecret: 'x',
        authorityHost: 'http://login.example.com',
      }).success,
    );
    assert.ok(
      parse({ tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', authorityHost: 'http://127.0.0.1:8080' })
        .success,
    );
  });

  it('marks the secret and the private key as secrets', () => {
    assert.deepEqual(microsoft.secrets, ['clientSecret', 'privateKey']);
  });
});

describe('microsoft budgets per API', () => {
  it('budgets each API at its documented per-app-per-tenant limit, one request deep', () => {
    const at = (u: string) => microsoftRateLimit(new URL(u));
    assert.deepEqual(at('https://graph.microsoft.com/v1.0/auditLogs/directoryAudits?$top=1'), {
      key: 'graph:identity-and-access-reports',
      perSecond: 0.5,
      burst: 1,
    });
    assert.equal(
      at('https://graph.microsoft.us/beta/auditLogs/provisioning')?.key,
      'graph:identity-and-access-reports',
    );
    assert.deepEqual(at('https://graph.microsoft.com/v1.0/security/alerts_v2'), {
      key: 'graph:security',
      perSecond: 2.5,
      burst: 1,
    });
    assert.equal(at('https://graph.microsoft.com/v1.0/users/delta')?.key, 'graph:identity-and-access');
    assert.equal(
      at('https://manage.office.com/api/v1.0/t/activity/feed/subscriptions/content')?.perSecond,
      2000 / 60,
    );
    assert.equal(
      at('http://127.0.0.1:9/v1.0/security/incidents')?.key,
      'graph:security',
      'by path behind a proxy',
    );
    assert.equal(at('http://127.0.0.1:9/api/v1/t/activity/feed/audit/x')?.key, 'office-365-management');
    assert.equal(at('https://login.microsoftonline.com/t/oauth2/v2.0/token'), undefined, 'token requests');
    assert.equal(microsoft.rateLimit, undefined, 'no account-wide budget below the APIs’ own');
  });
});

describe('microsoft resource by request host', () => {
  const at = (u: string, cloud: MicrosoftAccount['cloud'] = 'global') => resourceFor(new URL(u), cloud);

  it('maps each API and national cloud to its token resource', () => {
    assert.equal(at('https://graph.microsoft.com/v1.0/users'), 'https://graph.microsoft.com');
    assert.equal(at('https://graph.microsoft.us/v1.0/users', 'usgov'), 'https://graph.microsoft.us');
    assert.equal(
      at('https://dod-graph.microsoft.us/v1.0/users', 'usgov-dod'),
      'https://dod-graph.microsoft.us',
    );
    assert.equal(
      at('https://microsoftgraph.chinacloudapi.cn/v1.0/users', 'china'),
      'https://microsoftgraph.chinacloudapi.cn',
    );
    assert.equal(
      at('https://manage.office.com/api/v1.0/t/activity/feed/subscriptions/list'),
      'https://manage.office.com',
    );
    assert.equal(
      at('https://manage-gcc.office.com/api/v1.0/t/activity/feed/subscriptions/list'),
      'https://manage.office.com',
    );
    assert.equal(
      at('https://manage.office365.us/api/v1.0/t/activity/feed', 'usgov'),
      'https://manage.office365.us',
    );
    assert.equal(
      at('https://manage.protection.apps.mil/api/v1.0/t/activity', 'usgov-dod'),
      'https://manage.protection.apps.mil',
    );
    assert.equal(at('https://management.azure.com/subscriptions/x'), 'https://management.azure.com');
    assert.equal(
      at('https://management.usgovcloudapi.net/subscriptions/x', 'usgov-dod'),
      'https://management.usgovcloudapi.net',
    );
    assert.equal(
      at('https://api.loganalytics.azure.com/v1/workspaces/w/query'),
      'https://api.loganalytics.io',
    );
    assert.equal(at('https://api.loganalytics.io/v1/workspaces/w/query'), 'https://api.loganalytics.io');
  });

  it('recognises the API by path behind an unknown host (proxy, simulator), in the account’s cloud', () => {
    assert.equal(at('http://127.0.0.1:5000/v1.0/auditLogs/signIns'), 'https://graph.microsoft.com');
    assert.equal(at('http://127.0.0.1:5000/v1.0/auditLogs/signIns', 'usgov'), 'https://graph.microsoft.us');
    assert.equal(
      at('http://127.0.0.1:5000/api/v1.0/tenant/activity/feed/subscriptions/content'),
      'https://manage.office.com',
    );
  });

  it('refuses a host of another cloud, an API absent from the cloud, and an unknown API', () => {
    assert.throws(
      () => at('https://graph.microsoft.us/v1.0/users'),
      (e: TributaryError) =>
        e.code === 'microsoft_cloud_mismatch' && /US Government \(GCC High\)/.test(e.message),
    );
    assert.throws(
      () => at('http://127.0.0.1:1/api/v1.0/t/activity/feed', 'china'),
      (e: TributaryError) => e.code === 'microsoft_api_unavailable',
    );
    assert.throws(
      () => at('https://example.com/whatever'),
      (e: TributaryError) => e.code === 'microsoft_unknown_api' && e.type === 'config',
    );
  });
});

describe('microsoft tokens', () => {
  it('gets a token with the client secret for scope {resource}/.default, cached per resource', async () => {
    const { server, identity } = await rig();
    const account: MicrosoftAccount = {
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: 's3cret~value',
      cloud: 'global',
      authorityHost: server.url,
    };
    assert.equal(tokenUrl(account), `${server.url}/${TENANT}/oauth2/v2.0/token`);
    const http = httpFor(account);
    await http.getJson(`${server.url}/v1.0/me`);
    await http.getJson(`${server.url}/v1.0/me`);
    await http.getJson(`${server.url}/api/v1.0/${TENANT}/activity/feed/subscriptions/list`);
    assert.deepEqual(
      identity.tokenRequests.map((r) => [r.scope, r.credential]),
      [
        ['https://graph.microsoft.com/.default', 'secret'],
        ['https://manage.office.com/.default', 'secret'],
      ],
      'one token per resource, reused',
    );
    // A revoked token: the 401 drops it, one new token is fetched and the request succeeds.
    identity.revokeTokens();
    await http.getJson(`${server.url}/v1.0/me`);
    assert.equal(identity.tokenRequests.length, 3);
    assert.deepEqual(
      server.requests
        .all()
        .filter((r) => r.method === 'POST')
        .map((r) => r.headers.authorization),
      [undefined, undefined, undefined],
      'token requests carry no bearer token',
    );
    await server.stop();
  });

  it('signs a PS256 client assertion naming the certificate by x5t#S256 (certificate credentials)', async () => {
    const cert = selfSignedCertificate();
    const { server, identity } = await rig({ secret: null, certificatePem: cert.certificatePem });
    const account: MicrosoftAccount = {
      tenantId: TENANT,
      clientId: CLIENT,
      privateKey: cert.privateKeyPem,
      certificate: cert.certificatePem,
      cloud: 'global',
      authorityHost: server.url,
    };
    const jwt = await clientAssertion(account, tokenUrl(account));
    const [h, c] = jwt
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    const der = new X509Certificate(cert.certificatePem).raw;
    assert.deepEqual(h, {
      alg: 'PS256',
      typ: 'JWT',
      'x5t#S256': createHash('sha256').update(der).digest('base64url'),
    });
    assert.equal(c.aud, tokenUrl(account));
    assert.equal(c.iss, CLIENT);
    assert.equal(c.sub, CLIENT);
    assert.ok(c.exp > c.nbf && c.exp - c.nbf <= 600 && typeof c.jti === 'string');
    await httpFor(account).getJson(`${server.url}/v1.0/me`);
    assert.deepEqual(
      identity.tokenRequests.map((r) => r.credential),
      ['assertion'],
    );

    // Another certificate than the registered one: Entra refuses, with a recommended action.
    const other = selfSignedCertificate();
    const err = await httpFor({
      ...account,
      privateKey: other.privateKeyPem,
      certificate: other.certificatePem,
    })
      .getJson(`${server.url}/v1.0/me`)
      .catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'config');
    assert.match(err.message, /AADSTS700027/);
    assert.match(err.action, /Upload this certificate/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /PRIVATE KEY/);
    await server.stop();
  });

  it('turns Entra refusals into config errors with the action for the AADSTS code, never echoing the secret', async () => {
    const { server } = await rig();
    const base: MicrosoftAccount = {
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: 'wrong-secret-value',
      cloud: 'global',
      authorityHost: server.url,
    };
    const fail = async (a: MicrosoftAccount): Promise<TributaryError> => {
      try {
        await httpFor(a).getJson(`${server.url}/v1.0/me`);
      } catch (e) {
        assert.ok(e instanceof TributaryError);
        return e;
      }
      assert.fail('expected Entra to refuse');
    };
    const wrong = await fail(base);
    assert.equal(wrong.type, 'config');
    assert.equal(wrong.status, 401);
    assert.match(wrong.message, /invalid_client.*AADSTS7000215/);
    assert.match(wrong.action, /Value \(not its Secret ID\)/);
    assert.doesNotMatch(JSON.stringify(wrong.toJSON()), /wrong-secret-value/);
    const tenant = await fail({ ...base, tenantId: 'fabrikam.onmicrosoft.com' });
    assert.match(tenant.message, /AADSTS90002/);
    assert.match(tenant.action, /Directory \(tenant\) ID/);
    const app = await fail({ ...base, clientId: '11111111-2222-4333-8444-555555555555' });
    assert.match(app.message, /AADSTS700016/);
    assert.match(app.action, /Application \(client\) ID/);
    await server.stop();
  });

  it('has an action for the other common AADSTS codes', () => {
    assert.match(tokenErrorAction('AADSTS7000222: The provided client secret keys are expired'), /expired/);
    assert.match(
      tokenErrorAction('AADSTS500011: The resource principal named x was not found'),
      /admin consent/,
    );
    assert.match(tokenErrorAction('something else'), /Directory \(tenant\) ID/);
  });
});
