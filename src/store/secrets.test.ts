import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { maskSecret } from '../core/secret-spec.ts';
import { SecretBox } from './secrets.ts';

const fresh = tempDirs('tributary-keys');

describe('SecretBox', () => {
  it('round-trips, with a fresh IV each time, and never contains the plaintext', async () => {
    const box = await SecretBox.open(fresh(), {});
    const a = box.encrypt('00abcdefSECRETtoken');
    const b = box.encrypt('00abcdefSECRETtoken');
    assert.notEqual(a, b);
    assert.doesNotMatch(a, /SECRET/);
    assert.match(a, /^v1:k1:/);
    assert.equal(box.decrypt(a), '00abcdefSECRETtoken');
  });

  it('creates the key file 0600 and reuses it', async () => {
    const dir = fresh();
    const box = await SecretBox.open(dir, {});
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    const sealed = box.encrypt('x');
    assert.equal((await SecretBox.open(dir, {})).decrypt(sealed), 'x');
    chmodSync(join(dir, 'master.key'), 0o644);
    await SecretBox.open(dir, {});
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600, 'a loose key file is tightened');
  });

  it('detects tampering and wrong keys without echoing the value', async () => {
    const box = await SecretBox.open(fresh(), {});
    const sealed = box.encrypt('secret-value');
    const parts = sealed.split(':');
    parts[4] = Buffer.from('other-cipher').toString('base64url');
    assert.throws(
      () => box.decrypt(parts.join(':')),
      (e: Error) => /tampered/.test(e.message) && !e.message.includes(parts[4]),
    );
    const other = await SecretBox.open(fresh(), {});
    assert.throws(() => other.decrypt(sealed), /wrong key or tampered/);
  });

  it('uses TRIBUTARY_MASTER_KEY when set, and names it when malformed', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const box = await SecretBox.open(fresh(), { TRIBUTARY_MASTER_KEY: key });
    assert.equal(box.keyId, 'env');
    const hex = await SecretBox.open(fresh(), { TRIBUTARY_MASTER_KEY: Buffer.alloc(32, 7).toString('hex') });
    assert.equal(hex.decrypt(box.encrypt('v')), 'v', 'hex and base64 forms are the same key');
    await assert.rejects(
      SecretBox.open(fresh(), { TRIBUTARY_MASTER_KEY: 'short' }),
      /TRIBUTARY_MASTER_KEY must be 32 bytes/,
    );
  });

  it('rotates: new values use the new key, old ones stay readable', async () => {
    const dir = fresh();
    const before = await SecretBox.open(dir, {});
    const old = before.encrypt('old');
    const id = SecretBox.rotate(dir);
    assert.equal(id, 'k2');
    const after_ = await SecretBox.open(dir, {});
    assert.equal(after_.decrypt(old), 'old');
    assert.match(after_.encrypt('new'), /^v1:k2:/);
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(join(dir, 'master.key'), 'utf8')).current, 'k2');
  });

  it('masks secrets to their last four characters', () => {
    assert.equal(maskSecret('sk-proj-abcdefgh1234'), '••••1234');
    assert.equal(maskSecret('short'), '••••');
  });
});
