import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, SimServer } from '../sim/kit.ts';
import { trendMicro, trendMicroFields, VISION_ONE_REGIONS, visionOneUrl } from './trend-micro.ts';

const KEY = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJjaWQiOiJ0cmlidXRhcnkifQ.dmlzaW9uLW9uZQ';

const issues = (fields: Record<string, unknown>) => {
  const r = trendMicroFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

describe('trend-micro account kind', () => {
  it('maps each documented region to its API domain, United States by default', () => {
    assert.equal(visionOneUrl({}), 'https://api.xdr.trendmicro.com');
    assert.equal(visionOneUrl({ region: 'eu' }), 'https://api.eu.xdr.trendmicro.com');
    assert.equal(visionOneUrl({ region: 'jp' }), 'https://api.xdr.trendmicro.co.jp');
    assert.equal(visionOneUrl({ region: 'mea' }), 'https://api.mea.xdr.trendmicro.com');
    assert.equal(
      visionOneUrl({ url: 'https://api.ca.xdr.trendmicro.com/' }),
      'https://api.ca.xdr.trendmicro.com',
    );
    assert.equal(Object.keys(VISION_ONE_REGIONS).length, 9);
    for (const { url } of Object.values(VISION_ONE_REGIONS))
      assert.match(url, /^https:\/\/api\.([a-z]+\.)?xdr\.trendmicro\.co(m|\.jp)$/);
  });

  it('validates region, URL and key with messages naming the field', () => {
    assert.deepEqual(issues({ region: 'sg', apiKey: KEY }), []);
    assert.deepEqual(issues({ apiKey: KEY }), []);
    assert.match(
      issues({ region: 'de', apiKey: KEY }).join(),
      /^region: expected one of us, eu, uk, jp, sg, au, in, mea, usgov/,
    );
    assert.match(
      issues({ region: 'eu', url: 'https://api.eu.xdr.trendmicro.com', apiKey: KEY }).join(),
      /url: set either region or url/,
    );
    assert.match(issues({ apiKey: `Bearer ${KEY}` }).join(), /apiKey: expected the API key alone/);
    assert.match(issues({ apiKey: 'short' }).join(), /apiKey: expected the API key shown/);
    assert.deepEqual(trendMicro.secrets, ['apiKey']);
  });

  describe('against a Vision One API', () => {
    const server = new SimServer({ name: 'vision-one' });
    server.route('GET', '/v3.0/healthcheck/connectivity', (req) =>
      req.headers.authorization === `Bearer ${KEY}`
        ? json(200, { status: 'available' })
        : json(401, {
            error: { code: 'InvalidCredentials', message: 'The authentication token is invalid.' },
          }),
    );
    before(() => server.start());
    after(() => server.stop());

    it('sends the API key as Bearer to the URL given instead of a region', async () => {
      const account = trendMicroFields.parse({ url: server.url, apiKey: KEY });
      const http: Http = new Http({
        vendor: 'Trend Vision One',
        authorize: (h, refresh, url, req) => trendMicro.authorize(account, h, { refresh, http, url, ...req }),
      });
      const { body } = await http.getJson(`${visionOneUrl(account)}/v3.0/healthcheck/connectivity`);
      assert.equal(body.status, 'available');
    });
  });
});
