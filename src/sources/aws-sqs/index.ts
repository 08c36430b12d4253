import { z } from 'zod';
import { type AwsAccount, awsCallerIdentity } from '../../accounts/aws.ts';
import {
  awsRateLimited,
  explainAws,
  needsAws,
  SQS_DELETE_MESSAGES_WRITE,
  SQS_EXTEND_WRITE,
  SQS_RECEIVE_WRITE,
  sqsQueue,
  sqsQueueAttributes,
} from '../../accounts/aws-objects.ts';
import { defineSource } from '../../core/source.ts';
import type { QueueMessage } from '../../engine/object-notification.ts';
import { readQueueMessages } from '../../engine/queue-messages.ts';

/**
 * Amazon SQS raw messages: every message of a queue as one event, read by the queue-message reader
 * (engine/queue-messages.ts: a bounded run until the queue answers empty, each receive one batch,
 * deleted only after delivery and commit, visibility extended while a batch waits for delivery). Vendor
 * facts (the SQS calls themselves: accounts/aws-objects.ts):
 *
 * - ReceiveMessage (SQS API Reference, ReceiveMessage): "Retrieves one or more messages (up to 10)";
 *   `WaitTimeSeconds` > 0 is long polling (SQS Developer Guide, "Amazon SQS short and long polling": a
 *   short poll samples a subset of servers and may answer empty while messages wait), at most 20 s;
 *   `MessageSystemAttributeNames: ["All"]` and `MessageAttributeNames: ["All"]` return each message's
 *   `Attributes` and `MessageAttributes`.
 * - `MessageId`: "A unique identifier for the message" (SQS API Reference, Message) — the id; a message
 *   received again keeps it. `SentTimestamp`: "the time the message was sent to the queue (epoch time in
 *   milliseconds)" (ReceiveMessage, MessageSystemAttributeNames) — the time.
 * - Visibility timeout (SQS Developer Guide, "Amazon SQS visibility timeout"): a received message is
 *   hidden for the queue's `VisibilityTimeout` (default 30 s, at most 12 hours) and reappears unless
 *   deleted; ChangeMessageVisibility extends it (API Reference, ChangeMessageVisibility).
 * - Retention (SQS Developer Guide, "Amazon SQS quotas"): messages are kept 4 days by default, from 1
 *   minute to 14 days (`MessageRetentionPeriod`); a collector that stops for longer loses them.
 * - Rate limits (SQS Developer Guide, "Amazon SQS message quotas" → "Message throughput"): standard
 *   queues "support a very high, nearly unlimited number of API calls per second, per action"; FIFO
 *   queues 300 transactions per second per API action without high throughput mode, answered with
 *   `ThrottlingException` above it (SQS Developer Guide, "Troubleshoot FIFO throttling issues in Amazon
 *   SQS"), batch actions counting once for up to 10 messages. One receive and one batch delete at a time
 *   stay far below either; `ThrottlingException` (400) is waited out.
 *
 * Unconfirmed (so `early-access`): FIFO queues are read like standard ones (message group order is kept
 * within a receive, but a batch's delete after delivery was not checked against FIFO's
 * receive-request-attempt rules); the batch actions' IAM authorization as sqs:DeleteMessage and
 * sqs:ChangeMessageVisibility is from the SQS Developer Guide's permissions table, not tested against AWS.
 */

export interface SqsSettings {
  queueUrl: string;
  region: string;
  waitTimeSeconds: number;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;

/** The region an AWS queue URL names: `sqs.{region}.amazonaws.com` or the legacy `{region}.queue.amazonaws.com`. */
export function queueRegion(url: string): string | undefined {
  const host = new URL(url).hostname;
  return (
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1] ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host)?.[1]
  );
}

const settings = z
  .object({
    queueUrl: z
      .string()
      .trim()
      .regex(
        /^https:\/\/[^/\s]+\/\d{12}\/[\w-]{1,80}(\.fifo)?$/,
        'expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/111122223333/my-queue',
      )
      .meta({ title: 'SQS URL' })
      .describe('The queue’s URL (SQS → the queue → Details → URL)'),
    region: z
      .string()
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1')
      .meta({ title: 'Region' })
      .describe('The queue’s region (the one its URL names)'),
    waitTimeSeconds: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(1)
      .meta({ title: 'Long-poll wait (seconds)' })
      .describe(
        'ReceiveMessage WaitTimeSeconds, 1–20: how long an empty queue is waited on before a run ends as caught up',
      ),
  })
  .strict()
  .superRefine((s, ctx) => {
    const named = queueRegion(s.queueUrl);
    if (named && named !== s.region)
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: `expected ${named}: the queue URL names that region`,
      });
  });

