import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomUUID } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';

/**
 * The one JSON Web Token signer of the engine (RFC 7519 JWTs, RFC 7515 §3.1 compact serialisation,
 * RFC 7518 §3 algorithms), built on `jose`: every account kind that authenticates with a signed JWT
 * signs it here —
 *
 * - GitHub App JWTs and Google service-account and Salesforce JWT bearer assertions (RS256);
 * - Microsoft Entra ID certificate client assertions (PS256 with an `x5t#S256` header);
 * - Okta service-app client assertions (RS256 or ES256, `private_key_jwt`) and DPoP proofs
 *   (RFC 9449, engine/dpop.ts);
 * - Cylance PROTECT's self-signed auth tokens (HS256 with the application secret: `signJwtHs256`).
 *
 * Account kinds build the claims; this only parses keys, encodes and signs. Signing is asynchronous
 * (WebCrypto). Keys are parsed once per distinct text and kept by a hash of it, never the text.
 */

/** The JWS algorithms the vendors above use. */
export type JwsAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** Which key types a caller accepts: RSA only (most vendors), or RSA and EC (Okta). */
export type KeyTypes = 'rsa' | 'rsa-or-ec';

/** Parsed keys by a hash of their text. */
const parsedKeys = new Map<string, KeyObject>();

/** Keys pasted into forms or environment variables often carry literal "\n" sequences. */
export const unescapeNewlines = (text: string) =>
  text.includes('\\n') && !text.includes('\n') ? text.replace(/\\n/g, '\n') : text;

const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/**
 * A private key from a PEM (PKCS#8, PKCS#1 RSA or SEC1 EC; an encrypted PEM with `passphrase`) or a JSON Web Key (RFC 7517, a private JWK
 * such as the one Okta's Admin Console generates), parsed once per distinct text. Throws a message that
 * says what is wrong without echoing any of the key.
 */
export function privateKey(key: string | KeyObject, types: KeyTypes = 'rsa', passphrase?: string): KeyObject {
  const wanted = types === 'rsa' ? 'an RSA private key' : 'an RSA or EC (P-256, P-384, P-521) private key';
  const check = (k: KeyObject): KeyObject => {
    if (k.type !== 'private') throw new Error(`expected ${wanted}, got a public key`);
    if (k.asymmetricKeyType === 'rsa') return k;
    if (types === 'rsa-or-ec' && k.asymmetricKeyType === 'ec') {
      if (EC_CURVES.has(k.asymmetricKeyDetails?.namedCurve ?? '')) return k;
      throw new Error(`expected ${wanted}, got an EC key on another curve`);
    }
    throw new Error(`expected ${wanted}, got ${k.asymmetricKeyType ?? 'a key of another type'}`);
  };
  if (typeof key !== 'string') return check(key);
  const id = createHash('sha256')
    .update(passphrase === undefined ? key : `${key}\u0000${passphrase}`)
    .digest('hex');
  const cached = parsedKeys.get(id);
  if (cached) return check(cached);
  const text = unescapeNewlines(key).trim();
  let k: KeyObject;
  if (text.startsWith('{')) {
    let jwk: JWK;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new Error('expected a JSON Web Key (JSON object) or a PEM private key; this is not valid JSON');
    }
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
      throw new Error('expected a JSON Web Key (a JSON object with kty)');
    if (typeof jwk.d !== 'string')
      throw new Error('expected a private JSON Web Key (with "d"); this is a public key');
    try {
      k = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } catch {
      throw new Error(`expected ${wanted} as a JSON Web Key; its parameters do not form a valid key`);
    }
  } else {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text) && !passphrase)
      throw new Error('the private key is encrypted: give its passphrase');
    try {
      k = createPrivateKey(passphrase ? { key: text, passphrase } : text);
    } catch {
      if (passphrase && /ENCRYPTED/.test(text))
        throw new Error('the passphrase does not decrypt the private key (or the key is damaged)');
      throw new Error(
        types === 'rsa'
          ? 'expected a PEM private key ("-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----")'
          : 'expected a PEM private key ("-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----") or a private JSON Web Key',
      );
    }
  }
  check(k);
  if (parsedKeys.size > 100) parsedKeys.clear();
  parsedKeys.set(id, k);
  return k;
}

