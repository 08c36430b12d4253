import { z } from 'zod';
import { OKTA_LOGS_SCOPE, type OktaAccount, tokenRefusal } from '../../accounts/okta.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Okta System Log. Vendor facts (developer.okta.com/docs/reference/api/system-log/):
 * GET /api/v1/logs with `since` (inclusive) and `until` (exclusive) bounds on `published`,
 * `sortOrder=ASCENDING`, `limit` up to 1000, Link-header pagination with an opaque `after`;
 * a bounded query (with `until`) has no next link after its last page. Auth `SSWS <token>`, or an
 * OAuth service app's access token with scope `okta.logs.read` (accounts/okta.ts); rate limits in
 * `X-Rate-Limit-Limit/Remaining/Reset`; events keep 90 days; `uuid` is unique.
 */

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
    'Two ways to authenticate; an OAuth service app is Okta’s recommendation (scoped, short-lived tokens,',
    'no user behind them).',
    '',
    '**OAuth service app** (scope `okta.logs.read`):',
    '1. Okta Admin Console → **Applications → Applications → Create App Integration → API Services**; name it',
    '   (e.g. “Tributary”) and save. Copy the **Client ID**.',
    '2. **General → Client Credentials → Edit**: Client authentication **Public key / Private key**; under',
    '   **Public keys → Add key**, either **Generate new key** (copy the private key, JWK or PEM: Okta shows it',
    '   once) or paste the public key of one you made (`openssl genpkey -algorithm RSA -out okta.pem',
    '   -pkeyopt rsa_keygen_bits:2048`, then `openssl pkey -in okta.pem -pubout`). Note its **KID**. Save.',
    '3. **Okta API Scopes**: **Grant** `okta.logs.read` (a Super Administrator can).',
    '4. **Admin roles → Edit assignments**: assign **Read-Only Administrator** (it includes the System Log).',
    '5. Create an **Okta** account in Tributary with the org URL (e.g. `https://acme.okta.com`), `clientId`,',
    '   `privateKey` and, when the private key is a PEM, `keyId` (the KID).',
    '“Require Demonstrating Proof of Possession (DPoP) header in token requests” (General Settings) may stay',
    'on: Tributary then gets DPoP-bound tokens and signs a proof for every request.',
    '',
    '**API token**: create or pick a service user with the **Read-Only Administrator** role; signed in as',
    'that user, **Security → API → Tokens → Create Token**, and give the org URL and the token. Tokens expire',
    'after 30 days without use; Tributary keeps it in use on every run.',
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
      // The answer is the array of events; each event's id is `uuid`, its time `published`.
      shape: { records: '', id: 'uuid' },
      paginate: paginate.linkHeader(),
      cursor: { time: 'published', lag: '1m', order: 'asc' },
    }),
  },
  explain({ status, message, headers }) {
    // An OAuth access token's refusal names itself in WWW-Authenticate (RFC 6750 §3, RFC 9449 §7.1).
    const challenge = headers?.get('www-authenticate') ?? '';
    if (status === 401 && challenge) {
      return {
        code: 'okta_invalid_access_token',
        action: /invalid_dpop_proof/.test(challenge)
          ? "Okta refused the DPoP proof sent with the service app's token. Check this machine's clock (NTP); if it persists, clear “Require Demonstrating Proof of Possession (DPoP) header in token requests” in the app's General Settings."
          : "Okta rejected the service app's access token, also after fetching a new one. Check the app is active and its key still registered, and this machine's clock (NTP).",
      };
    }
    if (status === 401) {
      return {
        code: 'okta_invalid_token',
        action:
          'The Okta API token is invalid, expired or revoked (Okta E0000011). Create a new token under Security → API → Tokens as a Read-Only Administrator and update the account.',
      };
    }
    if (status === 403 && /insufficient_scope/.test(challenge)) {
      return {
        code: 'okta_scope_not_granted',
        action: tokenRefusal({ status, error: 'invalid_scope', description: OKTA_LOGS_SCOPE }).action,
      };
    }
    if (status === 403) {
      return {
        code: 'okta_missing_permission',
        action:
          "Okta denied the System Log (E0000006): the API token's user, or the service app (its Admin roles tab), needs the Read-Only Administrator role (or a custom role with the System Log permission).",
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
