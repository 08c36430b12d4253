/**
 * Azure Activity Log simulator: `GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values`
 * behind an Entra ID token endpoint (resource https://management.azure.com), following Microsoft's docs:
 *
 * - learn.microsoft.com/rest/api/monitor/activity-logs/list ("URI Parameters", "Responses", "Examples"):
 *   `api-version=2015-04-01`; `$filter` is required, "requires at least the start date/time" and allows only
 *   the patterns `eventTimestamp ge '…' and eventTimestamp le '…'` optionally `and resourceGroupName eq` /
 *   `resourceUri eq` / `resourceProvider eq` / `correlationId eq '…'`; optional `$select`; the answer is
 *   `EventDataCollection {value: EventData[], nextLink}`; other answers are `ErrorResponse {code, message}`.
 *   Records are shaped like the page's example (authorization, caller, channels, claims, correlationId,
 *   description, eventDataId, eventName, category, eventTimestamp, id, level, operationId, operationName,
 *   resourceGroupName, resourceProviderName, resourceId, status, subStatus, submissionTimestamp,
 *   subscriptionId, tenantId, properties, httpRequest).
 * - learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling: subscription
 *   reads throttled per principal by a token bucket (250, refilled at 25 a second); each answer carries
 *   `x-ms-ratelimit-remaining-subscription-reads`; a throttled request gets 429 with `Retry-After`.
 * - learn.microsoft.com/azure/azure-monitor/essentials/activity-log ("Retention period"): events are kept
 *   90 days.
 * - ARM refusals (learn.microsoft.com/azure/role-based-access-control/troubleshooting, "Access denied or
 *   permission errors"): 403 `AuthorizationFailed` "The client '…' with object id '…' does not have
 *   authorization to perform action '…' over scope '…' or the scope is invalid. If access was recently
 *   granted, please refresh your credentials."; a subscription the tenant does not have: 404
 *   `SubscriptionNotFound`.
 *
 * Assumed (not documented), decided here: events come newest first; a page holds at most 200 events; the
 * next page is a `$skipToken` in `nextLink` that keeps the other parameters; a `$filter` outside the
 * documented patterns answers 400 `BadRequest` in the ErrorResponse shape.
 */

import { AzureRestSim, azureError, TokenBuckets } from '../../sim/azure.ts';
import { type Clock, json, Rng, type SimReply, type SimRequest, seedOf, stableUuid } from '../../sim/kit.ts';
import {
  decodeSkipToken,
  encodeSkipToken,
  formatODataTime,
  msToTicks,
  parseODataTime,
} from '../../sim/microsoft.ts';

export const ACTIVITY_PATH =
  /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Insights\/eventtypes\/management\/values$/i;

interface Ev {
  sub: string;
  t: bigint;
  seq: number;
  visibleAt: number;
}

export interface ActivityLogSimulatorOptions {
  clock?: Clock;
  seed?: number;
  /** Subscriptions and the events each holds up front (default two subscriptions, 30 each). */
  subscriptions?: Record<string, number>;
  spacingMs?: number;
  pageSize?: number;
  /** ARM's bucket for subscription reads (default 250, 25 a second). */
  throttle?: { size: number; perSecond: number };
  eventBytes?: number;
}

