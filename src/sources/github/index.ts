import { z } from 'zod';
import { GITHUB_API_VERSION, type GitHubAccount, githubApiUrl } from '../../accounts/github.ts';
import { configError } from '../../core/errors.ts';
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * GitHub organization and enterprise audit logs. Vendor facts (checked against GitHub's docs):
 *
 * - docs.github.com/en/enterprise-cloud@latest/rest/orgs/orgs#get-the-audit-log-for-an-organization and
 *   docs.github.com/en/enterprise-cloud@latest/rest/enterprise-admin/audit-log: `GET /orgs/{org}/audit-log`
 *   and `GET /enterprises/{enterprise}/audit-log` with `phrase`, `include` (web | git | all; default web),
 *   `after`/`before` cursors "as given in the Link header", `order` (default desc: newest first; asc:
 *   oldest first), `per_page` (max 100). Organization log: GitHub Enterprise Cloud; an organization
 *   owner's classic token with `read:audit_log`, or a fine-grained token / GitHub App with the
 *   organization "Administration" permission (read). Enterprise log: an enterprise owner's classic
 *   token with `read:audit_log` ("These endpoints only support authentication using a personal
 *   access token (classic)").
 * - docs.github.com/en/enterprise-cloud@latest/admin/monitoring-activity-in-your-enterprise/reviewing-audit-logs-for-your-enterprise/using-the-audit-log-api-for-your-enterprise:
 *   times in UTC epoch milliseconds (`@timestamp`; `_document_id` identifies an event); cursor
 *   pagination through the `link` header (`rel="next"` carries `after=…`); page-based on GitHub
 *   Enterprise Server; 1,750 queries per hour per user and IP, a rate-limit error being "typically a
 *   403 or 429"; events of the current month and the previous six months, Git events seven days;
 *   without a `created` qualifier only the last three months.
 * - docs.github.com/en/enterprise-cloud@latest/organizations/keeping-your-organization-secure/managing-security-settings-for-your-organization/reviewing-the-audit-log-for-your-organization#search-based-on-time-of-action:
 *   `created:` takes `YYYY-MM-DD` with optional `THH:MM:SS+00:00` (whole seconds) and `A..B` ranges.
 * - docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api: past the primary limit a
 *   403 or 429 with `x-ratelimit-remaining: 0` (wait until `x-ratelimit-reset`); a secondary limit is a
 *   403 or 429 whose message says so: honour `retry-after`, else the reset, else "wait for at least
 *   one minute" (the `rateLimited` hook below; 429s are handled by the engine as for every vendor).
 *
 * Windows and resumption. Each window [start, end) becomes `created:S..E` where S is `start` rounded
 * UP to the second and E is `end` rounded DOWN (GitHub compares whole seconds and a range end covers
 * its whole second); the overlap of at least 1 s re-reads the boundary second, whose delivered events
 * the checkpoint's boundary ids suppress, so nothing between windows is skipped or repeated.
 * - `order: asc` (default): oldest first, so the committed position (`since`) moves to the newest time
 *   delivered after every page; a crash mid-window re-queries from there and loses nothing.
 * - `order: desc` (GitHub's default): newest first, so a page says nothing about older events; the
 *   engine keeps `since` at the window start and commits the window end and the next page's Link URL
 *   after every page; a crash resumes at that page and `since` moves only when the window is complete.
 */

interface Settings {
  organization?: string;
  enterprise?: string;
  include: 'web' | 'git' | 'all';
  order: 'asc' | 'desc';
  perPage: number;
  phrase?: string;
  baseUrl?: string;
}

/** GitHub login / slug rules: letters, digits and single hyphens. */
const SLUG = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

const settings = z
  .object({
    organization: z
      .string()
      .trim()
      .regex(SLUG, 'expected an organization login such as acme (from https://github.com/acme)')
      .optional()
      .describe('Organization whose audit log to collect (its login, e.g. acme); or set enterprise')
      .meta({ title: 'Organization' }),
    enterprise: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9-]*$/,
        'expected the enterprise slug (from https://github.com/enterprises/SLUG)',
      )
      .optional()
      .describe('Enterprise whose audit log to collect (its slug); or set organization')
      .meta({ title: 'Enterprise' }),
    include: z
      .enum(['web', 'git', 'all'])
      .default('all')
      .describe('web: web (non-Git) events; git: Git events (clone, fetch, push; kept 7 days); all: both')
      .meta({ title: 'Events to include' }),
    order: z
      .enum(['asc', 'desc'])
      .default('asc')
      .describe('Order Tributary asks for; both resume safely (asc commits after every page)')
      .meta({ title: 'Order' }),
    perPage: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .describe('Events per page (GitHub allows up to 100)')
      .meta({ title: 'Events per page' }),
    phrase: z
      .string()
      .trim()
      .max(1000)
      .optional()
      .refine((p) => p === undefined || !/(^|\s)-?created:/.test(p), {
        message: 'must not contain created: (Tributary sets the time range itself)',
      })
      .describe('Extra audit-log search qualifiers, e.g. action:repo -actor:dependabot[bot]')
      .meta({ title: 'Search qualifiers' }),
    baseUrl: baseUrlSetting(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.organization === !s.enterprise) {
      ctx.addIssue({
        code: 'custom',
        path: [s.organization ? 'enterprise' : 'organization'],
        message: s.organization
          ? 'set organization or enterprise, not both (make two collectors to read both)'
          : 'required: the organization login, or set enterprise for the enterprise audit log',
      });
    }
  });

const base = (s: Settings, a: GitHubAccount) => (s.baseUrl ?? githubApiUrl(a)).replace(/\/+$/, '');

const auditLogUrl = (s: Settings, a: GitHubAccount) =>
  s.organization
    ? `${base(s, a)}/orgs/${encodeURIComponent(s.organization)}/audit-log`
    : `${base(s, a)}/enterprises/${encodeURIComponent(s.enterprise ?? '')}/audit-log`;

/** GitHub Enterprise Server's REST API root is `https://HOSTNAME/api/v3`. */
const isEnterpriseServer = (s: Settings, a: GitHubAccount) => /\/api\/v3$/.test(base(s, a));

const HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': GITHUB_API_VERSION };

/** `2026-11-25T10:00:00+00:00`: the `created` qualifier's documented form, whole seconds. */
const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+00:00`;

/** The `created:` range of a window: start rounded up, end rounded down to whole seconds (see above). */
export function createdRange(window: Pick<Window, 'start' | 'end'>): string {
  const start = Math.ceil(window.start.getTime() / 1000) * 1000;
  const end = Math.floor(window.end.getTime() / 1000) * 1000;
  return `created:${stamp(start)}..${stamp(Math.max(start, end))}`;
}

/** GitHub's retention: six months and the current one (180 d) for web events, 7 d for Git events. */
const WEB_RETENTION = '180d';
const GIT_RETENTION = '7d';

function auditLogStream(
  order: 'asc' | 'desc',
  retention: string | undefined,
): StreamDef<Settings, GitHubAccount> {
  return restPoll<Settings, GitHubAccount>({
    title: 'Audit log',
    url: ({ settings: s, account }) => auditLogUrl(s, account),
    params: ({ settings: s }, window) => ({
      phrase: [s.phrase, createdRange(window)].filter(Boolean).join(' '),
      include: s.include,
      order,
      per_page: s.perPage,
    }),
    headers: () => HEADERS,
    // The answer is the array of events, each with its `_document_id`.
    shape: { records: '', id: '_document_id' },
    paginate: paginate.linkHeader(),
    // `created:` has whole-second precision: the overlap must cover a second (see the header comment).
    cursor: { time: '@timestamp', lag: '2m', minOverlap: '1s', order, maxWindow: '1d' },
    retention,
    // With `include: all` the web-event stream also carries Git events, which GitHub keeps 7 days.
    partRetention: ({ settings: s }) =>
      retention === WEB_RETENTION && s.include === 'all'
        ? {
            what: 'Git events',
            retention: GIT_RETENTION,
            code: 'git_events_beyond_retention',
            action:
              'Run the collector at least daily so Git events are collected within their 7-day retention.',
          }
        : undefined,
  });
}

const streams = {
  asc: {
    ghec: auditLogStream('asc', WEB_RETENTION),
    git: auditLogStream('asc', GIT_RETENTION),
    ghes: auditLogStream('asc', undefined),
  },
  desc: {
    ghec: auditLogStream('desc', WEB_RETENTION),
    git: auditLogStream('desc', GIT_RETENTION),
    ghes: auditLogStream('desc', undefined),
  },
};

function read(ctx: ReadContext<Settings, GitHubAccount>) {
  const s = ctx.settings;
  // GitHub Enterprise Server (API root https://HOST/api/v3) keeps audit logs as its owners configure
  // (indefinitely by default): no retention clamp there.
  const which = isEnterpriseServer(s, ctx.account) ? 'ghes' : s.include === 'git' ? 'git' : 'ghec';
  return streams[s.order][which].read(ctx);
}

/** GitHub's rate limits in a 403 (or 429): an exhausted primary budget or a secondary-limit message. */
export function githubRateLimited(ctx: { status: number; message: string }, headers: Headers) {
  if (ctx.status !== 403 && ctx.status !== 429) return undefined;
  const exhausted = headers.get('x-ratelimit-remaining') === '0';
  if (!exhausted && !/rate limit/i.test(ctx.message)) return undefined;
  // "Otherwise, wait for at least one minute before retrying."
  return { defaultWaitMs: 60_000 };
}

export default defineSource<Settings, GitHubAccount>({
  id: 'github',
  title: 'GitHub',
  account: 'github',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'GitHub Enterprise organization or enterprise audit log: membership, team, repository, permission, token and policy changes, and Git clone/fetch/push events.',
  setupGuide: [
    'The audit log API needs **GitHub Enterprise Cloud** (or GitHub Enterprise Server 3.x).',
    '',
    '**Organization audit log** — either:',
    '- a **personal access token (classic)** of an organization owner with the `read:audit_log` scope',
    '  (Settings → Developer settings → Personal access tokens → Tokens (classic)); authorize it for SAML SSO',
    '  if the organization enforces it; or',
    '- a **GitHub App** owned by the organization with the organization permission **Administration: Read-only**,',
    '  installed on the organization: note the **App ID** (App settings → General), generate a **private key**',
    '  (.pem), and take the **installation ID** from the installation settings URL',
    '  (`…/settings/installations/<ID>`). Installation tokens last an hour; Tributary renews them.',
    '',
    '**Enterprise audit log** — a personal access token (classic) of an **enterprise owner** with',
    '`read:audit_log` (GitHub supports only classic tokens for the enterprise audit-log endpoint).',
    '',
    'Create a **GitHub** account in Tributary with the token, or the App ID, installation ID and private key;',
    'for GitHub Enterprise Server set its `url` to `https://HOSTNAME/api/v3`. Then set `organization`',
    '(or `enterprise`) on the collector.',
    '',
    'Limits: 1,750 audit-log queries per hour per user and IP address; GitHub keeps web events for the',
    'current and previous six months and Git events for 7 days, so run the collector at least daily.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<Settings>,
  streams: {
    'audit-log': {
      title: 'Audit log',
      description:
        'Every event of the organization or enterprise audit log (/orgs/{org}/audit-log or /enterprises/{enterprise}/audit-log).',
      read,
    },
  },
  rateLimited: githubRateLimited,
  explain({ status, message }) {
    if (status === 401) {
      return {
        code: 'github_bad_credentials',
        action:
          "GitHub rejected the token (Bad credentials): it is wrong, expired or revoked. Create a new token (classic, read:audit_log) or check the GitHub App's private key, and update the account.",
      };
    }
    if (status === 403) {
      if (/SAML/i.test(message)) {
        return {
          code: 'github_saml_sso',
          action:
            'The organization enforces SAML single sign-on: authorize the token for it (Settings → Developer settings → Personal access tokens → Configure SSO → Authorize).',
        };
      }
      return {
        code: 'github_forbidden',
        action:
          'The credential may not read this audit log: use a classic token of an organization owner (enterprise owner for the enterprise log) with the read:audit_log scope, or give the GitHub App the organization permission "Administration: Read-only" and accept it on the installation. The enterprise log accepts only classic tokens.',
      };
    }
    if (status === 404) {
      return {
        code: 'github_not_found',
        action:
          "Check the collector's organization (or enterprise slug) and the account's url. GitHub answers 404 when the organization is not on GitHub Enterprise Cloud (the audit log API needs it) or when the token's user is not an owner of it.",
      };
    }
    if (status === 400 || status === 422) {
      return {
        code: 'github_invalid_query',
        action: `GitHub refused the search phrase: check the collector's phrase qualifiers (action:, actor:, repo:, …). GitHub said: ${message}`,
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http }) {
    if (!s.organization && !s.enterprise) {
      throw configError(
        'github_scope_missing',
        'The collector names neither an organization nor an enterprise.',
        'Set organization (or enterprise) on the collector.',
      );
    }
    await http.getJson(
      auditLogUrl(s, account),
      {
        // The collector's own phrase too, so a qualifier GitHub refuses shows here, not on the first run.
        phrase: [s.phrase, createdRange({ start: new Date(Date.now() - 3_600_000), end: new Date() })]
          .filter(Boolean)
          .join(' '),
        include: s.include,
        per_page: 1,
      },
      HEADERS,
    );
  },
});
