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
