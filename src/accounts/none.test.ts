import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpClient } from '../core/source.ts';
import { formatIssues } from '../core/validation.ts';
import { accountKinds } from './index.ts';
import { none, noneFields } from './none.ts';

describe('none account kind', () => {
  it('adds nothing to requests and has no secrets', async () => {
    const h = new Headers({ accept: 'application/json' });
    await none.authorize(noneFields.parse({}), h, {
      refresh: false,
      http: {} as HttpClient,
      url: new URL('https://api.example.com/'),
    });
    assert.deepEqual([...h.keys()], ['accept']);
    assert.deepEqual(none.secrets, []);
    assert.equal(accountKinds.none, none);
  });

  it('refuses fields, so a credential is never stored in clear on a none account', () => {
    const r = noneFields.safeParse({ token: 'abc' });
    assert.equal(r.success, false);
    assert.match(formatIssues(r.error!).join(), /token/);
  });
});
