import type { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import { configError } from '../core/errors.ts';
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
   * The account kinds its `account` setting may name (a `microsoft` account's token for Azure Monitor):
   * the control plane checks the account exists, is of one of these kinds and may send its
   * credentials to the destination's `endpoint`.
   */
  accountKinds?: readonly string[];
  create(name: string, config: C, ctx: DestinationContext): Destination;
}

/** What a destination may need from the process. */
export interface DestinationContext {
  /** Relative file paths resolve here (stored paths are absolute: the control plane resolves them). */
  baseDir: string;
  /** The output root and data directory, which file destinations check at every open. */
  files: FileScope;
  /**
   * The account named `name` (its secrets decrypted), for kinds that send with an account's token
   * (`DestinationKind.accountKinds`). Read at every call, so a changed account takes effect at the
   * next batch; throws a config error when it does not exist. Absent where no store is at hand.
   */
  account?: (name: string) => Promise<DestinationAccount>;
}

/** An account as a destination uses it. */
export interface DestinationAccount {
  name: string;
  /** Its account kind (`microsoft`, `google`). */
  kind: string;
  /**
   * Adds the account's credentials for a request to `url` (a token for the API `url` belongs to;
   * `refresh` after a 401 forces a new one), after refusing, with a config error, a `url` outside the
   * origins its credentials may be sent to (docs/security.md).
   */
  authorize(
    headers: Headers,
    url: URL,
    opts?: { refresh?: boolean; method?: string; body?: string },
  ): Promise<void>;
}

export function defineDestinationKind<C extends { kind: string }>(
  def: DestinationKind<C>,
): DestinationKind<C> {
  return def;
}

/** The account a destination names, checked to be of one of `kinds` (a config error otherwise). */
export async function accountFor(
  ctx: DestinationContext,
  destination: string,
  name: string,
  kinds: readonly string[],
): Promise<DestinationAccount> {
  if (!ctx.account)
    throw configError(
      'account_unavailable',
      `Destination ${destination} needs account ${name}, and this process cannot read accounts.`,
      'Run it through tributary serve, worker or run, which read accounts from the store.',
    );
  const account = await ctx.account(name);
  if (!kinds.includes(account.kind))
    throw configError(
      'account_kind_mismatch',
      `Account "${name}" is a ${account.kind} account; destination ${destination} needs a ${kinds.join(' or ')} account.`,
      `Name a ${kinds.join(' or ')} account in destination ${destination}.`,
    );
  return account;
}
