/**
 * Event-time formats for configurable sources (the generic REST API collector): ISO-8601, epoch seconds,
 * epoch milliseconds, or a strftime-like pattern read in an IANA time zone. Parsing yields epoch
 * milliseconds (UTC), or undefined when the value does not match; nothing guesses silently except `auto`,
 * which is documented as a guess (numbers by magnitude, strings as ISO-8601 or an HTTP date).
 *
 * Pattern directives: %Y year, %y two-digit year (2000–2099), %m month, %d day, %H hour (00–23),
 * %I hour (01–12) with %p AM/PM, %M minute, %S second, %L milliseconds (3 digits), %f fraction of a
 * second (1–9 digits when read, 6 when written), %z offset (Z, ±HH:MM, ±HHMM or ±HH), %b month
 * abbreviation (Jan…Dec), %a weekday abbreviation (read and ignored), %F = %Y-%m-%d, %T = %H:%M:%S,
 * %% a percent sign. Without %z, the pattern's wall time is in the given zone (UTC by default).
 */

export const NAMED_TIME_FORMATS = ['auto', 'iso', 'epoch_s', 'epoch_ms'] as const;
export type NamedTimeFormat = (typeof NAMED_TIME_FORMATS)[number];

/** %F and %T spelled out (a %% stays as it is). */
const expand = (pattern: string) =>
  pattern.replace(/%([%FT])/g, (_m, d: string) => (d === 'F' ? '%Y-%m-%d' : d === 'T' ? '%H:%M:%S' : '%%'));

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DIRECTIVES = 'YymdHIpMSLfzbaFT%';

/** Why `pattern` has an unknown or incomplete directive, or undefined (enough for writing times). */
export function checkDirectives(pattern: string): string | undefined {
  if (!pattern.includes('%')) return 'expected a pattern with % directives such as %Y-%m-%d %H:%M:%S';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '%') continue;
    const d = pattern[i + 1];
    if (d === undefined) return 'the pattern ends with a lone %; write %% for a percent sign';
    if (!DIRECTIVES.includes(d))
      return `unknown directive %${d} (known: %Y %y %m %d %H %I %p %M %S %L %f %z %b %a %F %T %%)`;
    i++;
  }
  return undefined;
}

/** Why `pattern` cannot read a time (unknown directive, no date), or undefined when it can. */
export function checkTimePattern(pattern: string): string | undefined {
  const bad = checkDirectives(pattern);
  if (bad) return bad;
  const expanded = expand(pattern);
  if (!/%[Yy]/.test(expanded) || !/%[mb]/.test(expanded) || !expanded.includes('%d'))
    return 'the pattern must contain a year (%Y or %y), a month (%m or %b) and a day (%d)';
  if (expanded.includes('%I') !== expanded.includes('%p')) return '%I (12-hour clock) needs %p (AM/PM)';
  return undefined;
}

/** True for `auto`, `iso`, `epoch_s`, `epoch_ms`, or a valid pattern. */
export function isTimeFormat(format: string): boolean {
  return (NAMED_TIME_FORMATS as readonly string[]).includes(format) || checkTimePattern(format) === undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at instant `utcMs`, in ms (Europe/Berlin in winter: +3600000). */
export function zoneOffsetMs(zone: string, utcMs: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(utcMs))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour === 24 ? 0 : p.hour, p.minute, p.second);
  return wall - Math.floor(utcMs / 1000) * 1000;
}

/** The UTC instant of a wall-clock time (given as if it were UTC) in `zone`; a DST gap resolves forward. */
export function wallToUtc(wallMs: number, zone: string): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return wallMs;
  let utc = wallMs - zoneOffsetMs(zone, wallMs);
  const again = zoneOffsetMs(zone, utc);
  if (wallMs - again !== utc) utc = wallMs - again;
  return utc;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function offsetMs(z: string): number {
  if (z === 'Z' || z === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(z);
  if (!m) return Number.NaN;
  const mins = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return (m[1] === '-' ? -1 : 1) * mins * 60_000;
}

const fraction = (digits: string | undefined) => (digits ? Number(`0.${digits}`) * 1000 : 0);

function validDate(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

function parseIso(text: string, zone: string): number | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  if (!validDate(y, mo, d, h, mi, s)) return undefined;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s) + Math.floor(fraction(m[7]));
  if (m[8] === undefined) return wallToUtc(wall, zone);
  const off = offsetMs(m[8]);
  return Number.isFinite(off) ? wall - off : undefined;
}

function epoch(value: unknown, unit: number): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) ? Math.round(n * unit) : undefined;
}

interface CompiledPattern {
  re: RegExp;
  fields: string[];
}

const patterns = new Map<string, CompiledPattern>();

