import { z } from 'zod';
import { collectorSchema, nameSchema } from '../config/config-file.ts';
import { parseDuration } from '../core/duration.ts';
import { TOKEN_SCOPES } from '../core/store.ts';
import { serviceUrl } from '../core/validation.ts';
import { destinationConfigSchema, destinationKinds } from '../destinations/index.ts';
import { parseAllowEntry } from '../engine/egress.ts';

/**
 * Request bodies of the control-plane API. The same schemas validate requests and generate the
 * OpenAPI document, so the two cannot drift. Every object is strict: unknown fields are refused.
 */

const isoTime = z.iso.datetime({
  offset: true,
  message: 'expected an ISO-8601 time such as 2026-12-31T00:00:00Z',
});

const origins = z
  .array(serviceUrl())
  .max(20, 'expected at most 20 origins')
  .describe(
    "Where the account's credentials may be sent beyond the vendor's own hosts (a proxy, a regional endpoint, a simulator), e.g. https://proxy.example.com:8443; changing them needs the secret entered again",
  );

export const accountCreate = z
  .object({
    name: nameSchema,
    kind: z.string().describe('Account kind, e.g. okta (GET /api/account-kinds)'),
    fields: z.record(z.string(), z.unknown()).describe("The kind's fields, secrets included (write-only)"),
    requestsPerMinute: z
      .number()
      .positive()
      .max(1_000_000)
      .optional()
      .describe("Overrides the kind's request budget"),
    expiresAt: isoTime.optional().describe('When the credential expires; health warns 14 days before'),
    origins: origins.optional(),
  })
  .strict();

export const accountUpdate = z
  .object({
    fields: z
      .record(z.string(), z.unknown())
      .describe('All non-secret fields; a secret field left out keeps its stored value'),
    requestsPerMinute: z.number().positive().max(1_000_000).nullable().optional(),
    expiresAt: isoTime.nullable().optional(),
    origins: origins.optional().describe('Replaces the origins; left out, they stay'),
  })
  .strict();

/**
 * The console wizard's inline account: created with the collector in one operation (both or neither),
 * so an abandoned wizard leaves no account behind. Its `origins` default to those of the collector's
 * URL settings (base URL, a REST API endpoint).
 */
const newAccount = accountCreate.describe(
  "An account to create with the collector, in the same operation (both are created, or neither); the collector's account is this one. Its origins default to those of the collector's URL settings",
);

export const collectorCreate = collectorSchema.extend({
  name: nameSchema,
  newAccount: newAccount.optional(),
});
/** An edit replaces the whole definition (the name comes from the path). */
export const collectorUpdate = collectorSchema;
/** Test Connection before Install: a collector definition, its name optional, its new account not yet created. */
export const collectorTest = collectorSchema.extend({
  name: nameSchema.optional(),
  newAccount: newAccount.optional(),
});
/** Preview before Install: a collector definition (its name optional, stamped on the envelopes). */
export const collectorPreview = collectorTest;

export const resetCheckpoint = z
  .object({ stream: z.string().optional().describe('Only this stream; all streams when left out') })
  .strict();

export const destinationCreate = z.object({ name: nameSchema, config: destinationConfigSchema }).strict();
/** Validated against the kind's schema after the stored secrets are merged back in. */
export const destinationUpdateRaw = z
  .object({
    config: z
      .object({ kind: z.enum(Object.keys(destinationKinds) as [string, ...string[]]) })
      .loose()
      .describe("The destination's settings as for create; secret fields left out keep their stored values"),
  })
  .strict();

export const siteCreate = z.object({ name: nameSchema }).strict();

export const instanceSettings = z
  .object({
    earlyAccess: z.boolean().optional().describe('Offer early-access sources'),
    egressAllowList: z
      .array(
        z
          .string()
          .trim()
          .refine(
            (v) => parseAllowEntry(v) !== undefined,
            'expected an IP address or CIDR range such as 169.254.10.0/24',
          ),
      )
      .max(100)
      .optional()
      .describe(
        'Link-local or metadata addresses (and CIDR ranges) that collectors and destinations may nevertheless reach; everything else there is refused',
      ),
  })
  .strict()
  .refine((v) => v.earlyAccess !== undefined || v.egressAllowList !== undefined, {
    message: 'expected earlyAccess or egressAllowList',
  });

const username = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/, 'expected 2–64 letters, digits, ".", "_", "@" or "-"');
const password = z.string().min(12, 'expected at least 12 characters').max(1024);
const role = z.enum(['admin', 'editor', 'viewer']);

export const login = z.object({ username: z.string().max(64), password: z.string().max(1024) }).strict();
export const setup = z.object({ token: z.string().max(200), username, password }).strict();
export const userCreate = z.object({ username, password, role }).strict();
export const userUpdate = z
  .object({ password: password.optional(), role: role.optional(), disabled: z.boolean().optional() })
  .strict();
export const tokenCreate = z
  .object({
    name: z.string().min(1).max(100),
    expiresAt: isoTime.optional(),
    /** Limits the token to these uses; omitted: everything its user's role allows. */
    scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).max(TOKEN_SCOPES.length).optional(),
  })
  .strict();

export const auditQuery = z
  .object({
    since: isoTime.optional(),
    until: isoTime.optional(),
    actor: z.string().optional(),
    action: z.string().optional(),
    targetType: z.string().optional(),
    target: z.string().optional(),
    beforeId: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    format: z.enum(['json', 'ndjson', 'csv']).default('json'),
  })
  .strict();

export const rotateIngestToken = z
  .object({
    overlap: z
      .string()
      .regex(/^(\d+(ms|s|m|h|d))+$/, 'expected a duration such as 0s, 30m, 24h or 7d')
      .refine((v) => parseDuration(v) <= 30 * 86_400_000, 'expected at most 30d')
      .optional()
      .describe('How long the previous token keeps working (default 24h; 0s revokes it now)'),
  })
  .strict();

export const runsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();
export const testAccount = z
  .object({
    source: z.string().optional().describe('Probe with this source (default: the first of the kind)'),
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
