import { z } from 'zod';
import { defineDestinationKind } from '../kind.ts';
import { StdoutDestination } from './stdout-destination.ts';

export const stdoutConfigSchema = z
  .object({ kind: z.literal('stdout') })
  .strict()
  .describe("Writes events as NDJSON to Tributary's standard output");

export type StdoutDestinationConfig = z.infer<typeof stdoutConfigSchema>;

export const stdoutKind = defineDestinationKind({
  kind: 'stdout',
  title: 'Standard output',
  description: "Writes NDJSON to Tributary's standard output; a batch is acknowledged once written.",
  schema: stdoutConfigSchema,
  create: (name) => new StdoutDestination(name),
});