function compilePattern(pattern: string): CompiledPattern {
  let c = patterns.get(pattern);
  if (c) return c;
  const fields: string[] = [];
  let src = '';
  const expanded = expand(pattern);
  for (let i = 0; i < expanded.length; i++) {
    const ch = expanded[i];
    if (ch !== '%') {
      src += /\s/.test(ch) ? '\\s+' : ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      continue;
    }
    const d = expanded[++i];
    const group: Record<string, string> = {
      Y: '(\\d{4})',
      y: '(\\d{2})',
      m: '(\\d{1,2})',
      d: '(\\d{1,2})',
      H: '(\\d{1,2})',
      I: '(\\d{1,2})',
      p: '([AaPp][Mm])',
      M: '(\\d{2})',
      S: '(\\d{2})',
      L: '(\\d{3})',
      f: '(\\d{1,9})',
      z: '(Z|z|[+-]\\d{2}(?::?\\d{2})?)',
      b: '([A-Za-z]{3})',
      a: '([A-Za-z]{3})',
    };
    if (d === '%') {
      src += '%';
      continue;
    }
    src += group[d];
    fields.push(d);
  }
  c = { re: new RegExp(`^${src}$`), fields };
  patterns.set(pattern, c);
  return c;
}

function parsePattern(text: string, pattern: string, zone: string): number | undefined {
  const { re, fields } = compilePattern(pattern);
  const m = re.exec(text.trim());
  if (!m) return undefined;
  let y = 1970;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let s = 0;
  let ms = 0;
  let pm: boolean | undefined;
  let off: number | undefined;
  fields.forEach((f, i) => {
    const v = m[i + 1];
    switch (f) {
      case 'Y':
        y = Number(v);
        break;
      case 'y':
        y = 2000 + Number(v);
        break;
      case 'm':
        mo = Number(v);
        break;
      case 'b':
        mo = MONTHS.indexOf(v.toLowerCase()) + 1;
        break;
      case 'd':
        d = Number(v);
        break;
      case 'H':
      case 'I':
        h = Number(v);
        break;
      case 'p':
        pm = v.toLowerCase() === 'pm';
        break;
      case 'M':
        mi = Number(v);
        break;
      case 'S':
        s = Number(v);
        break;
      case 'L':
        ms = Number(v);
        break;
      case 'f':
        ms = fraction(v);
        break;
      case 'z':
        off = offsetMs(v);
        break;
    }
  });
  if (pm !== undefined) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (pm ? 12 : 0);
  }
  if (mo < 1 || !validDate(y, mo, d, h, mi, s)) return undefined;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s) + Math.floor(ms);
  if (off === undefined) return wallToUtc(wall, zone);
  return Number.isFinite(off) ? wall - off : undefined;
}

/**
 * Reads a record's time in `format` (a named format or a pattern), in `zone` when the value carries no
 * offset. Returns epoch milliseconds, or undefined when the value is absent or does not match.
 */
export function parseTime(value: unknown, format: string, zone = 'UTC'): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let ms: number | undefined;
  switch (format) {
    case 'epoch_s':
      ms = epoch(value, 1000);
      break;
    case 'epoch_ms':
      ms = epoch(value, 1);
      break;
    case 'iso':
      ms = typeof value === 'string' ? parseIso(value, zone) : undefined;
      break;
    case 'auto': {
      const n = epoch(value, 1);
      if (n !== undefined) ms = Math.abs(n) < 1e11 ? n * 1000 : n;
      else if (typeof value === 'string') {
        ms = parseIso(value, zone);
        if (ms === undefined && /[a-z]/i.test(value) && /(gmt|utc|[+-]\d{4})$/i.test(value.trim()))
          ms = Date.parse(value); // an HTTP date (RFC 9110 §5.6.7), which names its zone
      }
      break;
    }
    default:
      ms = typeof value === 'string' ? parsePattern(value, format, zone) : undefined;
  }
  return ms !== undefined && Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? ms : undefined;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Writes instant `ms` with a pattern, as wall time in `zone`. */
export function formatTime(ms: number, pattern: string, zone = 'UTC'): string {
  const off = zoneOffsetMs(zone, ms);
  const t = new Date(ms + off);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off) / 60_000;
  const h = t.getUTCHours();
  const values: Record<string, string> = {
    Y: pad(t.getUTCFullYear(), 4),
    y: pad(t.getUTCFullYear() % 100),
    m: pad(t.getUTCMonth() + 1),
    d: pad(t.getUTCDate()),
    H: pad(h),
    I: pad(h % 12 === 0 ? 12 : h % 12),
    p: h < 12 ? 'AM' : 'PM',
    M: pad(t.getUTCMinutes()),
    S: pad(t.getUTCSeconds()),
    L: pad(t.getUTCMilliseconds(), 3),
    f: pad(t.getUTCMilliseconds() * 1000, 6),
    z: `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`,
    b: MONTHS[t.getUTCMonth()].replace(/^./, (c) => c.toUpperCase()),
    a: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][t.getUTCDay()],
    '%': '%',
  };
  const expanded = expand(pattern);
  return expanded.replace(/%(.)/g, (_m, d: string) => values[d] ?? `%${d}`);
}
