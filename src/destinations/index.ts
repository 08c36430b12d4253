import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import { serviceUrl } from '../core/validation.ts';
import { FileDestination } from './file/file-destination.ts';
import { HttpDestination } from './http/http-destination.ts';
import { StdoutDestination } from './stdout/stdout-destination.ts';

/** Destination kinds and their settings: one schema for the config file, the API and the docs. */
export const destinationConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('file'),
      path: z.string().min(1).describe('NDJSON file; relative paths resolve against the config file'),
      maxBytes: z
        .number()
        .int()
        .positive()
        .default(100 * 1024 * 1024)
        .describe('Rotate before the file exceeds this size'),
      maxFiles: z.number().int().min(0).default(10).describe('Rotated files kept (path.1 … path.N)'),
    })
    .strict(),
  z.object({ kind: z.literal('stdout') }).strict(),
  z
    .object({
      kind: z.literal('http'),
      url: serviceUrl().describe('Endpoint receiving POSTed batches'),
      format: z
        .enum(['ndjson', 'json'])
        .default('ndjson')
        .describe('NDJSON lines or one JSON array per request'),
      gzip: z.boolean().default(false),
      auth: z
        .discriminatedUnion('type', [
          z.object({ type: z.literal('bearer'), token: z.string().min(1) }).strict(),
          z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }).strict(),
          z.object({ type: z.literal('header'), name: z.string().min(1), value: z.string() }).strict(),
        ])
        .optional(),
      headers: z.record(z.string(), z.string()).default({}),
      timeout: z.number().int().positive().default(30_000).describe('Milliseconds per request'),
      maxBatchBytes: z
        .number()
        .int()
        .positive()
        .default(5 * 1024 * 1024),
      maxAttempts: z.number().int().min(1).max(20).default(5),
    })
    .strict(),
]);

export type DestinationConfig = z.infer<typeof destinationConfigSchema>;

export function createDestination(
  name: string,
  config: DestinationConfig,
  opts: { baseDir: string },
): Destination {
  switch (config.kind) {
    case 'file':
      return new FileDestination(name, {
        path: isAbsolute(config.path) ? config.path : resolve(opts.baseDir, config.path),
        maxBytes: config.maxBytes,
        maxFiles: config.maxFiles,
      });
    case 'stdout':
      return new StdoutDestination(name);
    case 'http':
      return new HttpDestination(name, { ...config, backoffBaseMs: 500, backoffMaxMs: 15_000 });
  }
}
