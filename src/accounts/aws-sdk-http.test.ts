import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TributaryError, transientError } from '../core/errors.ts';
import type { HttpClient, HttpRequest } from '../core/source.ts';
import { sdkClientConfig } from './aws-sdk-http.ts';

/** An HttpClient that records each request and answers with `reply` (or throws it). */
function fakeHttp(reply: () => { status: number; body: string; headers?: Record<string, string> } | Error) {
  const seen: HttpRequest[] = [];
  const http = {
    async request(req: HttpRequest) {
      seen.push(req);
      const r = reply();
      if (r instanceof Error) throw r;
      return {
        status: r.status,
        url: req.url,
        headers: new Headers({ 'content-type': 'application/x-amz-json-1.0', ...r.headers }),
        body: new Response(r.body).body,
        text: async () => r.body,
        json: async () => JSON.parse(r.body),
      };
    },
  } as unknown as HttpClient;
  return { http, seen };
}

const client = (http: HttpClient) =>
  new SQSClient({
    ...sdkClientConfig(http, 'eu-west-1', (req) => {
      const action = String(req.headers['x-amz-target'] ?? '');
      return action === 'AmazonSQS.GetQueueAttributes' ? 'read' : undefined;
    }),
    endpoint: 'https://sqs.eu-west-1.amazonaws.com',
    useQueueUrlAsEndpoint: false,
  });
const QueueUrl = 'https://sqs.eu-west-1.amazonaws.com/111122223333/q';

describe('AWS SDK clients on the engine HttpClient', () => {
  it('sends a declared read through the HttpClient, unsigned (the account signs), and parses the answer', async () => {
    const { http, seen } = fakeHttp(() => ({
      status: 200,
      body: '{"Attributes":{"VisibilityTimeout":"30"}}',
    }));
    const out = await client(http).send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    assert.deepEqual(out.Attributes, { VisibilityTimeout: '30' });
    assert.equal(seen.length, 1);
    const req = seen[0]!;
    assert.equal(req.readOnly, true);
    assert.equal(req.noAuth, undefined, 'the account signs');
    assert.equal(req.url, 'https://sqs.eu-west-1.amazonaws.com/');
    assert.equal(req.headers?.['x-amz-target'], 'AmazonSQS.GetQueueAttributes');
    for (const h of ['authorization', 'x-amz-date', 'x-amz-security-token', 'host'])
      assert.equal(req.headers?.[h], undefined, `${h} is the engine's`);
    assert.deepEqual(JSON.parse(req.body!), { QueueUrl, AttributeNames: ['All'] });
  });

  it('refuses an undeclared call before sending it', async () => {
    const { http, seen } = fakeHttp(() => ({ status: 200, body: '{}' }));
    const err = await client(http)
      .send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }))
      .catch((e) => e);
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.code, 'vendor_write_refused');
    assert.deepEqual(seen, []);
  });

  it('leaves retries to the engine: the SDK does not retry a throttling answer it would otherwise retry', async () => {
    // SQS's JSON error answer (SQS Developer Guide, "Interpreting Amazon SQS JSON API responses": 400,
    // `x-amzn-query-error` type;Sender, body `{"__type", "message"}`) for ThrottlingException (SQS API
    // Reference, "Common Errors": "The request was denied due to request throttling", 400). The SDK's
    // standard retry strategy retries throttling errors: with `maxAttempts: 1` it sends once and reports it.
    const { http, seen } = fakeHttp(() => ({
      status: 400,
      headers: { 'x-amzn-requestid': 'req-1', 'x-amzn-query-error': 'ThrottlingException;Sender' },
      body: JSON.stringify({ __type: 'com.amazonaws.sqs#ThrottlingException', message: 'Rate exceeded' }),
    }));
    const err = await client(http)
      .send(new GetQueueAttributesCommand({ QueueUrl }))
      .catch((e) => e);
    assert.equal(err.name, 'ThrottlingException', String(err));
    assert.equal(err.$metadata?.httpStatusCode, 400);
    assert.equal(err.$metadata?.attempts, 1);
    assert.equal(seen.length, 1, 'exactly one request: the SDK retries nothing');
  });

  it('leaves retries to the engine: a failure it gives up on is not retried by the SDK', async () => {
    const { http, seen } = fakeHttp(() =>
      transientError(
        'rate_limited',
        'SQS answered ThrottlingException after 5 attempts.',
        'Retried next run.',
      ),
    );
    const err = await client(http)
      .send(new GetQueueAttributesCommand({ QueueUrl }))
      .catch((e) => e);
    assert.equal(err.code, 'rate_limited');
    assert.equal(seen.length, 1, 'one call: the SDK retries nothing');
  });
});
