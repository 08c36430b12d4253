import { z } from 'zod';
import { CLOUDS, MICROSOFT_APIS, type MicrosoftAccount } from '../../accounts/microsoft.ts';
import { toIsoTime, vendorText } from '../../core/envelope.ts';
import type { ErrorInfo } from '../../core/errors.ts';
import { configError, gapWarning, TributaryError, transientError } from '../../core/errors.ts';
import {
  type Batch,
  defineSource,
  type HttpClient,
  type ReadContext,
  type StreamDef,
  streamsInSettings,
  type VendorErrorContext,
} from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { type ArtifactPart, recordParts } from '../../engine/artifact-list.ts';
import { readArtifactWindows } from '../../engine/artifact-window.ts';
import type { PageRequest } from '../../engine/paginate.ts';
import { graphErrorCode } from '../microsoft-graph.ts';

/**
 * Office 365 Management Activity API — the unified audit log of Microsoft 365 (Entra ID, Exchange,
 * SharePoint/OneDrive, Teams and the other workloads, DLP). Vendor facts, from Microsoft's docs:
 *
 * - learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference:
 *   roots `https://manage.office.com` (Enterprise), `manage-gcc.office.com` (GCC), `manage.office365.us` (GCC
 *   High), `manage.protection.apps.mil` (DoD), then `/api/v1.0/{tenant GUID}/activity/feed/{operation}`; the
 *   token's tenant must match the URL's and carry ActivityFeed.Read. Content types Audit.AzureActiveDirectory,
 *   Audit.Exchange, Audit.SharePoint, Audit.General (every other workload), DLP.All. A subscription per content
 *   type must be started (`POST /subscriptions/start?contentType=`) before content can be listed; its first
 *   content "can take up to 12 hours"; a restarted subscription has content "from that point forward" only.
 *   `GET /subscriptions/content?contentType&startTime&endTime` lists blobs by `contentCreated` ("when the content
 *   was made available"), startTime inclusive, endTime exclusive, UTC in `YYYY-MM-DD[THH:MM[:SS]]`, at most
 *   24 hours apart and not more than 7 days back; more results come through the `NextPageUri` response header
 *   until a response has none ("Pagination"), whose sample is `https://manage.office.com/api/v1/{tenant_id}/
 *   activity/feed/subscriptions/content?contentType=…&startTime=…&endTime=…&nextPage=…`: `/api/v1/` where the
 *   requests use `/api/v1.0/`, and no PublisherIdentifier. The link is followed as given (any letter case of
 *   its parameter names), only its origin moved to a configured baseUrl, PublisherIdentifier added. Each entry's `contentUri` is fetched (GET, same bearer token) and answers a JSON
 *   array of records. Records within and across blobs are not in time order. Errors are
 *   `{"error":{"code":"AFnnnnn","message"}}`: AF10001 (token lacks ActivityFeed.Read), AF20010–AF20013 (tenant),
 *   AF20022 (no subscription), AF20023 (subscription disabled), AF20030 (window), AF20050/AF20051 (content
 *   unknown/expired: "Content older than 7 days cannot be retrieved"), AF429 (throttled). Throttling: a
 *   tenant-level quota, "initially … 2,000 requests per minute", more for E5, capped. `PublisherIdentifier`
 *   ("the tenant GUID of the vendor coding against the API … used for throttling … Make sure this parameter
 *   is specified in all issued requests to get a dedicated quota"): still listed on every operation although
 *   the same page says limits moved from publisher level to tenant level; we send it everywhere, the account's
 *   tenant GUID by default (the troubleshooting page: "If you're implementing a client for your company's
 *   tenant, the PublisherIdentifier is the Tenant GUID"), blob GETs included ("it should also be included in
 *   the GET request to the contentUri URL").
 * - …/troubleshooting-the-office-365-management-activity-api (FAQs and troubleshooting): throttling shows as
 *   `403 {"error":{"code":"AF429",…}}`; unified auditing must be turned on in the tenant; no latency SLA,
 *   events typically available 60–90 minutes after they happen for core services, longer for others (most
 *   within 24 hours); "contentCreated … is not the date that the event … was created"; blobs stay
 *   retrievable 7 days after they became available.
 * - …/office-365-management-activity-api-schema: `Id` ("Unique identifier of an audit record", a GUID) and
 *   `CreationTime` ("The date and time in Coordinated Universal Time (UTC) when the user performed the
 *   activity"), printed without a zone (`2015-06-29T20:03:19`), so it is read as UTC here (JavaScript would
 *   read a zone-less date-time as local time). DLP records carry `SensitiveInfoDetectionIsIncluded`; the
 *   sensitive values need ActivityFeed.ReadDlp ("Read DLP policy events including sensitive data").
 * - …/get-started-with-office-365-management-apis: the app registration gets **Office 365 Management APIs**
 *   application permissions and admin consent; unified audit logging must be on.
 * - Not in the reference, observed by Microsoft's own samples and issues (MicrosoftDocs/office-365-management-api
 *   #387, microsoft/coe-starter-kit#2807, where a Microsoft maintainer calls it "not an error"): /start on an
 *   enabled subscription answers `400 AF20024 "The subscription is already enabled. No property change."` —
 *   success here. A tenant without unified auditing answers /start with a 400 whose message says
 *   "Tenant … does not exist" (MicrosoftDocs/office-365-management-api#89).
 *
 * Decisions:
 * - The one write: `subscriptions/start` for an enabled stream whose subscription is missing or disabled
 *   (listing answered AF20022/AF20023, or Test Connection found it so), unless `startSubscriptions` is false.
 *   Idempotent; declared in `vendorWrites`. A restarted subscription is reported as a gap (content between the
 *   stop and the restart is not available).
 * - Artifact-window cursor (engine/artifact-window.ts) on `contentCreated`. Lag 2 minutes; overlap 1 hour.
 *   Microsoft documents latency only from an activity to its blob (60–90 minutes, up to 24 hours); that needs
 *   no lag here, because a late record arrives in a later blob, listed by its own contentCreated. What the API
 *   does not promise is that a blob is listed as soon as its contentCreated has passed (it aggregates across
 *   datacenters): each run lists the hour before its position again and skips the blobs already delivered
 *   (their content ids are in the checkpoint), for one extra listing request per run. The 2 minutes absorb
 *   clock skew. A listing spans at most 23 h 59 min (24 h allowed; bounds are whole seconds), never starts
 *   more than 7 days minus 10 minutes back.
 * - Blobs already expired (AF20051) or unknown (AF20050) when fetched are skipped with a gap warning instead of
 *   stalling the stream. AF429 throttling is retried: as a 403 (`rateLimited`) after Retry-After or a minute,
 *   as a 429 like any other.
 * - Ids from `Id`; times from `CreationTime` read as UTC. Duplicated records across blobs keep their `Id`.
 */

