import { bucketOf } from '../app/ingest/answers.ts';
import {
  deleteCredentials,
  INGEST_TOKEN_PREFIX,
  type IngestCredentials,
  liveTokens,
  loadCredentials,
  newIngestToken,
  rotateToken,
  saveCredentials,
} from '../app/ingest/credentials.ts';
import type { Runtime } from '../app/runtime.ts';
import type { CollectorConfig } from '../config/config-file.ts';
import { maskedSecrets } from '../core/secret-fields.ts';
import { isPushSource } from '../core/source.ts';
import type { CollectorRecord, IngestAnswerCount } from '../core/store.ts';
import { signatureHeaderOf } from '../engine/ingest/push-source.ts';
import { sources } from '../sources/index.ts';
import { conflict } from './errors.ts';

/**
 * The control plane's side of push collectors: their ingest token, generated at creation, shown once,
 * rotatable with an overlap window. Their HMAC secret (`settings.hmac.secret`) is a secret setting like
 * any other (sealed in the collector record, shown masked); collectors saved before that keep it beside
 * their token hashes (app/ingest/credentials.ts) until their next update moves it.
 */

const HMAC_SECRET = 'settings.hmac.secret';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** How far back the latest refusals are looked for. */
export const REFUSALS_LOOKBACK_MS = 7 * DAY;

/** Requests answered in a period: all, accepted (200), events accepted, and per status. */
function tally(answers: IngestAnswerCount[]) {
  const byStatus: Record<string, number> = {};
  let requests = 0;
  let events = 0;
  for (const a of answers) {
    requests += a.requests;
    events += a.events;
    byStatus[a.status] = (byStatus[a.status] ?? 0) + a.requests;
  }
  return { requests, accepted: byStatus[200] ?? 0, events, byStatus };
}

/**
 * What a push collector's endpoint answered (5-minute buckets, so "the last hour" reaches back 60 to 65
 * minutes): requests and events accepted in the last hour and day, when the latest request came, and
 * the latest refusal of each kind (429, 503, 413, …) in the last 7 days with its reason.
 */
export function ingestTraffic(answers: IngestAnswerCount[], now: number) {
  const hour = bucketOf(now - HOUR);
  const day = bucketOf(now - DAY);
  const refusals = new Map<string, IngestAnswerCount & { total: number }>();
  let lastAt: string | undefined;
  for (const a of answers) {
    if (!lastAt || a.lastAt > lastAt) lastAt = a.lastAt;
    if (a.status < 400) continue;
    const r = refusals.get(a.code);
    if (!r) refusals.set(a.code, { ...a, total: a.requests });
    else {
      const total = r.total + a.requests;
      refusals.set(a.code, a.lastAt >= r.lastAt ? { ...a, total } : { ...r, total });
    }
  }
  return {
    lastHour: tally(answers.filter((a) => a.bucket >= hour)),
    lastDay: tally(answers.filter((a) => a.bucket >= day)),
    lastRequestAt: lastAt ?? null,
    refusals: [...refusals.values()]
      .sort((a, b) => b.lastAt.localeCompare(a.lastAt))
      .map((r) => ({
        status: r.status,
        code: r.code,
        message: r.message ?? null,
        lastAt: r.lastAt,
        retryAfter: r.retryAfter ?? null,
        /** Requests answered so in the last 7 days. */
        requests: r.total,
      })),
  };
}

const hmacOf = (config: CollectorConfig) => (config.settings as { hmac?: { header?: string } }).hmac;

export class IngestControl {
  private readonly runtime: Runtime;

  constructor(runtime: Runtime) {
    this.runtime = runtime;
  }

  private isPush(source: string): boolean {
    return isPushSource(sources[source]);
  }

  /** A new collector was stored: a push collector gets its ingest token, returned to be shown once. */
  async created(record: CollectorRecord): Promise<string | undefined> {
    if (!this.isPush(record.source)) return undefined;
    const { token, record: stored } = newIngestToken();
    await saveCredentials(this.runtime.store, record.id, { tokens: [stored] });
    return token;
  }

  /**
   * A collector was updated: one that became a push collector gets a token (returned, shown once); one
   * that no longer is loses its credentials; a legacy HMAC secret, now in the record, leaves them.
   */
  async updated(after: CollectorRecord): Promise<string | undefined> {
    const store = this.runtime.store;
    const creds = await loadCredentials(store, after.id);
    if (!this.isPush(after.source)) {
      if (creds) await deleteCredentials(store, after.id);
      return undefined;
    }
    if (!creds) return this.created(after);
    if (creds.hmacSecret) await saveCredentials(store, after.id, { tokens: creds.tokens });
    return undefined;
  }

  /** Sealed secrets a collector saved before they moved into its record still has (the HMAC secret). */
  async legacySecrets(c: CollectorRecord): Promise<Record<string, string>> {
    if (!this.isPush(c.source)) return {};
    const creds = await loadCredentials(this.runtime.store, c.id);
    return creds?.hmacSecret ? { [HMAC_SECRET]: creds.hmacSecret } : {};
  }

  /** A push collector's answers of the buckets from `sinceMs` ago on (undefined for a pull collector). */
  async answers(c: CollectorRecord, sinceMs: number, now: number): Promise<IngestAnswerCount[] | undefined> {
    if (!this.isPush(c.source)) return undefined;
    return this.runtime.store.listIngestAnswers(c.id, bucketOf(now - sinceMs));
  }

  /**
   * `{ ingest }` for the collector view of a push collector: endpoint, token hints, signature, and
   * with `answers` (the last 7 days') what the endpoint answered.
   */
  async view(c: CollectorRecord, answers?: IngestAnswerCount[], now = Date.now()) {
    if (!this.isPush(c.source)) return {};
    const creds = await loadCredentials(this.runtime.store, c.id);
    const hmac = hmacOf(c.config as unknown as CollectorConfig);
    const sealed = c.secrets?.[HMAC_SECRET] ?? creds?.hmacSecret;
    return {
      ingest: {
        path: `/ingest/${encodeURIComponent(c.name)}`,
        tokens: (creds ? liveTokens(creds) : []).map((t) => ({
          hint: `${INGEST_TOKEN_PREFIX}…${t.last4}`,
          createdAt: t.createdAt,
          expiresAt: t.expiresAt ?? null,
        })),
        signature:
          hmac && sealed
            ? {
                header: signatureHeaderOf(hmac),
                secret: maskedSecrets({}, { secret: sealed }, this.runtime.secrets).secret as string,
              }
            : null,
        ...(answers ? { traffic: ingestTraffic(answers, now) } : {}),
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
}
