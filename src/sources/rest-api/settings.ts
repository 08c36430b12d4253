import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { baseUrlSetting, HTTP_HEADER_NAME, isLoopbackHost, timeZone } from '../../core/validation.ts';
import { Template, TemplateError, type Variables } from '../../engine/template.ts';
import { checkTimePattern, NAMED_TIME_FORMATS } from '../../engine/time-format.ts';

/**
 * The generic REST API collector's settings: the request (URL, method, headers, query and body
 * templates), where the records, their time and their id are, how pages link, and how the time window
 * moves. Everything is checked here, field by field and across fields (a cursor paginator needs its
 * cursor path and a place to send it; a template may only name variables that exist), so that a
 * collector that validates is one the engine can run.
 */

/** The variables a request template may name; `cursor`/`offset`/`page`/`limit` only with their paginator. */
export const VARIABLES = {
  'window.start': 'time',
  'window.end': 'time',
  cursor: 'string',
  offset: 'number',
  page: 'number',
  limit: 'number',
} as const satisfies Variables;

const dotPath = (example: string) =>
  z
    .string()
    .trim()
    .max(200)
    .regex(/^[^.\s]+(\.[^.\s]+)*$/, `expected a dot path such as ${example}`);

const recordsPath = z
  .string()
  .trim()
  .max(200)
  .regex(/^(\.|[^.\s]+(\.[^.\s]+)*)$/, 'expected a dot path such as data.items, or . for a top-level array');

const duration = (what: string) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          parseDuration(v);
          return true;
        } catch {
          return false;
        }
      },
      { message: `expected ${what} such as 30s, 5m, 1h or 7d` },
    );

