import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { defineDestinationKind } from '../kind.ts';
import { FileDestination } from './file-destination.ts';

export const fileConfigSchema = z
  .object({
    kind: z.literal('file'),
    path: z
      .string()
      .min(1)
      .describe(
        'NDJSON file, one event per line. Through the API: inside the output root (TRIBUTARY_FILE_ROOT, default DATA_DIR/output), a relative path placed there; in a config file: relative to the file',
      ),
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(100 * 1024 * 1024)
      .describe('Rotate before the file would exceed this many bytes (default 100 MiB)'),
    maxFiles: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        'Rotated files kept as PATH.1 (newest) … PATH.N, at least 1; older ones are deleted (default 10)',
      ),
    currentState: z
      .boolean()
      .optional()
      .describe(
        'Also keep a compacted current-state file per context stream, PATH.state/<collector>/<stream>.ndjson: the last record per entity id, deleted entities and those a completed refresh did not mention removed; changes since its last compaction are in <stream>.changes.ndjson beside it (default false)',
      ),
  })
  .strict()
  .describe('Appends events to a local NDJSON file, fsynced before acknowledging, with size rotation');

export type FileDestinationConfig = z.infer<typeof fileConfigSchema>;

export const fileKind = defineDestinationKind({
  kind: 'file',
  title: 'File',
  description:
    'Appends NDJSON to a local file with size rotation; a batch is acknowledged once written and fsynced.',
  schema: fileConfigSchema,
  create: (name, config, ctx) =>
    new FileDestination(name, {
      path: isAbsolute(config.path) ? config.path : resolve(ctx.baseDir, config.path),
      maxBytes: config.maxBytes,
      maxFiles: config.maxFiles,
      currentState: config.currentState,
      scope: ctx.files,
    }),
});
