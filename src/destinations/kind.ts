import type { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import type { FileScope } from './file/file-scope.ts';

/**
 * A kind of destination: its settings schema (with `kind` as its literal discriminator; secret fields
 * marked SECRET and the fields deciding where they go ORIGIN, core/secret-spec.ts) and how to build
 * one. The registry in destinations/index.ts serves the config file, the API (`GET
 * /api/destination-kinds`), `tributary destinations` and the console's generated form.
 */
export interface DestinationKind<C extends { kind: string } = { kind: string }> {
  kind: C['kind'];
  title: string;
  /** What it does and what acknowledges a batch, in a sentence or two. */
  description: string;
  schema: z.ZodType<C>;
  create(name: string, config: C, ctx: DestinationContext): Destination;
}

/** What a destination may need from the process. */
export interface DestinationContext {
  /** Relative file paths resolve here (stored paths are absolute: the control plane resolves them). */
  baseDir: string;
  /** The output root and data directory, which file destinations check at every open. */
  files: FileScope;
}

export function defineDestinationKind<C extends { kind: string }>(
  def: DestinationKind<C>,
): DestinationKind<C> {
  return def;
}
