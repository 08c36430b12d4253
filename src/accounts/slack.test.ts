import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpClient } from '../core/source.ts';
import { formatIssues } from '../core/validation.ts';
import { slack } from './slack.ts';

describe('slack account kind', () => {
  it('accepts an xoxp user token and sends it as Bearer', async () => {
    const r = slack.fields.safeParse({ token: ' xoxp-1234-5678-abcdef ' });
    assert.ok(r.success);
    const h = new Headers();
    await slack.authorize(r.data, h, {
      refresh: false,
      http: {} as HttpClient,
      url: new URL('https://api.slack.com/audit/v1/logs'),
    });
    assert.equal(h.get('authorization'), 'Bearer xoxp-1234-5678-abcdef');
    assert.deepEqual(slack.secrets, ['token']);
  });

  it('refuses bot and app tokens with a message naming the field, not the value', () => {
    for (const token of ['xoxb-1-2-secretbot', 'xapp-1-A1-secret', '']) {
      const r = slack.fields.safeParse({ token });
      assert.equal(r.success, false);
      const text = formatIssues(r.error!).join();
      assert.match(text, /^token: expected a Slack user token starting with xoxp-/);
      assert.doesNotMatch(text, /secret/);
    }
    assert.equal(slack.fields.safeParse({ token: 'xoxp-1', extra: 1 }).success, false);
  });
});
