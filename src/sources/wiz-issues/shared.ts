import { z } from 'zod';
import type { WizAccount } from '../../accounts/wiz.ts';
import { configError, type TributaryError, transientError } from '../../core/errors.ts';
import type { ReadContext, SourceDef, StreamDef, VendorErrorContext } from '../../core/source.ts';
import { graphqlVariable, type PageRequest, paginate } from '../../engine/paginate.ts';
import { fetchPage, restPoll, type SettleOptions } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * What the Wiz sources (`wiz-issues`, `wiz-api`) share: the tenant's GraphQL endpoint (the `wiz` account kind
 * holds it and the client-credentials token; vendor facts there) and Relay connections read by time window.
 * Wiz's API reference (docs.wiz.io) needs a customer login; the facts below are from "Using the Wiz API"
 * as public copies quote it and from the queries Wiz's own integrations send (the Wiz pack of Cortex XSOAR,
 * demisto/content Packs/Wiz/Integrations/Wiz/Wiz.py: `PULL_ISSUES_QUERY`, `checkAPIerrors`, and its mirroring
 * of modified issues):
 *
 * - One endpoint, `POST {API endpoint URL}` with a JSON body `{"query": …, "variables": …}` and
 *   `Authorization: Bearer <token>`; reads are GraphQL queries, changes are mutations (never sent here: the
 *   query texts are constants of this module, settings only choose among them).
 * - Lists are Relay connections: `field(first: Int, after: String, filterBy: …, orderBy: …) { nodes { … }
 *   pageInfo { hasNextPage endCursor } totalCount }`; the next page is asked with `after: endCursor`; the
 *   integrations ask `first: 500` at most.
 * - `issuesV2(filterBy: {statusChangedAt: {after, before}}, orderBy: {field: STATUS_CHANGED_AT, direction:
 *   ASC})` lists issues whose status changed in a range (the XSOAR mirroring query).
 * - Errors come in a 200 answer as GraphQL `errors` (`[{message, extensions: {code}}]`): the integration reads
 *   `errors` before `data`.
 *
 * Assumed (why early access): the error codes (`UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`,
 * `GRAPHQL_VALIDATION_FAILED`, `RATE_LIMIT_EXCEEDED`, `INTERNAL_SERVER_ERROR`: the Apollo server set), that a
 * rate limit is either a 429 or such an error in a 200 answer, the bounds of `after`/`before` (treated as
 * exclusive: windows overlap by a second and the boundary ids suppress repeats), `totalCount` on each page,
 * how long a page cursor stays valid (a cursor refused mid-window reads the window again), the 2-minute lag.
 * Wiz publishes no rate limits for the GraphQL API (they are per tenant); 429 answers are honoured.
 */

export interface WizSettings {
  pageSize: number;
  baseUrl?: string;
}

export const WIZ_MAX_PAGE = 500;

export const wizSettings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(WIZ_MAX_PAGE)
      .default(WIZ_MAX_PAGE)
      .meta({ title: 'Page size' })
      .describe(`Records asked for per page (first; Wiz's integrations ask at most ${WIZ_MAX_PAGE})`),
  })
  .strict();

/** The tenant's GraphQL endpoint: the account's, or `{baseUrl}/graphql` (proxy, simulator). */
export const wizEndpoint = (s: WizSettings, a: WizAccount) =>
  s.baseUrl ? `${s.baseUrl.replace(/\/+$/, '')}/graphql` : a.apiUrl;

/** One named, read-only list of the Wiz API, read by time window. */
export interface WizList {
  title: string;
  description: string;
  /** The connection field (`issuesV2`). */
  field: string;
  /** The query: variables `$first`, `$after`, `$filterBy` (and `$orderBy` when `orderBy` is given). */
  query: string;
  /** The `filterBy` of a window (its bounds as ISO-8601). */
  filter: (start: string, end: string) => Record<string, unknown>;
  orderBy?: Record<string, string>;
  /** The record's time (the field the filter applies to). */
  time: (node: any) => unknown;
  eventId: (node: any) => string | undefined;
  missingId: string;
  /** What the list holds, in the plural, for errors (`issues`). */
  what: string;
  /** The service-account API scope the query needs. */
  scope: string;
  /** Records that change in place: windows are read again until a pass is complete (see SettleOptions). */
  changesInPlace?: boolean;
}

const variables = (l: WizList, first: number, w: { start: Date; end: Date }) => ({
  first,
  filterBy: l.filter(w.start.toISOString(), w.end.toISOString()),
  ...(l.orderBy ? { orderBy: l.orderBy } : {}),
});

const request = (l: WizList, s: WizSettings, a: WizAccount, first: number, w: Window): PageRequest => ({
  url: wizEndpoint(s, a),
  body: JSON.stringify({ query: l.query, variables: variables(l, first, w) }),
});

interface GraphqlError {
  message?: unknown;
  extensions?: { code?: unknown };
}

const errorsOf = (answer: unknown): GraphqlError[] => {
  const e = (answer as { errors?: unknown })?.errors;
  return Array.isArray(e) ? e : [];
};
const codeOf = (e: GraphqlError) => (typeof e.extensions?.code === 'string' ? e.extensions.code : '');
const messageOf = (e: GraphqlError) => String(e.message ?? 'unknown error').slice(0, 200);

const RATE_LIMIT_WAIT_MS = 2000;

/** A rate limit told as a GraphQL error in a 200 answer: waited out like a 429. */
export function wizRateLimitedBody(answer: unknown): { waitMs: number; message: string } | undefined {
  const e = errorsOf(answer).find(
    (x) => codeOf(x) === 'RATE_LIMIT_EXCEEDED' || /rate limit/i.test(String(x.message ?? '')),
  );
  return e ? { waitMs: RATE_LIMIT_WAIT_MS, message: messageOf(e) } : undefined;
}

