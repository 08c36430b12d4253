import { pino } from 'pino';
import type { Logger } from '../core/source.ts';

/**
 * JSON logs on stderr (stdout is left to the stdout destination and CLI output). Fields that may hold
 * credentials are redacted by name wherever they appear, as a second line of defence: secrets are
 * never passed to the logger on purpose.
 */
const REDACT = [
  'token',
  'apiKey',
  'password',
  'secret',
  'authorization',
  'clientSecret',
  'privateKey',
].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A comma-separated list (TRIBUTARY_DEBUG_COLLECTORS) as a set of names. */
export const nameList = (text: string | undefined): Set<string> =>
  new Set(
    (text ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

export interface LoggerOptions {
  /** The level for everything (TRIBUTARY_LOG_LEVEL, default info). */
  level?: string;
  /**
   * Collectors whose debug lines are written whatever `level` says (TRIBUTARY_DEBUG_COLLECTORS): a line
   * is theirs when its `collector` field names one of them, as every line of a run does (withFields).
   */
  debugCollectors?: Set<string>;
  /** Where lines go (default stderr). */
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const level = o.level ?? process.env.TRIBUTARY_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level))
    throw new Error(`TRIBUTARY_LOG_LEVEL: expected one of ${LEVELS.join(', ')}, got "${level}"`);
  const debugCollectors = o.debugCollectors ?? nameList(process.env.TRIBUTARY_DEBUG_COLLECTORS);
  const everyDebug = LEVELS.indexOf(level) <= LEVELS.indexOf('debug');
  // Debug lines of the listed collectors must reach pino, so pino itself is at debug then; the wrapper
  // below drops every other debug line.
  const p = pino(
    {
      level: debugCollectors.size && !everyDebug ? 'debug' : level,
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    o.destination ?? pino.destination(2),
  );
  const wrap = (fn: 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) =>
    fields ? p[fn](fields, msg) : p[fn](msg);
  return {
    debug: (msg, fields) => {
      if (everyDebug) fields ? p.debug(fields, msg) : p.debug(msg);
      else if (typeof fields?.collector === 'string' && debugCollectors.has(fields.collector))
        p.debug(fields, msg);
    },
    info: wrap('info'),
    warn: wrap('warn'),
    error: wrap('error'),
  };
}

/**
 * A logger that adds `fields` to every line (a run's collector, source, stream and run id), under the
 * line's own fields: what a line says itself wins.
 */
export function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  const add = (fn: 'debug' | 'info' | 'warn' | 'error') => (msg: string, more?: Record<string, unknown>) =>
    log[fn](msg, more ? { ...fields, ...more } : { ...fields });
  return { debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
