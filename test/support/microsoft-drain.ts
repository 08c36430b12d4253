import { type MicrosoftAccount, microsoft } from '../../src/accounts/microsoft.ts';
import type { Batch, ReadContext, SourceDef } from '../../src/core/source.ts';
import { Http } from '../../src/engine/http.ts';
import { readContext } from './read-context.ts';

/** An Http client authorised by a `microsoft` account, with the source's error explanations. */
export function microsoftHttp(source: Pick<SourceDef, 'title' | 'explain'>, account: MicrosoftAccount): Http {
  const http: Http = new Http({
    vendor: source.title,
    backoffBaseMs: 1,
    maxAttempts: 3,
    explain: source.explain,
    authorize: (h, refresh, url) => microsoft.authorize(account, h, { refresh, http, url }),
  });
  return http;
}

/**
 * Reads one stream of a Microsoft source (at most `maxBatches` batches): the batches, their event ids, the
 * last checkpoint (or the one given) and the error the read ended with, if any.
 */
export async function drainMicrosoft(
  source: SourceDef,
  account: MicrosoftAccount,
  over: Partial<ReadContext> & { stream: string },
  maxBatches?: number,
) {
  const ctx = readContext(microsoftHttp(source, account), { account, ...over });
  const batches: Batch[] = [];
  let error: any;
  try {
    for await (const b of source.streams[over.stream].read(ctx)) {
      batches.push(b);
      if (maxBatches && batches.length >= maxBatches) break;
    }
  } catch (err) {
    error = err;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id)),
    checkpoint: batches.at(-1)?.checkpoint ?? over.checkpoint,
    error,
  };
}
