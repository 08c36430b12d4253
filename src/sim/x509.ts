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

/** A certificate and its key issued by `certificateAuthority`/`issueCertificate`, as PEM. */
export interface IssuedCertificate {
  certificatePem: string;
  privateKeyPem: string;
  privateKey: KeyObject;
  /** The subject Name, DER (the issuer of the certificates a CA signs). */
  name: Buffer;
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.trim()}\n-----END CERTIFICATE-----\n`;
}

const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));

/**
 * A certificate signed by `issuer` (or self-signed when none), with the v3 extensions TLS stacks
 * check (RFC 5280 §4.2): basicConstraints (CA or not), keyUsage, extKeyUsage (serverAuth,
 * clientAuth) and subjectAltName (DNS names and IP addresses). GnuTLS (rsyslog's gtls driver) and
 * OpenSSL (Node) both verify chains made of these.
 */
function certificate(o: {
  commonName: string;
  ca: boolean;
  issuer?: IssuedCertificate;
  dnsNames?: string[];
  ips?: string[];
  days?: number;
}): IssuedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(o.commonName)))));
  const sigAlg = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05, Buffer.alloc(0)));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const notBefore = new Date(Date.now() - 86_400_000);
  const notAfter = new Date(Date.now() + (o.days ?? 30) * 86_400_000);
  const exts: Buffer[] = [
    // basicConstraints: SEQUENCE { cA BOOLEAN } (absent = false)
    extension('2.5.29.19', true, o.ca ? seq(tlv(0x01, Buffer.from([0xff]))) : seq()),
    // keyUsage BIT STRING: CA keyCertSign|cRLSign (bits 5,6), leaf digitalSignature|keyEncipherment (bits 0,2)
    extension(
      '2.5.29.15',
      true,
      o.ca ? tlv(0x03, Buffer.from([0x01, 0x06])) : tlv(0x03, Buffer.from([0x05, 0xa0])),
    ),
  ];
  if (!o.ca) {
    exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))));
    const alt = [
      ...(o.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d))),
      ...(o.ips ?? []).map((ip) => tlv(0x87, Buffer.from(ip.split('.').map(Number)))),
    ];
    if (alt.length) exts.push(extension('2.5.29.17', false, seq(...alt)));
  }
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    sigAlg,
    o.issuer?.name ?? name,
    seq(utcTime(notBefore), utcTime(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, o.issuer?.privateKey ?? privateKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certificatePem: pem(der), privateKeyPem, privateKey: createPrivateKey(privateKeyPem), name };
}

/** A throwaway certificate authority for TLS tests. */
export const certificateAuthority = (commonName = 'Tributary Test CA') =>
  certificate({ commonName, ca: true });

/** A server or client certificate signed by `ca`, valid for the given names and IPv4 addresses. */
export const issueCertificate = (
  ca: IssuedCertificate,
  o: { commonName: string; dnsNames?: string[]; ips?: string[] },
) => certificate({ ...o, ca: false, issuer: ca });
