import { z } from 'zod';
import { type TrellixAccount, trellixHost } from '../../accounts/trellix.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Trellix Endpoint Security threat events, from the ePolicy Orchestrator – SaaS Events API. Vendor facts
 * (docs.trellix.com, ePolicy Orchestrator – SaaS):
 *
 * - "Event operation": `GET /eventservice/api/v2/events` "for external clients to query threat events" (Trellix
 *   Endpoint); "Request parameters": `type` (`threats` | `incidents` | `all`), `since` (default
 *   1970-01-01T00:00:00.000Z) and `until` (default now), `sort` (`asc` | `desc`), `Authorization` a Trellix IAM
 *   token with `epo.evt.r` (see the `trellix` account kind).
 * - "Process events": "The most reliable method … is to use a pagination cursor from the `after` parameter":
 *   ask with `since`, then follow "the **Link** response header value within the `next` link relationship";
 *   "If there is no `next` link in the response header, you have received all events for the time period".
 * - "Response codes": `{"Events": [{"<field>": {"name", "type", "value"}, …}]}` — every field an object whose
 *   `value` holds the data (`detectedutc` a `java.sql.Timestamp` in epoch milliseconds, …).
 * - DLP incidents through this API are deprecated (the DLP SaaS Incidents API replaces them): only `threats`.
 *
 * How it reads. Windows `[since, until)` sorted `asc`, pages by the Link header's `next`, the position moving
 * after every page. One event per threat event: id `autoguid.value` (else the record's hash), time
 * `receivedutc.value` (else `detectedutc.value`).
 *
 * Assumed (why early access): that `since`/`until` select by the time ePO received the event (`receivedutc`),
 * the `autoguid` field, bounds inclusive/exclusive, error bodies, the rate limit (see the account kind), how long
 * events stay listable (no gap warning) and the 2-minute lag.
 */

export interface TrellixSettings {
  baseUrl?: string;
}

const settings = z.object({}).strict();

const api = (s: TrellixSettings, a: TrellixAccount) => (s.baseUrl ?? trellixHost(a)).replace(/\/+$/, '');

const fieldValue = (r: any, field: string): unknown => r?.[field]?.value;

export const threatId = (r: any): string => {
  const guid = fieldValue(r, 'autoguid');
  return typeof guid === 'string' && guid ? guid : hashId(r);
};

export const threatTime = (r: any): unknown => fieldValue(r, 'receivedutc') ?? fieldValue(r, 'detectedutc');

const threats = restPoll<TrellixSettings, TrellixAccount>({
  title: 'Threat events',
  description: 'Trellix Endpoint Security threat events (ePO – SaaS Events API, type=threats).',
  url: ({ settings: s, account }) => `${api(s, account)}/eventservice/api/v2/events`,
  params: (_ctx, w) => ({
    type: 'threats',
    since: w.start.toISOString(),
    until: w.end.toISOString(),
    sort: 'asc',
  }),
  records: (body) => body?.Events,
  paginate: paginate.linkHeader(),
  cursor: { time: 'receivedutc.value', lag: '2m', order: 'asc', maxWindow: '1d' },
  eventTime: threatTime,
  eventId: threatId,
});

export default defineSource<TrellixSettings, TrellixAccount>({
  id: 'trellix-endpoint-security',
  title: 'Trellix Endpoint Security',
  account: 'trellix',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Trellix Endpoint Security (ENS) threat events from ePolicy Orchestrator – SaaS: detections, the detecting product, the threat, the action taken and the host and user involved.',
  setupGuide: [
    '1. Sign in to the Trellix IAM dashboard (https://auth.ui.trellix.com) and open **Client Credentials**; create',
    '   credentials with the ePO events entitlement (scope **epo.evt.r**: threat events only). Copy the **client ID**',
    '   and **client secret**.',
    '2. Create a **Trellix** account in Tributary with them and the region of the ePO – SaaS tenant (us, sg, eu,',
    '   au, in). The scope defaults to `epo.evt.r`.',
    '3. Accounts that sign in with multi-factor authentication cannot get tokens with the older username/password',
    '   grant: use client credentials as above.',
    '',
    'Early access: Trellix does not document which time `since`/`until` select on, the event id field, the rate',
    'limit or how long events stay listable; Tributary paces 1 request/s per account and waits 2 minutes behind now.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<TrellixSettings>,
  streams: { threats },
  explain({ status }) {
    if (status === 401)
      return {
        code: 'trellix_unauthorized',
        action: 'Trellix refused a fresh token: check the client credentials and the account’s region.',
      };
    if (status === 403)
      return {
        code: 'trellix_forbidden',
        action:
          'The token lacks the epo.evt.r scope (threat events): add the entitlement to the client credentials in the Trellix IAM dashboard.',
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // Proves the client credentials (token), the scope and the region.
    const now = Date.now();
    await http.getJson(`${api(s, account)}/eventservice/api/v2/events`, {
      type: 'threats',
      since: new Date(now - 3_600_000).toISOString(),
      until: new Date(now).toISOString(),
      sort: 'asc',
    });
  },
});
