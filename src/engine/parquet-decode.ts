import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { keepVendorText } from '../core/envelope.ts';
import type { DecodedRecord, RecordDecoder } from './object-decode.ts';

/**
 * Apache Parquet objects as records (a `RecordDecoder` for the object reader, engine/object-decode.ts),
 * with `hyparquet` (pure JS) and `hyparquet-compressors` for every codec Parquet names (Snappy, GZIP,
 * ZSTD, Brotli, LZ4, LZ4_RAW; UNCOMPRESSED needs none).
 *
 * Parquet keeps its index (the footer) at the end, so a streamed object is first spooled to a private
 * temporary file (0600 in a fresh 0700 directory, removed when the object is done), then read one row
 * group at a time: memory holds one row group's columns, never the object.
 *
 * Values become JSON: INT64 as a number when it is a safe integer, else as its decimal string; timestamps
 * and dates as ISO 8601 strings; binary without a string type as base64; nested groups, lists and maps as
 * objects and arrays. A column that is null for a row is left out of it (OCSF's optional attributes).
 */

const PAR1 = Buffer.from('PAR1');

/** A JSON-safe copy of a value hyparquet decoded. */
export function jsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? 0 : v) : String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, jsonValue);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = jsonValue(x);
    return out;
  }
  return v;
}

/** A file read at ranges, for hyparquet. */
async function fileBuffer(path: string): Promise<{ buffer: AsyncBuffer; close(): Promise<void> }> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    buffer: {
      byteLength: size,
      async slice(start: number, end?: number) {
        const stop = Math.min(end ?? size, size);
        const out = Buffer.alloc(Math.max(0, stop - start));
        let at = 0;
        while (at < out.length) {
          const { bytesRead } = await fh.read(out, at, out.length - at, start + at);
          if (!bytesRead) break;
          at += bytesRead;
        }
        return out.buffer.slice(out.byteOffset, out.byteOffset + at);
      },
    },
    close: () => fh.close(),
  };
}

export interface ParquetOptions {
  /** Where objects are spooled (default the OS's temporary directory). */
  tmpDir?: string;
}

/** The Parquet decoder: each row of each row group, in order, as a JSON object. */
export function parquetRecords(o: ParquetOptions = {}): RecordDecoder {
  return {
    async *decode(bytes) {
      const dir = await mkdtemp(join(o.tmpDir ?? tmpdir(), 'tributary-parquet-'));
      const path = join(dir, 'object.parquet');
      try {
        await pipeline(Readable.from(bytes), createWriteStream(path, { mode: 0o600 }));
        const file = await fileBuffer(path);
        try {
          yield* rows(file.buffer);
        } finally {
          await file.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

async function* rows(file: AsyncBuffer): AsyncGenerator<DecodedRecord> {
  const ends =
    file.byteLength >= 12
      ? [Buffer.from(await file.slice(0, 4)), Buffer.from(await file.slice(file.byteLength - 4))]
      : [];
  if (ends.length !== 2 || !ends[0].equals(PAR1) || !ends[1].equals(PAR1)) {
    yield {
      error: `not a Parquet file (${file.byteLength} bytes without the PAR1 magic at both ends; cut off or another format)`,
      text: '',
      size: file.byteLength,
    };
    return;
  }
  // The reader and its codecs are loaded at the first Parquet object (README, Performance).
  const [{ parquetMetadataAsync, parquetReadObjects }, { compressors }] = await Promise.all([
    import('hyparquet'),
    import('hyparquet-compressors'),
  ]);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    yield { error: `the Parquet footer cannot be read: ${(err as Error).message}`, text: '', size: 0 };
    return;
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const records = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors });
    for (const row of records) {
      const value = jsonValue(row) as Record<string, unknown>;
      const text = JSON.stringify(value);
      keepVendorText(value, text);
      yield { value, size: text.length };
    }
    rowStart = rowEnd;
  }
}
