import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A throwaway self-signed X.509 certificate and its RSA key, made in memory for tests and simulators
 * (Entra ID certificate credentials): no fixture key is checked in and no openssl binary is needed.
 * Only what a verifier needs is encoded: version 3, serial, sha256WithRSAEncryption, CN issuer and
 * subject, validity, the public key (RFC 5280 §4.1, DER per X.690). Entra ID takes such a certificate as
 * an app credential (learn.microsoft.com/entra/identity-platform/certificate-credentials, "Register your
 * certificate with Microsoft identity platform"); assumed: self-signed is enough, as that page allows.
 */
export interface SelfSigned {
  /** PKCS#8 PEM private key. */
  privateKeyPem: string;
  /** PEM certificate (`-----BEGIN CERTIFICATE-----`). */
  certificatePem: string;
  privateKey: KeyObject;
}

export function selfSignedCertificate(
  o: { commonName?: string; notBefore?: Date; notAfter?: Date; modulusLength?: number } = {},
): SelfSigned {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: o.modulusLength ?? 2048 });
  const notBefore = o.notBefore ?? new Date(Date.now() - 86_400_000);
  const notAfter = o.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(o.commonName ?? 'tributary-test')))));
  const sigAlg = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05, Buffer.alloc(0)));
  const serial = randomBytes(16);
  // A positive INTEGER in its shortest form (X.690 §8.3.2): a first byte of 0x00 followed by one below 0x80
  // is padding OpenSSL refuses ("illegal padding", one certificate in 256 before this).
  serial[0] = 0x40 | (serial[0] & 0x3f);
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // [0] EXPLICIT version v3
    tlv(0x02, serial),
    sigAlg,
    name,
    seq(utcTime(notBefore), utcTime(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: `-----BEGIN CERTIFICATE-----\n${b64.trim()}\n-----END CERTIFICATE-----\n`,
    privateKey: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })),
  };
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) chunk.unshift(0x80 | (x & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s));
}
