import { z } from 'zod';
import { type ServiceNowAccount, servicenowInstance } from '../../accounts/servicenow.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * ServiceNow audit tables through the Table API. Vendor facts (ServiceNow REST API reference, "Table API",
 * `GET /now/table/{tableName}`; Product documentation, "Encoded query strings"):
 *
 * - `GET https://<instance>/api/now/table/<table>` with `sysparm_query` (an encoded query: conditions joined
 *   by `^`, `ORDERBY<field>`), `sysparm_limit` (default 10000), `sysparm_offset`; the answer is `{"result":
 *   […]}` with `X-Total-Count` and a `Link` header whose `rel="next"` is the next page.
 *   `sysparm_exclude_reference_link=true` leaves reference fields as their sys_id.
 * - Every record has `sys_id` (its unique id) and `sys_created_on` ("YYYY-MM-DD HH:MM:SS"; internal values
 *   are UTC, and date literals in an encoded query are read in the session user's time zone: the
 *   integration user's time zone must be GMT, as the setup guide says).
 * - The tables: `sys_audit` (field changes of audited tables), `syslog_transaction` (every transaction:
 *   logins, REST calls, forms; rotated), `sysevent` (the event queue: `login`, `login.failed`, …; rotated).
 * - Errors `{"error": {"message", "detail"}, "status": "failure"}`: 401 "User Not Authenticated", 403 "User
 *   Not Authorized", 400 "Invalid table"; 429 from the instance's REST rate limit rules with `Retry-After`.
 *
 * How it reads (engine: time windows). `sys_created_on>=start^sys_created_on<end^ORDERBYsys_created_on
 * ^ORDERBYsys_id`, oldest first, whole seconds (an overlap of at least a second; the boundary's rows
 * suppressed by sys_id). Offsets count into the rows as they are when each page is asked: a row committed
 * late with an earlier `sys_created_on` moves later rows up (one is read twice, and dropped as a repeat) and is
 * itself behind the position; the overlap (5 minutes by default) reads that span again on the next run, so
 * it is delivered then, not lost. A lag of a minute leaves time for transactions to commit.
 */

export interface ServiceNowSettings {
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .meta({ title: 'Rows per request' })
      .describe('Rows asked for per request (sysparm_limit; ServiceNow allows up to 10000)'),
  })
  .strict();

const base = (s: ServiceNowSettings, a: ServiceNowAccount) =>
  (s.baseUrl ?? servicenowInstance(a)).replace(/\/+$/, '');
const snTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
/** `sys_created_on` is UTC without a zone: read it as such (Date.parse would take it as local time). */
const createdOn = (r: any): string | undefined => {
  const v = r?.sys_created_on;
  return typeof v === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v)
    ? `${v.replace(' ', 'T')}.000Z`
    : undefined;
};

export function createdQuery(w: Window): string {
  const start = Math.floor(w.start.getTime() / 1000) * 1000;
  const end = Math.floor(w.end.getTime() / 1000) * 1000;
  return `sys_created_on>=${snTime(start)}^sys_created_on<${snTime(end)}^ORDERBYsys_created_on^ORDERBYsys_id`;
}

const TABLES = {
  sys_audit: {
    title: 'Audit (sys_audit)',
    description:
      'Changes to the fields of audited records: who changed which field of which record, old and new value.',
  },
  syslog_transaction: {
    title: 'Transactions (syslog_transaction)',
    description:
      'Every transaction of the instance: logins, REST and SOAP calls, forms and lists, with user, address and timing.',
  },
  sysevent: {
    title: 'Events (sysevent)',
    description:
      'The instance event queue: logins, failed logins, role elevation, password changes and other system events.',
  },
} as const;

function tableStream(table: keyof typeof TABLES): StreamDef<ServiceNowSettings, ServiceNowAccount> {
  return restPoll<ServiceNowSettings, ServiceNowAccount>({
    title: TABLES[table].title,
    description: TABLES[table].description,
    url: ({ settings: s, account }) => `${base(s, account)}/api/now/table/${table}`,
    params: ({ settings: s }, w) => ({
      sysparm_query: createdQuery(w),
      sysparm_limit: s.pageSize,
      sysparm_offset: 0,
      sysparm_exclude_reference_link: 'true',
    }),
    records: (body) => body?.result,
    paginate: paginate.linkHeader(),
    cursor: { time: createdOn, lag: '1m', overlap: '5m', minOverlap: '1s', order: 'asc', maxWindow: '1h' },
    eventId: (r) => (typeof r?.sys_id === 'string' && r.sys_id ? r.sys_id : undefined),
    missingId: 'ServiceNow row without a sys_id',
  });
}

export default defineSource<ServiceNowSettings, ServiceNowAccount>({
  id: 'servicenow',
  title: 'ServiceNow',
  account: 'servicenow',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'ServiceNow audit trail (sys_audit), transaction log (syslog_transaction) and system events (sysevent) of an instance, through the Table API.',
  setupGuide: [
    '1. In the instance, create an **integration user** (User Administration → Users → New): User ID and password,',
    "   **Web service access only** ticked, and **Time zone = GMT** (query dates are read in the user's time zone;",
    '   Tributary sends UTC).',
    '2. Give it read access to the tables you collect: `sys_audit`, `syslog_transaction`, `sysevent`. On most',
    '   instances these are readable by `admin` only: create a role (e.g. `x_tributary_reader`) with read ACLs on',
    '   the three tables (System Security → Access Control, operation read, one ACL per table and `*` field), and',
    '   grant it, with `snc_read_only` so the user can change nothing.',
    '3. If the instance has **REST API rate limit rules** (System Web Services → REST → Rate Limit Rules), allow the',
    '   user a few requests a second.',
    '4. Create a **ServiceNow** account in Tributary with the instance URL (`https://acme.service-now.com`), the',
    '   User ID and the password, and enable the tables you want as streams.',
    '',
    "Early access: the ACL setup above and the time zone of encoded-query dates follow ServiceNow's product",
    'documentation, which varies by release; check them on your instance with Test Connection. `syslog_transaction`',
    'and `sysevent` are rotated tables (a few days to weeks, per instance): run the collector often enough.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<ServiceNowSettings>,
  defaultStreams: () => ['sys_audit', 'sysevent'],
  streams: {
    sys_audit: tableStream('sys_audit'),
    syslog_transaction: tableStream('syslog_transaction'),
    sysevent: tableStream('sysevent'),
  },
  explain({ status, url }) {
    const table = /\/api\/now\/table\/([^/?]+)/.exec(url.pathname)?.[1];
    if (status === 401)
      return {
        code: 'servicenow_not_authenticated',
        action:
          "ServiceNow refused the user ID or password: check them on the account (the integration user must be active and not locked out), and that the instance URL is the instance's.",
      };
    if (status === 403)
      return {
        code: 'servicenow_not_authorized',
        action: `The integration user may not read ${table ?? 'the table'}: grant it a role with a read ACL on that table (setup guide, step 2), or disable the stream.`,
      };
    if (status === 400)
      return {
        code: 'servicenow_bad_request',
        action: `ServiceNow refused the query on ${table ?? 'the table'}: check that the table exists on this instance and the instance URL; if both are right, report this with the logs.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the credentials and the read ACL of every table collected: one row at most each.
    const tables = streams.length ? streams : ['sys_audit', 'sysevent'];
    for (const table of tables)
      await http.getJson(`${base(s, account)}/api/now/table/${table}`, {
        sysparm_limit: 1,
        sysparm_query: 'ORDERBYsys_created_on',
        sysparm_exclude_reference_link: 'true',
      });
  },
});
