import { checkDirectives, formatTime } from './time-format.ts';

/**
 * A tiny, safe template language for configurable requests (the generic REST API collector's URL, query
 * and body): text with `{{ variable }}` or `{{ variable | filter }}` placeholders. There is no code: a
 * placeholder names one variable from a fixed list and up to a few filters from a fixed list, both
 * checked when the template is compiled, so a typo is a validation error naming the field, never a
 * surprise at run time.
 *
 *   {{window.start}}                      2026-11-25T10:00:00.000Z (a time's default: ISO-8601, ms, UTC)
 *   {{window.start | iso_seconds}}        2026-11-25T10:00:00Z
 *   {{window.end | epoch_s}}              1795600800
 *   {{window.end | epoch_ms}}             1795600800000
 *   {{window.start | format:"%Y-%m-%d"}}  2026-11-25 (a time pattern, in the template's time zone)
 *   {{cursor | json}}                     "abc" as a JSON literal, or null when empty (for JSON bodies)
 *
 * Where the text goes decides the escaping: URL values are percent-encoded, JSON bodies get JSON string
 * escaping (so a cursor with quotes cannot break out of its string), except after `json`, which already
 * writes a complete JSON literal. Query values are sent as they render (the HTTP client encodes them).
 */

export type VariableKind = 'time' | 'string' | 'number';

/** The variables a template may name, and what each holds. */
export type Variables = Record<string, VariableKind>;

/** Rendered values: times as epoch milliseconds, the rest as strings or numbers (undefined = empty). */
export type Values = Record<string, string | number | undefined>;

/** Where rendered text goes, which decides how values are escaped. */
export type TemplateContext = 'text' | 'url' | 'json';

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

interface Filter {
  name: string;
  arg?: string;
}

type Part = string | { variable: string; kind: VariableKind; filters: Filter[]; source: string };

const TIME_FILTERS = ['iso', 'iso_seconds', 'epoch_s', 'epoch_ms', 'format'];
const FILTERS = [...TIME_FILTERS, 'json'];
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function parseFilter(text: string, placeholder: string): Filter {
  const m = /^([a-z_]+)\s*(?::\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+)))?$/.exec(text.trim());
  if (!m) throw new TemplateError(`cannot read the filter "${text.trim()}" in ${placeholder}`);
  return { name: m[1], arg: m[2] ?? m[3] ?? m[4] };
}

export class Template {
  readonly text: string;
  private readonly parts: Part[];
  /** The variables the template names. */
  readonly variables: ReadonlySet<string>;
  /** Each placeholder's variable and filter names, in order. */
  readonly placeholders: ReadonlyArray<{ variable: string; filters: string[] }>;

  private constructor(text: string, parts: Part[]) {
    this.text = text;
    this.parts = parts;
    this.placeholders = parts.flatMap((p) =>
      typeof p === 'string' ? [] : [{ variable: p.variable, filters: p.filters.map((f) => f.name) }],
    );
    this.variables = new Set(this.placeholders.map((p) => p.variable));
  }

  /**
   * Parses `text` and checks every placeholder against `variables`; throws a TemplateError whose message
   * names the placeholder and what is allowed (for `field: message` validation issues).
   */
  static compile(text: string, variables: Variables): Template {
    const parts: Part[] = [];
    let at = 0;
    for (;;) {
      let open = text.indexOf('{{', at);
      if (open === -1) break;
      while (text[open + 2] === '{') open++; // `{{{x}}`: a literal brace, then the placeholder
      const close = text.indexOf('}}', open + 2);
      if (close === -1) throw new TemplateError(`"{{" at character ${open + 1} is never closed with "}}"`);
      if (open > at) parts.push(text.slice(at, open));
      const source = text.slice(open, close + 2);
      const [head, ...rest] = text.slice(open + 2, close).split(/\|(?=(?:[^"']|"[^"]*"|'[^']*')*$)/);
      const variable = head.trim();
      if (!NAME.test(variable))
        throw new TemplateError(`${source}: expected a variable name such as {{window.start}}`);
      const kind = variables[variable];
      if (!kind) {
        const known = Object.keys(variables);
        throw new TemplateError(
          `unknown variable ${source}${known.length ? ` (known here: ${known.join(', ')})` : ' (no variables are available here)'}`,
        );
      }
      const filters = rest.map((f) => parseFilter(f, source));
      filters.forEach((f, i) => {
        if (!FILTERS.includes(f.name))
          throw new TemplateError(`unknown filter "${f.name}" in ${source} (known: ${FILTERS.join(', ')})`);
        if (TIME_FILTERS.includes(f.name) && (kind !== 'time' || i > 0))
          throw new TemplateError(
            `the filter "${f.name}" in ${source} formats a time; ${variable} is not a time here`,
          );
        if (f.name === 'format' && !f.arg)
          throw new TemplateError(`the filter "format" in ${source} needs a pattern: format:"%Y-%m-%d"`);
        const bad = f.name === 'format' && f.arg ? checkDirectives(f.arg) : undefined;
        if (bad) throw new TemplateError(`the pattern of "format" in ${source}: ${bad}`);
        if (f.name !== 'format' && f.arg !== undefined)
          throw new TemplateError(`the filter "${f.name}" in ${source} takes no argument`);
        if (f.name === 'json' && i !== filters.length - 1)
          throw new TemplateError(`"json" must be the last filter in ${source}`);
      });
      parts.push({ variable, kind, filters, source });
      at = close + 2;
    }
    if (at < text.length) parts.push(text.slice(at));
    return new Template(text, parts);
  }

  /** True when the template has no placeholder. */
  get isStatic(): boolean {
    return this.variables.size === 0;
  }

  render(values: Values, o: { context?: TemplateContext; zone?: string } = {}): string {
    const context = o.context ?? 'text';
    let out = '';
    for (const part of this.parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const raw = values[part.variable];
      let text: string;
      if (part.kind === 'time' && typeof raw === 'number') {
        const f = part.filters.find((x) => TIME_FILTERS.includes(x.name)) ?? { name: 'iso' };
        text = formatTimeValue(raw, f, o.zone);
      } else text = raw === undefined ? '' : String(raw);
      const literal = part.filters.at(-1)?.name === 'json';
      if (literal)
        text =
          raw === undefined || raw === ''
            ? 'null'
            : part.kind === 'number' && typeof raw === 'number'
              ? text
              : JSON.stringify(text);
      out +=
        context === 'url'
          ? encodeURIComponent(text)
          : context === 'json' && !literal
            ? JSON.stringify(text).slice(1, -1)
            : text;
    }
    return out;
  }
}

function formatTimeValue(ms: number, f: Filter, zone = 'UTC'): string {
  switch (f.name) {
    case 'iso':
      return new Date(ms).toISOString();
    case 'iso_seconds':
      return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    case 'epoch_s':
      return String(Math.floor(ms / 1000));
    case 'epoch_ms':
      return String(Math.floor(ms));
    case 'format':
      return formatTime(ms, f.arg ?? '', zone);
    default:
      return String(ms);
  }
}
