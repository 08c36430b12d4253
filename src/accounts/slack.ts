import { z } from 'zod';
import { SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';

/**
 * Slack account for the Audit Logs API (docs.slack.dev/reference/audit-logs-api/methods-actions-reference):
 * "The token must be a Slack user token (beginning with xoxp) associated with an Enterprise
 * organization owner … and the token must be granted the auditlogs:read OAuth scope", sent as
 * `Authorization: Bearer xoxp-…`. The app must be installed on the organization, not a workspace
 * (docs.slack.dev/admins/audit-logs-api).
 */

export interface SlackAccount {
  token: string;
}

export const slack = defineAccountKind<SlackAccount>({
  id: 'slack',
  title: 'Slack',
  fields: z
    .object({
      token: z
        .string()
        .trim()
        .regex(
          /^xoxp-[A-Za-z0-9-]+$/,
          'expected a Slack user token starting with xoxp- (installed on the Enterprise organization by its owner, with the auditlogs:read scope)',
        )
        .meta(SECRET)
        .describe(
          'User OAuth token (xoxp-…) of an app with auditlogs:read, installed on the org by its owner',
        )
        .meta({ title: 'User OAuth token' }),
    })
    .strict(),
  // The Audit Logs API is on api.slack.com (https://api.slack.com/admins/audit-logs).
  origins: () => ['https://api.slack.com'],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.token}`);
  },
  // "All methods are rated Tier 3 … up to 50 calls per minute, with an allowance for sporadic bursts",
  // counted organization-wide: 45 a minute with a burst of 5 stays under it.
  rateLimit: { perSecond: 0.75, burst: 5 },
});
