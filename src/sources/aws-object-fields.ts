import { z } from 'zod';
import type { AwsAccount } from '../accounts/aws.ts';
import { s3ObjectStore, sqsQueue } from '../accounts/aws-objects.ts';
import type { ReadContext } from '../core/source.ts';
import type { NotificationQueue, ObjectStore } from '../engine/object-notification.ts';

/**
 * Settings fields and the bucket + queue of the sources that read S3 objects announced on SQS (Security
 * Lake, SentinelOne Cloud Funnel, Cisco Umbrella): bucket names (S3 User Guide, "General purpose bucket
 * naming rules": 3–63 characters of lower-case letters, digits, dots and hyphens, beginning and ending
 * with a letter or digit), region codes, SQS queue URLs (`https://sqs.{region}.amazonaws.com/{account}/
 * {name}`, queue names up to 80 characters of letters, digits, `-` and `_`, SQS Developer Guide, "Amazon
 * SQS queue and message identifiers") and the long-poll wait (ReceiveMessage `WaitTimeSeconds` 0–20).
 */

export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;

export const bucketField = (title: string, description: string, example = 'my-log-bucket') =>
  z
    .string()
    .trim()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      `expected an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens) such as ${example}`,
    )
    .meta({ title })
    .describe(description);

export const regionField = (title: string, description: string) =>
  z
    .string()
    .trim()
    .regex(AWS_REGION, 'expected an AWS region code such as us-east-1')
    .meta({ title })
    .describe(description);

export const queueUrlField = (title: string, description: string, name = 'logs') =>
  z
    .string()
    .trim()
    .regex(
      /^https:\/\/[^/\s]+\/\d{12}\/[\w-]{1,80}$/,
      `expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/111122223333/${name}`,
    )
    .meta({ title })
    .describe(description);

export const waitTimeField = () =>
  z
    .number()
    .int()
    .min(0)
    .max(20)
    .default(1)
    .meta({ title: 'Receive wait (seconds)' })
    .describe('SQS long-poll wait per receive, 0–20 (a short poll, 0, can miss waiting messages)');

export interface BucketQueueSettings {
  bucket: string;
  region: string;
  queueUrl?: string;
  waitTimeSeconds: number;
}

/** The object reader's `open`: the collector's bucket, and its queue when it has one. */
export function openBucketQueue<S extends BucketQueueSettings>(
  ctx: ReadContext<S, AwsAccount>,
): { objects: ObjectStore; queue?: NotificationQueue } {
  const s = ctx.settings;
  return {
    objects: s3ObjectStore(ctx.http, ctx.account, { bucket: s.bucket, region: s.region }),
    queue: s.queueUrl
      ? sqsQueue(ctx.http, ctx.account, { queueUrl: s.queueUrl, waitTimeSeconds: s.waitTimeSeconds })
      : undefined,
  };
}
