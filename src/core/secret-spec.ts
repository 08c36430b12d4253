import { z } from 'zod';

/**
 * What is secret in a stored object (an account's fields, a destination's config, a collector's
 * settings), and which fields decide where those secrets are sent. Both are read from the kind's zod
 * schema, so one place decides:
 *
 * - a secret field carries `.meta({ writeOnly: true })` (JSON Schema's own keyword for a value a client
 *   may send and will never get back; the console renders it as a password input);
 * - a field that decides where secrets go (a URL, a host, a cloud or region) carries
 *   `.meta({ 'x-origin': true })`: changing it without entering the secrets again is refused, so a
 *   stored secret can never be moved to another server by someone who does not know it.
 *
 * Paths are dotted (`auth.token`); `*` stands for every key of a record (`headers.*`).
 */

export interface SecretSpec {
  /** Paths of write-only values: encrypted at rest, shown masked, kept when sent back masked. */
  secrets: string[];
  /** Paths of the fields that decide where the secrets are sent. */
  origins: string[];
}

/** Marks a secret field (see the module comment). */
export const SECRET = { writeOnly: true } as const;
/** Marks a field that decides where secrets are sent. */
export const ORIGIN = { 'x-origin': true } as const;

type JsonSchema = {
  writeOnly?: boolean;
  'x-origin'?: boolean;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  items?: JsonSchema;
};

const cache = new WeakMap<z.ZodType, SecretSpec>();

/** The secret and origin paths of a schema (memoised per schema object). */
export function secretSpecOf(schema: z.ZodType): SecretSpec {
  const hit = cache.get(schema);
  if (hit) return hit;
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const secrets = new Set<string>();
  const origins = new Set<string>();
  const walk = (s: JsonSchema | boolean | undefined, path: string[]) => {
    if (!s || typeof s !== 'object') return;
    const at = path.join('.');
    if (s.writeOnly && at) secrets.add(at);
    if (s['x-origin'] && at) origins.add(at);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, [...path, k]);
    walk(s.additionalProperties, [...path, '*']);
    for (const v of [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])]) walk(v, path);
  };
  walk(json, []);
  const spec = { secrets: [...secrets], origins: [...origins] };
  cache.set(schema, spec);
  return spec;
}

/** The spec with every path under `prefix` (a collector's settings sit under `settings`). */
export const prefixSpec = (spec: SecretSpec, prefix: string): SecretSpec => ({
  secrets: spec.secrets.map((p) => `${prefix}.${p}`),
  origins: spec.origins.map((p) => `${prefix}.${p}`),
});

const MASK_PREFIX = '••••';

/** How a secret is shown: its last four characters at most (none for short ones). */
export function maskSecret(value: string): string {
  return value.length >= 8 ? `${MASK_PREFIX}${value.slice(-4)}` : MASK_PREFIX;
}

/**
 * Whether a value is in the mask's shape: what a client that read an object and sends it back carries
 * in place of a secret. It means "unchanged", never a new value.
 */
export function isMasked(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(MASK_PREFIX) && value.length <= MASK_PREFIX.length + 4;
}
