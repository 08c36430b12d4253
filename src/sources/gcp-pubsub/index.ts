import { z } from 'zod';
import {
  checkAccountFor,
  explainGoogleCommon,
  type GoogleAccount,
  googleErrorOf,
  PUBSUB_API,
} from '../../accounts/google.ts';
import { configError } from '../../core/errors.ts';
import { defineSource, type HttpClient, type ReadContext } from '../../core/source.ts';
import type { AckedMessage, AckSource } from '../../core/stream-source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { consumerStream } from '../../engine/stream-consumer.ts';

/**
 * Google Cloud Pub/Sub — a pull subscription, typically fed by a Cloud Logging sink, consumed by the stream
 * consumer (engine/stream-consumer.ts, `acks`: long-running; a message is acknowledged only after every
 * destination acknowledged it; its lease is extended as soon as it is pulled and while it is delivered).
 * Vendor facts:
 *
 * - cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/pull: POST
 *   https://pubsub.googleapis.com/v1/{subscription}:pull {maxMessages} → {receivedMessages: [{ackId,
 *   message: {data, attributes, messageId, publishTime, orderingKey}, deliveryAttempt}]}; the answer may be
 *   empty. "maxMessages: Required. The maximum number of messages to return … The Pub/Sub system may return
 *   fewer"; `returnImmediately` is deprecated and not sent (the server may wait a bounded time: the pull
 *   gets a long timeout).
 * - PubsubMessage (…/rest/v1/PubsubMessage): `data` "A base64-encoded string"; `messageId` "assigned by the
 *   server when the message is published. Guaranteed to be unique within the topic" — the event id;
 *   `publishTime` "The time at which the message was published, populated by the server".
 * - …/projects.subscriptions/acknowledge {ackIds}: the message is removed; "Acknowledging a message more
 *   than once will not result in an error". …/modifyAckDeadline {ackIds, ackDeadlineSeconds}: "The new ack
 *   deadline with respect to the time this request was sent … The maximum deadline you can specify in a
 *   single request is 600 seconds". A message not acknowledged in time is redelivered
 *   (cloud.google.com/pubsub/docs/subscription-properties, "Acknowledgment deadline"): at-least-once,
 *   with the same messageId.
 * - Lease management (https://cloud.google.com/pubsub/docs/lease-management, "Extend ack time with lease
 *   management"): a pull subscriber must acknowledge within the deadline or extend it with
 *   modifyAckDeadline; "Lease management configuration": the duration of each extension is "the amount of
 *   time Pub/Sub takes to redeliver a message" when the subscriber that holds it crashes. The
 *   subscription's deadline (10 s by default) runs from the pull, so the first extension is sent as soon as
 *   a batch is pulled (Google's high-level clients likewise modack on receipt), then every half
 *   `ackDeadlineSeconds`.
 * - Retention (subscription-properties, "Message retention duration"): unacknowledged messages are kept
 *   7 days by default (10 minutes to 7 days); a collector stopped for longer loses them.
 * - Log sinks to Pub/Sub (cloud.google.com/logging/docs/export/pubsub, "Logs in Pub/Sub"): each message's
 *   `data` is one LogEntry as JSON, with the attribute `logging.googleapis.com/timestamp`; the sink's writer
 *   identity needs roles/pubsub.publisher on the topic.
 * - Permissions (cloud.google.com/pubsub/docs/access-control): roles/pubsub.subscriber
 *   (pubsub.subscriptions.consume) to pull, acknowledge and modify ack deadlines; `testIamPermissions`
 *   (…/projects.subscriptions/testIamPermissions) tells which the caller holds without consuming.
 * - Quotas (cloud.google.com/pubsub/quotas): per-project subscriber throughput far above one collector;
 *   429 RESOURCE_EXHAUSTED is retried with backoff. The `google` account's shared budget bounds the calls
 *   (pull, acknowledge, modifyAckDeadline each count): raise it with the account's requestsPerMinute for
 *   high volumes.
 *
 * Events: raw = {messageId, publishTime, attributes, data, orderingKey?}; `data` is the decoded payload —
 * JSON (a log entry stays an object), else UTF-8 text, else base64 with `dataEncoding: "base64"`. The time
 * is a JSON payload's `timestamp` (a LogEntry's), else publishTime.
 */

export interface PubSubSettings {
  subscription: string;
  maxMessages: number;
  ackDeadlineSeconds: number;
  baseUrl?: string;
}

const SUBSCRIPTION = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/subscriptions\/[A-Za-z][\w.~+%-]{2,254}$/;

