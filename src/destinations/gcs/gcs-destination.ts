import { randomBytes } from 'node:crypto';
import { fetch } from 'undici';
import { configError, type TributaryError, transientError } from '../../core/errors.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { retryAfterMs, snippet } from '../../engine/http.ts';
import { backoff, sleep } from '../../engine/sleep.ts';
import type { DestinationAccount, DestinationContext } from '../kind.ts';
import { ObjectStoreDestination } from '../object-store/object-destination.ts';
import { type PlannedObject, trimUrl } from '../object-store/objects.ts';
import type { GcsDestinationConfig } from './index.ts';

const ATTEMPTS = 4;

/**
 * Google Cloud Storage through the JSON API's multipart upload, one request per object
 * (cloud.google.com/storage/docs/uploading-objects and .../json_api/v1/objects/insert:
 * `POST /upload/storage/v1/b/BUCKET/o?uploadType=multipart`, a multipart/related body of the object's
 * JSON metadata then its bytes). The metadata carries `md5Hash`, which Cloud Storage checks before
 * it creates the object; a 200 means the object is stored ("uploads are atomic", and an upload to an
 * existing name replaces it). Retried as Google's retry strategy advises (408, 429, 5xx and network
 * errors with exponential backoff, cloud.google.com/storage/docs/retry-strategy), then transient.
 *
 * Why not the official SDK: @google-cloud/storage brings google-auth-library, gaxios and a dozen more
 * packages for what is here one documented request; the google account kind already signs the
 * service account's JWT and caches its token (scope devstorage.read_write, sent only to the account's
 * origins), and undici with the egress policy's dispatcher does the rest.
 */
export class GcsDestination extends ObjectStoreDestination {
  readonly kind = 'gcs';
  private readonly c: GcsDestinationConfig;
  private readonly ctx: DestinationContext;
  private readonly uploadUrl: URL;

  constructor(name: string, config: GcsDestinationConfig, ctx: DestinationContext) {
    super(name, config);
    this.c = config;
    this.ctx = ctx;
    this.uploadUrl = new URL(
      `${trimUrl(config.endpoint)}/upload/storage/v1/b/${encodeURIComponent(config.bucket)}/o?uploadType=multipart`,
    );
  }

  private async account(): Promise<DestinationAccount> {
    if (!this.ctx.account)
      throw configError(
        'account_unavailable',
        `Destination ${this.name} authenticates with account ${this.c.account}, which cannot be read here.`,
        'Run the destination from tributary run or serve, where accounts are stored.',
      );
    const account = await this.ctx.account(this.c.account);
    if (account.kind !== 'google')
      throw configError(
        'account_kind_mismatch',
        `Destination ${this.name} needs a google account; ${account.name} is a ${account.kind} account.`,
        `Name a google account in destination ${this.name}.`,
      );
    return account;
  }

  protected async put(o: PlannedObject, signal: AbortSignal): Promise<void> {
    const account = await this.account();
    const boundary = `tributary-${randomBytes(12).toString('hex')}`;
    const meta = JSON.stringify({ name: o.key, contentType: o.contentType, md5Hash: o.md5 });
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${meta}\r\n--${boundary}\r\nContent-Type: ${o.contentType}\r\n\r\n`,
      ),
      o.body,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      egressPolicy().checkUrl(this.uploadUrl, `destination ${this.name}`);
      const headers = new Headers({ 'content-type': `multipart/related; boundary=${boundary}` });
      await account.authorize(headers, this.uploadUrl, { refresh: refreshed, method: 'POST' });
      let status: number;
      let text = '';
      let wait: number | undefined;
      try {
        const res = await fetch(this.uploadUrl, {
          method: 'POST',
          headers: Object.fromEntries(headers),
          body,
          redirect: 'manual',
          dispatcher: egressPolicy().dispatcher(),
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.c.timeout)]),
        });
        status = res.status;
        text = (await res.text()).slice(0, 4096);
        if (status === 429 || status === 503) wait = retryAfterMs(res.headers.get('retry-after'), Date.now());
      } catch (err) {
        signal.throwIfAborted();
        const e = err as Error & { cause?: { code?: string } };
        if (attempt + 1 >= ATTEMPTS)
          throw this.unavailable(
            e.name === 'TimeoutError'
              ? `no answer within ${this.c.timeout} ms`
              : `network error${e.cause?.code ? ` ${e.cause.code}` : ''}`,
          );
        await sleep(backoff(attempt, 500, 8000), signal);
        continue;
      }
      if (status === 200) return;
      if (status === 401 && !refreshed) {
        refreshed = true; // an expired or revoked token: ask for a new one once
        attempt--;
        continue;
      }
      if (status === 408 || status === 429 || status >= 500) {
        if (attempt + 1 >= ATTEMPTS) throw this.unavailable(`HTTP ${status}`, status);
        await sleep(Math.min(wait ?? backoff(attempt, 500, 8000), 30_000), signal);
        continue;
      }
      throw this.rejected(status, text);
    }
  }

  private unavailable(detail: string, status?: number): TributaryError {
    return transientError(
      'destination_unavailable',
      `Destination ${this.name}: Cloud Storage could not store the object in bucket ${this.c.bucket} (${detail}).`,
      `The events wait and nothing is lost; if it persists, check that ${this.uploadUrl.host} is reachable.`,
      { status },
    );
  }

  /** A refusal, with Google's own message (one line, no token: Google never echoes it). */
  private rejected(status: number, body: string): TributaryError {
    let message = '';
    let reason = '';
    try {
      const e = JSON.parse(body)?.error;
      message = typeof e?.message === 'string' ? e.message : '';
      reason = typeof e?.errors?.[0]?.reason === 'string' ? e.errors[0].reason : '';
    } catch {
      // not JSON: the status alone
    }
    return configError(
      'destination_rejected',
      `Destination ${this.name}: Cloud Storage refused to store an object in bucket ${this.c.bucket} (HTTP ${status}${reason ? ` ${reason}` : ''})${message ? `: ${snippet(message)}` : ''}.`,
      status === 401 || status === 403
        ? `Grant the service account of account ${this.c.account} roles/storage.objectUser on bucket ${this.c.bucket} (or a role with storage.objects.create and storage.objects.delete: a re-sent batch overwrites its objects), and check the account's scopes allow devstorage.read_write (docs/destinations.md, gcs).`
        : status === 404
          ? `Create bucket ${this.c.bucket} or fix the bucket of destination ${this.name}.`
          : status >= 300 && status < 400
            ? `Destination ${this.name}'s endpoint redirects: configure the final URL.`
            : `Check the settings of destination ${this.name} (bucket, the bucket's retention policy).`,
      status,
    );
  }
}
