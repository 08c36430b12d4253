import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { Http } from '../engine/http.ts';
import { tokenCache } from '../engine/oauth.ts';
import { SimServer } from '../sim/kit.ts';
import { EntraIdentitySim } from '../sim/microsoft.ts';
import type { MicrosoftAccount } from './microsoft.ts';
import { microsoftCredential, roleMissing, scopeResource } from './microsoft-credential.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const RESOURCES = [
  'https://storage.azure.com',
  'https://eventhubs.azure.net',
  'https://management.azure.com',
  'https://api.loganalytics.io',
];

async function rig(secret = 'cr3d~value') {
  const server = new SimServer({ name: 'entra' });
  const identity = new EntraIdentitySim(server, {
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: 's3cret~value',
    resources: RESOURCES,
  });
  await server.start();
  after(() => server.stop());
  const account: MicrosoftAccount = {
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: secret,
    cloud: 'global',
    authorityHost: server.url,
  };
  const http = new Http({ vendor: 'Microsoft Entra ID', backoffBaseMs: 1, maxAttempts: 2 });
  return { identity, account, credential: microsoftCredential(http, account) };
}

describe('microsoftCredential (TokenCredential over the microsoft account)', () => {
  it('issues one cached token per resource for the scopes the Azure SDKs ask', async () => {
    tokenCache.clear();
    const { identity, credential } = await rig('s3cret~value');
    const storage = await credential.getToken('https://storage.azure.com/.default');
    assert.ok(storage?.token.startsWith('eyJ'));
    assert.ok(storage!.expiresOnTimestamp > Date.now() + 50 * 60_000, 'Entra lifetime of about an hour');
    const again = await credential.getToken(['https://storage.azure.com/.default']);
    assert.equal(again?.token, storage?.token, 'the second call is served from the cache');
    const arm = await credential.getToken('https://management.azure.com/.default');
    const la = await credential.getToken('https://api.loganalytics.io/.default');
    const eh = await credential.getToken('https://eventhubs.azure.net//.default');
    assert.notEqual(arm?.token, storage?.token);
    assert.ok(la?.token && eh?.token);
    assert.deepEqual(
      identity.tokenRequests.map((r) => r.scope),
      RESOURCES.map((r) => `${r}/.default`).sort((a, b) => order(a) - order(b)),
    );
    const renewed = await credential.getToken('https://storage.azure.com/.default', { claims: 'e30' });
    assert.notEqual(renewed?.token, storage?.token, 'a claims challenge gets a new token');
  });

  it('refuses a scope outside the APIs the account knows, before any token request', async () => {
    tokenCache.clear();
    const { identity, credential } = await rig('s3cret~value');
    for (const scope of [
      'https://evil.example.com/.default',
      'https://storage.azure.com/user_impersonation',
    ]) {
      await assert.rejects(credential.getToken(scope), (err: unknown) => {
        assert.ok(err instanceof TributaryError);
        assert.equal(err.code, 'microsoft_unknown_scope');
        return true;
      });
    }
    assert.equal(identity.tokenRequests.length, 0);
  });

  it('throws the account error with the AADSTS action and no secret when Entra refuses', async () => {
    tokenCache.clear();
    const { credential } = await rig('wrong~secret~value');
    await assert.rejects(credential.getToken('https://storage.azure.com/.default'), (err: unknown) => {
      assert.ok(err instanceof TributaryError);
      assert.equal(err.type, 'config');
      assert.match(err.action, /client secret is wrong/);
      assert.doesNotMatch(JSON.stringify(err), /wrong~secret~value/);
      return true;
    });
  });

  it('names the missing role, where to assign it and the app on 403', () => {
    const err = roleMissing('logAnalyticsReader', 'query workspace w1', { clientId: CLIENT });
    assert.equal(err.code, 'azure_role_missing');
    assert.equal(err.status, 403);
    assert.match(err.message, /Log Analytics Reader role on the Log Analytics workspace/);
    assert.match(err.action, /Access control \(IAM\).*Log Analytics Reader/);
    assert.match(err.action, new RegExp(CLIENT));
    assert.match(roleMissing('queueProcessor', 'read').message, /Storage Queue Data Message Processor/);
    assert.match(roleMissing('reader', 'read').message, /Reader role on each subscription/);
  });

  it('reads the resource of a .default scope', () => {
    assert.equal(scopeResource('https://monitor.azure.com//.default'), 'https://monitor.azure.com');
    assert.equal(scopeResource('https://storage.azure.com/.default'), 'https://storage.azure.com');
    assert.equal(scopeResource('openid'), undefined);
  });
});

const order = (scope: string) =>
  ['https://storage', 'https://management', 'https://api.loganalytics', 'https://eventhubs'].findIndex((p) =>
    scope.startsWith(p),
  );
