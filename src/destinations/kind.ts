import type { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import { configError } from '../core/errors.ts';
import type { HttpClient } from '../core/source.ts';
import type { OriginSet } from '../engine/credential-origins.ts';
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
   * The account kinds its `account` setting may name (a destination that authenticates with a shared
   * account's credentials); the control plane refuses a destination naming a missing account or one
   * of another kind.
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
   * The account named `name`, its secrets decrypted, read from the store at every call (so an edited
   * account is used at once). Absent where no store is at hand; a destination needing it then fails
   * with a config error.
   */
  account?: (name: string) => Promise<DestinationAccount>;
}

/** An account as a destination uses it (kinds with an `account` setting, see `accountKinds`). */
export interface DestinationAccount {
  name: string;
  /** Its account kind (`aws`, `microsoft`, `google`). */
  kind: string;
  /** Its fields, secrets included: only for building a vendor SDK's credentials. */
  fields: Record<string, unknown>;
  /** Changes whenever the account is edited. */
  version: string;
  /** Where its credentials may be sent (engine/credential-origins.ts). */
  origins: OriginSet;
  /**
   * Adds the account's credentials for a request to `url` (its kind's `authorize`: a bearer token for
   * the URL's API, a signature), after refusing a `url` outside `origins`.
   */
  authorize(
    headers: Headers,
    url: URL,
    opts?: { refresh?: boolean; method?: string; body?: string },
  ): Promise<void>;
  /** The HTTP client the account's own token requests use (AWS STS, Entra ID, Google OAuth). */
  http: HttpClient;
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
