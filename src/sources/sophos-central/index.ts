import { z } from 'zod';
import { type SophosAccount, sophosGlobalUrl } from '../../accounts/sophos-central.ts';
import { configError } from '../../core/errors.ts';
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import { type KeyedCheckpoint, keyedStream, listAll } from '../../engine/keyed-stream.ts';
import type { Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Sophos Central endpoint events and alerts through the SIEM integration API. Vendor facts
 * (developer.sophos.com, "Getting started" and the SIEM integration API reference; Sophos's own SIEM script,
 * github.com/sophos/Sophos-Central-SIEM-Integration, api_client.py):
 *
 * - The token (see the account kind), then `GET {global}/whoami/v1` → `{id, idType, apiHosts: {global,
 *   dataRegion}}`. A tenant's data is at its `dataRegion`; a partner or an organization names the tenant:
 *   `GET {global}/{partner|organization}/v1/tenants/{tenantId}` with `X-Partner-ID` / `X-Organization-ID`
 *   gives the tenant's `apiHost` (the script requires the tenant id for such credentials);
 *   `GET {global}/{partner|organization}/v1/tenants?pageTotal=true&page=N` lists them all (`pageSize` at most
 *   100; `pages.total` with `pageTotal=true`), each with `id`, `name`, `apiHost`, `status` ("Getting started"
 *   for partners and organizations).
 * - `GET {dataRegion}/siem/v1/events` and `/siem/v1/alerts` with `X-Tenant-ID`: `limit` (at most 1000),
 *   `from_date` (Unix seconds, within the last 24 hours, "ignored if cursor is set") or `cursor` →
 *   `{has_more, next_cursor, items}`. The script saves `next_cursor` after every page, also the last, and
 *   asks with it next time.
 * - Items have `id` (unique), `when` (the event's time) and `created_at`.
 *
 * Partner and organization credentials without a tenant ID read every tenant they manage, each with its own
 * position (engine: keyed stream): the tenants are listed every run, a new one starts at the lookback (at most
 * 24 hours), one no longer listed leaves the checkpoint, a tenant without an API host (not provisioned) is
 * skipped.
 *
 * How it reads (engine: opaque cursor). Each run asks whoami (and the partner's tenant), then reads from
 * the saved request: `next_cursor` is the checkpoint, stored verbatim after every page, and when `has_more`
 * is false the run ends with it saved for the next. The first run starts `from_date` = the collector's
 * lookback, at most 24 hours back. Sophos keeps 24 hours (`retention`): a position older than that is a gap
 * warning, and a cursor Sophos refuses (400 naming the cursor) restarts from the newest item delivered, moved
 * up to 24 hours back, with a gap warning naming what was lost.
 *
 * Not confirmed in public documentation, assumed: rate limits in numbers, how Sophos refuses a cursor
 * older than 24 hours, the order of items.
 */

export interface SophosSettings {
  tenantId?: string;
  pageSize: number;
  baseUrl?: string;
  /** Set by the stream for its requests: where the tenant's data is, and its id. */
  target?: { dataRegion: string; tenantId: string };
}

const DAY_MS = 86_400_000;
/** from_date must lie within the last 24 hours when it reaches Sophos: a minute's margin. */
const MARGIN_MS = 60_000;

const settings = z
  .object({
    tenantId: z
      .string()
      .trim()
      .regex(/^[0-9a-fA-F-]{36}$/, 'expected a Sophos Central tenant ID (a UUID)')
      .optional()
      .meta({ title: 'Tenant ID' })
      .describe(
        'With partner or organization credentials: the one tenant to read (its ID in Sophos Central); empty: every tenant they manage',
      ),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .meta({ title: 'Items per request' })
      .describe('Items asked for per request (Sophos allows at most 1000)'),
  })
  .strict();

interface Target {
  dataRegion: string;
  tenantId: string;
}

/** Partner and organization credentials without a tenant ID: every tenant they manage, listed by page. */
const tenantPages: Paginator = {
  next({ request, body }) {
    const current = Number(request.query?.page ?? 1);
    const total = Number(body?.pages?.total);
    return Number.isInteger(total) && current < total
      ? { url: request.url, query: { ...request.query, page: current + 1 } }
      : undefined;
  },
};

/**
 * Where to read: one tenant (tenant credentials, or a partner's or organization's with a tenant ID), or, with
 * `all`, every tenant a partner or organization manages.
 */
async function resolveTargets(ctx: {
  settings: SophosSettings;
  account: SophosAccount;
  http: ReadContext['http'];
}): Promise<{ all: false; target: Target } | { all: true; targets: Target[] }> {
  const { body: me } = await ctx.http.getJson(`${sophosGlobalUrl(ctx.account)}/whoami/v1`);
  const idType = me?.idType;
  if ((idType === 'partner' || idType === 'organization') && !ctx.settings.tenantId) {
    const global = (me?.apiHosts?.global ?? sophosGlobalUrl(ctx.account)).replace(/\/+$/, '');
    const header = { [idType === 'partner' ? 'x-partner-id' : 'x-organization-id']: String(me.id) };
    const tenants = (await listAll(
      ctx.http,
      { url: `${global}/${idType}/v1/tenants`, query: { pageTotal: 'true', pageSize: 100, page: 1 } },
      tenantPages,
      (body) => body?.items,
      'Sophos tenants',
      { headers: header },
    )) as Array<{ id?: unknown; apiHost?: unknown }>;
    const targets = tenants.flatMap((t) =>
      typeof t.id === 'string' && typeof t.apiHost === 'string'
        ? [{ tenantId: t.id, dataRegion: (ctx.settings.baseUrl ?? t.apiHost).replace(/\/+$/, '') }]
        : [],
    );
    return { all: true, targets };
  }
  return { all: false, target: await resolveTarget(ctx, me) };
}

async function resolveTarget(
  ctx: {
    settings: SophosSettings;
    account: SophosAccount;
    http: ReadContext['http'];
  },
  me: any,
): Promise<Target> {
  const idType = me?.idType;
  if (idType === 'tenant') {
    if (ctx.settings.tenantId && ctx.settings.tenantId !== me.id)
      throw configError(
        'sophos_tenant_mismatch',
        `These tenant credentials belong to tenant ${me.id}, not to the tenant ID set on the collector.`,
        "Clear the collector's tenantId (tenant credentials read their own tenant), or use the partner's credentials.",
      );
    const region = ctx.settings.baseUrl ?? me?.apiHosts?.dataRegion;
    if (typeof region !== 'string') throw noRegion();
    return { dataRegion: region.replace(/\/+$/, ''), tenantId: me.id };
  }
  if (idType === 'partner' || idType === 'organization') {
    const global = (me?.apiHosts?.global ?? sophosGlobalUrl(ctx.account)).replace(/\/+$/, '');
    const { body: tenant } = await ctx.http.getJson(
      `${global}/${idType}/v1/tenants/${encodeURIComponent(ctx.settings.tenantId!)}`,
      undefined,
      { [idType === 'partner' ? 'x-partner-id' : 'x-organization-id']: String(me.id) },
    );
    const region = ctx.settings.baseUrl ?? tenant?.apiHost;
    if (typeof region !== 'string') throw noRegion();
    return { dataRegion: region.replace(/\/+$/, ''), tenantId: ctx.settings.tenantId! };
  }
  throw configError(
    'sophos_unknown_identity',
    `Sophos whoami answered an identity type Tributary does not know (${String(idType).slice(0, 40)}).`,
    'Use tenant, partner or organization API credentials from Sophos Central.',
  );
}

const noRegion = () =>
  configError(
    'sophos_no_data_region',
    'Sophos did not say where the tenant’s data is (no data region API host).',
    'Check that the tenant is provisioned in Sophos Central; if it is, report this with the logs.',
  );

/** The next page: `cursor` alone (Sophos ignores from_date with a cursor; it is dropped so it cannot age). */
const nextCursor: Paginator = {
  next({ request, body }) {
    const cursor = body?.next_cursor;
    if (typeof cursor !== 'string' || !cursor) return undefined;
    const { from_date: _, cursor: __, ...rest } = request.query ?? {};
    return { url: request.url, query: { ...rest, cursor } };
  },
};

function siemStream(
  kind: 'events' | 'alerts',
  title: string,
  description: string,
): StreamDef<SophosSettings, SophosAccount> {
  const stream = restPoll<SophosSettings, SophosAccount>({
    title,
    description,
    url: ({ settings: s }) => `${s.target!.dataRegion}/siem/v1/${kind}`,
    params: ({ settings: s, now }, w) => ({
      limit: s.pageSize,
      from_date: Math.floor(Math.max(w.start.getTime(), now() - DAY_MS + MARGIN_MS) / 1000),
    }),
    headers: ({ settings: s }) => ({ 'x-tenant-id': s.target!.tenantId }),
    records: (body) => body?.items,
    paginate: nextCursor,
    cursor: {
      kind: 'opaque',
      time: 'when',
      caughtUp: (body) => body?.has_more === false,
      expired: (err) => err.code === 'sophos_cursor_expired',
    },
    eventId: (i) => (typeof i?.id === 'string' && i.id ? i.id : undefined),
    missingId: `Sophos ${kind.slice(0, -1)} without an id`,
  });
  const oneTenant = (target: Target): StreamDef<SophosSettings, SophosAccount> => ({
    title,
    read: (ctx) => stream.read({ ...ctx, settings: { ...ctx.settings, target } }),
  });
  return {
    title,
    description,
    async *read(ctx) {
      const where = await resolveTargets(ctx);
      // A collector switched between one tenant and all of them starts that shape's position afresh.
      const keyed = (ctx.checkpoint as KeyedCheckpoint | undefined)?.parts !== undefined;
      if (!where.all) {
        yield* oneTenant(where.target).read({ ...ctx, checkpoint: keyed ? undefined : ctx.checkpoint });
        return;
      }
      yield* keyedStream<SophosSettings, SophosAccount, Target>({
        title,
        parts: async () => where.targets,
        key: (t) => t.tenantId,
        stream: oneTenant,
      }).read({ ...ctx, checkpoint: keyed ? (ctx.checkpoint as KeyedCheckpoint) : undefined });
    },
  };
}

export default defineSource<SophosSettings, SophosAccount>({
  id: 'sophos-central',
  title: 'Sophos Central',
  account: 'sophos-central',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Sophos Central endpoint and server events (detections, web control, updates, device control) and alerts, through the SIEM integration API.',
  setupGuide: [
    '1. In Sophos Central (as a Super Admin): **Global Settings → API Credentials Management → Add Credential**;',
    '   name it, choose the role **Service Principal Read-Only**, and copy the **Client ID** and **Client Secret**',
    '   (the secret is shown once).',
    '2. Partners (Partner Dashboard → Settings & Policies → API Credentials) and organizations (Enterprise',
    '   Dashboard) may use their own credentials: the collector then reads every tenant they manage, each with its',
    "   own position (new tenants are picked up on the next run); set the collector's **Tenant ID** to read one only.",
    '3. Create a **Sophos Central** account in Tributary with the Client ID and Secret.',
    '',
    'Sophos keeps SIEM events and alerts for 24 hours: run the collector at least every few hours. The first run',
    'reads at most the last 24 hours.',
    'Early access: Sophos does not publish its rate limits in numbers or how it refuses a cursor older than 24',
    'hours. Tributary paces requests at 2 a second per account, waits as long as a 429 asks, and treats a refused',
    'cursor as a gap (warned), reading again from the newest item it delivered.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<SophosSettings>,
  retention: '24h',
  streams: {
    events: siemStream(
      'events',
      'Events',
      'Endpoint and server events: detections, clean-ups, web and device control, updates, policy changes.',
    ),
    alerts: siemStream(
      'alerts',
      'Alerts',
      'Alerts raised in Sophos Central: malware, runtime detections, policy violations.',
    ),
  },
  explain({ status, message, url }) {
    const withCursor = url.searchParams.has('cursor');
    if (status === 400 && withCursor && /cursor/i.test(message))
      return {
        code: 'sophos_cursor_expired',
        action:
          'Sophos refused the saved cursor (older than 24 hours, or unknown): Tributary reads again from the newest item it delivered and warns of the gap. If this error stops a run, reset the checkpoint of the stream.',
      };
    if (status === 400 && /from_date/i.test(message))
      return {
        code: 'sophos_from_date_too_old',
        action: "Sophos serves only the last 24 hours: set the collector's start or lookback within them.",
      };
    if (status === 403 && url.pathname.includes('/tenants/'))
      return {
        code: 'sophos_tenant_forbidden',
        action:
          "The partner or organization credential cannot see this tenant: check the collector's tenantId.",
      };
    if (status === 403)
      return {
        code: 'sophos_forbidden',
        action:
          'Sophos refused access to the tenant: the API credential needs the Service Principal Read-Only role (or higher) for this tenant.',
      };
    if (status === 404 && url.pathname.includes('/tenants/'))
      return {
        code: 'sophos_tenant_not_found',
        action: "No tenant with the collector's tenantId is visible to these credentials: check the ID.",
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the credential, the tenant (the first, for all of a partner's) and read access to each stream.
    const where = await resolveTargets({ settings: s, account, http });
    const target = where.all ? where.targets[0] : where.target;
    if (!target)
      throw configError(
        'sophos_no_tenants',
        'These partner or organization credentials manage no tenant with an API host yet.',
        'Check the tenants in Sophos Central (Partner Dashboard → Customers, or Organization → Tenants).',
      );
    const from = Math.floor((Date.now() - 3_600_000) / 1000);
    for (const kind of streams.length ? streams : ['events', 'alerts'])
      await http.getJson(
        `${target.dataRegion}/siem/v1/${kind}`,
        { limit: 1, from_date: from },
        { 'x-tenant-id': target.tenantId },
      );
  },
});
