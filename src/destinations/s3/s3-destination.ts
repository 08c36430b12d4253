import { createHash } from 'node:crypto';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { type AwsAccount, awsCredentials } from '../../accounts/aws.ts';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { snippet } from '../../engine/http.ts';
import { egressAgents } from '../egress-agents.ts';
import type { DestinationContext } from '../kind.ts';
import { ObjectStoreDestination } from '../object-store/object-destination.ts';
import { type PlannedObject, trimUrl } from '../object-store/objects.ts';
import type { S3DestinationConfig } from './index.ts';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Error codes S3 answers when the credentials or their permissions are wrong (S3 API reference, "Error responses"). */
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
]);

/**
 * Amazon S3 (and S3-compatible stores) through the AWS SDK v3: one PutObject per planned object
 * (object-store/objects.ts), with Content-MD5 so S3 refuses a body damaged on the way
 * (docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html). "Amazon S3 never adds partial
 * objects; if you receive a success response, Amazon S3 added the entire object to the bucket", so a
 * 200 is the acknowledgement. The SDK retries throttling, 5xx and network errors (3 attempts); what
 * is still failing then is reported transient and the runtime re-sends the batch later.
 *
 * Credentials come from the destination's static keys or from an `aws` account (its access key, or
 * the role it assumes, renewed before expiry); an account's credentials are only sent to the origins
 * the account allows (the AWS domains, its endpoint, its saved origins).
 */
/** The SDK's S3 client, loaded when a destination of this kind first stores an object (README, Performance). */
const s3Sdk = () => import('@aws-sdk/client-s3');

export class S3Destination extends ObjectStoreDestination {
  readonly kind = 's3';
  private readonly c: S3DestinationConfig;
  private readonly ctx: DestinationContext;
  private readonly endpointUrl: URL;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private client?: { fingerprint: string; s3: S3Client };

  constructor(name: string, config: S3DestinationConfig, ctx: DestinationContext) {
    super(name, config);
    this.c = config;
    this.ctx = ctx;
    const cn = config.region.startsWith('cn-') ? '.cn' : '';
    this.endpointUrl = new URL(
      config.endpoint ? trimUrl(config.endpoint) : `https://s3.${config.region}.amazonaws.com${cn}`,
    );
    this.agents = egressAgents(); // names resolved through the egress policy
  }

  private async credentials(): Promise<Credentials> {
    if (!this.c.account)
      return {
        accessKeyId: this.c.accessKeyId!,
        secretAccessKey: this.c.secretAccessKey!,
        sessionToken: this.c.sessionToken,
      };
    if (!this.ctx.account)
      throw configError(
        'account_unavailable',
        `Destination ${this.name} signs with account ${this.c.account}, which cannot be read here.`,
        'Run the destination from tributary run or serve, where accounts are stored.',
      );
    const account = await this.ctx.account(this.c.account);
    if (account.kind !== 'aws')
      throw configError(
        'account_kind_mismatch',
        `Destination ${this.name} needs an aws account; ${account.name} is a ${account.kind} account.`,
        `Name an aws account in destination ${this.name}.`,
      );
    // Where the signed requests (with a session token, if any) go must be one of the account's origins.
    const bucketUrl = new URL(this.endpointUrl);
    if (!this.c.endpoint) bucketUrl.hostname = `${this.c.bucket}.${bucketUrl.hostname}`;
    account.origins.check(bucketUrl, account.name);
    return awsCredentials(account.fields as unknown as AwsAccount, account.http);
  }

