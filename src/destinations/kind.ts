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
  /**
   * early-access: built on what is assumed where the target's public docs are silent (its section in
   * docs/destinations.md says what); creating one needs early access turned on, as for sources.
   */
  stability?: 'ga' | 'early-access';
  schema: z.ZodType<C>;
  /**
   * Account kinds whose credentials it sends with (a `microsoft` account's token for Azure Monitor):
   * its config names the account in `account`, and the control plane checks it exists, is of one of
   * these kinds and may send its credentials to where the destination points.
   */
  accounts?: readonly string[];
  /** Where the account's credentials go for `config` (checked against the account's origins). */
  accountUrl?(config: C): string;
  create(name: string, config: C, ctx: DestinationContext): Destination;
}

/** What a destination may need from the process. */
export interface DestinationContext {
  /** Relative file paths resolve here (stored paths are absolute: the control plane resolves them). */
  baseDir: string;
  /** The output root and data directory, which file destinations check at every open. */
  files: FileScope;
  /**
   * The credentials of a named account, for kinds that send with an account's token
   * (`DestinationKind.accounts`). Read at every call, so a changed account takes effect at the next
   * batch. Throws a config error when the account is missing or of another kind.
   */
  account?(name: string, kinds: readonly string[]): Promise<AccountCredential>;
}

/** An account's credentials as a destination uses them. */
export interface AccountCredential {
  readonly kind: string;
  /**
   * Adds the account's credentials to a request to `url` (a token for the API `url` belongs to;
   * `refresh` after a 401 forces a new one). Refuses, with a config error, a `url` outside the
   * origins the account's credentials may be sent to (docs/security.md).
   */
  authorize(headers: Headers, url: URL, refresh: boolean): Promise<void>;
}

export function defineDestinationKind<C extends { kind: string }>(
  def: DestinationKind<C>,
): DestinationKind<C> {
  return def;
}
