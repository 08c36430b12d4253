import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `recorded-future` account kind: a Recorded Future API token, sent as `X-RFToken` on every request
 * to `https://api.recordedfuture.com` (Recorded Future Connect API, support.recordedfuture.com "The
 * Connect API"; the header is the one every published client sends). Tokens are issued per module in the
 * Recorded Future portal (User Settings → API Access); one token may serve the risk lists and the alerts.
 * No documented request rate: 1 request a second is assumed (risk lists are few, large downloads);
 * the HTTP client honours 429 and Retry-After.
 */

export const RECORDED_FUTURE_API = 'https://api.recordedfuture.com';

export interface RecordedFutureAccount {
  token: string;
  url?: string;
}

export const recordedFutureFields = z
  .object({
    token: z
      .string()
      .trim()
      .regex(/^\S{16,}$/, 'expected the Recorded Future API token, on one line, without spaces')
      .meta({ ...SECRET, title: 'API token' })
      .describe('The Recorded Future API token (portal → User Settings → API Access), sent as X-RFToken'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host (advanced)' })
      .meta(ORIGIN)
      .describe('Another API host, such as a proxy in front of api.recordedfuture.com'),
  })
  .strict();

export const recordedFutureHost = (a: Pick<RecordedFutureAccount, 'url'>) =>
  (a.url ?? RECORDED_FUTURE_API).replace(/\/+$/, '');

export const recordedFuture = defineAccountKind<RecordedFutureAccount>({
  id: 'recorded-future',
  title: 'Recorded Future',
  fields: recordedFutureFields as unknown as z.ZodType<RecordedFutureAccount>,
  origins: (a) => [recordedFutureHost(a)],
  async authorize(a, headers) {
    headers.set('x-rftoken', a.token);
  },
  rateLimit: { perSecond: 1, burst: 5 },
});
