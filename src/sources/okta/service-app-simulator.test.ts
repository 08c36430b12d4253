import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DpopSession } from '../../engine/dpop.ts';
import { newJti, signJwt } from '../../engine/jwt.ts';
import { OktaSimulator } from './simulator.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const nowS = () => Math.floor(Date.now() / 1000);

/** Requests written by hand against the simulator's token endpoint and API, one rule at a time. */
describe('Okta simulator: service app token endpoint', () => {
  const sim = new OktaSimulator({
    events: 3,
    serviceApp: { dpop: false, grants: ['okta.logs.read', 'okta.users.read'] },
  });
  const app = () => sim.serviceApp!;
  let tokenUrl = '';
  before(async () => {
    await sim.start();
    tokenUrl = `${sim.url}/oauth2/v1/token`;
  });
  after(() => sim.stop());

  const assertion = (
    claims: Record<string, unknown> = {},
    key: string = app().privateKeyPem,
    kid = app().keyId,
  ) =>
    signJwt(
      {
        aud: tokenUrl,
        iss: app().clientId,
        sub: app().clientId,
        exp: nowS() + 300,
        jti: newJti(),
        ...claims,
      },
      key,
      { header: { kid } },
    );
  const post = async (form: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
  };
  const request = async (o: { scope?: string; assertion?: string; grant?: string } = {}) =>
    post({
      grant_type: o.grant ?? 'client_credentials',
      scope: o.scope ?? 'okta.logs.read',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: o.assertion ?? (await assertion()),
    });
  const logs = (authorization: string, extra: Record<string, string> = {}) =>
    fetch(`${sim.url}/api/v1/logs?limit=1`, { headers: { authorization, ...extra } });

  test('a valid request gets a one-hour Bearer token that reads the System Log', async () => {
    const r = await request();
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.body.token_type, 'Bearer');
    assert.equal(r.body.expires_in, 3600 as never);
    assert.equal(r.body.scope, 'okta.logs.read');
    const res = await logs(`Bearer ${r.body.access_token}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as unknown[]).length, 1);
  });

  test('client authentication: every documented rule of the assertion is enforced (invalid_client, 401)', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const jti = newJti();
    const cases: [string, string | undefined][] = [
      ['signed with another key', await assertion({}, other)],
      ['another kid', await assertion({}, app().privateKeyPem, 'unknown-kid')],
      ['aud not the token URL', await assertion({ aud: `${sim.url}/oauth2/default/v1/token` })],
      ['iss not the client', await assertion({ iss: '0oaSomeoneElse' })],
      ['sub not the client', await assertion({ sub: '0oaSomeoneElse' })],
      ['expired', await assertion({ exp: nowS() - 1 })],
      ['exp over an hour ahead', await assertion({ exp: nowS() + 3700 })],
      ['not a JWT', 'not-a-jwt'],
    ];
    for (const [what, a] of cases) {
      const r = await request({ assertion: a });
      assert.equal(r.status, 401, what);
      assert.equal(r.body.error, 'invalid_client', what);
    }
    assert.equal((await request({ assertion: await assertion({ jti }) })).status, 200);
    const replay = await request({ assertion: await assertion({ jti }) });
    assert.equal(replay.body.error, 'invalid_client', 'a jti is accepted once');
    const noAssertion = await post({ grant_type: 'client_credentials', scope: 'okta.logs.read' });
    assert.equal(noAssertion.body.error, 'invalid_client');
    assert.equal((await request({ grant: 'password' })).body.error, 'unsupported_grant_type');
  });

  test('scopes: unknown → invalid_scope; known but not granted → invalid_scope naming it', async () => {
    const unknown = await request({ scope: 'okta.everything' });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body, {
      error: 'invalid_scope',
      error_description: 'The requested scope is invalid, unknown, or malformed.',
    });
    const notGranted = await request({ scope: 'okta.logs.read okta.apps.read' });
    assert.equal(notGranted.body.error, 'invalid_scope');
    assert.match(notGranted.body.error_description, /not granted to the client: okta\.apps\.read/);
  });

  test('API: an expired or unknown token is 401 E0000011, a token without the scope 403 insufficient_scope', async () => {
    const t = (await request()).body.access_token;
    app().expireTokens(Date.now());
    const expired = await logs(`Bearer ${t}`);
    assert.equal(expired.status, 401);
    assert.equal(((await expired.json()) as { errorCode: string }).errorCode, 'E0000011');
    assert.match(expired.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
    assert.equal((await logs('Bearer made-up')).status, 401);
    const users = (await request({ scope: 'okta.users.read' })).body.access_token;
    const denied = await logs(`Bearer ${users}`);
    assert.equal(denied.status, 403);
    assert.match(denied.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    // expireTokensAfter: the n-th request still passes, the next one finds its token expired.
    const fresh = (await request()).body.access_token;
    app().expireTokensAfter(2);
    assert.equal((await logs(`Bearer ${fresh}`)).status, 200);
    assert.equal((await logs(`Bearer ${fresh}`)).status, 200);
    assert.equal((await logs(`Bearer ${fresh}`)).status, 401);
  });
});

describe('Okta simulator: service app that requires DPoP', () => {
  const sim = new OktaSimulator({ events: 3, serviceApp: { keyType: 'ec' } });
  const app = () => sim.serviceApp!;
  let tokenUrl = '';
  before(async () => {
    await sim.start();
    tokenUrl = `${sim.url}/oauth2/v1/token`;
  });
  after(() => sim.stop());

  const form = async () => ({
    grant_type: 'client_credentials',
    scope: 'okta.logs.read',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: await signJwt(
      { aud: tokenUrl, iss: app().clientId, sub: app().clientId, exp: nowS() + 300, jti: newJti() },
      JSON.stringify(app().privateJwk),
    ),
  });
  const post = async (headers: Record<string, string> = {}) => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(await form()),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
  };

  test('no proof → invalid_dpop_proof; a proof without nonce → use_dpop_nonce + DPoP-Nonce; then a DPoP token', async () => {
    const missing = await post();
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, {
      error: 'invalid_dpop_proof',
      error_description: 'The DPoP proof JWT header is missing.',
    });
    const s = new DpopSession(true);
    const first = await post({ dpop: await s.proof('POST', tokenUrl) });
    assert.equal(first.status, 400);
    assert.equal(first.body.error, 'use_dpop_nonce');
    assert.equal(first.headers.get('dpop-nonce'), app().nonce);
    const wrongUrl = await post({
      dpop: await s.proof('POST', `${sim.url}/oauth2/v1/other`, { nonce: app().nonce }),
    });
    assert.equal(wrongUrl.body.error, 'invalid_dpop_proof', 'htu must be the token URL');
    const ok = await post({ dpop: await s.proof('POST', tokenUrl, { nonce: app().nonce }) });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_type, 'DPoP');
    const token = ok.body.access_token!;
    const url = `${sim.url}/api/v1/logs?limit=1`;
    const get = async (headers: Record<string, string>) => (await fetch(url, { headers })).status;

    assert.equal(
      await get({
        authorization: `DPoP ${token}`,
        dpop: await s.proof('GET', url, { accessToken: token, nonce: null }),
      }),
      200,
    );
    assert.equal(await get({ authorization: `Bearer ${token}` }), 401, 'a bound token is not a bearer token');
    assert.equal(await get({ authorization: `DPoP ${token}` }), 401, 'no proof');
    assert.equal(
      await get({ authorization: `DPoP ${token}`, dpop: await s.proof('GET', url, { nonce: null }) }),
      401,
      'no ath',
    );
    assert.equal(
      await get({ authorization: `DPoP ${token}`, dpop: await s.proof('POST', url, { accessToken: token }) }),
      401,
      'htm must match',
    );
    const other = new DpopSession(true);
    assert.equal(
      await get({
        authorization: `DPoP ${token}`,
        dpop: await other.proof('GET', url, { accessToken: token }),
      }),
      401,
      'the proof must be signed by the key the token is bound to',
    );
    const proof = await s.proof('GET', url, { accessToken: token, nonce: null });
    assert.equal(await get({ authorization: `DPoP ${token}`, dpop: proof }), 200);
    assert.equal(await get({ authorization: `DPoP ${token}`, dpop: proof }), 401, 'a proof is used once');
  });
});
