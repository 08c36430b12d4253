import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { rsaPrivateKey, signJwtRs256 } from './jwt.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());

describe('signJwtRs256', () => {
  it('encodes header and claims as base64url JSON and signs them with RS256', () => {
    const jwt = signJwtRs256({ iss: '42', iat: 1000, exp: 1540 }, pkcs8, { kid: 'k1' });
    const [h, p, s] = jwt.split('.');
    assert.deepEqual(decode(h), { alg: 'RS256', typ: 'JWT', kid: 'k1' });
    assert.deepEqual(decode(p), { iss: '42', iat: 1000, exp: 1540 });
    assert.doesNotMatch(jwt, /[=+/]/, 'base64url without padding');
    assert.ok(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url')));
  });

  it('accepts PKCS#1 keys and keys pasted with literal \\n', () => {
    const oneLine = pkcs1.replace(/\n/g, '\\n');
    const [h, p, s] = signJwtRs256({ a: 1 }, oneLine).split('.');
    assert.ok(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url')));
  });

  it('refuses what is not an RSA private key without echoing it', () => {
    const secret = '-----BEGIN PRIVATE KEY-----\nnot-really-a-key-s3cr3t\n-----END PRIVATE KEY-----';
    assert.throws(
      () => rsaPrivateKey(secret),
      (e: Error) => /expected a PEM private key/.test(e.message) && !e.message.includes('s3cr3t'),
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.throws(() => rsaPrivateKey(ec.export({ type: 'pkcs8', format: 'pem' }).toString()), /RSA/);
    assert.throws(() => rsaPrivateKey(publicKey), /RSA private key/);
  });
});
