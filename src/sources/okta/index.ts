import { z } from 'zod';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Okta System Log. Vendor facts (developer.okta.com/docs/reference/api/system-log/):
 * GET /api/v1/logs with `since` (inclusive) and `until` (exclusive) bounds on `published`,
 * `sortOrder=ASCENDING`, `limit` up to 1000, Link-header pagination with an opaque `after`;
 * a bounded query (with `until`) has no next link after its last page. Auth `SSWS <token>`;
 * rate limits in `X-Rate-Limit-Limit/Remaining/Reset`; events keep 90 days; `uuid` is unique.
 */

interface OktaAccount {
  url: string;
  token: string;
}

const settings = z
  .object({
    filter: z
      .string()
      .max(2000)
      .optional()
      .describe('Optional System Log filter expression, e.g. eventType sw "user.session"')
      .meta({ title: 'System Log filter' }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .describe('Events per page (Okta allows up to 1000)')
      .meta({ title: 'Events per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type OktaSettings = z.infer<typeof settings>;

const base = (s: OktaSettings, a: OktaAccount) => (s.baseUrl ?? a.url).replace(/\/+$/, '');

export default defineSource<OktaSettings, OktaAccount>({
  id: 'okta',
  title: 'Okta',
  account: 'okta',
  stability: 'ga',
  family: 'rest-time-window',
  description: 'Okta System Log: sign-ins, MFA, sessions, application assignments, admin and policy changes.',
  setupGuide: [
    'In the Okta Admin Console, create or pick a service user with the **Read-Only Administrator** role',
    '(it includes the System Log permission).',
    'Signed in as that user, go to **Security → API → Tokens → Create Token** and copy the token value.',
    'Create an **Okta** account in Tributary with your org URL (e.g. `https://acme.okta.com`) and the token.',
    'Tokens expire after 30 days without use; Tributary keeps it in use on every run.',
  ].join('\n'),
  settings,
  retention: '90d',
  streams: {
    'system-log': restPoll<OktaSettings, OktaAccount>({
      title: 'System Log',
      description: 'Every event of the Okta System Log (/api/v1/logs).',
      url: ({ settings: s, account }) => `${base(s, account)}/api/v1/logs`,
      params: ({ settings: s }, window) => ({
        since: window.start.toISOString(),
        until: window.end.toISOString(),
        sortOrder: 'ASCENDING',
        limit: s.limit,
        filter: s.filter,
      }),
      records: (body) => body,
      paginate: paginate.linkHeader(),
      cursor: { time: 'published', lag: '1m', order: 'asc' },
      eventId: (e) => e?.uuid,
    }),
  },
  explain({ status, message }) {
    if (status === 401) {
      return {
        code: 'okta_invalid_token',
        action:
          'The Okta API token is invalid, expired or revoked (Okta E0000011). Create a new token under Security → API → Tokens as a Read-Only Administrator and update the account.',
      };
    }
    if (status === 403) {
      return {
        code: 'okta_missing_permission',
        action:
          "The token's user lacks access to the System Log (Okta E0000006). Give that user the Read-Only Administrator role (or a custom role with the System Log permission).",
      };
    }
    if (status === 404) {
      return {
        code: 'okta_not_found',
        action: `Check the Okta org URL on the account (e.g. https://acme.okta.com). Okta said: ${message}`,
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http }) {
    await http.getJson(`${base(s, account)}/api/v1/logs`, {
      limit: 1,
      since: new Date(Date.now() - 60_000).toISOString(),
      sortOrder: 'ASCENDING',
    });
  },
});