const FILTER =
  /^eventTimestamp ge '([^']+)' and eventTimestamp le '([^']+)'(?: and (resourceGroupName|resourceUri|resourceProvider|correlationId) eq '([^']*)')?$/i;

export class ActivityLogSimulator extends AzureRestSim {
  private readonly events: Ev[] = [];
  private seq = 0;
  private readonly pageSize: number;
  private readonly spacing: number;
  private readonly eventBytes?: number;
  readonly buckets: TokenBuckets;
  /** Subscriptions the app has no role on (403 AuthorizationFailed). */
  readonly denied = new Set<string>();
  readonly subscriptionIds: string[];
  readonly objectId: string;

  constructor(o: ActivityLogSimulatorOptions = {}) {
    super(
      { clock: o.clock, seed: o.seed, resource: 'https://management.azure.com', name: 'arm' },
      {
        errorReply: (_req, status) =>
          azureError(status, status >= 500 ? 'InternalServerError' : 'BadRequest', `HTTP ${status}`),
        rateLimitReply: (req) => this.throttledReply(req, 0),
      },
    );
    this.pageSize = o.pageSize ?? 200;
    this.spacing = o.spacingMs ?? 60_000;
    this.eventBytes = o.eventBytes;
    this.buckets = new TokenBuckets(o.throttle ?? { size: 250, perSecond: 25 }, this.clock);
    this.objectId = stableUuid(9, seedOf(this.seed, 'oid'));
    const subs = o.subscriptions ?? {
      [stableUuid(3, seedOf(this.seed, 's1'))]: 30,
      [stableUuid(3, seedOf(this.seed, 's2'))]: 30,
    };
    this.subscriptionIds = Object.keys(subs);
    for (const [sub, n] of Object.entries(subs))
      this.add(sub, n, { from: this.clock() - 30 * 60_000 - n * this.spacing });
    this.server.route(
      'GET',
      '/subscriptions/:sub/providers/Microsoft.Insights/eventtypes/management/values',
      (req) => this.listValues(req),
    );
    this.server.route(
      'GET',
      '/subscriptions/:sub/providers/microsoft.insights/eventtypes/management/values',
      (req) => this.listValues(req),
    );
  }

  /** Adds `n` events to subscription `sub`, `spacingMs` apart from `from`; returns their eventDataIds. */
  add(
    sub: string,
    n: number,
    o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {},
  ): string[] {
    if (!this.subscriptionIds.includes(sub)) this.subscriptionIds.push(sub);
    const now = this.clock();
    const spacing = o.spacingMs ?? this.spacing;
    const from = o.from ?? now - n * spacing;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const ms = from + i * spacing;
      const seq = this.seq++;
      const ev: Ev = {
        sub,
        t: msToTicks(ms) + BigInt(seedOf(this.seed, seq) % 10_000),
        seq,
        visibleAt: Math.max(ms + (o.visibleDelayMs ?? 0), now),
      };
      this.events.push(ev);
      out.push(this.idOf(ev));
    }
    this.events.sort((a, b) => (a.t === b.t ? a.seq - b.seq : a.t < b.t ? -1 : 1));
    return out;
  }

  /** Every eventDataId a full drain of `subs` must deliver. */
  eventIds(subs: string[] = this.subscriptionIds): string[] {
    return this.events.filter((e) => subs.includes(e.sub)).map((e) => this.idOf(e));
  }

  private idOf(e: Ev): string {
    return stableUuid(5, seedOf(this.seed, 'event', e.seq));
  }

  private throttledReply(req: SimRequest, retryAfter: number): SimReply {
    const wait = retryAfter || 1;
    return azureError(
      429,
      'SubscriptionRequestsThrottled',
      `Number of 'read' requests for subscription '${req.params.sub ?? ''}' actor '${this.objectId}' exceeded. Please try again after '${wait}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`,
      { 'retry-after': String(wait), 'x-ms-ratelimit-remaining-subscription-reads': '0' },
    );
  }

  private listValues(req: SimRequest): SimReply {
    const unauthorised = this.unauthorised(req);
    if (unauthorised) return unauthorised;
    const sub = req.params.sub.toLowerCase();
    const limit = this.buckets.take(`${sub}:${this.objectId}`);
    if ('retryAfter' in limit) return this.throttledReply(req, limit.retryAfter);
    const headers = { 'x-ms-ratelimit-remaining-subscription-reads': String(limit.remaining) };
    if (!this.subscriptionIds.includes(sub))
      return azureError(
        404,
        'SubscriptionNotFound',
        `The subscription '${req.params.sub}' could not be found.`,
        headers,
      );
    if (this.denied.has(sub))
      return azureError(
        403,
        'AuthorizationFailed',
        `The client '${this.clientId}' with object id '${this.objectId}' does not have authorization to perform action 'microsoft.insights/eventtypes/values/read' over scope '/subscriptions/${sub}/providers/microsoft.insights' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        headers,
      );
    const bad = (message: string) => json(400, { code: 'BadRequest', message }, headers);
    if (req.query.get('api-version') !== '2015-04-01')
      return azureError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${req.query.get('api-version') ?? ''}' is invalid. The supported versions are '2015-04-01,2017-03-01-preview'.`,
        headers,
      );
    const filter = req.query.get('$filter');
    const m = filter ? FILTER.exec(filter.trim()) : null;
    if (!m)
      return bad(
        "The $filter query parameter is required and must start with eventTimestamp ge '<start>' and eventTimestamp le '<end>'.",
      );
    const start = parseODataTime(m[1]);
    const end = parseODataTime(m[2]);
    if (start === undefined || end === undefined || end < start)
      return bad(`Invalid time range in $filter: '${m[1]}' to '${m[2]}'.`);
    const skip = req.query.get('$skipToken');
    const cursor = decodeSkipToken<{ t: string; s: number }>(skip);
    if (skip !== null && !cursor) return bad('Invalid $skipToken.');
    const link = (token: object) => {
      const q = new URLSearchParams(req.query);
      q.set('$skipToken', encodeSkipToken(token));
      return `${req.origin}${req.path}?${q.toString()}`;
    };
    if (req.empty)
      return json(200, { value: [], nextLink: `${req.origin}${req.path}${req.url.search}` }, headers);
    const now = this.clock();
    const oldest = msToTicks(now - 90 * 86_400_000);
    const after = cursor ? { t: BigInt(cursor.t), s: cursor.s } : undefined;
    const items: Ev[] = [];
    let more = false;
    // Newest first: walk the time-ordered list backwards from the cursor.
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e.sub !== sub || e.visibleAt > now || e.t < start || e.t > end || e.t < oldest) continue;
      if (after && (e.t > after.t || (e.t === after.t && e.seq >= after.s))) continue;
      if (items.length === this.pageSize) {
        more = true;
        break;
      }
      items.push(e);
    }
    const last = items.at(-1);
    let next = more && last ? link({ t: String(last.t), s: last.seq }) : undefined;
    if (this.loopPages > 0) {
      this.loopPages--;
      next = `${req.origin}${req.path}${req.url.search}`;
    }
    const body = `{"value":[${items.map((e) => this.render(e)).join(',')}]${next ? `,"nextLink":${JSON.stringify(next)}` : ''}}`;
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
  }

  private render(e: Ev): string {
    const rng = new Rng(seedOf(this.seed, 'rec', e.seq));
    const id = this.idOf(e);
    const rg = rng.pick(['rg-prod-web', 'rg-shared-network', 'rg-data']);
    const [provider, type, op, localized] = rng.pick([
      [
        'Microsoft.Compute',
        'virtualMachines',
        'Microsoft.Compute/virtualMachines/write',
        'Create or Update Virtual Machine',
      ],
      [
        'Microsoft.Network',
        'networkSecurityGroups',
        'Microsoft.Network/networkSecurityGroups/securityRules/write',
        'Create or Update Security Rule',
      ],
      [
        'Microsoft.Storage',
        'storageAccounts',
        'Microsoft.Storage/storageAccounts/listKeys/action',
        'List Storage Account Keys',
      ],
      ['Microsoft.KeyVault', 'vaults', 'Microsoft.KeyVault/vaults/write', 'Update Key Vault'],
    ] as const);
    const resourceId = `/subscriptions/${e.sub}/resourceGroups/${rg}/providers/${provider}/${type}/${rng.pick(['web01', 'nsg-dmz', 'stlogs01', 'kv-prod'])}`;
    const ts = formatODataTime(e.t);
    const caller = rng.pick(['admin@contoso.com', 'deploy@contoso.com', this.clientId]);
    const category = rng.pick(['Administrative', 'Administrative', 'Policy', 'Security']);
    const record = {
      authorization: { action: op, scope: resourceId },
      caller,
      channels: 'Operation',
      claims: {
        aud: 'https://management.core.windows.net/',
        iss: `https://sts.windows.net/${this.tenantId}/`,
        appid: stableUuid(6, rng.int(0, 1000)),
        ipaddr: `203.0.113.${rng.int(1, 254)}`,
        name: caller,
      },
      correlationId: rng.uuid(),
      description: '',
      eventDataId: id,
      eventName: { value: 'EndRequest', localizedValue: 'End request' },
      category: { value: category, localizedValue: category },
      eventTimestamp: ts,
      id: `${resourceId}/events/${id}/ticks/${e.t + 621_355_968_000_000_000n}`,
      level: 'Informational',
      operationId: rng.uuid(),
      operationName: { value: op, localizedValue: localized },
      resourceGroupName: rg,
      resourceProviderName: { value: provider, localizedValue: provider },
      resourceType: { value: `${provider}/${type}`, localizedValue: `${provider}/${type}` },
      resourceId,
      status: { value: 'Succeeded', localizedValue: 'Succeeded' },
      subStatus: { value: 'OK', localizedValue: 'OK (HTTP Status Code: 200)' },
      submissionTimestamp: formatODataTime(e.t + 1_234_567n),
      subscriptionId: e.sub,
      tenantId: this.tenantId,
      properties: {
        statusCode: 'OK',
        serviceRequestId: rng.uuid(),
        eventCategory: category,
        entity: resourceId,
        message: op as string,
      },
      httpRequest: {
        clientRequestId: rng.uuid(),
        clientIpAddress: `203.0.113.${rng.int(1, 254)}`,
        method: 'PUT',
      },
    };
    let text = JSON.stringify(record);
    if (this.eventBytes && text.length < this.eventBytes) {
      record.properties.message = `${op} ${'x'.repeat(this.eventBytes - text.length)}`;
      text = JSON.stringify(record);
    }
    return text;
  }
}
