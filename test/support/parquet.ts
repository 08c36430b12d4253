import { gzipSync, zstdCompressSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** Compressors for writing test files (the writer has Snappy only); node:zlib has gzip and zstd. */
const writeCompressors = {
  GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)),
  ZSTD: (b: Uint8Array) => new Uint8Array(zstdCompressSync(b)),
};

/** A Parquet file of `n` OCSF API Activity rows shaped like Security Lake's CloudTrail rows (uids uid-<i>). */
export function ocsfParquet(
  n: number,
  o: { codec?: 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED'; rowGroupSize?: number; from?: number } = {},
): Uint8Array {
  const from = o.from ?? 0;
  const rows = Array.from({ length: n }, (_, k) => from + k);
  return new Uint8Array(
    parquetWriteBuffer({
      codec: o.codec ?? 'ZSTD',
      compressors: writeCompressors,
      rowGroupSize: o.rowGroupSize ?? 1000,
      columnData: [
        { name: 'class_uid', data: rows.map(() => 6003), type: 'INT32' },
        { name: 'class_name', data: rows.map(() => 'API Activity'), type: 'STRING' },
        { name: 'time', data: rows.map((i) => BigInt(1_795_000_000_000 + i)), type: 'INT64' },
        {
          name: 'metadata',
          data: rows.map((i) => ({ uid: `uid-${i}`, version: '1.1.0', product: { name: 'CloudTrail' } })),
        },
        { name: 'api', data: rows.map((i) => ({ operation: `Op${i % 3}` })) },
      ],
    }),
  );
}