/** The GraphQL errors of an answer as the error a user sees: type, code and recommended action. */
export function wizGraphqlError(errors: GraphqlError[], l: Pick<WizList, 'field' | 'what' | 'scope'>) {
  const e = errors[0] ?? {};
  const code = codeOf(e);
  const message = `Wiz refused the ${l.field} query: ${messageOf(e)}${code ? ` (${code})` : ''}`;
  if (code === 'UNAUTHENTICATED')
    return configError(
      'wiz_unauthenticated',
      message,
      "Wiz did not accept the service account's token: check that the service account still exists and that the account's API endpoint URL is this tenant's (User settings → Tenant).",
    );
  if (code === 'FORBIDDEN' || /not authori[sz]ed|permission|forbidden|scope/i.test(messageOf(e)))
    return configError(
      'wiz_permission_denied',
      message,
      `The Wiz service account may not read ${l.what}: add the API scope ${l.scope} to it (Settings → Access Management → Service Accounts → edit), or disable the stream.`,
    );
  if (code === 'GRAPHQL_VALIDATION_FAILED' || code === 'BAD_USER_INPUT')
    return configError(
      'wiz_query_rejected',
      message,
      `This Wiz tenant does not accept Tributary's ${l.field} query (the feature may not be licensed on the tenant, or Wiz changed the API): disable the stream and report this with the logs.`,
    );
  return transientError(
    'wiz_graphql_error',
    message,
    'Wiz answered with an error; Tributary retries on the next run. If it repeats, report it with the logs.',
  );
}

/** The connection of an answer; GraphQL errors thrown as the errors above. */
export function wizConnection(answer: any, l: Pick<WizList, 'field' | 'what' | 'scope'>): any {
  const errors = errorsOf(answer);
  if (errors.length) throw wizGraphqlError(errors, l);
  const c = answer?.data?.[l.field];
  if (!c || !Array.isArray(c.nodes))
    throw transientError(
      'unexpected_response',
      `Wiz's answer had no ${l.field}.nodes.`,
      "Check the account's API endpoint URL (it ends in /graphql); Tributary retries on the next run.",
    );
  return c;
}

/** A page cursor Wiz no longer accepts (assumed: a BAD_USER_INPUT naming the cursor). */
const cursorExpired = (err: TributaryError) =>
  err.code === 'wiz_query_rejected' && /cursor/i.test(err.message);

export function wizStream(l: WizList): StreamDef<WizSettings, WizAccount> {
  const settle: SettleOptions | undefined = l.changesInPlace
    ? {
        count: (answer) => answer?.data?.[l.field]?.totalCount,
        gapCode: 'wiz_window_unstable',
        record: () => l.what.replace(/s$/, ''),
        action:
          "Lower the collector's interval so each window holds fewer pages; the next change of a missed record delivers it.",
      }
    : undefined;
  return restPoll<WizSettings, WizAccount>({
    title: l.title,
    description: l.description,
    method: 'POST',
    url: ({ settings: s, account }) => wizEndpoint(s, account),
    request: ({ settings: s, account }, w) => request(l, s, account, s.pageSize, w),
    records: (answer) => wizConnection(answer, l).nodes,
    paginate: paginate.cursor({
      place: graphqlVariable('after'),
      from: (answer) => answer?.data?.[l.field]?.pageInfo?.endCursor,
      hasMore: (answer) => answer?.data?.[l.field]?.pageInfo?.hasNextPage === true,
    }),
    cursor: { time: l.time, lag: '2m', minOverlap: '1s', order: 'any', maxWindow: '1d' },
    eventId: l.eventId,
    missingId: l.missingId,
    settle,
    cursorExpired,
  });
}

/** `{id}@{version time}` for records that change in place; undefined when either is missing. */
export const versionId = (id: unknown, at: unknown): string | undefined =>
  typeof id === 'string' && id && typeof at === 'string' && at ? `${id}@${at}` : undefined;

/** The source parts both Wiz sources share: errors, rate limits and Test Connection over their lists. */
export function wizSourceParts(
  lists: Record<string, WizList>,
): Pick<SourceDef<WizSettings, WizAccount>, 'explain' | 'rateLimitedBody' | 'test' | 'streams' | 'settings'> {
  return {
    settings: wizSettings as unknown as z.ZodType<WizSettings>,
    streams: Object.fromEntries(Object.entries(lists).map(([k, l]) => [k, wizStream(l)])),
    rateLimitedBody: wizRateLimitedBody,
    explain({ status }: VendorErrorContext) {
      if (status === 401)
        return {
          code: 'wiz_unauthorized',
          action:
            "Wiz refused the service account's token: check that the service account still exists and that the account's API endpoint URL belongs to the same tenant and region (User settings → Tenant → API Endpoint URL).",
        };
      if (status === 403)
        return {
          code: 'wiz_forbidden',
          action:
            "Wiz refused the request: check the service account's API scopes and any IP restriction on the tenant's API.",
        };
      return undefined;
    },
    async test({ settings: s, account, http, signal, streams }) {
      // Proves the token, the endpoint and each selected list's scope with a one-record query.
      const ctx = { http, settings: s, account, signal } as ReadContext<WizSettings, WizAccount>;
      const now = Date.now();
      const w = { start: new Date(now - 3_600_000), end: new Date(now) };
      for (const [stream, l] of Object.entries(lists)) {
        if (streams.length > 0 && !streams.includes(stream)) continue;
        const { body } = await fetchPage({ method: 'POST' }, ctx, request(l, s, account, 1, w));
        wizConnection(body, l);
      }
    },
  };
}
