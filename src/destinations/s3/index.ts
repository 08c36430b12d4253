import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { defineDestinationKind } from '../kind.ts';
import { endpointUrl, objectStoreFields } from '../object-store/objects.ts';
import { S3Destination } from './s3-destination.ts';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;

/** S3 bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const s3ConfigSchema = z
  .object({
    kind: z.literal('s3'),
    bucket: z
      .string()
      .trim()
      .regex(BUCKET, 'expected an S3 bucket name: 3–63 lowercase letters, digits, dots and hyphens')
      .meta({ ...ORIGIN, title: 'Bucket' })
      .describe('Bucket the objects are written to'),
    region: z
      .string()
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1 or eu-west-1')
      .default('us-east-1')
      .meta({ ...ORIGIN, title: 'Region' })
      .describe('Region of the bucket (default us-east-1)'),
    endpoint: endpointUrl()
      .optional()
      .meta({ ...ORIGIN, title: 'Endpoint override' })
      .describe(
        'Another S3 endpoint: a VPC endpoint, or an S3-compatible store such as MinIO (https, or http on loopback)',
      ),
    forcePathStyle: z
      .boolean()
      .optional()
      .meta({ title: 'Path-style requests' })
      .describe(
        'Address the bucket as ENDPOINT/BUCKET instead of BUCKET.ENDPOINT (default: on with an endpoint override, off for AWS)',
      ),
    account: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ ...ORIGIN, title: 'AWS account' })
      .describe(
        'Name of an aws account whose access key (or assumed role) signs the uploads; or give accessKeyId and secretAccessKey here',
      ),
    accessKeyId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{3,128}$/, 'expected an access key ID such as AKIAIOSFODNN7EXAMPLE')
      .optional()
      .meta({ title: 'Access key ID' })
      .describe('Access key ID of an IAM user allowed s3:PutObject, when no account is named'),
    secretAccessKey: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'Secret access key' })
      .describe('Secret access key of that access key ID'),
    sessionToken: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'Session token' })
      .describe('Only for temporary credentials (ASIA…): their session token'),
    sse: z
      .enum(['AES256', 'aws:kms', 'aws:kms:dsse'])
      .optional()
      .meta({ title: 'Server-side encryption' })
      .describe(
        "Ask S3 to encrypt each object: AES256 (SSE-S3), aws:kms (SSE-KMS), aws:kms:dsse; default: the bucket's default encryption",
      ),
    kmsKeyId: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'KMS key' })
      .describe(
        'With sse aws:kms or aws:kms:dsse: the KMS key ID, alias or ARN (default: the AWS managed key)',
      ),
    storageClass: z
      .enum(['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR'])
      .optional()
      .meta({ title: 'Storage class' })
      .describe('Storage class of the objects (default STANDARD)'),
    ...objectStoreFields,
  })
  .strict()
  .superRefine((c, ctx) => {
    const keys = c.accessKeyId !== undefined || c.secretAccessKey !== undefined;
    if (c.account && (keys || c.sessionToken))
      ctx.addIssue({
        code: 'custom',
        path: ['accessKeyId'],
        message: 'give either account or accessKeyId + secretAccessKey, not both',
      });
    else if (!c.account && !(c.accessKeyId && c.secretAccessKey))
      ctx.addIssue({
        code: 'custom',
        path: [c.accessKeyId ? 'secretAccessKey' : 'accessKeyId'],
        message: 'required: an aws account (account) or an access key (accessKeyId and secretAccessKey)',
      });
    if (c.kmsKeyId && c.sse !== 'aws:kms' && c.sse !== 'aws:kms:dsse')
      ctx.addIssue({
        code: 'custom',
        path: ['kmsKeyId'],
        message: 'only used with sse aws:kms or aws:kms:dsse',
      });
  })
  .describe('Writes gzip NDJSON objects to an Amazon S3 bucket (or an S3-compatible store)');

export type S3DestinationConfig = z.infer<typeof s3ConfigSchema>;

export const s3Kind = defineDestinationKind({
  kind: 's3',
  title: 'Amazon S3',
  description:
    'Writes each batch as time-partitioned gzip NDJSON objects to an S3 bucket; a batch is acknowledged once every PutObject succeeded.',
  schema: s3ConfigSchema,
  accountKinds: ['aws'],
  create: (name, config, ctx) => new S3Destination(name, config, ctx),
});
