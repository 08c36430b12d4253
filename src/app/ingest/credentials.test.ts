import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  INGEST_TOKEN_PREFIX,
  liveTokens,
  newIngestToken,
  presentedToken,
  rotateToken,
  signBody,
  verifySignature,
  verifyToken,
} from './credentials.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const HOUR = 3_600_000;

describe('ingest credentials', () => {
  it('a token is random, prefixed, and stored only as its hash and last four characters', () => {
    const a = newIngestToken(T0);
    const b = newIngestToken(T0);
    assert.notEqual(a.token, b.token);
    assert.ok(a.token.startsWith(INGEST_TOKEN_PREFIX) && a.token.length > 40);
    assert.equal(a.record.last4, a.token.slice(-4));
    assert.ok(!JSON.stringify(a.record).includes(a.token.slice(5, -4)));
    const creds = { tokens: [a.record] };
    assert.equal(verifyToken(creds, a.token, T0), true);
    assert.equal(verifyToken(creds, b.token, T0), false);
    assert.equal(verifyToken(creds, `${a.token}x`, T0), false);
  });

  it('rotation: the previous token works until the overlap ends; a second rotation drops it', () => {
    const first = newIngestToken(T0);
    const r1 = rotateToken({ tokens: [first.record] }, 24 * HOUR, T0);
    const c1 = r1.credentials;
    assert.equal(verifyToken(c1, r1.token, T0), true, 'the new token works');
    assert.equal(verifyToken(c1, first.token, T0 + 24 * HOUR - 1), true, 'the old one during the overlap');
    assert.equal(verifyToken(c1, first.token, T0 + 24 * HOUR), false, 'and not after it');
    assert.equal(verifyToken(c1, r1.token, T0 + 365 * 24 * HOUR), true, 'the current one never expires');
    assert.equal(liveTokens(c1, T0 + 25 * HOUR).length, 1);

    const r2 = rotateToken(c1, 24 * HOUR, T0 + HOUR);
    assert.equal(verifyToken(r2.credentials, first.token, T0 + HOUR), false, 'two rotations back: gone');
    assert.equal(verifyToken(r2.credentials, r1.token, T0 + HOUR), true);
    assert.equal(verifyToken(r2.credentials, r2.token, T0 + HOUR), true);

    const r3 = rotateToken(r2.credentials, 0, T0 + HOUR);
    assert.deepEqual(r3.credentials.tokens.length, 1, 'overlap 0 revokes the previous token at once');
    assert.equal(verifyToken(r3.credentials, r2.token, T0 + HOUR), false);
  });

  it('reads the token from Bearer, Splunk and Basic (as the password) authorization headers', () => {
    assert.equal(presentedToken('Bearer abc'), 'abc');
    assert.equal(presentedToken('bearer  abc '), 'abc');
    assert.equal(presentedToken('Splunk abc'), 'abc');
    assert.equal(presentedToken(`Basic ${Buffer.from('cortex:abc').toString('base64')}`), 'abc');
    assert.equal(presentedToken(`Basic ${Buffer.from(':a:b').toString('base64')}`), 'a:b');
    assert.equal(presentedToken(`Basic ${Buffer.from('abc').toString('base64')}`), 'abc');
    assert.equal(presentedToken('Digest abc'), undefined);
    assert.equal(presentedToken('abc'), undefined);
    assert.equal(presentedToken(undefined), undefined);
  });

  it('HMAC-SHA256 signatures: hex, sha256=hex and base64 accepted; anything else refused', () => {
    const secret = 'a-shared-secret-of-some-length';
    const body = Buffer.from('{"a":1}\n');
    const mac = createHmac('sha256', secret).update(body);
    const digest = mac.digest();
    assert.equal(verifySignature(secret, body, signBody(secret, body)), true);
    assert.equal(verifySignature(secret, body, digest.toString('hex')), true);
    assert.equal(verifySignature(secret, body, digest.toString('hex').toUpperCase()), true);
    assert.equal(verifySignature(secret, body, digest.toString('base64')), true);
    assert.equal(verifySignature(secret, Buffer.from('{"a":2}\n'), signBody(secret, body)), false);
    assert.equal(verifySignature('another-secret-entirely', body, signBody(secret, body)), false);
    assert.equal(verifySignature(secret, body, 'sha256=00'), false);
    assert.equal(verifySignature(secret, body, undefined), false);
  });
});
