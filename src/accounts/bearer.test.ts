import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpClient } from '../core/source.ts';
import { formatIssues } from '../core/validation.ts';
import { bearer, bearerFields } from './bearer.ts';

describe('bearer account kind', () => {
  it('sends the token as Authorization: Bearer, a pasted "Bearer " prefix removed', async () => {
    const a = bearerFields.parse({ token: ' Bearer abc.DEF-123_~+/== ' });
    assert.equal(a.token, 'abc.DEF-123_~+/==');
    const h = new Headers();
    await bearer.authorize(a, h, {
      refresh: false,
      http: {} as HttpClient,
      url: new URL('https://api.example.com/'),
    });
    assert.equal(h.get('authorization'), 'Bearer abc.DEF-123_~+/==');
    assert.deepEqual(bearer.secrets, ['token']);
  });

  it('refuses what is not a bearer token, naming the field but not the value', () => {
    for (const token of ['', 'two words-secret', 'line\nbreak-secret']) {
      const r = bearerFields.safeParse({ token });
      assert.equal(r.success, false);
      const text = formatIssues(r.error!).join();
      assert.match(text, /^token: expected a bearer token/);
      assert.doesNotMatch(text, /secret/);
    }
  });
});
