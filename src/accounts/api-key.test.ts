import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpClient } from '../core/source.ts';
import { formatIssues } from '../core/validation.ts';
import { apiKey, apiKeyFields } from './api-key.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = apiKeyFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

const headersFor = async (fields: Record<string, unknown>) => {
  const h = new Headers();
  await apiKey.authorize(apiKeyFields.parse(fields), h, {
    refresh: false,
    http: {} as HttpClient,
    url: new URL('https://api.example.com/v1/events'),
  });
  return h;
};

describe('api-key account kind', () => {
  it('sends the key in X-API-Key by default, or in the named header after an optional prefix', async () => {
    assert.equal((await headersFor({ key: 'k-123' })).get('x-api-key'), 'k-123');
    const h = await headersFor({ key: 'k-123', headerName: 'Authorization', prefix: 'GenieKey ' });
    assert.equal(h.get('authorization'), 'GenieKey k-123');
    assert.equal([...h].length, 1, 'nothing else is added');
    assert.deepEqual(apiKey.secrets, ['key']);
  });

  it('refuses header names the HTTP client owns or that are not header names, without echoing the key', () => {
    assert.match(
      issues({ key: 'k', headerName: 'Content-Type' }).join(),
      /headerName: this header is set by the HTTP client/,
    );
    assert.match(
      issues({ key: 'k', headerName: 'X API Key' }).join(),
      /headerName: expected an HTTP header name/,
    );
    assert.match(issues({ key: '' }).join(), /key: required/);
    const twoLines = issues({ key: 'secret-part\nInjected: 1' }).join();
    assert.match(twoLines, /key: expected the key on one line/);
    assert.doesNotMatch(twoLines, /secret-part/);
    assert.match(
      issues({ key: 'k', queryParameter: 'api_key' }).join(),
      /unknown key "queryParameter"/,
      'query parameters are not offered',
    );
  });
});
