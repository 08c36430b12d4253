import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { decodeJwt } from '../engine/jwt.ts';
import { tokenCache } from '../engine/oauth.ts';
import { decodeJws, verifySignature } from '../sim/jws.ts';
import { OktaSimulator } from '../sources/okta/simulator.ts';
import { clientAssertion, type OktaAccount, okta, oktaTokenUrl } from './okta.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = okta.fields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ecPem = ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
const ecJwk = JSON.stringify({ ...ec.privateKey.export({ format: 'jwk' }), kid: 'kid-from-jwk' });

/** An Http client authorised by the okta account kind, as the runner builds it. */
const clientFor = (account: OktaAccount) => {
  const http: Http = new Http({
    vendor: 'Okta',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => okta.authorize(account, h, { refresh, http, url, ...req }),
  });
  return http;
};

describe('okta account kind: fields', () => {
  it('accepts an API token, or a service app with a PEM or JWK key (RSA or EC)', () => {
    assert.deepEqual(issues({ url: 'https://acme.okta.com', token: '00abc' }), []);
    for (const privateKey of [rsaPem, ecPem, ecJwk, rsaPem.replace(/\n/g, '\\n')])
      assert.deepEqual(issues({ url: 'https://acme.okta.com', clientId: '0oa1b2c3', privateKey }), []);
    assert.deepEqual(
      issues({ url: 'https://acme.okta.com', clientId: '0oa1b2c3', privateKey: rsaPem, keyId: 'k1' }),
      [],
    );
  });

  it('names the fields that are missing, mixed or malformed, without echoing a secret', () => {
    const url = 'https://acme.okta.com';
    assert.deepEqual(issues({ url }), [
      'token: required: an API token, or clientId and privateKey of an OAuth service app',
    ]);
    assert.match(
      issues({ url, token: 'x', clientId: '0oa1' }).join(),
      /clientId: set either token .* not both/,
    );
    assert.deepEqual(issues({ url, clientId: '0oa1' }), [
      'privateKey: required with a service app (clientId and privateKey go together)',
    ]);
    assert.deepEqual(issues({ url, token: 'x', keyId: 'k' }), [
      'keyId: only used with a service app privateKey',
    ]);
    const bad = issues({ url, clientId: '0oa1', privateKey: 'hunter2-secret-material' });
    assert.match(bad.join(), /privateKey: expected a PEM private key .* or a private JSON Web Key/);
    assert.doesNotMatch(bad.join(), /hunter2/);
    const pub = JSON.stringify({ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'hunter2' });
    assert.match(issues({ url, clientId: '0oa1', privateKey: pub }).join(), /privateKey: .*public key/);
    assert.match(
      issues({ url, clientId: '0oa 1', privateKey: rsaPem }).join(),
      /clientId: expected the Client ID/,
    );
  });

  it('keeps token and privateKey secret, and the org URL decides where they go', () => {
    assert.deepEqual(okta.secrets.sort(), ['privateKey', 'token']);
    assert.deepEqual(okta.spec.origins, ['url']);
    assert.deepEqual(okta.origins?.({ url: 'https://acme.okta.com', token: 'x' }), ['https://acme.okta.com']);
  });
});

describe('okta account kind: client assertion (private_key_jwt)', () => {
  const a: OktaAccount = { url: 'https://acme.okta.com/', clientId: '0oa1b2c3', privateKey: rsaPem };

  it('is signed RS256 for an RSA key, with Okta’s claims: aud the token URL, iss = sub, exp 5 min, jti', async () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    const jwt = await clientAssertion({ ...a, keyId: 'k-1' }, now);
    const d = decodeJws(jwt)!;
    assert.ok(verifySignature(d, rsa.publicKey, ['RS256']), 'verifies with the registered public key');
    assert.deepEqual(d.header, { typ: 'JWT', kid: 'k-1', alg: 'RS256' });
    const { aud, iss, sub, iat, exp, jti } = d.claims as Record<string, number & string>;
    assert.equal(aud, 'https://acme.okta.com/oauth2/v1/token');
    assert.equal(oktaTokenUrl(a), aud);
    assert.equal(iss, '0oa1b2c3');
    assert.equal(sub, '0oa1b2c3');
    assert.equal(iat, now / 1000);
    assert.equal(exp - iat, 300, 'well inside Okta’s one hour');
    assert.match(jti, /^[0-9a-f-]{36}$/);
    assert.notEqual(decodeJwt(await clientAssertion(a)).claims.jti, jti, 'a fresh jti each time');
  });

  it('is signed ES256 for a P-256 key, taking the kid from a JWK', async () => {
    const d = decodeJws(await clientAssertion({ ...a, privateKey: ecJwk }))!;
    assert.equal(d.header.alg, 'ES256');
    assert.equal(d.header.kid, 'kid-from-jwk');
    assert.ok(verifySignature(d, ec.publicKey, ['ES256']));
    assert.equal(decodeJws(await clientAssertion({ ...a, privateKey: ecPem }))!.header.kid, undefined);
  });
});

