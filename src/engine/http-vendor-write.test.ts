import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http } from './http.ts';

/** A POST that changes vendor state goes out only when the source names it as a declared write. */
describe('Http: declared vendor writes', () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end('{}');
  });
  let base = '';
  before(async () => {
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('sends a POST named as a vendor write, logs it, and still refuses an undeclared one', async () => {
    const logged: Array<[string, Record<string, unknown> | undefined]> = [];
    const log = {
      debug() {},
      info: (msg: string, fields?: Record<string, unknown>) => logged.push([msg, fields]),
      warn() {},
      error() {},
    };
    const http = new Http({ vendor: 'V', log });
    await assert.rejects(http.request({ method: 'POST', url: `${base}/start` }), /read-only/);
    assert.deepEqual(seen, []);
    const res = await http.request({ method: 'POST', url: `${base}/start`, vendorWrite: 'start the feed' });
    assert.equal(res.status, 200);
    await res.text();
    assert.deepEqual(seen, ['POST /start']);
    assert.deepEqual(logged, [['vendor write', { vendor: 'V', reason: 'start the feed' }]]);
  });
});
