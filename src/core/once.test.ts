import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from './once.ts';

describe('once', () => {
  it('builds at the first call only; callers at the same time share the build', async () => {
    let builds = 0;
    const client = once(async () => ({ n: ++builds }));
    assert.equal(builds, 0, 'nothing built before it is asked for');
    const [a, b] = await Promise.all([client(), client()]);
    assert.equal(a, b);
    assert.equal(await client(), a);
    assert.equal(builds, 1);
  });

  it('keeps a failure: every caller gets the same error, the build is not repeated', async () => {
    let builds = 0;
    const client = once(async () => {
      builds++;
      throw new Error('no storage account');
    });
    await assert.rejects(client(), /no storage account/);
    await assert.rejects(client(), /no storage account/);
    assert.equal(builds, 1);
  });
});
