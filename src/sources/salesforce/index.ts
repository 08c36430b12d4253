import { z } from 'zod';
import type { SalesforceAccount } from '../../accounts/salesforce.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';
import { withVendorUsage } from '../../engine/vendor-usage.ts';
import {
  batchHeader,
  explainSalesforce,
  limitInfo,
  queryRequest,
  restBase,
  salesforceRateLimited,
  soqlTime,
} from '../salesforce-api.ts';

/**
 * Salesforce login history and setup audit trail through SOQL on the REST API (shared facts in
 * ../salesforce-api.ts: Query, nextRecordsUrl, errors, Sforce-Limit-Info). Vendor facts of these objects
 * (Object Reference for the Salesforce Platform):
 *
 * - `LoginHistory` ("Represents the login history for all successful and failed login attempts for
 *   organizations and enabled portals"): `Id`, `UserId`, `LoginTime`, `LoginType`, `SourceIp`, `LoginUrl`,
 *   `Browser`, `Platform`, `Status`, `Application`, `ClientVersion`, `ApiType`, `ApiVersion`, `CountryIso`,
 *   `AuthMethodReference`, `LoginGeoId`, `TlsProtocol`, `CipherSuite`, `AuthenticationServiceId`,
 *   `OptionsIsGet`, `OptionsIsPost`; kept six months (Salesforce Help, "Monitor Login History").
 * - `SetupAuditTrail` ("changes you or other admins made in your org's Setup area for at least the last
 *   180 days"): `Id`, `Action`, `Section`, `CreatedDate`, `CreatedById`, `Display`, `DelegateUser`,
 *   `ResponsibleNamespacePrefix`, `CreatedByContext`, `CreatedByIssuer`.
 * - Permissions: reading either object through the API needs "API Enabled"; LoginHistory needs "Manage
 *   Users", SetupAuditTrail "View Setup and Configuration" (the profile permissions the setup guide
 *   lists; not confirmed per object in the public object reference, hence early access).
 *
 * How it reads (engine: time windows). `WHERE <time> >= start AND <time> < end ORDER BY <time> ASC, Id ASC`
 * in whole seconds (SOQL date-time literals), batches followed by `nextRecordsUrl`; an overlap of five
 * minutes behind the watermark (at least a second: the literals' precision) with boundary ids suppressing
 * what was delivered; a lag of a minute for rows committed late. A query locator that expired while a
 * destination was slow (`INVALID_QUERY_LOCATOR`) reads the window again from its first batch. The org's
 * allowance from `Sforce-Limit-Info` is kept in each checkpoint (`apiUsage`), which the collector page
 * shows, and warned about above 90 %.
 */

export interface SalesforceSettings {
  batchSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    batchSize: z
      .number()
      .int()
      .min(200)
      .max(2000)
      .default(2000)
      .meta({ title: 'Records per batch' })
      .describe(
        'Records asked for per query batch (Sforce-Query-Options batchSize: 200 to 2000; Salesforce may return fewer)',
      ),
  })
  .strict();

const OBJECTS = {
  LoginHistory: {
    title: 'Login history (LoginHistory)',
    description:
      'Every login attempt to the org, successful or failed: user, time, source IP, login type, browser, platform, status, TLS.',
    time: 'LoginTime',
    fields:
      'Id, UserId, LoginTime, LoginType, SourceIp, LoginUrl, Browser, Platform, Status, Application, ClientVersion, ApiType, ApiVersion, CountryIso, AuthMethodReference, LoginGeoId, TlsProtocol, CipherSuite, AuthenticationServiceId, OptionsIsGet, OptionsIsPost',
    permission: 'Manage Users',
  },
  SetupAuditTrail: {
    title: 'Setup audit trail (SetupAuditTrail)',
    description:
      'Changes made in Setup: permission sets, profiles, users, roles, security settings, connected apps, with who made them (and the Login-As user).',
    time: 'CreatedDate',
    fields:
      'Id, Action, Section, CreatedDate, CreatedById, Display, DelegateUser, ResponsibleNamespacePrefix, CreatedByContext, CreatedByIssuer',
    permission: 'View Setup and Configuration',
  },
} as const;
type SfAuditObject = keyof typeof OBJECTS;

/** The window's SOQL: start inclusive, end exclusive, whole seconds, oldest first with Id breaking ties. */
export function windowQuery(object: SfAuditObject, w: Window): string {
  const { time, fields } = OBJECTS[object];
  return `SELECT ${fields} FROM ${object} WHERE ${time} >= ${soqlTime(w.start.getTime())} AND ${time} < ${soqlTime(w.end.getTime())} ORDER BY ${time} ASC, Id ASC`;
}

