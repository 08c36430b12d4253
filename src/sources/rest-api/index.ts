import type { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { configError } from '../../core/errors.ts';
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import { fetchPage, restPoll } from '../../engine/rest-poll.ts';
import { previewRestApi } from './preview.ts';
import { compile } from './request.ts';
import { type RestApiSettings, restApiSettings } from './settings.ts';

/**
 * The generic REST API collector: any JSON REST API, described by settings instead of code. It follows
 * the seed product's "Rest API Cloud Collector" (docs.exabeam.com/en/collectors/all/
 * cloud-collectors-administration-guide/onboard-cloud-collectors/rest-api-cloud-collector/
 * configure-the-rest-api-cloud-collector.html): request headers, request parameters with dynamic
 * variables, GET or POST, several pagination strategies (a response body attribute, …), and Basic,
 * OAuth 2.0 or static-token authentication. The standards it leans on: RFC 8288 (Link headers), RFC 6750
 * (bearer), RFC 7617 (Basic), RFC 6749 §4.4 (client credentials), through the generic account kinds.
 *
 * Decided here: the settings are mapped onto the engine's `restPoll` (time-window cursor, paginators);
 * the templates are a small fixed language (engine/template.ts), never code; POST is only for query
 * APIs and declared read-only; the time range must reach the API (`{{window.start}}` somewhere), or
 * every run would read everything again. A collector of a public API uses a `none` account.
 */

const stream: StreamDef<RestApiSettings, unknown> = {
  title: 'Events',
  description: 'The records of the configured endpoint, one event each.',
  read: (ctx) => restPoll(compile(ctx.settings).def).read(ctx),
};

export default defineSource<RestApiSettings, unknown>({
  id: 'rest-api',
  title: 'REST API (generic)',
  account: 'api-key',
  accounts: ['api-key', 'bearer', 'basic', 'oauth2-client-credentials', 'none'],
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Any JSON REST API that can be asked for a time range: URL, method, headers, query and body templates, records, time and id paths, and its pagination, set as configuration.',
  setupGuide: [
    'Collects from any JSON REST API that filters by time. Before you start, find in the vendor’s API reference:',
    '',
    '- the endpoint and how it is asked for a time range (e.g. `since`/`until`, in ISO-8601 or epoch seconds);',
    '- where the list of records is in the response (`data.items`, or `.` for a top-level list), and in each record',
    '  its time (and its format) and its unique id;',
    '- how pages link: a `Link` header, a next-page URL or cursor in the body, offset/limit, or page numbers;',
    '- whether results are oldest first (ascending), newest first, or in no documented order;',
    '- the authentication: API key header, bearer token, Basic, OAuth 2.0 client credentials, or none.',
    '',
    'Create an account of the matching kind (`api-key`, `bearer`, `basic`, `oauth2-client-credentials`, or `none`',
    'for a public API): credentials never go into the collector’s settings. Then describe the request, using the',
    'variables `{{window.start}}` and `{{window.end}}` (with `| iso_seconds`, `| epoch_s`, `| epoch_ms` or',
    '`| format:"%Y-%m-%d"` where the API wants another format), and **Preview** it: the page it returns, the',
    'events it would emit, the next page it found, and what looks wrong. Use an account with read-only access.',
  ].join('\n'),
  settings: restApiSettings as unknown as z.ZodType<RestApiSettings>,
  streams: { events: stream },
  explain({ status, message }) {
    const said = message ? ` The API said: ${message}` : '';
    if (status === 401)
      return {
        code: 'rest_api_unauthorized',
        action: `The API rejected the credentials: check the account (the kind the API expects — API key header name and prefix, bearer token, Basic user, or OAuth 2.0 client — and that they are current).${said}`,
      };
    if (status === 403)
      return {
        code: 'rest_api_forbidden',
        action: `The credentials work but may not read this endpoint: grant the API user or client read access to it.${said}`,
      };
    if (status === 404)
      return {
        code: 'rest_api_not_found',
        action: `Check settings.url (its path and the IDs in it) and the base URL.${said}`,
      };
    if (status === 405)
      return {
        code: 'rest_api_method_not_allowed',
        action: `The endpoint does not take this method: check settings.method (GET, or POST for a query API).${said}`,
      };
    if (status === 400 || status === 422)
      return {
        code: 'rest_api_bad_request',
        action: `The API refused the request: check settings.query and settings.body, above all the format of {{window.start}} and {{window.end}} (iso, iso_seconds, epoch_s, epoch_ms or format:"…"), and the page size. Preview shows the request sent.${said}`,
      };
    return undefined;
  },
  async test({ settings: s, http, signal }) {
    // One page of the last five minutes before the lag: proves the URL, the credentials and the
    // records path. A records path that finds nothing is a settings problem, reported as such.
    const c = compile(s);
    const end = Date.now() - parseDuration(s.lag);
    const request = c.firstRequest({ start: new Date(end - 5 * 60_000), end: new Date(end) });
    const { body } = await fetchPage(
      c.def,
      { http, settings: s, signal } as ReadContext<RestApiSettings>,
      request,
    );
    const found = c.findRecords(body);
    if ('problem' in found)
      throw configError(
        'records_not_found',
        `The API answered, but ${found.problem}.`,
        'Set settings.recordsPath to the field holding the list of records (Preview shows the response); use . for a top-level list.',
      );
  },
  preview: previewRestApi,
});
