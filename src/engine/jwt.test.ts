import assert from 'node:assert/strict';
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  verify,
  X509Certificate,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { selfSignedCertificate } from '../sim/x509.ts';
import { accessTokenHash, DpopSession, htu } from './dpop.ts';
import {
  decodeJwt,
  jwkKeyId,
  jwkThumbprint,
  privateKey,
  publicJwk,
  rsaPrivateKey,
  signCompact,
  signJwt,
  signJwtHs256,
  x5tS256,
} from './jwt.ts';

const { privateKey: rsa, publicKey: rsaPub } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8 = rsa.export({ type: 'pkcs8', format: 'pem' }).toString();
const pkcs1 = rsa.export({ type: 'pkcs1', format: 'pem' }).toString();

const parts = (jwt: string) => {
  const [h, p, s] = jwt.split('.');
  return { input: Buffer.from(`${h}.${p}`), sig: Buffer.from(s!, 'base64url') };
};
/** An RS256/ES256/PS256 check written against node:crypto, independent of the signer under test. */
function verifies(jwt: string, key: KeyObject | Parameters<typeof createPublicKey>[0], alg: string): boolean {
  const pub =
    key instanceof KeyObject ? (key.type === 'public' ? key : createPublicKey(key)) : createPublicKey(key);
  const { input, sig } = parts(jwt);
  if (alg === 'RS256') return verify('sha256', input, pub, sig);
  if (alg === 'PS256')
    return verify(
      'sha256',
      input,
      { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      sig,
    );
  if (alg === 'ES256') return verify('sha256', input, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
  throw new Error(alg);
}

// RFC 7515 Appendix A: the payload bytes (with CRLFs) and the keys of A.2 (RS256) and A.3 (ES256).
const RFC7515_PAYLOAD = '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}';
const RFC7515_A2_KEY = {
  kty: 'RSA',
  n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
  e: 'AQAB',
  d: 'Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ',
  p: '4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc',
  q: 'uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc',
  dp: 'BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0',
  dq: 'h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU',
  qi: 'IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U',
};
const RFC7515_A2_JWS =
  'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw';
const RFC7515_A3_KEY = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
};
const RFC7515_A3_JWS =
  'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';

// RFC 9449 (DPoP) Figure 2 proof, whose key's thumbprint the RFC publishes (§6.1), and the §7.1 token.
const RFC9449_PROOF =
  'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg';

describe('JWT signer (engine/jwt.ts) against published vectors', () => {
  it('RFC 7515 A.2: RS256 over the exact payload bytes gives the published JWS', async () => {
    const key = privateKey(JSON.stringify(RFC7515_A2_KEY));
    assert.equal(await signCompact(RFC7515_PAYLOAD, key, { alg: 'RS256' }), RFC7515_A2_JWS);
  });

  it('RFC 7515 A.3: ES256 signatures are JOSE R||S (64 bytes), verifiable like the published one', async () => {
    const key = privateKey(JSON.stringify(RFC7515_A3_KEY), 'rsa-or-ec');
    const jws = await signCompact(RFC7515_PAYLOAD, key, { alg: 'ES256' });
    assert.equal(jws.split('.').slice(0, 2).join('.'), RFC7515_A3_JWS.split('.').slice(0, 2).join('.'));
    assert.equal(parts(jws).sig.length, 64);
    const pub = { key: { kty: 'EC', crv: 'P-256', x: RFC7515_A3_KEY.x, y: RFC7515_A3_KEY.y }, format: 'jwk' };
    assert.ok(verifies(jws, pub as never, 'ES256'));
    assert.ok(
      verifies(RFC7515_A3_JWS, pub as never, 'ES256'),
      'the verifier accepts the RFC’s own signature',
    );
  });

  it('RFC 7638 §3.1 and RFC 9449 §6.1: JWK thumbprints', async () => {
    assert.equal(
      await jwkThumbprint({
        kty: 'RSA',
        e: 'AQAB',
        n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      }),
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
    const { header } = decodeJwt(RFC9449_PROOF);
    assert.equal(await jwkThumbprint(header.jwk as never), '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  });

  it('RFC 9449: the Figure 2 proof verifies with its embedded key; ath of the §7.1 token; htu', () => {
    const { header, claims } = decodeJwt(RFC9449_PROOF);
    assert.equal(header.typ, 'dpop+jwt');
    assert.ok(verifies(RFC9449_PROOF, { key: header.jwk as never, format: 'jwk' }, 'ES256'));
    assert.deepEqual(claims, {
      jti: '-BwC3ESc6acc2lTc',
      htm: 'POST',
      htu: 'https://server.example.com/token',
      iat: 1562262616,
    });
    assert.equal(
      accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'),
      'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo',
    );
    assert.equal(htu('https://Acme.okta.com:443/api/v1/logs?since=x#f'), 'https://acme.okta.com/api/v1/logs');
  });
});

describe('signJwt', () => {
  it('encodes header and claims as base64url JSON and signs RS256 by default for RSA', async () => {
    const jwt = await signJwt({ iss: '42', iat: 1000, exp: 1540 }, pkcs8, { header: { kid: 'k1' } });
    const { header, claims } = decodeJwt(jwt);
    assert.deepEqual(header, { typ: 'JWT', kid: 'k1', alg: 'RS256' });
    assert.deepEqual(claims, { iss: '42', iat: 1000, exp: 1540 });
    assert.doesNotMatch(jwt, /[=+/]/, 'base64url without padding');
    assert.ok(verifies(jwt, rsaPub, 'RS256'));
  });

  it('signs PS256 with x5t#S256 (Microsoft certificate credentials)', async () => {
    const cert = selfSignedCertificate();
    const der = new X509Certificate(cert.certificatePem).raw;
    const jwt = await signJwt({ a: 1 }, cert.privateKeyPem, {
      alg: 'PS256',
      header: { 'x5t#S256': x5tS256(der) },
    });
    const { header } = decodeJwt(jwt);
    assert.equal(header.alg, 'PS256');
    assert.equal(
      header['x5t#S256'],
      Buffer.from(new X509Certificate(cert.certificatePem).fingerprint256.replace(/:/g, ''), 'hex').toString(
        'base64url',
      ),
    );
    assert.ok(verifies(jwt, cert.privateKey, 'PS256'));
    assert.ok(!verifies(jwt, cert.privateKey, 'RS256'), 'PSS, not PKCS#1 v1.5');
  });

  it('signs ES256 with an EC key given as PEM or JWK', async () => {
    const { privateKey: ec, publicKey: ecPub } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const text of [
      ec.export({ type: 'sec1', format: 'pem' }).toString(),
      JSON.stringify({ ...ec.export({ format: 'jwk' }), kid: 'okta-key-1' }),
    ]) {
      const jwt = await signJwt({ sub: 'x' }, text);
      assert.equal(decodeJwt(jwt).header.alg, 'ES256');
      assert.ok(verifies(jwt, ecPub, 'ES256'));
    }
    assert.equal(jwkKeyId(JSON.stringify({ kty: 'EC', kid: 'okta-key-1' })), 'okta-key-1');
    assert.equal(jwkKeyId(pkcs8), undefined);
    assert.deepEqual(Object.keys(publicJwk(ec)).sort(), ['crv', 'kty', 'x', 'y'], 'no private part');
  });
});

describe('key parsing', () => {
  it('accepts PKCS#1, PKCS#8, JWK and keys pasted with literal \\n', async () => {
    const oneLine = pkcs1.replace(/\n/g, '\\n');
    const jwt = await signJwt({ a: 1 }, oneLine);
    assert.ok(verifies(jwt, rsaPub, 'RS256'));
    assert.equal(rsaPrivateKey(pkcs8).asymmetricKeyType, 'rsa');
    assert.equal(rsaPrivateKey(JSON.stringify(rsa.export({ format: 'jwk' }))).asymmetricKeyType, 'rsa');
  });

  it('refuses what is not a usable private key without echoing it', () => {
    const secret = '-----BEGIN PRIVATE KEY-----\nnot-really-a-key-s3cr3t\n-----END PRIVATE KEY-----';
    assert.throws(
      () => rsaPrivateKey(secret),
      (e: Error) => /expected a PEM private key/.test(e.message) && !e.message.includes('s3cr3t'),
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.throws(() => rsaPrivateKey(ec.export({ type: 'pkcs8', format: 'pem' }).toString()), /RSA/);
    assert.throws(() => rsaPrivateKey(rsaPub), /public key/);
    const pubJwk = JSON.stringify({ ...rsaPub.export({ format: 'jwk' }), s3cr3t: 1 });
    assert.throws(
      () => rsaPrivateKey(pubJwk),
      (e: Error) => /this is a public key/.test(e.message) && !e.message.includes('s3cr3t'),
    );
    assert.throws(
      () => privateKey('{"kty":"RSA","d":"AA","n":"s3cr3t"}'),
      /parameters do not form a valid key/,
    );
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    assert.throws(() => privateKey(k1, 'rsa-or-ec'), /another curve/);
  });

  it('decrypts an encrypted PKCS#8 PEM with its passphrase, and says which is missing or wrong', () => {
    const enc = rsa
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pa55-s3cr3t' })
      .toString();
    assert.throws(() => rsaPrivateKey(enc), /encrypted: give its passphrase/);
    assert.throws(
      () => rsaPrivateKey(enc, 'wrong'),
      (e: Error) => /passphrase does not decrypt/.test(e.message) && !e.message.includes('pa55'),
    );
    const k = rsaPrivateKey(enc, 'pa55-s3cr3t');
    assert.equal(k.asymmetricKeyType, 'rsa');
    assert.deepEqual(
      createPublicKey(k).export({ type: 'spki', format: 'der' }),
      rsaPub.export({ type: 'spki', format: 'der' }),
    );
  });
});

describe('DpopSession', () => {
  it('proofs carry typ, the public jwk, htm, htu without query, a fresh jti, iat, nonce and ath', async () => {
    const s = new DpopSession();
    s.nonce = 'n-1';
    const a = await s.proof('get', 'https://acme.okta.com/api/v1/logs?limit=1', {
      accessToken: 'tok',
      now: 1_700_000_000_000,
    });
    const b = await s.proof('POST', 'https://acme.okta.com/oauth2/v1/token');
    const pa = decodeJwt(a);
    const pb = decodeJwt(b);
    assert.equal(pa.header.typ, 'dpop+jwt');
    assert.equal(pa.header.alg, 'ES256');
    assert.deepEqual(Object.keys(pa.header.jwk as object).sort(), ['crv', 'kty', 'x', 'y']);
    assert.ok(verifies(a, { key: pa.header.jwk as never, format: 'jwk' }, 'ES256'));
    assert.equal(pa.claims.htm, 'GET');
    assert.equal(pa.claims.htu, 'https://acme.okta.com/api/v1/logs');
    assert.equal(pa.claims.iat, 1_700_000_000);
    assert.equal(pa.claims.ath, accessTokenHash('tok'));
    assert.equal(pa.claims.nonce, 'n-1');
    assert.equal(pb.claims.ath, undefined);
    assert.notEqual(pa.claims.jti, pb.claims.jti);
    assert.deepEqual(pa.header.jwk, pb.header.jwk, 'one key per session');
    assert.equal(await s.thumbprint(), await jwkThumbprint(pa.header.jwk as never));
    assert.notEqual(await new DpopSession().thumbprint(), await s.thumbprint(), 'a key per session');
  });
});

describe('signJwtHs256', () => {
  it('signs header.claims with HMAC SHA-256 of the UTF-8 secret (RFC 7518 §3.2)', async () => {
    const { createHmac } = await import('node:crypto');
    const jwt = await signJwtHs256({ sub: 'app-1', tid: 'tenant-1', exp: 1_800 }, 'sëcret');
    const [h, p, sig] = jwt.split('.');
    assert.deepEqual(decodeJwt(jwt).header, { typ: 'JWT', alg: 'HS256' });
    assert.deepEqual(decodeJwt(jwt).claims, { sub: 'app-1', tid: 'tenant-1', exp: 1_800 });
    assert.equal(
      sig,
      createHmac('sha256', Buffer.from('sëcret', 'utf8')).update(`${h}.${p}`).digest('base64url'),
    );
  });
});