/** Credentials belong in the account (encrypted); the HTTP client owns these. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const CLIENT_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'accept-encoding',
]);

const paramName = z.string().trim().min(1, 'expected a parameter name').max(200);
const limit = z.number().int().min(1, 'expected at least 1').max(100_000, 'expected at most 100000');

const pagination = z.discriminatedUnion(
  'type',
  [
    z
      .object({ type: z.literal('none') })
      .strict()
      .describe('One page per window: the API answers a window in one response')
      .meta({ title: 'None: one page per window' }),
    z
      .object({ type: z.literal('link-header') })
      .strict()
      .describe('The next page is the rel="next" URL of the Link response header (RFC 8288)')
      .meta({ title: 'Link header (rel="next")' }),
    z
      .object({
        type: z.literal('next-url'),
        nextUrlPath: dotPath('links.next or @odata.nextLink')
          .describe('Dot path of the next page’s URL in the response body (absolute or relative)')
          .meta({ title: 'Next page URL path' }),
      })
      .strict()
      .describe('The next page’s URL is a field of the response body')
      .meta({ title: 'Next-page URL in the body' }),
    z
      .object({
        type: z.literal('cursor'),
        cursorPath: dotPath('meta.next_cursor')
          .describe(
            'Dot path of the next-page cursor in the response body; empty or missing on the last page',
          )
          .meta({ title: 'Cursor path' }),
        param: paramName
          .optional()
          .describe(
            'Query parameter that sends the cursor back (or use {{cursor}} in the query or body instead)',
          )
          .meta({ title: 'Cursor parameter' }),
        hasMorePath: dotPath('has_more')
          .optional()
          .describe('Dot path of a "more pages" flag, for APIs that keep a cursor on their last page')
          .meta({ title: '"More pages" flag path' }),
      })
      .strict()
      .describe('A cursor from the response body is sent back with the next request')
      .meta({ title: 'Cursor' }),
    z
      .object({
        type: z.literal('offset'),
        limit: limit
          .describe('Records per page; a shorter page is the last')
          .meta({ title: 'Records per page' }),
        param: paramName
          .optional()
          .describe('Query parameter of the offset (or use {{offset}} in the query or body instead)')
          .meta({ title: 'Offset parameter' }),
        limitParam: paramName
          .optional()
          .describe('Query parameter of the page size, sent with every page (or use {{limit}})')
          .meta({ title: 'Page size parameter' }),
      })
      .strict()
      .describe('Offset and limit: the offset grows by the records read')
      .meta({ title: 'Offset and limit' }),
    z
      .object({
        type: z.literal('page'),
        param: paramName
          .optional()
          .describe('Query parameter of the page number (or use {{page}} in the query or body instead)')
          .meta({ title: 'Page number parameter' }),
        firstPage: z
          .number()
          .int()
          .min(0)
          .max(1)
          .default(1)
          .describe('Number of the first page: 1 or 0')
          .meta({ title: 'First page number' }),
        limit: limit
          .optional()
          .describe('Records per page, when known: a shorter page is the last')
          .meta({ title: 'Records per page' }),
        limitParam: paramName
          .optional()
          .describe('Query parameter of the page size, sent with every page (or use {{limit}})')
          .meta({ title: 'Page size parameter' }),
      })
      .strict()
      .describe('Page numbers: the next page until one comes back empty (or short)')
      .meta({ title: 'Page numbers' }),
  ],
  {
    error: () => 'expected a pagination type: none, link-header, next-url, cursor, offset or page',
  },
);

export const restApiSettings = z
  .object({
    url: z
      .string()
      .trim()
      .min(1, 'required: the endpoint URL')
      .max(2000)
      .meta(ORIGIN)
      .describe(
        'The endpoint, e.g. https://api.example.com/v1/audit-events; may use the variables of the query (values are URL-encoded)',
      )
      .meta({ title: 'Endpoint URL' }),
    method: z
      .enum(['GET', 'POST'], {
        error: () => 'expected GET, or POST for a query API that reads with a POST (search, GraphQL)',
      })
      .default('GET')
      .describe('GET, or POST for a read-only query API: Tributary never sends other methods')
      .meta({ title: 'HTTP method' }),
    headers: z
      .record(z.string(), z.string().max(4000).meta(SECRET))
      .default({})
      .describe(
        'Extra request headers, sent as written. Their values are secret (encrypted, never shown again, sent only to the URL they were saved with): put values that may be shown in publicHeaders',
      )
      .meta({ title: 'Secret headers' }),
    publicHeaders: z
      .record(z.string(), z.string().max(4000))
      .default({})
      .describe('Extra request headers whose values may be shown (Accept, an API version); never credentials')
      .meta({ title: 'Public headers' }),
    query: z
      .record(
        z.string().trim().min(1, 'expected a parameter name').max(200),
        z.union([z.string().max(4000), z.number(), z.boolean()]).transform(String),
      )
      .default({})
      .describe(
        'Query parameters, as templates: e.g. since: "{{window.start}}", until: "{{window.end | epoch_s}}"; a parameter that renders empty is left out',
      )
      .meta({ title: 'Query parameters' }),
    body: z
      .string()
      .max(64_000)
      .optional()
      .describe(
        'POST only: the JSON body, a template, e.g. {"from":"{{window.start}}","after":{{cursor | json}}}',
      )
      .meta({ title: 'Request body (POST)' }),
    recordsPath: recordsPath
      .default('.')
      .describe('Dot path of the list of records in the response (data.items), or . for a top-level array')
      .meta({ title: 'Records path' }),
    timePath: dotPath('created_at or event.time')
      .describe('Dot path of each record’s event time')
      .meta({ title: 'Event time path' }),
    timeFormat: z
      .string()
      .trim()
      .default('auto')
      .describe(
        'auto (ISO-8601 or epoch by magnitude), iso, epoch_s, epoch_ms, or a pattern such as %Y-%m-%d %H:%M:%S',
      )
      .meta({ title: 'Time format' }),
    timeZone: timeZone()
      .default('UTC')
      .describe('Zone of times without an offset (patterns, ISO without Z) and of format:"…" in templates')
      .meta({ title: 'Time zone of times without one' }),
    idPath: dotPath('id or event.uuid')
      .optional()
      .describe(
        'Dot path of each record’s unique id; without it (or where missing) the id is a hash of the record',
      )
      .meta({ title: 'Event id path' }),
    pagination: pagination
      .default({ type: 'none' })
      .describe('How the API links its pages')
      .meta({ title: 'Pagination' }),
    order: z
      .enum(['ascending', 'descending', 'unknown'], {
        error: () => 'expected ascending, descending or unknown',
      })
      .default('ascending')
      .describe(
        'Order of records within a window: ascending moves the position page by page; descending or unknown reads whole windows before it moves',
      )
      .meta({ title: 'Order of records' }),
    lag: duration('a lag')
      .default('1m')
      .describe('How far behind now a window ends, for late indexing (the collector’s lag overrides it)')
      .meta({ title: 'Lag' }),
    maxWindow: duration('a window')
      .optional()
      .describe('The longest time range one request may ask for; longer spans are read as several windows')
      .meta({ title: 'Longest window per request' }),
    retention: duration('a retention')
      .optional()
      .describe('How long the API keeps events: an older position is moved up with a gap warning')
      .meta({ title: 'API retention' }),
    baseUrl: baseUrlSetting(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const issue = (path: Array<string | number>, message: string) =>
      ctx.addIssue({ code: 'custom', path, message });

    // Time format.
    if (!(NAMED_TIME_FORMATS as readonly string[]).includes(s.timeFormat)) {
      const bad = checkTimePattern(s.timeFormat);
      if (bad)
        issue(
          ['timeFormat'],
          `expected auto, iso, epoch_s, epoch_ms or a pattern such as %Y-%m-%dT%H:%M:%S%z: ${bad}`,
        );
    }

    // Headers: names, no credentials, no templates; each name once.
    const headerEntries = [
      ...Object.entries(s.headers).map(([name, value]) => ({ at: 'headers', name, value })),
      ...Object.entries(s.publicHeaders).map(([name, value]) => ({ at: 'publicHeaders', name, value })),
    ];
    const seen = new Set<string>();
    for (const { at, name, value } of headerEntries) {
      const lower = name.toLowerCase();
      if (seen.has(lower)) issue([at, name], 'this header is set twice (in headers and publicHeaders)');
      seen.add(lower);
      if (!HTTP_HEADER_NAME.test(name)) issue([at, name], 'expected an HTTP header name such as Accept');
      else if (CREDENTIAL_HEADERS.has(lower))
        issue(
          [at, name],
          'credentials belong in the account (api-key, bearer, basic or oauth2-client-credentials), where they are encrypted',
        );
      else if (CLIENT_HEADERS.has(lower)) issue([at, name], 'set by the HTTP client itself');
      else if (lower === 'content-type' && !/json/i.test(value))
        issue([at, name], 'the body is sent as JSON: expected a JSON media type such as application/json');
      if (/[\r\n]/.test(value)) issue([at, name], 'expected a value on one line');
      if (value.includes('{{'))
        issue([at, name], 'headers are sent as written; variables work in url, query and body');
    }

    // Templates.
    const templates: Array<{ path: Array<string | number>; text: string }> = [
      { path: ['url'], text: s.url },
      ...Object.entries(s.query).map(([k, v]) => ({ path: ['query', k], text: v })),
      ...(s.body !== undefined ? [{ path: ['body'], text: s.body }] : []),
    ];
    const used = new Map<string, Array<string | number>>();
    let compiled = true;
    for (const t of templates) {
      try {
        for (const v of Template.compile(t.text, VARIABLES).variables) if (!used.has(v)) used.set(v, t.path);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        issue(t.path, err.message);
        compiled = false;
      }
    }
    if (!compiled) return;

    const p = s.pagination;
    const needs: Record<string, string[]> = {
      cursor: ['cursor'],
      offset: ['offset'],
      page: ['page'],
      limit: ['offset', 'page'],
    };
    for (const [variable, types] of Object.entries(needs)) {
      const at = used.get(variable);
      if (!at) continue;
      if (!types.includes(p.type))
        issue(
          at,
          `{{${variable}}} needs pagination type ${types.join(' or ')} (pagination.type is ${p.type})`,
        );
      else if (variable === 'limit' && p.type === 'page' && p.limit === undefined)
        issue(at, '{{limit}} needs pagination.limit');
    }
    if (p.type === 'cursor' || p.type === 'offset' || p.type === 'page') {
      const variable = p.type;
      if (p.param === undefined && !used.has(variable))
        issue(
          ['pagination', 'param'],
          `required: the query parameter that carries the ${variable}, unless the query or body uses {{${variable}}}`,
        );
      if (p.param !== undefined && used.has(variable))
        issue(
          ['pagination', 'param'],
          `the ${variable} is sent twice: remove pagination.param or {{${variable}}} in ${(used.get(variable) ?? []).join('.')}`,
        );
      if (p.param !== undefined && s.query[p.param] !== undefined)
        issue(['query', p.param], `pagination.param sets this parameter; remove it from the query`);
      if (p.type !== 'cursor' && p.limitParam !== undefined) {
        if (p.param === undefined)
          issue(
            ['pagination', 'limitParam'],
            `with {{${variable}}} in a template, send the page size with {{limit}} there too`,
          );
        if (p.type === 'page' && p.limit === undefined)
          issue(['pagination', 'limit'], 'required with pagination.limitParam: the page size to send');
      }
    }

    if (!used.has('window.start'))
      issue(
        ['query'],
        'no request field uses {{window.start}}: the API would not be asked for a time range and every run would read everything again; add e.g. since: "{{window.start}}"',
      );

    // Method and body.
    if (s.body !== undefined && s.method !== 'POST') issue(['body'], 'a body is only sent with method POST');
    if (s.body !== undefined && s.method === 'POST') {
      const sample = Template.compile(s.body, VARIABLES).render(
        { 'window.start': 0, 'window.end': 0, cursor: 'c', offset: 0, page: 1, limit: 1 },
        { context: 'json', zone: s.timeZone },
      );
      try {
        JSON.parse(sample);
      } catch (err) {
        issue(
          ['body'],
          `expected JSON once rendered (${(err as Error).message}); a value that may be empty goes in as {{cursor | json}}`,
        );
      }
    }

    // URL: https (or http to loopback), no credentials in it.
    const rendered = Template.compile(s.url, VARIABLES).render(
      { 'window.start': 0, 'window.end': 0, cursor: 'c', offset: 0, page: 1, limit: 1 },
      { context: 'url', zone: s.timeZone },
    );
    let u: URL | undefined;
    try {
      u = new URL(rendered);
    } catch {
      issue(['url'], `expected an absolute URL such as https://api.example.com/v1/events, got "${s.url}"`);
    }
    if (u) {
      if (u.username || u.password) issue(['url'], 'credentials belong in the account, not in the URL');
      else if (u.protocol === 'http:' && !isLoopbackHost(u.hostname))
        issue(
          ['url'],
          'plain http:// is accepted only for loopback hosts (127.0.0.1, localhost); use https://',
        );
      else if (u.protocol !== 'https:' && u.protocol !== 'http:')
        issue(['url'], `expected an https:// URL, got ${u.protocol}`);
    }

    if (s.maxWindow !== undefined && parseDuration(s.maxWindow) < 1000)
      issue(['maxWindow'], 'expected at least 1s');
  });

export type RestApiSettings = z.infer<typeof restApiSettings>;
export type Pagination = RestApiSettings['pagination'];
