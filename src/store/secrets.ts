import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir } from '../engine/private-files.ts';

/**
 * Secrets at rest: AES-256-GCM, a random 12-byte IV per value, sealed as
 * `v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64url). The key comes from TRIBUTARY_MASTER_KEY (32 bytes,
 * base64 or 64 hex characters) or from a keyring file `<dataDir>/master.key` created 0600:
 *
 *   {"current":"k1","keys":{"k1":"<base64 32 bytes>", "k0": "…"}}
 *
 * Old keys stay in the ring after `rotate`, so values sealed before remain readable until re-encrypted.
 */
const ENV = 'TRIBUTARY_MASTER_KEY';

interface Keyring {
  current: string;
  keys: Record<string, string>;
}

function parseKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  return b.length === 32 ? b : undefined;
}

export class SecretBox {
  readonly keyId: string;
  private readonly keys: Map<string, Buffer>;

  private constructor(keyId: string, keys: Map<string, Buffer>) {
    this.keyId = keyId;
    this.keys = keys;
  }

  static async open(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<SecretBox> {
    const fromEnv = env[ENV];
    if (fromEnv !== undefined) {
      const key = parseKey(fromEnv);
      if (!key) throw new Error(`${ENV} must be 32 bytes as base64 or 64 hex characters`);
      const ring = existsSync(join(dataDir, 'master.key'))
        ? readRing(join(dataDir, 'master.key'))
        : undefined;
      const keys = new Map<string, Buffer>(
        Object.entries(ring?.keys ?? {}).map(([id, k]) => [id, Buffer.from(k, 'base64')]),
      );
      keys.set('env', key);
      return new SecretBox('env', keys);
    }
    privateDir(dataDir);
    const path = join(dataDir, 'master.key');
    if (!existsSync(path))
      writeRing(path, { current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }, true);
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600); // tighten a key file others could read
    const ring = readRing(path);
    return new SecretBox(
      ring.current,
      new Map(Object.entries(ring.keys).map(([id, k]) => [id, Buffer.from(k, 'base64')])),
    );
  }

  /** Adds a new current key to the data directory's keyring and returns its id; old keys stay readable. */
  static rotate(dataDir: string): string {
    privateDir(dataDir);
    const path = join(dataDir, 'master.key');
    const ring: Keyring = existsSync(path) ? readRing(path) : { current: 'k0', keys: {} };
    const next = `k${Object.keys(ring.keys).length + 1}`;
    ring.keys[next] = randomBytes(32).toString('base64');
    ring.current = next;
    writeRing(path, ring, false);
    return next;
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.keyId)!, iv);
    cipher.setAAD(Buffer.from(this.keyId));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      'v1',
      this.keyId,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      data.toString('base64url'),
    ].join(':');
  }

  decrypt(sealed: string): string {
    const [v, keyId, iv, tag, data] = sealed.split(':');
    const key = this.keys.get(keyId);
    if (v !== 'v1' || !key || !iv || !tag || data === undefined) {
      throw new Error(
        key || v !== 'v1'
          ? 'cannot decrypt a stored secret: unknown format'
          : `cannot decrypt a stored secret: key ${keyId} is not available`,
      );
    }
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(keyId));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
    } catch {
      throw new Error('cannot decrypt a stored secret: wrong key or tampered value');
    }
  }
}

function readRing(path: string): Keyring {
  const ring = JSON.parse(readFileSync(path, 'utf8')) as Keyring;
  if (!ring.current || !ring.keys?.[ring.current]) throw new Error(`${path} is not a valid keyring`);
  return ring;
}

function writeRing(path: string, ring: Keyring, exclusive: boolean): void {
  if (exclusive) {
    writeFileSync(path, JSON.stringify(ring), { mode: 0o600, flag: 'wx' });
    return;
  }
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(ring), { mode: 0o600 });
  chmodSync(tmp, 0o600); // `mode` applies only when the file is created: a leftover one keeps its own
  renameSync(tmp, path);
}
