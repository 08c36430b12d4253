import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `splunk` account kind: the REST API on a Splunk Enterprise or Splunk Cloud Platform management
 * port with an authentication token. Vendor facts this follows:
 *
 * - Authentication tokens are JSON Web Tokens created under Settings → Tokens (token authentication must
 *   be enabled) and are sent as `Authorization: Bearer <token>`; session keys from `/services/auth/login`
 *   use `Authorization: Splunk <key>` instead (docs.splunk.com/Documentation/Splunk/latest/Security/UseAuthTokens,
 *   help.splunk.com …/authenticate-into-the-splunk-platform-with-tokens/use-authentication-tokens; the
 *   Splunk SDKs name them "authentication token" → Bearer and "session token" → Splunk, e.g.
 *   github.com/splunk/splunk-sdk-java/pull/177). Authentication tokens are preferred: they do not expire
 *   with a session and can be revoked on their own.
 * - The REST API also takes a user's name and password as HTTP Basic authentication on every request
 *   (help.splunk.com, Search Manual, "Export data using the Splunk REST API": `curl -u admin:changeme
 *   https://localhost:8089/services/search/jobs/`), for deployments where token authentication is off.
 * - The REST API listens on the management port, 8089 by default; on Splunk Cloud Platform it must be
 *   opened by Splunk Support for the collector's IP addresses. Port 8088 is the HTTP Event Collector,
 *   which takes HEC tokens and cannot search.
 * - Search concurrency is limited per role and instance, not as a request rate per token, so the kind sets
 *   no rateLimit.
 *
 * TLS certificates are always verified (there is deliberately no `verifyTls: false`); a Splunk server
 * with a private CA needs that CA in NODE_EXTRA_CA_CERTS.
 */

export interface SplunkAccount {
  url: string;
  token?: string;
  username?: string;
  password?: string;
}

export const splunkFields = z
  .strictObject(
    {
      url: serviceUrl()
        .refine((v) => ['', '/'].includes(new URL(v).pathname), {
          message: 'expected the server and port alone, such as https://splunk.example.com:8089 (no path)',
        })
        .refine((v) => new URL(v).port !== '8088', {
          message:
            'port 8088 is the HTTP Event Collector, which cannot search: use the management port (8089 by default)',
        })
        .meta({ title: 'Management URL' })
        .meta(ORIGIN)
        .describe(
          'REST API base URL on the management port, e.g. https://splunk.example.com:8089 or https://acme.splunkcloud.com:8089',
        ),
      token: z
        .string()
        .trim()
        .regex(
          /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
          'expected a Splunk authentication token (a JSON Web Token, eyJ…) from Settings → Tokens, pasted alone; session keys and HEC tokens do not work here',
        )
        .meta({ ...SECRET, title: 'Authentication token' })
        .describe(
          'Authentication token of a user whose role may run the searches (Settings → Tokens → New Token); or give username and password instead',
        )
        .optional(),
      username: z
        .string()
        .trim()
        .min(1)
        .regex(/^[^:]+$/, 'a Basic user name cannot contain ":"')
        .optional()
        .meta({ title: 'Username' })
        .describe(
          'A Splunk user whose role may run the searches (with password, when token authentication is off)',
        ),
      password: z
        .string()
        .min(1)
        .optional()
        .meta({ ...SECRET, title: 'Password' })
        .describe('The password of that user, sent as HTTP Basic authentication to the management port only'),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys' && iss.keys.includes('verifyTls')
          ? 'verifyTls: not supported: Tributary always verifies TLS certificates (add a private CA with NODE_EXTRA_CA_CERTS)'
          : undefined,
    },
  )
  .superRefine((a, ctx) => {
    const basic = a.username !== undefined || a.password !== undefined;
    if (a.token && basic)
      ctx.addIssue({
        code: 'custom',
        path: [a.username !== undefined ? 'username' : 'password'],
        message: 'set either token, or username and password, not both',
      });
    else if (!a.token && !basic)
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'required: token, or username and password' });
    else if (!a.token)
      for (const f of ['username', 'password'] as const)
        if (a[f] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [f],
            message: 'required with Basic authentication (username and password go together)',
          });
  });

export const splunk = defineAccountKind<SplunkAccount>({
  id: 'splunk',
  title: 'Splunk',
  fields: splunkFields as unknown as z.ZodType<SplunkAccount>,
  origins: (a) => [a.url],
  async authorize(a, headers) {
    headers.set(
      'authorization',
      a.token
        ? `Bearer ${a.token}`
        : `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`,
    );
  },
});
