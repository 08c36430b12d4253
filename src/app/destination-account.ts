import { accountKinds } from '../accounts/index.ts';
import { configError } from '../core/errors.ts';
import type { Logger } from '../core/source.ts';
import type { DestinationAccount } from '../destinations/kind.ts';
import { accountOrigins, OriginSet } from '../engine/credential-origins.ts';
import { Http } from '../engine/http.ts';

/**
 * An account (its fields decrypted) as a destination uses it (destinations/kind.ts): its kind's
 * `authorize` for requests to its origins only, and an HTTP client for its token requests.
 */
export function destinationAccount(a: {
  name: string;
  kind: string;
  fields: Record<string, unknown>;
  /** Origins saved with the account, beyond its kind's own. */
  origins?: string[];
  version: string;
  log?: Logger;
}): DestinationAccount {
  const kind = Object.hasOwn(accountKinds, a.kind) ? accountKinds[a.kind] : undefined;
  if (!kind)
    throw configError(
      'account_kind_unknown',
      `Account ${a.name} is of an unknown kind.`,
      'Recreate the account.',
    );
  const allowed = new OriginSet(accountOrigins(kind, a.fields, a.origins ?? []));
  const http = new Http({ vendor: kind.title, log: a.log });
  return {
    name: a.name,
    kind: a.kind,
    fields: a.fields,
    version: a.version,
    origins: allowed,
    http,
    async authorize(headers, url, opts = {}) {
      allowed.check(url, a.name);
      await kind.authorize(a.fields, headers, {
        refresh: opts.refresh ?? false,
        http,
        url,
        method: opts.method,
        body: opts.body,
      });
    },
  };
}