/** An RSA private key (PEM or JWK; an encrypted PKCS#8 PEM with its passphrase); see privateKey. */
export const rsaPrivateKey = (key: string | KeyObject, passphrase?: string): KeyObject =>
  privateKey(key, 'rsa', passphrase);

/** The key ID a private JWK carries (`kid`), if the key text is a JWK that has one. */
export function jwkKeyId(text: string): string | undefined {
  const t = unescapeNewlines(text).trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const kid = JSON.parse(t)?.kid;
    return typeof kid === 'string' && kid ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** The algorithm a key signs with by default: RS256 for RSA, ES256/384/512 by the EC curve. */
export function defaultAlg(key: KeyObject): JwsAlg {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
  }
  return 'RS256';
}

/** jose, loaded at the first signature (README, Performance): most collectors sign nothing. */
export const jose = () => import('jose');

export interface SignOptions {
  /** Default: defaultAlg(key). */
  alg?: JwsAlg;
  /** More protected-header parameters (`kid`, `x5t#S256`, `typ`, `jwk`). `typ` defaults to JWT. */
  header?: Record<string, unknown>;
}

/** Signs `claims` as a compact JWS (RFC 7519 §7.1). The key: a parsed key, or its PEM or JWK text. */
export async function signJwt(
  claims: Record<string, unknown>,
  key: string | KeyObject,
  o: SignOptions = {},
): Promise<string> {
  const k = typeof key === 'string' ? privateKey(key, 'rsa-or-ec') : key;
  const alg = o.alg ?? defaultAlg(k);
  const { SignJWT } = await jose();
  return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', ...o.header, alg }).sign(k);
}

/** Signs `claims` with HMAC SHA-256 (RFC 7518 §3.2) and a shared secret, as UTF-8 bytes. */
export async function signJwtHs256(claims: Record<string, unknown>, secret: string): Promise<string> {
  const { SignJWT } = await jose();
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'JWT', alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

/**
 * Signs `payload` bytes exactly as given with the protected header exactly as given (serialised with
 * JSON.stringify): the primitive under signJwt, for payloads that are not a claims object.
 */
export async function signCompact(
  payload: Uint8Array | string,
  key: KeyObject | CryptoKey,
  header: { alg: JwsAlg } & Record<string, unknown>,
): Promise<string> {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const { CompactSign } = await jose();
  return new CompactSign(bytes).setProtectedHeader(header).sign(key);
}

/** The public JWK of a key pair's private (or public) key: kty and its public parameters only. */
export function publicJwk(key: KeyObject): JWK {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' }) as JWK;
  if (jwk.kty === 'RSA') return { kty: 'RSA', e: jwk.e, n: jwk.n };
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** The RFC 7638 JWK SHA-256 thumbprint (base64url): DPoP's `jkt`, a key's identity. */
export const jwkThumbprint = async (jwk: JWK): Promise<string> =>
  (await jose()).calculateJwkThumbprint(jwk, 'sha256');

/** `x5t#S256` (RFC 7515 §4.1.8): base64url SHA-256 of a certificate's DER. */
export const x5tS256 = (der: Uint8Array): string => createHash('sha256').update(der).digest('base64url');

/** A fresh `jti` (RFC 7519 §4.1.7). */
export const newJti = (): string => randomUUID();

/** Decodes a compact JWS's header and claims without verifying it (tests, simulators, messages). */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p] = jwt.split('.');
  const part = (s: string | undefined) => {
    try {
      const v = JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8'));
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  return { header: part(h), claims: part(p) };
}