const settings = z
  .object({
    subscription: z
      .string()
      .trim()
      .regex(
        SUBSCRIPTION,
        'expected a subscription name such as projects/acme-logs/subscriptions/tributary-audit',
      )
      .describe(
        'The pull subscription, projects/PROJECT_ID/subscriptions/NAME (Pub/Sub → Subscriptions → the subscription → Subscription name)',
      )
      .meta({ title: 'Subscription' }),
    maxMessages: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(500)
      .describe('Messages asked for per pull (1–1000)')
      .meta({ title: 'Messages per pull' }),
    ackDeadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(600)
      .default(60)
      .describe(
        'The lease set with modifyAckDeadline on messages as soon as they are pulled, renewed every half of it while they are delivered (10–600 s); after a crash Pub/Sub redelivers them once it passes',
      )
      .meta({ title: 'Ack deadline (seconds)' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

export const PULL_WRITE =
  'Pub/Sub pull leases the messages it returns to this collector until their ack deadline, so no other subscriber of the subscription receives them meanwhile';
export const ACK_WRITE =
  'Pub/Sub acknowledge removes messages from the subscription once every destination acknowledged them, or they would be redelivered until their retention ends';
export const EXTEND_WRITE =
  'Pub/Sub modifyAckDeadline extends the lease of messages being delivered, so a slow destination does not make Pub/Sub redeliver them';

const PERMISSIONS = ['pubsub.subscriptions.consume'];

const root = (s: PubSubSettings) => (s.baseUrl ?? 'https://pubsub.googleapis.com').replace(/\/+$/, '');
const call = (s: PubSubSettings, method: string) => `${root(s)}/v1/${s.subscription}:${method}`;
const HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

interface ReceivedMessage {
  ackId?: unknown;
  message?: {
    data?: unknown;
    attributes?: Record<string, string>;
    messageId?: unknown;
    publishTime?: unknown;
    orderingKey?: unknown;
  };
}

/** A received message as its event (see the header comment); undefined for one without ackId or messageId. */
export function messageEvent(r: ReceivedMessage): AckedMessage | undefined {
  const m = r.message;
  if (typeof r.ackId !== 'string' || !m || typeof m.messageId !== 'string') return undefined;
  const bytes = Buffer.from(typeof m.data === 'string' ? m.data : '', 'base64');
  const raw: Record<string, unknown> = {
    messageId: m.messageId,
    publishTime: m.publishTime,
    attributes: m.attributes ?? {},
  };
  if (typeof m.orderingKey === 'string' && m.orderingKey) raw.orderingKey = m.orderingKey;
  let time = typeof m.publishTime === 'string' ? m.publishTime : undefined;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const utf8 = Buffer.from(text, 'utf8').equals(bytes);
  if (utf8) {
    try {
      const parsed = JSON.parse(text);
      raw.data = parsed;
      if (parsed && typeof parsed === 'object' && typeof parsed.timestamp === 'string')
        time = parsed.timestamp;
    } catch {
      raw.data = text;
    }
  } else {
    raw.data = bytes.toString('base64');
    raw.dataEncoding = 'base64';
  }
  return { ackId: r.ackId, id: m.messageId, time, raw };
}

/** The subscription as the stream consumer's ack source. */
export function pubsubSource(http: HttpClient, s: PubSubSettings, account: GoogleAccount): AckSource {
  checkAccountFor(account, PUBSUB_API);
  const post = (
    method: string,
    body: unknown,
    vendorWrite: string,
    timeoutMs?: number,
    signal?: AbortSignal,
  ) =>
    http.requestJson({
      method: 'POST',
      url: call(s, method),
      headers: HEADERS,
      body: JSON.stringify(body),
      vendorWrite,
      timeoutMs,
      signal,
    });
  return {
    kind: 'acks',
    async pull({ max, signal }) {
      // The long poll ends with a graceful stop too: an aborted pull leases nothing it delivers.
      const { body } = await post(
        'pull',
        { maxMessages: Math.min(max, s.maxMessages) },
        PULL_WRITE,
        120_000,
        signal,
      );
      const received: ReceivedMessage[] = Array.isArray(body?.receivedMessages) ? body.receivedMessages : [];
      return received.map(messageEvent).filter((m): m is AckedMessage => m !== undefined);
    },
    async ack(ackIds) {
      // Pub/Sub takes up to a request of ids at once; chunks keep requests small.
      for (let i = 0; i < ackIds.length; i += 1000)
        await post('acknowledge', { ackIds: ackIds.slice(i, i + 1000) }, ACK_WRITE);
    },
    async extend(ackIds, seconds) {
      for (let i = 0; i < ackIds.length; i += 1000)
        await post(
          'modifyAckDeadline',
          { ackIds: ackIds.slice(i, i + 1000), ackDeadlineSeconds: seconds },
          EXTEND_WRITE,
        );
    },
    extendSeconds: s.ackDeadlineSeconds,
  };
}

export default defineSource<PubSubSettings, GoogleAccount>({
  id: 'gcp-pubsub',
  title: 'Google Cloud Pub/Sub',
  account: 'google',
  stability: 'early-access',
  family: 'queue',
  description:
    'Messages of a Pub/Sub pull subscription — typically Cloud Logging entries routed by a log sink — consumed continuously; each message acknowledged only after every destination acknowledged it.',
  setupGuide: [
    'A Pub/Sub **pull** subscription that receives the logs, usually from a Cloud Logging sink:',
    '1. Create a topic and a subscription (keep the default 7-day retention; an ack deadline of 60 s):',
    '   `gcloud pubsub topics create tributary-logs --project P` and',
    '   `gcloud pubsub subscriptions create tributary-logs-sub --topic tributary-logs --ack-deadline 60 --project P`.',
    '2. Route logs to the topic with a sink (project, or `--organization ORG --include-children` for all projects):',
    '   `gcloud logging sinks create tributary-sink pubsub.googleapis.com/projects/P/topics/tributary-logs --log-filter \'logName:"cloudaudit.googleapis.com"\'`,',
    "   then grant the sink's writer identity (shown by the command) **Pub/Sub Publisher** on the topic:",
    '   `gcloud pubsub topics add-iam-policy-binding tributary-logs --member WRITER_IDENTITY --role roles/pubsub.publisher`.',
    '3. Create the service account and a JSON key (`gcloud iam service-accounts create tributary-pubsub`,',
    '   `gcloud iam service-accounts keys create key.json --iam-account …`), and grant it **Pub/Sub Subscriber** on the',
    '   subscription: `gcloud pubsub subscriptions add-iam-policy-binding tributary-logs-sub --member serviceAccount:… --role roles/pubsub.subscriber`.',
    '4. A **Google** account in Tributary with the key (no subject); the collector with the subscription name',
    '   `projects/P/subscriptions/tributary-logs-sub`.',
    '',
    '**What the collector changes in Google Cloud**: it pulls (leasing the messages), extends the lease of messages',
    'being delivered (modifyAckDeadline) and acknowledges them once every destination acknowledged them: **the messages',
    'are consumed**; another subscriber of the same subscription sees only what Tributary has not taken (give other',
    'readers their own subscription). Messages not acknowledged within the retention (7 days by default) while the',
    'collector is stopped are lost.',
    '',
    '**Unconfirmed** (early access): the server-side wait of a pull without `returnImmediately` (the pull waits up to',
    "2 minutes); throughput beyond the Google account's request budget (raise requestsPerMinute on the account).",
  ].join('\n'),
  settings: settings as unknown as z.ZodType<PubSubSettings>,
  retention: '7d',
  vendorWrites: [PULL_WRITE, ACK_WRITE, EXTEND_WRITE],
  streams: {
    messages: consumerStream<PubSubSettings, GoogleAccount>({
      title: 'Messages',
      description:
        'Every message of the subscription, once acknowledged; id messageId, data decoded (JSON stays JSON), attributes and publishTime kept.',
      consume: (ctx: ReadContext<PubSubSettings, GoogleAccount, undefined>) =>
        pubsubSource(ctx.http, ctx.settings, ctx.account),
    }),
  },
  explain({ status, body, message }) {
    const e = googleErrorOf(body);
    const said = e.message || message;
    const common = explainGoogleCommon(status, e, {
      name: 'Cloud Pub/Sub API',
      service: 'pubsub.googleapis.com',
    });
    if (common) return common;
    if (status === 403)
      return {
        code: 'pubsub_permission_denied',
        action: `Grant the service account Pub/Sub Subscriber (roles/pubsub.subscriber) on the subscription. Google said: ${said}`,
      };
    if (status === 404)
      return {
        code: 'pubsub_subscription_not_found',
        action:
          'The subscription does not exist: check the subscription setting (projects/PROJECT_ID/subscriptions/NAME, the project that holds the subscription, not the topic) and the base URL.',
      };
    if (status === 400)
      return {
        code: 'google_bad_request',
        action: `Pub/Sub refused the request: check the subscription name and the ack deadline (10–600 s). Google said: ${said}`,
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    checkAccountFor(account, PUBSUB_API);
    // testIamPermissions proves the token, the subscription and the role without leasing a message.
    const { body } = await http.requestJson({
      method: 'POST',
      readOnly: true,
      url: call(s, 'testIamPermissions'),
      headers: HEADERS,
      body: JSON.stringify({ permissions: PERMISSIONS }),
    });
    const held: string[] = Array.isArray(body?.permissions) ? body.permissions : [];
    const missing = PERMISSIONS.filter((p) => !held.includes(p));
    if (missing.length)
      throw configError(
        'pubsub_permission_denied',
        `The service account lacks ${missing.join(', ')} on ${s.subscription}.`,
        `Grant it Pub/Sub Subscriber (roles/pubsub.subscriber) on the subscription: gcloud pubsub subscriptions add-iam-policy-binding ${s.subscription.split('/').pop()} --member serviceAccount:EMAIL --role roles/pubsub.subscriber`,
      );
  },
});
