import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { accountKinds } from '../accounts/index.ts';
import { sources } from './index.ts';

/**
 * The console renders every source's settings and every account kind's fields from the JSON Schema the
 * API publishes (GET /api/sources, GET /api/account-kinds, made as here). So every field must say what
 * it is in words: an explicit `title` (the label) and a `description` (the help under it) — no label
 * made up from a property name ("Max body mb", "header"). A property fixed to one value (`const`, the
 * `type` that tells pagination options apart) is no field to fill: the form does not show it.
 *
 * And a field whose name says it is a secret must be write-only (`.meta(SECRET)`): stored encrypted,
 * never shown again, and a password input in the console.
 */

type Schema = {
  title?: string;
  description?: string;
  const?: unknown;
  writeOnly?: boolean;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
};

const SECRET_NAME = /(secret|password|token|apiKey|privateKey|^key)$/i;

/** Every property in `schema`, nested ones and those of each option included, with its path. */
function* properties(schema: Schema, path: string): Generator<{ path: string; name: string; s: Schema }> {
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    yield { path: `${path}.${name}`, name, s };
    yield* properties(s, `${path}.${name}`);
  }
  for (const [i, option] of [
    ...(schema.oneOf ?? []),
    ...(schema.anyOf ?? []),
    ...(schema.allOf ?? []),
  ].entries())
    yield* properties(option, `${path}(option ${i + 1})`);
  if (schema.items) yield* properties(schema.items, `${path}[]`);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
    yield* properties(schema.additionalProperties, `${path}.*`);
}

const published = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;

const schemas = [
  ...Object.values(sources).map((s) => ({ what: `source ${s.id} settings`, schema: published(s.settings) })),
  ...Object.values(accountKinds).map((k) => ({
    what: `account kind ${k.id} fields`,
    schema: published(k.fields),
  })),
];

describe('settings and account fields as the console shows them', () => {
  it('walks every source and account kind', () => {
    assert.ok(Object.keys(sources).length >= 18);
    assert.ok(Object.keys(accountKinds).length >= 18);
    const count = schemas.reduce((n, { schema }) => n + [...properties(schema, '')].length, 0);
    assert.ok(count > 150, `only ${count} properties: the walk missed some`);
  });

  it('every field has a human title and a description', () => {
    const missing: string[] = [];
    for (const { what, schema } of schemas)
      for (const { path, s } of properties(schema, '')) {
        if (s.const !== undefined) continue;
        const lacks = [!s.title?.trim() && 'title', !s.description?.trim() && 'description'].filter(Boolean);
        if (lacks.length) missing.push(`${what}${path}: no ${lacks.join(' and no ')}`);
      }
    assert.deepEqual(missing, [], `fields the console would label from their names:\n${missing.join('\n')}`);
  });

  it('each option of a choice (the REST API pagination) has a title, not "Option 3"', () => {
    const untitled: string[] = [];
    for (const { what, schema } of schemas)
      for (const { path, s } of [{ path: '', s: schema }, ...properties(schema, '')])
        for (const [i, option] of [...(s.oneOf ?? []), ...(s.anyOf ?? [])].entries())
          if ((option as Schema).properties && !option.title) untitled.push(`${what}${path} option ${i + 1}`);
    assert.deepEqual(untitled, []);
    const pagination = published(sources['rest-api']!.settings).properties!.pagination!;
    assert.deepEqual(
      pagination.oneOf!.map((o) => o.title),
      [
        'None: one page per window',
        'Link header (rel="next")',
        'Next-page URL in the body',
        'Cursor',
        'Offset and limit',
        'Page numbers',
      ],
    );
  });

  it('a field named like a secret is write-only', () => {
    const exposed: string[] = [];
    for (const { what, schema } of schemas)
      for (const { path, name, s } of properties(schema, ''))
        if (SECRET_NAME.test(name) && !s.writeOnly) exposed.push(`${what}${path}`);
    assert.deepEqual(exposed, []);
    // and the ones the issue named: the webhook's HMAC secret, an account's token
    const hook = published(sources.webhook!.settings).properties!.hmac!.properties!;
    assert.equal(hook.secret!.writeOnly, true);
    assert.equal(hook.secret!.title, 'HMAC secret');
    assert.equal(
      published(sources.webhook!.settings).properties!.maxBodyMB!.title,
      'Largest body as sent (MB)',
    );
  });
});
