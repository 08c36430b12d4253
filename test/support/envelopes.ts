import { type Envelope, makeEnvelope } from '../../src/core/envelope.ts';

/**
 * `n` envelopes as a collector would make them: ids `${prefix}-0001…`, event times one second apart
 * from `start`, each with a vendor record of about `size` bytes of JSON.
 */
export function envelopes(
  n: number,
  o: { prefix?: string; start?: string; stepMs?: number; size?: number; collector?: string } = {},
): Envelope[] {
  const start = Date.parse(o.start ?? '2026-03-01T10:59:50.000Z');
  const pad = 'x'.repeat(Math.max(0, (o.size ?? 120) - 100));
  const ctx = { source: 'okta', stream: 'logs', collector: o.collector ?? 'okta-prod' };
  return Array.from({ length: n }, (_, i) => {
    const id = `${o.prefix ?? 'ev'}-${String(i + 1).padStart(4, '0')}`;
    const time = new Date(start + i * (o.stepMs ?? 1000)).toISOString();
    return makeEnvelope(
      ctx,
      { uuid: id, eventType: 'user.session.start', pad, n: i },
      id,
      time,
      '2026-03-01T12:00:00.000Z',
    );
  });
}