const permissionFor = (object: string | undefined) => {
  const o = OBJECTS[object as SfAuditObject];
  return o
    ? `give its profile or a permission set “API Enabled” and “${o.permission}” (setup guide, step 3), or disable the ${object} stream.`
    : 'give its profile or a permission set “API Enabled” and the permissions of the setup guide, step 3.';
};

function objectStream(object: SfAuditObject): StreamDef<SalesforceSettings, SalesforceAccount> {
  const o = OBJECTS[object];
  return withVendorUsage(
    restPoll<SalesforceSettings, SalesforceAccount>({
      title: o.title,
      description: o.description,
      url: () => '',
      request: ({ settings: s, account }, w) => queryRequest(restBase(s, account), windowQuery(object, w)),
      headers: ({ settings: s }) => batchHeader(s.batchSize),
      records: (body) => body?.records,
      paginate: paginate.nextUrl((b) => (b?.done === false ? b.nextRecordsUrl : undefined)),
      cursor: { time: o.time, lag: '1m', overlap: '5m', minOverlap: '1s', order: 'asc', maxWindow: '1d' },
      eventId: (r) => (typeof r?.Id === 'string' && r.Id ? r.Id : undefined),
      missingId: `Salesforce ${object} record without an Id`,
      cursorExpired: (err) => err.code === 'salesforce_query_locator_expired',
    }),
    limitInfo,
  );
}

export default defineSource<SalesforceSettings, SalesforceAccount>({
  id: 'salesforce',
  title: 'Salesforce',
  account: 'salesforce',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Salesforce login history (LoginHistory) and Setup audit trail (SetupAuditTrail) of an org, through SOQL on the REST API.',
  setupGuide: [
    '1. Create an **integration user** for Tributary (Setup → Users → New User; the "Salesforce Integration" user',
    '   license and the "Minimum Access - API Only Integrations" profile are meant for this).',
    '2. Create a **connected app** or external client app (Setup → App Manager → New Connected App): enable OAuth',
    '   settings with the scope `api`, then either',
    '   - **client credentials flow**: tick "Enable Client Credentials Flow", and under Manage → Edit Policies set',
    '     the **Run As** user to the integration user; copy the consumer key and secret; or',
    '   - **JWT bearer flow**: tick "Use digital signatures" and upload the certificate of a key pair you create;',
    '     under Manage → Edit Policies set Permitted Users to "Admin approved users are pre-authorized" and add',
    "     the integration user's profile or permission set; copy the consumer key.",
    '3. Give the integration user a **permission set** with **API Enabled**, **View Setup and Configuration**',
    '   (SetupAuditTrail) and **Manage Users** (LoginHistory; Salesforce has no narrower permission that shows',
    "   every user's logins). Test Connection reads one row of each stream you enable to prove it.",
    '4. Create a **Salesforce** account in Tributary with the My Domain URL (Setup → My Domain, e.g.',
    '   `https://acme.my.salesforce.com`), the consumer key, and the secret or the username and private key.',
    '',
    "Every call counts against the org's **daily API request allowance**, shared by all its integrations; the",
    'collector page shows the latest `Sforce-Limit-Info` reading (`apiUsage` in each checkpoint) and warns above',
    '90 %. LoginHistory is kept six months, SetupAuditTrail 180 days.',
    '',
    'Early access: the permission each object needs is taken from Salesforce Help and the profile permissions the',
    'legacy product listed; the object reference does not state them per object. Test Connection checks them.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<SalesforceSettings>,
  retention: '180d',
  streams: {
    LoginHistory: objectStream('LoginHistory'),
    SetupAuditTrail: objectStream('SetupAuditTrail'),
  },
  explain: (ctx) => explainSalesforce(ctx, permissionFor),
  rateLimited: salesforceRateLimited,
  async test({ settings: s, account, http, streams }) {
    // Proves the credentials, API access and the permission of every object collected: one row each.
    const objects = (streams.length ? streams : Object.keys(OBJECTS)) as SfAuditObject[];
    for (const object of objects) {
      const { time } = OBJECTS[object];
      const r = queryRequest(restBase(s, account), `SELECT Id FROM ${object} ORDER BY ${time} DESC LIMIT 1`);
      await http.getJson(r.url, r.query);
    }
  },
});
