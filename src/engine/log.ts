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

export function createLogger(level = process.env.TRIBUTARY_LOG_LEVEL ?? 'info'): Logger {
  const p = pino(
    { level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } },
    pino.destination(2),
  );
  const wrap = (fn: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) =>
    fields ? p[fn](fields, msg) : p[fn](msg);
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