describe('okta account kind: requests', () => {
  const bearer = new OktaSimulator({ events: 5, serviceApp: { dpop: false } });
  const dpop = new OktaSimulator({ events: 5, serviceApp: { keyType: 'ec' } });
  before(async () => {
    await bearer.start();
    await dpop.start();
  });
  after(async () => {
    await bearer.stop();
    await dpop.stop();
  });
  const appAccount = (sim: OktaSimulator, o: Partial<OktaAccount> = {}): OktaAccount => ({
    url: sim.url,
    clientId: sim.serviceApp!.clientId,
    privateKey: sim.serviceApp!.privateKeyPem,
    keyId: sim.serviceApp!.keyId,
    ...o,
  });
  const logs = (sim: OktaSimulator) => `${sim.url}/api/v1/logs`;

  it('sends an API token as SSWS', async () => {
    await clientFor({ url: bearer.url, token: bearer.token }).getJson(logs(bearer));
    assert.equal(bearer.requests().at(-1)?.headers.authorization, `SSWS ${bearer.token}`);
    assert.equal(bearer.serviceApp!.issued.length, 0);
  });

  it('gets one Bearer token for concurrent requests and sends it; a 401 renews it once', async () => {
    const account = appAccount(bearer);
    const a = clientFor(account);
    const b = clientFor({ ...account }); // another collector of the same account
    await Promise.all([a.getJson(logs(bearer)), b.getJson(logs(bearer)), a.getJson(logs(bearer))]);
    const app = bearer.serviceApp!;
    assert.equal(app.issued.length, 1, 'one token request for concurrent callers');
    const token = app.issued[0]!.token;
    const pages = bearer
      .requests()
      .filter((r) => r.path === '/api/v1/logs')
      .slice(-3);
    assert.ok(pages.every((r) => r.headers.authorization === `Bearer ${token}` && !r.headers.dpop));
    // The simulator checked the form (grant_type, scope, assertion type) and the signed assertion.
    assert.deepEqual(app.refusals, []);
    assert.equal(bearer.requests().filter((r) => r.path === '/oauth2/v1/token').length, 1);
    app.expireTokens(Date.now());
    const { response } = await a.getJson(logs(bearer));
    assert.equal(response.status, 200);
    assert.equal(app.issued.length, 2, 'the expired token was replaced once');
    assert.deepEqual(app.refusals, []);
    assert.deepEqual(bearer.writeCalls(), [], 'a token request is not a write');
  });

  it('turns DPoP on when the app requires it: nonce handshake, then DPoP tokens with a proof per request', async () => {
    const app = dpop.serviceApp!;
    const account = appAccount(dpop, { privateKey: JSON.stringify(app.privateJwk), keyId: undefined });
    const http = clientFor(account);
    await http.getJson(logs(dpop));
    await http.getJson(logs(dpop), { limit: 1 });
    const tokenRequests = dpop.requests().filter((r) => r.path === '/oauth2/v1/token');
    assert.equal(tokenRequests.length, 3);
    assert.equal(tokenRequests[0]!.headers.dpop, undefined, 'first without a proof');
    assert.equal(decodeJwt(String(tokenRequests[1]!.headers.dpop)).claims.nonce, undefined);
    assert.equal(decodeJwt(String(tokenRequests[2]!.headers.dpop)).claims.nonce, app.nonce);
    assert.deepEqual(
      app.refusals.map((r) => r.error),
      ['invalid_dpop_proof', 'use_dpop_nonce'],
    );
    assert.equal(app.issued.length, 1);
    assert.equal(app.issued[0]!.type, 'DPoP');
    const pages = dpop.requests().filter((r) => r.path === '/api/v1/logs');
    assert.equal(pages.length, 2);
    const proofs = pages.map((r) => decodeJwt(String(r.headers.dpop)));
    for (const [i, r] of pages.entries()) {
      assert.equal(r.headers.authorization, `DPoP ${app.issued[0]!.token}`);
      assert.equal(proofs[i]!.claims.htm, 'GET');
      assert.equal(proofs[i]!.claims.htu, `${dpop.url}/api/v1/logs`, 'without the query');
      assert.ok(proofs[i]!.claims.ath);
    }
    assert.notEqual(proofs[0]!.claims.jti, proofs[1]!.claims.jti);

    // A renewal remembers that the app requires DPoP and Okta's nonce: one request.
    app.expireTokens(Date.now());
    await http.getJson(logs(dpop));
    assert.equal(dpop.requests().filter((r) => r.path === '/oauth2/v1/token').length, 4);
    assert.equal(app.issued.length, 2);
    // Okta renews its nonce: one use_dpop_nonce answer, then the new one.
    app.rotateNonce();
    tokenCache.clear();
    await http.getJson(logs(dpop));
    assert.equal(app.issued.length, 3);
    assert.equal(app.refusals.at(-1)?.error, 'use_dpop_nonce');
    assert.deepEqual(dpop.writeCalls(), []);
  });
});
