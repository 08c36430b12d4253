import { constants, createHash, createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';

/**
 * JWS verification for simulators, written directly on node:crypto and deliberately apart from the
 * engine's signer (engine/jwt.ts, on `jose`), so a simulator checks what a collector signs rather than
 * agreeing with it by construction:
 *
 * - compact JWS (RFC 7515 §7.1), algorithms RS/PS/ES 256–512 (RFC 7518 §3.3–3.5; ECDSA signatures are
 *   R||S, not DER);
 * - JWK thumbprints (RFC 7638 §3: the required members in lexicographic order, no whitespace);
 * - DPoP proofs (RFC 9449 §4.3: typ, alg, public jwk, signature, htm, htu, iat window, jti, nonce, ath).
 */

export interface DecodedJws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  input: Buffer;
  signature: Buffer;
}

/** Splits and decodes a compact JWS; undefined when it is not one. */
export function decodeJws(jws: string): DecodedJws | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(claims)) return undefined;
    return {
      header,
      claims,
      input: Buffer.from(`${parts[0]}.${parts[1]}`),
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const DIGEST: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Whether `d`'s signature verifies under `key` with the header's `alg` (one of `allowed`). */
export function verifySignature(d: DecodedJws, key: KeyObject, allowed: readonly string[]): boolean {
  const alg = String(d.header.alg ?? '');
  if (!allowed.includes(alg)) return false;
  const m = /^(RS|PS|ES)(256|384|512)$/.exec(alg);
  if (!m) return false;
  const digest = DIGEST[m[2]!]!;
  try {
    if (m[1] === 'RS') return key.asymmetricKeyType === 'rsa' && verify(digest, d.input, key, d.signature);
    if (m[1] === 'PS')
      return (
        key.asymmetricKeyType === 'rsa' &&
        verify(
          digest,
          d.input,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          d.signature,
        )
      );
    return (
      key.asymmetricKeyType === 'ec' &&
      verify(digest, d.input, { key, dsaEncoding: 'ieee-p1363' }, d.signature)
    );
  } catch {
    return false;
  }
}

/** A public key from a JWK or a PEM (SPKI or certificate); undefined when it is neither. */
export function publicKeyOf(key: JsonWebKey | string): KeyObject | undefined {
  try {
    return typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** The RFC 7638 thumbprint (SHA-256, base64url) of an RSA or EC public JWK. */
export function thumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export interface DpopCheck {
  method: string;
  /** The request URL as the client addressed it. */
  url: URL;
  /** Seconds since the epoch, by the server's clock. */
  nowS: number;
  /** How far `iat` may be from now (default 300 s). */
  maxSkewS?: number;
  /** jtis already used (a replayed proof is refused); the proof's jti is added. */
  seen: Set<string>;
  /** The nonce the server requires, when it requires one. */
  nonce?: string;
  /** A request to a resource: the access token the proof must hash into `ath`. */
  accessToken?: string;
  /** Algorithms accepted (default RS256, ES256 and their 384/512 variants). */
  algs?: readonly string[];
}

export type DpopResult = { ok: true; jkt: string } | { ok: false; nonce?: boolean; reason: string };

const DPOP_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'];

/** Checks a DPoP proof (RFC 9449 §4.3); returns the key's thumbprint or why it is refused. */
export function checkDpopProof(proof: string | undefined, c: DpopCheck): DpopResult {
  if (!proof) return { ok: false, reason: 'missing' };
  const d = decodeJws(proof);
  if (!d) return { ok: false, reason: 'not a JWS' };
  if (d.header.typ !== 'dpop+jwt') return { ok: false, reason: 'typ is not dpop+jwt' };
  const jwk = d.header.jwk as JsonWebKey | undefined;
  if (!isObject(jwk)) return { ok: false, reason: 'no jwk' };
  if ('d' in jwk || 'p' in jwk) return { ok: false, reason: 'jwk carries a private key' };
  const key = publicKeyOf(jwk);
  if (!key || !verifySignature(d, key, c.algs ?? DPOP_ALGS)) return { ok: false, reason: 'bad signature' };
  const { htm, htu, iat, jti, nonce, ath } = d.claims;
  if (htm !== c.method) return { ok: false, reason: 'htm does not match the request method' };
  if (typeof htu !== 'string' || !sameUri(htu, c.url)) return { ok: false, reason: 'htu does not match' };
  if (typeof iat !== 'number' || Math.abs(iat - c.nowS) > (c.maxSkewS ?? 300))
    return { ok: false, reason: 'iat outside the accepted window' };
  if (typeof jti !== 'string' || !jti) return { ok: false, reason: 'no jti' };
  if (c.nonce !== undefined && nonce !== c.nonce) return { ok: false, nonce: true, reason: 'nonce' };
  if (c.accessToken !== undefined) {
    const want = createHash('sha256').update(c.accessToken, 'ascii').digest('base64url');
    if (ath !== want) return { ok: false, reason: 'ath does not match the access token' };
  }
  if (c.seen.has(jti)) return { ok: false, reason: 'jti replayed' };
  if (c.seen.size > 100_000) c.seen.clear();
  c.seen.add(jti);
  return { ok: true, jkt: thumbprint(jwk) };
}

/** RFC 9449 §4.3 (9): htu compared without query and fragment, after syntax normalisation. */
function sameUri(htu: string, url: URL): boolean {
  try {
    const a = new URL(htu);
    return a.origin === url.origin && a.pathname === url.pathname;
  } catch {
    return false;
  }
}
