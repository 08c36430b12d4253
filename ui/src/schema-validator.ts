import { type OutputUnit, type Schema, Validator } from '@cfworker/json-schema';
import {
  type CustomValidator,
  createErrorHandler,
  type ErrorTransformer,
  getDefaultFormState,
  type RJSFSchema,
  type RJSFValidationError,
  toErrorSchema,
  type UiSchema,
  unwrapErrorHandler,
  type ValidationData,
  type ValidatorType,
  validationDataMerge,
} from '@rjsf/utils';

/**
 * The JSON-Schema validator behind the generated forms: @cfworker/json-schema (draft 2020-12, which is
 * what the API's zod schemas produce) in rjsf's ValidatorType shape. Chosen over @rjsf/validator-ajv8
 * because Ajv compiles every schema with `new Function`, which the console's CSP (script-src 'self',
 * no 'unsafe-eval') rightly refuses; this one interprets the schema. The server validates again with
 * the source's zod schema, and its issues are shown next to the fields too.
 */

/** Keywords that only say "something inside failed": their leaves carry the useful message. */
const WRAPPERS = new Set(['properties', 'items', 'prefixItems', 'allOf', '$ref', 'additionalProperties']);

const cache = new WeakMap<object, Validator>();

function validatorFor(schema: RJSFSchema, root?: RJSFSchema): Validator {
  const key = schema as object;
  let v = cache.get(key);
  if (!v) {
    const { $schema: _, ...rest } = schema as Schema;
    v = new Validator(rest as Schema, '2020-12', false);
    if (root && root !== schema) {
      const { $schema: __, ...r } = root as Schema;
      v.addSchema(r as Schema, 'root');
    }
    cache.set(key, v);
  }
  return v;
}

/** "#/settings/limit" → ".settings.limit" (rjsf's property notation). */
const property = (location: string) =>
  location
    .replace(/^#/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => `.${decodeURIComponent(p.replace(/~1/g, '/').replace(/~0/g, '~'))}`)
    .join('');

function toRjsfErrors(units: OutputUnit[]): RJSFValidationError[] {
  const out: RJSFValidationError[] = [];
  const seen = new Set<string>();
  for (const u of units) {
    if (WRAPPERS.has(u.keyword)) continue;
    let prop = property(u.instanceLocation);
    let message = u.error;
    if (u.keyword === 'required') {
      const m = /"([^"]+)"/.exec(u.error);
      if (m) prop = `${prop}.${m[1]}`;
      message = 'Required: this field needs a value.';
    } else {
      message = message
        .replace(/^Instance does not match /, 'does not match ')
        .replace(/^String "[^"]*" does not match pattern/, 'does not match the pattern')
        .replace(/^Instance type "[^"]*" is invalid\. Expected/, 'must be');
    }
    const key = `${prop}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      name: u.keyword,
      property: prop,
      message,
      stack: `${prop.replace(/^\./, '') || 'value'} ${message}`,
      schemaPath: u.keywordLocation,
    });
  }
  return out;
}

export class CfWorkerValidator implements ValidatorType {
  rawValidation<Result = OutputUnit>(schema: RJSFSchema, formData?: unknown) {
    try {
      const r = validatorFor(schema).validate(formData);
      return { errors: r.valid ? undefined : (r.errors as Result[]) };
    } catch (err) {
      return { errors: undefined, validationError: err as Error };
    }
  }

  validateFormData(
    formData: unknown,
    schema: RJSFSchema,
    customValidate?: CustomValidator,
    transformErrors?: ErrorTransformer,
    uiSchema?: UiSchema,
  ): ValidationData<unknown> {
    const raw = this.rawValidation<OutputUnit>(schema, formData);
    let errors = toRjsfErrors(raw.errors ?? []);
    if (raw.validationError) errors.push({ stack: raw.validationError.message });
    if (transformErrors) errors = transformErrors(errors, uiSchema);
    const errorSchema = toErrorSchema(errors);
    if (!customValidate) return { errors, errorSchema };
    const full = getDefaultFormState(this, schema, formData, schema, true);
    const handler = customValidate(full, createErrorHandler(full), uiSchema, errorSchema);
    return validationDataMerge({ errors, errorSchema }, unwrapErrorHandler(handler));
  }

  isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
    try {
      return validatorFor(schema, rootSchema).validate(formData).valid;
    } catch {
      return false;
    }
  }

  reset(): void {}
}

export const schemaValidator = new CfWorkerValidator();