/** A received message as its event: SQS's Message fields but the receipt handle (a one-time token). */
export function messageEvent(m: QueueMessage) {
  const raw: Record<string, unknown> = { MessageId: m.id, Body: m.body };
  if (m.attributes) raw.Attributes = m.attributes;
  if (m.messageAttributes) raw.MessageAttributes = m.messageAttributes;
  const sent = Number(m.attributes?.SentTimestamp);
  return {
    raw,
    id: m.id,
    time: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined,
  };
}

export default defineSource<SqsSettings, AwsAccount>({
  id: 'aws-sqs',
  title: 'Amazon SQS (raw messages)',
  account: 'aws',
  stability: 'early-access',
  family: 'queue',
  description:
    'Every message of an SQS queue as one event (body, system and message attributes), long-polled until the queue is empty; each message deleted only after every destination acknowledged it.',
  setupGuide: `**Prerequisites in AWS** (SQS Developer Guide, "Amazon SQS visibility timeout"; "Identity and access management in Amazon SQS"):

1. The queue (SQS → Queues → the queue). Copy its **URL** (Details → URL) and note its region. Its visibility timeout (Edit → Configuration) should be longer than a batch of ten messages takes to deliver; the collector also extends it while a batch is being delivered (up to 15 minutes).
2. An IAM identity for Tributary (user with an access key, or a role it assumes) with this policy:

\`\`\`json
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow",
      "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
      "Resource": "arn:aws:sqs:REGION:ACCOUNT:QUEUE" }
  ]
}
\`\`\`

If the queue is encrypted with a customer managed KMS key (SSE-KMS), also allow \`kms:Decrypt\` on that key. If the queue's access policy restricts principals, add the identity there too.

Copy into Tributary: an \`aws\` account (access key ID, secret access key, optionally the role ARN and external ID), and in the collector the **SQS URL** and **region**.

**What each event is**: \`{"MessageId", "Body", "Attributes", "MessageAttributes"}\` — the body as sent (a string; not parsed), the queue's attributes (\`SentTimestamp\`, \`ApproximateReceiveCount\`, \`SenderId\`, …) and the sender's message attributes. Id \`MessageId\`, time \`SentTimestamp\`.

**What the collector changes in AWS**: it receives messages (hiding them for the visibility timeout, extended while they are delivered) and deletes them (DeleteMessageBatch) once every destination acknowledged them. **The messages are consumed**: another consumer of the same queue sees only what Tributary has not taken. Messages the queue keeps longer than its retention (4 days by default) while the collector is stopped are lost.

**Unconfirmed** (early access): FIFO queues are read like standard ones; the IAM actions for the batch calls (DeleteMessageBatch as sqs:DeleteMessage, ChangeMessageVisibilityBatch as sqs:ChangeMessageVisibility) were not tested against AWS.`,
  settings: settings as unknown as z.ZodType<SqsSettings>,
  vendorWrites: [SQS_RECEIVE_WRITE, SQS_DELETE_MESSAGES_WRITE, SQS_EXTEND_WRITE],
  explain: explainAws,
  rateLimited: awsRateLimited,
  streams: {
    messages: {
      title: 'Messages',
      description: 'Every message received, once; id MessageId, time SentTimestamp.',
      read: readQueueMessages<SqsSettings, AwsAccount>({
        open: (ctx) =>
          sqsQueue(ctx.http, ctx.account, {
            queueUrl: ctx.settings.queueUrl,
            waitTimeSeconds: ctx.settings.waitTimeSeconds,
            attributes: true,
          }),
        toEvent: messageEvent,
      }),
    },
  },
  async test({ http, account, settings: s }) {
    await awsCallerIdentity(account); // the credentials (and role) first: GetCallerIdentity needs no permission
    // GetQueueAttributes proves the credentials, the queue and sqs:GetQueueAttributes; receiving or
    // deleting would change the queue, so those permissions are named in the guide, not tried.
    await needsAws('sqs:GetQueueAttributes', s.queueUrl, () => sqsQueueAttributes(http, account, s.queueUrl));
  },
});
