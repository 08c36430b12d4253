import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import { ORIGIN, SECRET, type SecretSpec, secretSpecOf } from '../core/secret-spec.ts';
import { httpHeaderName } from '../core/validation.ts';
import { FileDestination } from './file/file-destination.ts';
import type { FileScope } from './file/file-scope.ts';
import { destinationUrlProblem, HttpDestination } from './http/http-destination.ts';
import { StdoutDestination } from './stdout/stdout-destination.ts';

const headerName = httpHeaderName('X-Api-Key');
/** Set by Tributary or by the HTTP client itself; a configured value would corrupt the request. */
const RESERVED_HEADERS = ['content-encoding', 'content-length', 'transfer-encoding', 'host', 'connection'];

const fileConfigSchema = z
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
  })
  .strict()
  .describe('Appends events to a local NDJSON file, fsynced before acknowledging, with size rotation');

const stdoutConfigSchema = z
  .object({ kind: z.literal('stdout') })
  .strict()
  .describe("Writes events as NDJSON to Tributary's standard output");

const httpAuthSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('bearer'),
        token: z.string().min(1).meta(SECRET).describe('Sent as Authorization: Bearer TOKEN'),
      })
      .strict(),
    z
      .object({
        type: z.literal('basic'),
        username: z.string().min(1).describe('Basic auth user name'),
        password: z.string().meta(SECRET).describe('Basic auth password'),
      })
      .strict(),
    z
      .object({
        type: z.literal('header'),
        name: headerName.describe('Header carrying the credential, e.g. X-Api-Key'),
        value: z.string().min(1).meta(SECRET).describe('The credential'),
      })
      .strict(),
  ])
  .describe('How requests authenticate; the secret is never logged or shown in errors');

const httpConfigSchema = z
  .object({
    kind: z.literal('http'),
    url: z
      .string()
      .trim()
      .superRefine((url, ctx) => {
        const problem = destinationUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .meta(ORIGIN)
      .describe('Endpoint receiving POSTed batches; https, or http only to a loopback host'),
    format: z
      .enum(['ndjson', 'json'])
      .default('ndjson')
      .describe('Request body: NDJSON lines (application/x-ndjson) or one JSON array (application/json)'),
    gzip: z.boolean().default(false).describe('Compress request bodies (Content-Encoding: gzip)'),
    auth: httpAuthSchema.optional(),
    headers: z
      .record(headerName, z.string())
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers))
          if (RESERVED_HEADERS.includes(name.toLowerCase()))
            ctx.addIssue({ code: 'custom', path: [name], message: `${name} is set by Tributary` });
      })
      .default({})
      .describe('Extra headers sent with every request'),
    timeout: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Milliseconds one request may take before it counts as failed (default 30000)'),
    maxBatchBytes: z
      .number()
      .int()
      .positive()
      .default(5 * 1024 * 1024)
      .describe('Uncompressed body size above which a batch is split into several requests (default 5 MB)'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .describe('Requests per batch before reporting the destination unavailable; delivery resumes later'),
    backoffBaseMs: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe('First retry waits up to this many ms, doubling per attempt (full jitter)'),
    backoffMaxMs: z
      .number()
      .int()
      .min(0)
      .default(15_000)
      .describe('Longest wait between two attempts, unless Retry-After asks for more'),
  })
  .strict()
  .describe('POSTs batches of events to an HTTP endpoint; only a 2xx acknowledges');

/** Destination kinds and their settings: one schema for the config file, the API and the docs. */
export const destinationConfigSchema = z.discriminatedUnion('kind', [
  fileConfigSchema,
  stdoutConfigSchema,
  httpConfigSchema,
]);

/**
 * Secret fields of every destination kind (encrypted at rest, write-only through the API) and the
 * fields that decide where they are sent, from the schema's SECRET and ORIGIN marks.
 */
export const destinationSpec: SecretSpec = secretSpecOf(destinationConfigSchema);

/** A validated destination config, defaults filled in. */
export type DestinationConfig = z.infer<typeof destinationConfigSchema>;
/** A destination config as written by a user, before defaults. */
export type DestinationConfigInput = z.input<typeof destinationConfigSchema>;
export type FileDestinationConfig = z.infer<typeof fileConfigSchema>;
export type StdoutDestinationConfig = z.infer<typeof stdoutConfigSchema>;
export type HttpDestinationConfig = z.infer<typeof httpConfigSchema>;
export type HttpAuthConfig = z.infer<typeof httpAuthSchema>;

/**
 * Builds a destination from a validated config. Relative file paths resolve against `baseDir` (stored
 * paths are absolute: the control plane resolves them, file/file-scope.ts). `files` is the process's
 * output root and data directory, which the file destination checks at every open. Throws a config
 * TributaryError for settings only checkable here.
 */
export function createDestination(
  name: string,
  config: DestinationConfig,
  opts: { baseDir: string; files: FileScope },
): Destination {
  switch (config.kind) {
    case 'file':
      return new FileDestination(name, {
        path: isAbsolute(config.path) ? config.path : resolve(opts.baseDir, config.path),
        maxBytes: config.maxBytes,
        maxFiles: config.maxFiles,
        scope: opts.files,
      });
    case 'stdout':
      return new StdoutDestination(name);
    case 'http': {
      const { kind: _, ...options } = config;
      return new HttpDestination(name, options);
    }
  }
}
