import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import { TributaryError } from '../core/errors.ts';
import type { Batch, HttpClient, StreamDef } from '../core/source.ts';
import { withVendorUsage } from './vendor-usage.ts';

const response = (usage: string | undefined) => ({
  status: 200,
  url: 'https://vendor.example/x',
  headers: new Headers(usage ? { 'x-usage': usage } : {}),
  body: null,
  text: async () => '',
  json: async () => ({}),
});

describe('withVendorUsage', () => {
  it('writes the latest report into each checkpoint and warns once per run past the threshold', async () => {
    const answers = ['10/100', undefined, '95/100', '97/100'];
    const http = {
      getJson: async () => ({ body: {}, response: response(answers.shift()) }),
    } as unknown as HttpClient;
    const stream: StreamDef = {
      title: 's',
      async *read(ctx) {
        for (let i = 0; i < 4; i++) {
          await ctx.http.getJson('https://vendor.example/x');
          yield { events: [], checkpoint: { since: `p${i}` } };
        }
        yield { events: [], checkpoint: 'opaque-string' };
      },
    };
    const warnings: TributaryError[] = [];
    const wrapped = withVendorUsage(stream, {
      key: 'usage',
      read: (h) => {
        const v = h.get('x-usage');
        if (!v) return undefined;
        const [used, limit] = v.split('/').map(Number);
        return {
          text: v,
          warn:
            used >= limit * 0.9
              ? new TributaryError({ type: 'gap', code: 'low', message: v, action: 'a' })
              : undefined,
        };
      },
    });
    const ctx = readContext(http, { now: () => 0, warn: (w) => warnings.push(w) });
    const cps: unknown[] = [];
    for await (const b of wrapped.read(ctx) as AsyncIterable<Batch>) cps.push(b.checkpoint);
    const at = ' at 1970-01-01T00:00:00.000Z';
    assert.deepEqual(cps, [
      { since: 'p0', usage: `10/100${at}` },
      { since: 'p1', usage: `10/100${at}` },
      { since: 'p2', usage: `95/100${at}` },
      { since: 'p3', usage: `97/100${at}` },
      'opaque-string',
    ]);
    assert.deepEqual(
      warnings.map((w) => w.message),
      ['95/100'],
    );
  });
});
