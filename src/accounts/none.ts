import { z } from 'zod';
import { defineAccountKind } from '../core/source.ts';

/**
 * The `none` account kind: no credentials, for public APIs read by the generic REST API collector.
 * It is still an account, so a collector of a public API fits the same model as every other one: the
 * collector names an account, and the account carries the request budget (`requestsPerMinute`) shared
 * by every collector that uses it. Nothing is secret and nothing is added to requests.
 */

export type NoneAccount = Record<string, never>;

export const noneFields = z
  .object({})
  .strict()
  .describe('No fields: requests are sent without credentials') as unknown as z.ZodType<NoneAccount>;

export const none = defineAccountKind<NoneAccount>({
  id: 'none',
  title: 'No authentication (public API)',
  fields: noneFields,
  async authorize() {
    // Public API: nothing to add.
  },
});
