import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../core/store.ts';

/**
 * What authenticates pushes to a collector's ingest endpoint: its bearer tokens, stored only as
 * SHA-256 hashes (the token is shown once, at creation or rotation), and the optional HMAC secret,
 * stored sealed by the secret box like account secrets. One record per collector, kept in the store's
 * key-value settings under `ingest:<collector id>` (both store kinds have them; a collector's id is
 * never reused, so a deleted collector's record can never apply to another).
 *
 * Rotation keeps the previous token working until `expiresAt` (the overlap window), so a sender can
 * be switched to the new token without losing a request; a second rotation drops it at once.
 */

export interface IngestToken {
  hash: string;
  /** Last four characters, to recognise the token in the API. */
  last4: string;
  createdAt: string;
  /** Set on the previous token after a rotation: it stops working then. */
  expiresAt?: string;
}

export interface IngestCredentials {
  /** The current token first; then the previous one while its overlap lasts. */
  tokens: IngestToken[];
  /** The HMAC secret, sealed (secret box ciphertext). */
  hmacSecret?: string;
}

export const INGEST_TOKEN_PREFIX = 'trbi_';
export const DEFAULT_OVERLAP_MS = 24 * 3_600_000;

const key = (collectorId: string) => `ingest:${collectorId}`;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export async function loadCredentials(
  store: Store,
  collectorId: string,
): Promise<IngestCredentials | undefined> {
  const text = await store.getSetting(key(collectorId));
  return text ? (JSON.parse(text) as IngestCredentials) : undefined;
}

export async function saveCredentials(
  store: Store,
  collectorId: string,
  c: IngestCredentials,
): Promise<void> {
  await store.setSetting(key(collectorId), JSON.stringify(c));
}

/** Forgets a deleted collector's credentials (the settings store has no delete: emptied). */
export async function deleteCredentials(store: Store, collectorId: string): Promise<void> {
  if (await store.getSetting(key(collectorId))) await store.setSetting(key(collectorId), '');
}

/** A new random token (shown once) and what is stored of it. */
export function newIngestToken(now = Date.now()): { token: string; record: IngestToken } {
  const token = `${INGEST_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return {
    token,
    record: { hash: sha256(token), last4: token.slice(-4), createdAt: new Date(now).toISOString() },
  };
}

/** Tokens still accepted at `now`. */
export const liveTokens = (c: IngestCredentials, now = Date.now()) =>
  c.tokens.filter((t) => !t.expiresAt || Date.parse(t.expiresAt) > now);

/**
 * Stands in for a collector that does not exist (or has no credentials): checking a token against it
 * costs what checking against a real collector with one token does, and never succeeds.
 */
const NO_CREDENTIALS: IngestCredentials = {
  tokens: [{ hash: sha256(randomBytes(32).toString('hex')), last4: '', createdAt: '' }],
};

/**
 * Whether `token` is one of the collector's live tokens (constant-time per comparison). Without
 * credentials (no such collector) the token is hashed and compared all the same, and refused: the
 * answer's timing does not tell which collectors exist.
 */
export function verifyToken(c: IngestCredentials | undefined, token: string, now = Date.now()): boolean {
  const presented = Buffer.from(sha256(token), 'hex');
  let ok = false;
  for (const t of liveTokens(c ?? NO_CREDENTIALS, now)) {
    const stored = Buffer.from(t.hash, 'hex');
    if (stored.length === presented.length && timingSafeEqual(stored, presented)) ok = true;
  }
  return ok && c !== undefined;
}

/**
 * A new current token; the old current one keeps working for `overlapMs` (0: revoked now). Tokens
 * left from an earlier rotation are dropped: after two rotations only the last two tokens work.
 */
export function rotateToken(
  c: IngestCredentials,
  overlapMs: number,
  now = Date.now(),
): { credentials: IngestCredentials; token: string } {
  const { token, record } = newIngestToken(now);
  const current = c.tokens.find((t) => !t.expiresAt);
  const tokens = [record];
  if (current && overlapMs > 0)
    tokens.push({ ...current, expiresAt: new Date(now + overlapMs).toISOString() });
  return { credentials: { ...c, tokens }, token };
}

/**
 * The token a sender presents, from the forms the push vendors can send: `Authorization: Bearer T`
 * (Cribl, Zscaler custom header, generic clients), `Authorization: Splunk T` (senders set up for a
 * Splunk HEC, e.g. Cortex Data Lake's Splunk client auth), or `Authorization: Basic` with the token
 * as the password (Cortex Data Lake's basic client auth; any user name).
 */
export function presentedToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^\s*(\w+)\s+(\S+)\s*$/.exec(authorization);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer' || scheme === 'splunk') return m[2];
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(colon + 1);
}

/**
 * Checks a signature header against HMAC-SHA256(secret, body as sent). The value may be the hex
 * digest, `sha256=` and the hex digest (GitHub's form), or the base64 digest.
 */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  return signatureMatches(createHmac('sha256', secret).update(body).digest(), header);
}

/** Whether a signature header holds `expected` (HMAC-SHA256 of the body as sent), in any accepted form. */
export function signatureMatches(expected: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const value = header.trim().replace(/^sha256=/i, '');
  const got = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** The signature a sender computes (tests, simulators, docs). */
export const signBody = (secret: string, body: Buffer | string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
