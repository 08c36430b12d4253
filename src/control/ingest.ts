import type { CollectorConfig } from '../config/config-file.ts';
import { isPushSource } from '../core/source.ts';
import {
  deleteCredentials,
  INGEST_TOKEN_PREFIX,
  type IngestCredentials,
  liveTokens,
  loadCredentials,
  newIngestToken,
  rotateToken,
  saveCredentials,
} from '../engine/ingest/credentials.ts';
import { signatureHeaderOf } from '../engine/ingest/push-source.ts';
import type { Runtime } from '../engine/runtime.ts';
import { sources } from '../sources/index.ts';
import { maskSecret } from '../store/secrets.ts';
import type { CollectorRecord } from '../store/store.ts';
import { conflict, invalid } from './errors.ts';

/**
 * The control plane's side of push collectors: their ingest token (generated at creation, shown once,
 * rotatable with an overlap window) and their write-only HMAC secret (`settings.hmac.secret`), which
 * never stays in the collector's definition: it is sealed beside the token hashes
 * (engine/ingest/credentials.ts) and shown masked.
 */

interface HmacSettings {
  header?: string;
  secret?: string;
}

const hmacOf = (config: CollectorConfig) => (config.settings as { hmac?: HmacSettings }).hmac;

export class IngestControl {
  private readonly runtime: Runtime;

  constructor(runtime: Runtime) {
    this.runtime = runtime;
  }

  private isPush(source: string): boolean {
    return isPushSource(sources[source]);
  }

  /**
   * Before a collector definition is stored: takes the HMAC secret out of a push collector's settings
   * (a definition that leaves it out keeps the stored one) and checks one exists when hmac is set.
   * `apply`, once the record is stored, saves the credentials; for a new push collector it creates the
   * ingest token and returns it, to be shown once.
   */
  async prepare(
    config: CollectorConfig,
    existingId?: string,
  ): Promise<{ apply(collectorId: string): Promise<string | undefined> }> {
    const store = this.runtime.store;
    if (!this.isPush(config.source))
      return {
        apply: async (id) => {
          if (existingId) await deleteCredentials(store, id); // no longer a push collector
          return undefined;
        },
      };
    const hmac = hmacOf(config);
    const secret = hmac?.secret;
    if (hmac) delete hmac.secret;
    const stored = existingId ? await loadCredentials(store, existingId) : undefined;
    if (hmac && !secret && !stored?.hmacSecret)
      throw invalid(['settings.hmac.secret: required: the shared secret senders sign requests with']);
    return {
      apply: async (id) => {
        const hmacSecret = !hmac
          ? undefined
          : secret
            ? this.runtime.secrets.encrypt(secret)
            : stored?.hmacSecret;
        if (stored) {
          await saveCredentials(store, id, { ...stored, hmacSecret });
          return undefined;
        }
        const { token, record } = newIngestToken();
        await saveCredentials(store, id, { tokens: [record], hmacSecret });
        return token;
      },
    };
  }

  /** `{ ingest }` for the collector view of a push collector: endpoint, token hints, signature. */
  async view(c: CollectorRecord) {
    if (!this.isPush(c.source)) return {};
    const creds = await loadCredentials(this.runtime.store, c.id);
    const hmac = hmacOf(c.config as unknown as CollectorConfig);
    return {
      ingest: {
        path: `/ingest/${encodeURIComponent(c.name)}`,
        tokens: (creds ? liveTokens(creds) : []).map((t) => ({
          hint: `${INGEST_TOKEN_PREFIX}…${t.last4}`,
          createdAt: t.createdAt,
          expiresAt: t.expiresAt ?? null,
        })),
        signature:
          hmac && creds?.hmacSecret
            ? {
                header: signatureHeaderOf(hmac),
                secret: maskSecret(this.runtime.secrets.decrypt(creds.hmacSecret)),
              }
            : null,
      },
    };
  }

  /** A new ingest token; the previous one keeps working for `overlapMs`. */
  async rotate(c: CollectorRecord, overlapMs: number) {
    if (!this.isPush(c.source))
      throw conflict(`Collector "${c.name}" pulls its events; only push collectors have an ingest token.`);
    const creds: IngestCredentials = (await loadCredentials(this.runtime.store, c.id)) ?? { tokens: [] };
    const { credentials, token } = rotateToken(creds, overlapMs);
    await saveCredentials(this.runtime.store, c.id, credentials);
    return { ingestToken: token, previousExpiresAt: credentials.tokens[1]?.expiresAt ?? null };
  }

  async remove(collectorId: string): Promise<void> {
    await deleteCredentials(this.runtime.store, collectorId);
  }

  /** Whether a definition (a config file's, with its secret in clear) changes nothing stored. */
  async unchanged(existing: CollectorRecord, incoming: CollectorConfig): Promise<boolean> {
    const hmac = hmacOf(incoming);
    if (!this.isPush(incoming.source) || !hmac?.secret)
      return JSON.stringify(existing.config) === JSON.stringify(incoming);
    const { secret, ...rest } = hmac;
    const stripped = { ...incoming, settings: { ...incoming.settings, hmac: rest } };
    if (JSON.stringify(existing.config) !== JSON.stringify(stripped)) return false;
    const stored = await loadCredentials(this.runtime.store, existing.id);
    return stored?.hmacSecret !== undefined && this.runtime.secrets.decrypt(stored.hmacSecret) === secret;
  }
}
