import { createHash, createPrivateKey, type KeyObject, sign } from 'node:crypto';

/**
 * JSON Web Tokens signed with RS256 (RFC 7519, RFC 7515 §3.1 compact serialisation, RFC 7518 §3.3):
 * the self-signed assertion a GitHub App exchanges for an installation token, and the same shape the
 * OAuth2 JWT bearer flows (Google service accounts, Salesforce) send. Account kinds build the claims;
 * this only encodes and signs them.
 */

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** Signs `claims` with an RSA private key (PEM, PKCS#1 or PKCS#8, or a parsed key). */
export function signJwtRs256(
  claims: Record<string, unknown>,
  key: string | KeyObject,
  header: Record<string, unknown> = {},
): string {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header }));
  const body = b64url(JSON.stringify(claims));
  const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), rsaPrivateKey(key));
  return `${head}.${body}.${b64url(signature)}`;
}

/** Parsed keys by a hash of their PEM (the PEM itself is not kept as a key). */
const byPem = new Map<string, KeyObject>();

/**
 * An RSA private key from a PEM, parsed once per distinct PEM. Throws a message that says what is
 * wrong without echoing any of the key.
 */
export function rsaPrivateKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa')
      throw new Error('expected an RSA private key');
    return key;
  }
  const id = createHash('sha256').update(key).digest('hex');
  const cached = byPem.get(id);
  if (cached) return cached;
  let k: KeyObject;
  try {
    // Keys pasted into forms or environment variables often carry literal "\n" sequences.
    k = createPrivateKey(key.includes('\\n') && !key.includes('\n') ? key.replace(/\\n/g, '\n') : key);
  } catch {
    throw new Error(
      'expected a PEM private key ("-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----")',
    );
  }
  if (k.asymmetricKeyType !== 'rsa')
    throw new Error(`expected an RSA private key, got ${k.asymmetricKeyType}`);
  if (byPem.size > 100) byPem.clear();
  byPem.set(id, k);
  return k;
}
