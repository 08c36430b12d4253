import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { accountKinds } from '../accounts/index.ts';
import { openSecrets } from '../core/secret-fields.ts';
import { isPushSource, type SourceDef } from '../core/source.ts';
import { type AccountRecord, accountParts, type CollectorRecord } from '../core/store.ts';
import { accountOrigins, collectorUrls, OriginSet, originOf } from '../engine/credential-origins.ts';
import { classifyAddress, egressPolicy } from '../engine/egress.ts';
import type { SecretBox } from '../store/secrets.ts';

/**
 * Where stored secrets may travel (docs/security.md): an account's credentials go only to its kind's
 * origins and the origins saved with its secret; a collector that would point them anywhere else is
 * refused, naming the setting. URLs that are saved are also checked for where they lead on the network:
 * link-local and metadata addresses are refused (unless an admin allow-listed them), private ones noted
 * in the audit log.
 */

/** The origins an account's credentials may be sent to. `legacy`: what its collectors used, for old records. */
export function allowedOrigins(account: AccountRecord, box: SecretBox, legacy: () => string[]): OriginSet {
  const kind = accountKinds[account.kind];
  if (!kind) return new OriginSet([]);
  const { fields, origins } = accountParts(account);
  let open: Record<string, unknown> = fields;
  try {
    open = openSecrets(fields, account.secrets, box);
  } catch {
    /* an unreadable secret: the kind's origins from the plain fields */
  }
  return new OriginSet(accountOrigins(kind, open, origins ?? legacy()));
}

/** Origins of the collectors now using an account: what an account saved before origins existed keeps. */
export function legacyOrigins(
  account: string,
  collectors: CollectorRecord[],
  sources: Record<string, SourceDef>,
) {
  return collectors
    .filter((c) => c.account === account && sources[c.source])
    .flatMap((c) => collectorUrls(sources[c.source]!, c.config).map((u) => originOf(u.url)!));
}

/**
 * Issues for a collector whose URL settings would send its account's credentials where the account
 * does not send them.
 */
export function collectorOriginIssues(
  source: SourceDef,
  config: { settings?: unknown },
  accountName: string,
  allowed: OriginSet,
): string[] {
  if (isPushSource(source)) return [];
  return collectorUrls(source, config)
    .filter((u) => !allowed.allows(u.url))
    .map(
      (u) =>
        `${u.path}: account "${accountName}" sends its credentials only to ${allowed.patterns.join(', ') || 'the origins saved with it (none yet)'}; to use ${originOf(u.url)}, add it to the account's origins (entering its secret again), or leave this setting out`,
    );
}

/** Values that may name a host: URLs, and bare host names such as Duo's apiHostname. */
function hostOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const origin = originOf(value);
  if (origin) return new URL(origin).hostname.replace(/^\[|\]$/g, '');
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(value) ? value : undefined;
}

/**
 * Where saved URLs lead: `refused` (link-local or metadata, not allow-listed: the save is refused) and
 * `notes` (private addresses, recorded in the audit log). Names are resolved with a short timeout; a
 * name that does not resolve now is left to the check at connection time.
 */
export async function networkCheck(
  values: Array<{ path: string; value: unknown }>,
): Promise<{ refused: string[]; notes: string[] }> {
  const refused: string[] = [];
  const notes: string[] = [];
  const policy = egressPolicy();
  await Promise.all(
    values.map(async ({ path, value }) => {
      const host = hostOf(value);
      if (!host) return;
      let addresses: string[] = [];
      if (isIP(host)) addresses = [host];
      else
        try {
          const found = await Promise.race([
            lookup(host, { all: true }),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
          ]);
          addresses = found.map((a) => a.address);
        } catch {
          return;
        }
      const bad = addresses.find((a) => policy.refuses(a));
      if (bad)
        refused.push(
          `${path}: ${host} ${bad === host ? 'is' : `resolves to ${bad},`} a link-local or cloud metadata address; an admin must allow it (Settings, egress allow-list) first`,
        );
      const inside = addresses.find((a) => classifyAddress(a) === 'private');
      if (inside) notes.push(`${path}: ${host}${inside === host ? '' : ` (${inside})`} is a private address`);
    }),
  );
  return { refused, notes };
}