export const CONTENT_TYPES = [
  'Audit.AzureActiveDirectory',
  'Audit.Exchange',
  'Audit.SharePoint',
  'Audit.General',
  'DLP.All',
] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

const DEFAULT_TYPES: ContentType[] = [
  'Audit.AzureActiveDirectory',
  'Audit.Exchange',
  'Audit.SharePoint',
  'Audit.General',
];
const RETENTION = '7d';
const LAG = '2m';
const OVERLAP = '1h';
const MAX_SPAN = '23h59m';
const BATCH_EVENTS = 500;
const BATCH_BYTES = 1024 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const settings = z
  .object({
    contentTypes: z
      .array(z.enum(CONTENT_TYPES))
      .min(1)
      .optional()
      .meta({ title: 'Content types (older configs)', deprecated: true })
      .describe(
        "Older configs chose the content types here; they are the collector's streams now (DLP.All also needs ActivityFeed.ReadDlp for the sensitive values), and a list given here is stored as the streams",
      ),
    plan: z
      .enum(['enterprise', 'gcc'])
      .default('enterprise')
      .describe(
        'Microsoft 365 plan in the global cloud: enterprise (manage.office.com) or gcc (manage-gcc.office.com); GCC High and DoD follow the account’s cloud',
      )
      .meta({ title: 'Microsoft 365 plan' }),
    startSubscriptions: z
      .boolean()
      .default(true)
      .describe(
        'Start the subscription of an enabled content type that has none (the only change Tributary makes in the tenant); false: start them yourself',
      )
      .meta({ title: 'Start subscriptions' }),
    publisherIdentifier: z
      .string()
      .regex(GUID, 'expected a tenant GUID')
      .optional()
      .describe('PublisherIdentifier sent with every request (default: the account’s tenant ID)')
      .meta({ title: 'Publisher identifier' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

interface Content {
  contentType?: string;
  contentId: string;
  contentUri: string;
  contentCreated: string;
  contentExpiration?: string;
}

const MANAGEMENT_API = MICROSOFT_APIS.find((a) => a.name === 'Office 365 Management Activity API')!;

/** The API root (scheme and host) for the account's cloud and the plan, or the collector's base URL. */
export function apiRoot(s: Pick<Settings, 'plan' | 'baseUrl'>, a: Pick<MicrosoftAccount, 'cloud'>): string {
  if (s.baseUrl) return s.baseUrl.replace(/\/+$/, '');
  const cloud = a.cloud ?? 'global';
  if (cloud === 'global')
    return s.plan === 'gcc' ? 'https://manage-gcc.office.com' : 'https://manage.office.com';
  if (s.plan === 'gcc') {
    throw configError(
      'o365_plan_cloud_mismatch',
      `plan: gcc is a plan of the global cloud, but the Microsoft account is set to ${CLOUDS[cloud].title}.`,
      "Set plan to enterprise (GCC High and DoD follow the account's cloud), or the account's cloud to global.",
    );
  }
  const entry = MANAGEMENT_API.clouds[cloud];
  if (!entry) {
    throw configError(
      'microsoft_api_unavailable',
      `The Office 365 Management Activity API has no endpoint Tributary knows in the ${CLOUDS[cloud].title} cloud.`,
      "Check the account's cloud; set the collector's baseUrl if your tenant's endpoint differs.",
    );
  }
  return `https://${entry.hosts[0]}`;
}

function tenantOf(a: MicrosoftAccount): string {
  if (!GUID.test(a.tenantId)) {
    throw configError(
      'o365_tenant_guid_required',
      `The Office 365 Management Activity API addresses the tenant by its GUID; the Microsoft account has "${a.tenantId}".`,
      "Set the Microsoft account's tenantId to the Directory (tenant) ID, a GUID (Entra admin center → Overview).",
    );
  }
  return a.tenantId.toLowerCase();
}

/** `{root}/api/v1.0/{tenant}/activity/feed`. */
export function feedRoot(s: Settings, a: MicrosoftAccount): string {
  return `${apiRoot(s, a)}/api/v1.0/${tenantOf(a)}/activity/feed`;
}

/** A window bound as the API takes it: UTC, whole seconds, no zone (rounded up, so windows tile exactly). */
export function apiTime(d: Date | number): string {
  return new Date(Math.ceil(new Date(d).getTime() / 1000) * 1000).toISOString().slice(0, 19);
}

/** CreationTime is UTC printed without a zone; JavaScript would read it as local time. */
export function creationTime(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value))
    return toIsoTime(`${value}Z`);
  return toIsoTime(value);
}

const unexpected = (what: string) =>
  transientError(
    'unexpected_response',
    `The Office 365 Management Activity API answered ${what} where it documents a JSON array.`,
    'Check the base URL points at the Management Activity API; Tributary retries on the next run.',
  );

/**
 * A URI the API handed back (contentUri, NextPageUri) must stay on the API: on the root's own origin it is
 * used as is; on a Management Activity API host of a known cloud it is taken to the configured root (a
 * proxy given as baseUrl): only the origin moves, the path and query stay as Microsoft wrote them — the
 * reference's NextPageUri is under `/api/v1/`, not the `/api/v1.0/` of the requests ("List available
 * content" → "Pagination"); anywhere else it would receive our token and is refused.
 */
export function onApi(uri: string, root: string): string {
  // The reference's NextPageUri sample separates its parameters with `&amp;` (HTML-escaped in the page);
  // a header written that way would turn `startTime` into `amp;startTime`, so it is read as `&`.
  const u = new URL(uri.replace(/&amp;/gi, '&'), root);
  const r = new URL(root);
  if (u.origin === r.origin) return u.toString();
  const known = Object.values(MANAGEMENT_API.clouds).some((c) => c?.hosts.includes(u.hostname.toLowerCase()));
  if (known && u.protocol === 'https:') return `${root}${u.pathname}${u.search}`;
  throw configError(
    'o365_unexpected_host',
    `The Management Activity API pointed at ${u.origin}, which is not the API; Tributary does not send it the token.`,
    "Check the collector's baseUrl and plan; if they are right, report this with the logs.",
  );
}

/** A query parameter by name in any letter case (the API's parameter names are not case-sensitive). */
function param(url: URL, name: string): string | null {
  const want = name.toLowerCase();
  for (const [k, v] of url.searchParams) if (k.toLowerCase() === want) return v;
  return null;
}

/**
 * Adds PublisherIdentifier to a URL the API returned, unless it already carries one in any letter case (the
 * reference's NextPageUri sample has none, so the next page would otherwise fall into the shared quota).
 */
export function withPublisher(url: string, pub: string): PageRequest {
  return param(new URL(url), 'PublisherIdentifier') !== null
    ? { url }
    : { url, query: { PublisherIdentifier: pub } };
}

/** Starts a content type's subscription; an already enabled one (AF20024) is success. */
export async function startSubscription(http: HttpClient, feed: string, type: ContentType, pub: string) {
  try {
    const res = await http.request({
      method: 'POST',
      url: `${feed}/subscriptions/start`,
      query: { contentType: type, PublisherIdentifier: pub },
      vendorWrite: `start the ${type} subscription, without which the Management Activity API lists no content`,
    });
    await res.text();
  } catch (err) {
    if (err instanceof TributaryError && err.code === 'o365_subscription_already_enabled') return;
    throw err;
  }
}

function stream(type: ContentType): StreamDef<Settings, MicrosoftAccount> {
  return {
    title: type,
    description: DESCRIPTIONS[type],
    read: (ctx) => readType(type, ctx),
  };
}

const DESCRIPTIONS: Record<ContentType, string> = {
  'Audit.AzureActiveDirectory':
    'Entra ID (Azure AD) sign-ins and directory changes from the unified audit log.',
  'Audit.Exchange': 'Exchange Online admin and mailbox activity (e.g. MailItemsAccessed, inbox rules).',
  'Audit.SharePoint': 'SharePoint Online and OneDrive file, sharing and site activity.',
  'Audit.General': 'Every other workload: Teams, Power BI, Power Platform, Copilot, Defender, Purview, …',
  'DLP.All':
    'Data loss prevention rule matches from all workloads (sensitive values need ActivityFeed.ReadDlp).',
};

async function* readType(
  type: ContentType,
  ctx: ReadContext<Settings, MicrosoftAccount>,
): AsyncGenerator<Batch> {
  const feed = feedRoot(ctx.settings, ctx.account);
  const root = apiRoot(ctx.settings, ctx.account);
  const pub = ctx.settings.publisherIdentifier ?? tenantOf(ctx.account);
  let started = false;

  const listPage = async (request: PageRequest) => {
    let page: Awaited<ReturnType<HttpClient['getJson']>>;
    try {
      page = await ctx.http.getJson(request.url, request.query);
    } catch (err) {
      const code = err instanceof TributaryError ? err.code : undefined;
      const missing = code === 'o365_subscription_missing';
      if (!(missing || code === 'o365_subscription_disabled') || !ctx.settings.startSubscriptions || started)
        throw err;
      started = true;
      await startSubscription(ctx.http, feed, type, pub);
      if (missing) ctx.log.info('subscription started; first content can take up to 12 hours', { type });
      else
        ctx.warn(
          gapWarning(
            'o365_subscription_restarted',
            `The ${type} subscription had been disabled (by a tenant or Microsoft administrator) and was started again; content from while it was disabled is not available.`,
            'Find out who disabled it (Purview audit log: subscription changes); set startSubscriptions: false to manage subscriptions yourself.',
          ),
        );
      page = await ctx.http.getJson(request.url, request.query);
    }
    const { body, response } = page;
    if (!Array.isArray(body)) throw unexpected('something else');
    for (const c of body) {
      if (
        typeof c?.contentId !== 'string' ||
        typeof c.contentUri !== 'string' ||
        !Number.isFinite(Date.parse(c.contentCreated))
      )
        throw unexpected('a content entry without contentId, contentUri or contentCreated');
    }
    const next = response.headers.get('nextpageuri');
    return { artifacts: body as Content[], next: next ? withPublisher(onApi(next, root), pub) : undefined };
  };

  yield* readArtifactWindows<Content>(ctx, {
    lag: LAG,
    overlap: OVERLAP,
    maxSpan: MAX_SPAN,
    retention: RETENTION,
    what: 'content blobs',
    firstPage: (w) => ({
      url: `${feed}/subscriptions/content`,
      query: {
        contentType: type,
        startTime: apiTime(w.start),
        endTime: apiTime(w.end),
        PublisherIdentifier: pub,
      },
    }),
    listPage,
    id: (c) => c.contentId,
    time: (c) => Date.parse(c.contentCreated),
    fetch: (c, skip) => readContent(ctx, c, skip, root, pub),
  });
}

/** Fetches one content blob and yields its records in batches, from record `skip` on. */
async function* readContent(
  ctx: ReadContext<Settings, MicrosoftAccount>,
  c: Content,
  skip: number,
  root: string,
  pub: string,
): AsyncGenerator<ArtifactPart> {
  const request = withPublisher(onApi(c.contentUri, root), pub);
  let body: unknown;
  try {
    ({ body } = await ctx.http.getJson(request.url, request.query));
  } catch (err) {
    const code = err instanceof TributaryError ? err.code : undefined;
    if (code !== 'o365_content_expired' && code !== 'o365_content_not_found') throw err;
    ctx.warn(
      gapWarning(
        code,
        `Content ${c.contentId} (${c.contentType ?? 'listed'} at ${c.contentCreated}) could not be retrieved: ${(err as Error).message}`,
        code === 'o365_content_expired'
          ? 'Blobs can be retrieved for 7 days after they became available: run the collector more often and keep it running.'
          : 'Microsoft listed content it no longer has; if it repeats, report the content id to Microsoft support.',
      ),
    );
    return;
  }
  if (!Array.isArray(body)) throw unexpected('a content blob that is not an array');
  yield* recordParts(body, {
    skip,
    maxEvents: BATCH_EVENTS,
    maxBytes: BATCH_BYTES,
    record: (rec, i) => {
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
        return {
          deadLetter: { raw: rec, reason: `content ${c.contentId}: record ${i} is not a JSON object` },
        };
      const r = rec as Record<string, unknown>;
      return {
        event: {
          raw: r,
          id: typeof r.Id === 'string' && r.Id ? r.Id : undefined,
          time: creationTime(r.CreationTime),
        },
        bytes: vendorText(r)?.length ?? 1024,
      };
    },
  });
}

/** The `error.code` of an API error (AFnnnnn), or the start-subscription exception's code. */
const afCode = (body: string) => graphErrorCode(body);

const permissionAction = (dlp: boolean) =>
  `In the Entra admin center: App registrations → the app → API permissions → Add a permission → Office 365 Management APIs → Application permissions → ActivityFeed.Read${dlp ? ' and ActivityFeed.ReadDlp' : ''}, then "Grant admin consent for <tenant>" (a new grant can take a few minutes to reach new tokens).`;

function explain({ status, body, url, message }: VendorErrorContext): Partial<ErrorInfo> | undefined {
  const code = afCode(body) ?? '';
  const dlp = param(url, 'contentType') === 'DLP.All';
  const type = param(url, 'contentType') ?? 'this content type';
  if (code === 'AF20024')
    return { code: 'o365_subscription_already_enabled', action: 'None: the subscription is enabled.' };
  if (code === 'AF10001')
    return {
      code: 'o365_permission_missing',
      action: `The app's token lacks ActivityFeed.Read. ${permissionAction(dlp)}`,
    };
  if (code === 'AF20022')
    return {
      code: 'o365_subscription_missing',
      action: `There is no ${type} subscription. Set startSubscriptions: true to let Tributary start it, or start it yourself (POST …/activity/feed/subscriptions/start?contentType=${type}); its first content can take up to 12 hours.`,
    };
  if (code === 'AF20023')
    return {
      code: 'o365_subscription_disabled',
      action: `The ${type} subscription was disabled by an administrator or by Microsoft. Start it again (startSubscriptions: true does it on the next run); content from while it was disabled is not available.`,
    };
  if (code === 'AF20011' || (/does not exist/i.test(message) && /^StartSubscription/.test(code)))
    return {
      code: 'o365_audit_log_not_enabled',
      action:
        'Microsoft has no audit log for this tenant: turn on auditing in the Microsoft Purview portal (Solutions → Audit → "Start recording user and admin activity", or Exchange Online PowerShell: Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true), wait up to an hour, and check the account’s tenant ID.',
    };
  if (code === 'AF20010' || code === 'AF20012' || code === 'AF20013')
    return {
      code: 'o365_tenant_mismatch',
      action:
        "The tenant in the URL is not the token's (or not a valid tenant): set the Microsoft account's tenantId to the Directory (tenant) ID GUID of the tenant whose audit log you collect, and register the app in that tenant.",
    };
  if (code === 'AF20020')
    return {
      code: 'o365_content_type_invalid',
      action: `Microsoft does not accept content type ${type}; remove it from contentTypes.`,
    };
  if (code === 'AF20030' || code === 'AF20031')
    return {
      type: 'transient',
      code: 'o365_window_refused',
      action:
        'The API refused the listing window (over 24 hours, more than 7 days back, or a stale page link); the next run lists again from the saved position, moved forward if it is older than 7 days.',
    };
  if (code === 'AF20050')
    return { code: 'o365_content_not_found', action: 'The listed content no longer exists; it is skipped.' };
  if (code === 'AF20051')
    return {
      code: 'o365_content_expired',
      action: 'Content older than 7 days cannot be retrieved; it is skipped.',
    };
  if (status === 429 || code === 'AF429')
    return {
      action:
        "The tenant's Management Activity API quota (about 2,000 requests a minute, shared by every app reading this tenant) is spent; Tributary waits and retries. Lower the collector's frequency if it persists.",
    };
  if (status === 401)
    return {
      code: 'o365_token_rejected',
      action:
        "The Management Activity API rejected the access token. Check that the Microsoft account's cloud matches the tenant (GCC: global + plan gcc; GCC High: usgov; DoD: usgov-dod), that the app has the Office 365 Management APIs permission ActivityFeed.Read with admin consent, and the collector's baseUrl, if set.",
    };
  if (status === 403)
    return { code: 'o365_permission_missing', action: `Access denied. ${permissionAction(dlp)}` };
  if (status === 404)
    return {
      code: 'o365_not_found',
      action: `Check the collector's baseUrl (a root such as https://manage.office.com, without /api/v1.0), its plan and the account's cloud. The API said: ${message}`,
    };
  return undefined;
}

export default defineSource<Settings, MicrosoftAccount>({
  id: 'microsoft-365-management-activity',
  title: 'Microsoft 365 Management Activity',
  account: 'microsoft',
  stability: 'ga',
  family: 'files',
  description:
    'The Microsoft 365 unified audit log through the Office 365 Management Activity API: Entra ID, Exchange, SharePoint/OneDrive, Teams and every other workload, and DLP.',
  setupGuide: [
    'You need a Microsoft Entra administrator who can grant tenant-wide admin consent, and a Purview (compliance) administrator.',
    '1. Turn on auditing: Microsoft Purview portal → **Audit** → **Start recording user and admin activity** (on by default in most tenants;',
    '   Exchange Online PowerShell: `Get-AdminAuditLogConfig | Format-List UnifiedAuditLogIngestionEnabled` shows it). It can take an hour to take effect.',
    '2. Microsoft Entra admin center → **App registrations** → **New registration** (single tenant), or reuse the app of another Microsoft collector.',
    '   Copy the **Application (client) ID** and the **Directory (tenant) ID** (a GUID); create a **client secret** (its *Value*) or upload a certificate.',
    '3. **API permissions** → **Add a permission** → **Office 365 Management APIs** (not Microsoft Graph) → **Application permissions**:',
    '   `ActivityFeed.Read`, and `ActivityFeed.ReadDlp` to collect DLP.All with its sensitive values; then **Grant admin consent for <your tenant>**.',
    '4. Create a **Microsoft** account in Tributary (tenant ID as a GUID, client ID, secret or private key + certificate, cloud: global — with',
    '   plan `gcc` for GCC —, usgov for GCC High, usgov-dod for DoD), then this collector with the content types to collect.',
    '**The one change Tributary makes in your tenant:** Microsoft lists audit content only for content types with a started subscription, so',
    'Test Connection and the collector start the subscription of each enabled content type that has none (`POST …/subscriptions/start`, idempotent;',
    'set `startSubscriptions: false` to start them yourself). The first content of a new subscription can take up to 12 hours to appear.',
  ].join('\n'),
  settings,
  retention: RETENTION,
  vendorWrites: [
    'POST /api/v1.0/{tenant}/activity/feed/subscriptions/start?contentType={type}: starts the subscription of an enabled content type that has none (or a disabled one), without which the API lists no content; idempotent; off with startSubscriptions: false.',
  ],
  streams: Object.fromEntries(CONTENT_TYPES.map((t) => [t, stream(t)])),
  ...streamsInSettings<Settings>('contentTypes', DEFAULT_TYPES),
  explain,
  rateLimited: ({ status, body }) =>
    status === 403 && afCode(body) === 'AF429' ? { defaultWaitMs: 60_000 } : undefined,
  async test({ settings: s, account, http, streams }) {
    const feed = feedRoot(s, account);
    const pub = s.publisherIdentifier ?? tenantOf(account);
    const { body } = await http.getJson(`${feed}/subscriptions/list`, { PublisherIdentifier: pub });
    if (!Array.isArray(body)) throw unexpected('a subscription list that is not an array');
    const status = new Map<string, unknown>(body.map((x: any) => [x?.contentType, x?.status]));
    const enabled = (
      streams.length ? streams : streamsInSettings<Settings>('contentTypes', DEFAULT_TYPES).defaultStreams(s)
    ) as ContentType[];
    for (const type of enabled) {
      if (status.get(type) !== 'enabled') {
        if (!s.startSubscriptions) {
          throw configError(
            'o365_subscription_missing',
            `The ${type} subscription is ${status.has(type) ? String(status.get(type)) : 'not started'}; with startSubscriptions: false Tributary does not start it.`,
            `Start it (POST …/activity/feed/subscriptions/start?contentType=${type}) or set startSubscriptions: true.`,
          );
        }
        await startSubscription(http, feed, type, pub);
      }
      const now = Date.now();
      await http.getJson(`${feed}/subscriptions/content`, {
        contentType: type,
        startTime: apiTime(now - 3_600_000),
        endTime: apiTime(now),
        PublisherIdentifier: pub,
      });
    }
  },
});
