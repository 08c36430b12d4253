import type { DecodedRecord, RecordDecoder } from '../../engine/object-decode.ts';
import { lines } from '../../engine/object-decode.ts';

/**
 * Storage Analytics log entries (learn.microsoft.com/rest/api/storageservices/storage-analytics-log-format
 * and learn.microsoft.com/azure/storage/common/storage-analytics-logging, "Log entry format"):
 * - one entry per line ("\n"); fields separated by ";", the last without one; the first field is the
 *   version, 1.0 (30 fields) or 2.0 (the 30, then 8 about OAuth 2.0 authorization);
 * - "Any field that may contain a quote ("), a semicolon (;), or a newline (\n) is HTML encoded and quoted".
 * The Blob and Queue services write 1.0 or 2.0, the Table service 1.0 only.
 */

export const FIELDS_1_0 = [
  'version-number',
  'request-start-time',
  'operation-type',
  'request-status',
  'http-status-code',
  'end-to-end-latency-in-ms',
  'server-latency-in-ms',
  'authentication-type',
  'requester-account-name',
  'owner-account-name',
  'service-type',
  'request-url',
  'requested-object-key',
  'request-id-header',
  'operation-count',
  'requester-ip-address',
  'request-version-header',
  'request-header-size',
  'request-packet-size',
  'response-header-size',
  'response-packet-size',
  'request-content-length',
  'request-md5',
  'server-md5',
  'etag-identifier',
  'last-modified-time',
  'conditions-used',
  'user-agent-header',
  'referrer-header',
  'client-request-id',
] as const;

export const FIELDS_2_0 = [
  ...FIELDS_1_0,
  'user-object-id',
  'tenant-id',
  'application-id',
  'audience',
  'issuer',
  'user-principal-name',
  'reserved-field',
  'authorization-detail',
] as const;

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

/** Undoes the HTML encoding of a quoted field (`&quot;`, `&#59;`, `&#x3B;`, …). */
export function htmlDecode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** The fields of one line: `;`-separated, a quoted field unquoted and HTML-decoded. */
export function splitFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      const close = line.indexOf('"', i + 1);
      if (close === -1) throw new Error('a quoted field is not closed');
      if (close + 1 < line.length && line[close + 1] !== ';')
        throw new Error('a quoted field is followed by something other than ";"');
      out.push(htmlDecode(line.slice(i + 1, close)));
      if (close + 1 >= line.length) return out;
      i = close + 2;
    } else {
      const semi = line.indexOf(';', i);
      if (semi === -1) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, semi));
      i = semi + 1;
    }
  }
}

/** One log line as an object of named fields, or an error naming what is wrong. */
export function parseLogLine(line: string): Record<string, string> {
  const fields = splitFields(line);
  const names = fields[0] === '1.0' ? FIELDS_1_0 : fields[0] === '2.0' ? FIELDS_2_0 : undefined;
  if (!names)
    throw new Error(`unknown log version ${JSON.stringify(fields[0]?.slice(0, 10))} (expected 1.0 or 2.0)`);
  if (fields.length !== names.length)
    throw new Error(`version ${fields[0]} has ${names.length} fields, this line ${fields.length}`);
  const o: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) o[names[i]] = fields[i];
  return o;
}

/** The object decoder for Storage Analytics log blobs: one record per non-empty line. */
export const storageLogDecoder: RecordDecoder = {
  async *decode(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<DecodedRecord> {
    for await (const { line, start, end } of lines(bytes)) {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (!text) continue;
      try {
        yield { value: parseLogLine(text), size: end - start };
      } catch (err) {
        yield { error: (err as Error).message, text, size: end - start };
      }
    }
  },
};
