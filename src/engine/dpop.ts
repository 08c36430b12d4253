import { createHash } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import { jose, jwkThumbprint, newJti, signCompact } from './jwt.ts';

/**
 * OAuth 2.0 Demonstrating Proof of Possession (DPoP, RFC 9449): a token bound to a key pair the client
 * holds, and a fresh signed proof with every request that uses it.
 *
 * - The proof (§4.2): a JWT with header `typ: dpop+jwt`, an asymmetric `alg` and the public `jwk`; claims
 *   `jti` (unique), `htm` (the request method), `htu` (the target URI without query and fragment),
 *   `iat`; `nonce` when the server gave one (§8, `DPoP-Nonce` with a `use_dpop_nonce` error); `ath`, the
 *   base64url SHA-256 of the access token, on requests to a resource (§4.2, §7.1).
 * - The token is sent as `Authorization: DPoP <token>` with the proof in the `DPoP` header (§7.1).
 *
 * One DpopSession per credential: its key is made in memory on first use (ES256, P-256) and never
 * leaves the process; a token obtained with it is only usable with it, so the token cache keeps both
 * together (engine/oauth.ts). Okta: "The JWK that's used for DPoP authentication is separate from the
 * JWK used for client authentication" (developer.okta.com/docs/guides/dpop/oktaresourceserver/main/).
 */
export class DpopSession {
  /** The server asked for DPoP (or the caller knows it does): proofs go with token requests. */
  active: boolean;
  /** The authorization server's latest `DPoP-Nonce`. */
  nonce?: string;
  private keys?: Promise<{ privateKey: CryptoKey; jwk: JWK; jkt: string }>;

  constructor(active = false) {
    this.active = active;
  }

  private keyPair() {
    this.keys ??= (async () => {
      const { exportJWK, generateKeyPair } = await jose();
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const { kty, crv, x, y } = await exportJWK(publicKey);
      const jwk = { kty, crv, x, y } as JWK;
      return { privateKey, jwk, jkt: await jwkThumbprint(jwk) };
    })();
    return this.keys;
  }

  /** The RFC 7638 thumbprint of the session's public key: the `jkt` a bound token carries. */
  async thumbprint(): Promise<string> {
    return (await this.keyPair()).jkt;
  }

  /**
   * A proof for one request. `accessToken` for a request to a resource (adds `ath`); `nonce` defaults
   * to the session's, for token requests.
   */
  async proof(
    method: string,
    url: string | URL,
    o: { accessToken?: string; nonce?: string | null; now?: number } = {},
  ): Promise<string> {
    const { privateKey, jwk } = await this.keyPair();
    const claims: Record<string, unknown> = {
      jti: newJti(),
      htm: method.toUpperCase(),
      htu: htu(url),
      iat: Math.floor((o.now ?? Date.now()) / 1000),
    };
    const nonce = o.nonce === undefined ? this.nonce : o.nonce;
    if (nonce) claims.nonce = nonce;
    if (o.accessToken !== undefined) claims.ath = accessTokenHash(o.accessToken);
    return signCompact(JSON.stringify(claims), privateKey, { typ: 'dpop+jwt', alg: 'ES256', jwk });
  }
}

/** `htu` (RFC 9449 §4.2): the request URI without query and fragment. */
export function htu(url: string | URL): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII bytes. */
export const accessTokenHash = (token: string): string =>
  createHash('sha256').update(token, 'ascii').digest('base64url');