  /** The SDK client for the current credentials (rebuilt when an assumed role's credentials renew). */
  private async s3(): Promise<S3Client> {
    const creds = await this.credentials();
    const fingerprint = createHash('sha256')
      .update(`${creds.accessKeyId}\0${creds.secretAccessKey}\0${creds.sessionToken ?? ''}`)
      .digest('hex');
    if (this.client?.fingerprint === fingerprint) return this.client.s3;
    this.client?.s3.destroy();
    const { S3Client } = await s3Sdk();
    const s3 = new S3Client({
      region: this.c.region,
      endpoint: this.c.endpoint && trimUrl(this.c.endpoint),
      forcePathStyle: this.c.forcePathStyle ?? Boolean(this.c.endpoint),
      credentials: creds,
      maxAttempts: 3,
      // Content-MD5 is sent instead of the SDK's newer CRC32 trailers, which S3-compatible stores may not know.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: this.agents.http,
        httpsAgent: this.agents.https,
        connectionTimeout: Math.min(this.c.timeout, 10_000),
        requestTimeout: this.c.timeout,
      },
    });
    this.client = { fingerprint, s3 };
    return s3;
  }

  protected async put(o: PlannedObject, signal: AbortSignal): Promise<void> {
    egressPolicy().checkUrl(this.endpointUrl, `destination ${this.name}`);
    const s3 = await this.s3();
    const { PutObjectCommand, S3ServiceException } = await s3Sdk();
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: this.c.bucket,
          Key: o.key,
          Body: o.body,
          ContentLength: o.body.length,
          ContentType: o.contentType,
          ContentMD5: o.md5,
          ServerSideEncryption: this.c.sse,
          SSEKMSKeyId: this.c.kmsKeyId,
          StorageClass: this.c.storageClass,
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      signal.throwIfAborted();
      throw this.classify(err, S3ServiceException);
    }
  }

  /** An SDK error as a TributaryError naming the bucket, never the credentials or the object body. */
  private classify(
    err: unknown,
    S3ServiceException: typeof import('@aws-sdk/client-s3').S3ServiceException,
  ): TributaryError {
    if (err instanceof TributaryError) return err;
    const where = `bucket ${this.c.bucket}${this.c.endpoint ? ` at ${this.endpointUrl.origin}` : ''}`;
    if (err instanceof S3ServiceException) {
      const status = err.$metadata?.httpStatusCode;
      const said = err.message && err.message !== err.name ? `: ${snippet(err.message)}` : '';
      const what = `${err.name}${status ? `, HTTP ${status}` : ''}`;
      if (status === 429 || (status !== undefined && status >= 500) || err.name === 'SlowDown')
        return transientError(
          'destination_unavailable',
          `Destination ${this.name}: S3 could not store the object in ${where} (${what}).`,
          `The events wait and nothing is lost; if it persists, check ${where}.`,
          { status },
        );
      return configError(
        'destination_rejected',
        `Destination ${this.name}: S3 refused to store an object in ${where} (${what})${said}.`,
        CREDENTIAL_CODES.has(err.name) || status === 403
          ? `Check the credentials of destination ${this.name} and that they may s3:PutObject on arn:aws:s3:::${this.c.bucket}/${this.c.prefix}*${this.c.sse === 'aws:kms' || this.c.sse === 'aws:kms:dsse' ? ' and kms:GenerateDataKey on the KMS key' : ''} (docs/destinations.md, s3).`
          : err.name === 'NoSuchBucket'
            ? `Create bucket ${this.c.bucket} or fix the bucket of destination ${this.name}.`
            : err.name === 'PermanentRedirect' ||
                err.name === 'AuthorizationHeaderMalformed' ||
                status === 301
              ? `Set the region of destination ${this.name} to the bucket's region.`
              : `Check the settings (sse, kmsKeyId, storageClass, endpoint) of destination ${this.name}.`,
        status,
      );
    }
    const e = err as Error & { code?: string };
    const detail = e?.name === 'TimeoutError' ? 'timed out' : (e?.code ?? e?.name ?? 'network error');
    return transientError(
      'destination_unavailable',
      `Destination ${this.name}: could not reach ${where} (${detail}).`,
      `Check that ${this.endpointUrl.host} is reachable from Tributary; the events wait and nothing is lost.`,
    );
  }

  override async close(): Promise<void> {
    this.client?.s3.destroy();
    this.client = undefined;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
