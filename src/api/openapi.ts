import { z } from 'zod';
import type { Route } from './routes.ts';

/** The OpenAPI 3.1 document, generated from the route table and the schemas that validate requests. */
export function openApiDocument(routes: Route[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorRef = { $ref: '#/components/schemas/Error' };
  const err = (description: string) => ({
    description,
    content: { 'application/json': { schema: errorRef } },
  });
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = r.query
      ? Object.entries(
          (
            z.toJSONSchema(r.query, { io: 'input', unrepresentable: 'any' }) as {
              properties?: Record<string, unknown>;
            }
          ).properties ?? {},
        ).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
      : [];
    const responses: Record<string, unknown> = {
      [String(r.status ?? 200)]: { description: 'Success' },
      400: err('Invalid request: `error.issues` lists each field and what was expected'),
    };
    if (r.access !== 'public') {
      responses[401] = err('Not signed in, or the API token is invalid');
      if (r.access !== 'user' && r.access !== 'viewer') responses[403] = err(`Needs the ${r.access} role`);
    }
    if (r.path.includes('{')) responses[404] = err('No such object');
    if (r.method !== 'GET')
      responses[409] = err('Conflicts with the current state (name taken, still in use)');
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/[/-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      parameters: [...params, ...query],
      responses,
      'x-required-role': r.access,
    };
    if (r.access === 'public') op.security = [];
    if (r.body)
      op.requestBody = {
        required: true,
        content: {
          'application/json': { schema: z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) },
        },
      };
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = op;
  }
  paths['/ingest/{collector}'] = { post: ingestOperation(err) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tributary control plane',
      version,
      description:
        'Accounts, collectors, sites, destinations, users, API tokens and the audit log. Cookie sessions must send the CSRF token as X-CSRF-Token on every change.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (trb_…) from POST /api/tokens' },
        session: { type: 'apiKey', in: 'cookie', name: 'tributary_session' },
        ingestToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "A push collector's ingest token (shown once when the collector is created or its token rotated); also accepted as `Splunk TOKEN` or as the password of Basic auth",
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                issues: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { path: { type: 'string' }, message: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}

/**
 * `POST /ingest/{collector}` (app/ingest/receiver.ts): not in the route table, because it has its
 * own authentication (the collector's ingest token, or a body signature) and no session or CSRF.
 */
function ingestOperation(err: (description: string) => unknown) {
  const retry = {
    'Retry-After': {
      description: 'Seconds to wait before sending the same batch again',
      schema: { type: 'integer' },
    },
  };
  return {
    operationId: 'postIngestCollector',
    summary:
      'Push collectors: a vendor sends a batch of events; 200 only after every destination of the collector acknowledged them. On 429 and 503 the sender keeps the batch and sends it again (same ids), so nothing is lost',
    tags: ['ingest'],
    security: [{ ingestToken: [] }],
    parameters: [{ name: 'collector', in: 'path', required: true, schema: { type: 'string' } }],
    requestBody: {
      required: true,
      description:
        "A JSON array of events, one JSON object, NDJSON (one event a line) or, for sources that take raw lines, text; optionally `Content-Encoding: gzip`. The source's preset may require a signature header instead of the token",
      content: {
        'application/json': { schema: {} },
        'application/x-ndjson': { schema: { type: 'string' } },
        'text/plain': { schema: { type: 'string' } },
      },
    },
    responses: {
      200: {
        description: 'Delivered and counted',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['accepted', 'deadLettered'],
              properties: {
                accepted: { type: 'integer', description: 'Events delivered' },
                deadLettered: {
                  type: 'integer',
                  description: 'Records that were not events, kept with the reason',
                },
              },
            },
          },
        },
      },
      400: err(
        'The body is not valid gzip, ended early, or is one JSON record nested deeper than maxDepth (`too_deeply_nested`)',
      ),
      401: err(
        'Missing or invalid ingest token, or signature; also the answer for a name that is not a push collector',
      ),
      405: err('Only POST'),
      413: err(
        'Too large: as sent (`body_too_large`), once decompressed (`decompressed_body_too_large`), more records than maxRecords (`too_many_records`), or one record over maxRecordKB (`record_too_large`). Nothing of the request was delivered',
      ),
      415: err('A Content-Encoding other than gzip'),
      429: { ...(err("Over the collector's rate: send again after Retry-After") as object), headers: retry },
      503: {
        ...(err(
          'The collector is stopped, or a destination or the store did not acknowledge in time: send again after Retry-After',
        ) as object),
        headers: retry,
      },
    },
  };
}
