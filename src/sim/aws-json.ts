import { checkSigV4 } from './aws-sigv4.ts';
import { type Clock, SimHost, type SimReply, type SimRequest, SimServer } from './kit.ts';

/**
 * What the simulators of AWS's JSON APIs (CloudWatch Logs' JSON 1.1, GuardDuty's REST-JSON) share: the
 * error body `{"__type": "<Code>", "message": "…"}` with `x-amzn-ErrorType` (AWS JSON protocol error
 * shape; CloudWatch Logs API Reference, "Common Errors"), and the signature check in front of every
 * action (sim/aws-sigv4.ts): an unknown access key is `UnrecognizedClientException` "The security token
 * included in the request is invalid.", a wrong signature `InvalidSignatureException`, a request dated
 * more than 15 minutes away `InvalidSignatureException` "Signature expired", a missing one
 * `MissingAuthenticationTokenException`; a session token the test marked expired `ExpiredTokenException`
 * "The security token included in the request is expired".
 */

export function awsJsonError(
  status: number,
  code: string,
  message: string,
  contentType = 'application/x-amz-json-1.1',
): SimReply {
  return {
    status,
    headers: { 'content-type': contentType, 'x-amzn-errortype': code, 'x-amzn-requestid': 'sim' },
    body: JSON.stringify({ __type: code, message }),
  };
}

export interface AwsSimIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The signing name requests must be signed for (`logs`, `guardduty`, `monitoring`). */
  service: string;
  /** Credentials refused as expired from now on (`ExpiredTokenException`). */
  expired?: boolean;
}

/** The refusal of a request whose signature is not the identity's, or undefined when it is. */
export async function refuseUnsigned(
  req: SimRequest,
  id: AwsSimIdentity,
  error: (status: number, code: string, message: string) => SimReply = awsJsonError,
): Promise<SimReply | undefined> {
  const check = await checkSigV4(
    { method: req.method, url: req.raw.url ?? '/', headers: req.headers, body: req.body },
    (key) => (key === id.accessKeyId ? { secretAccessKey: id.secretAccessKey } : undefined),
  );
  if (!check.ok) {
    switch (check.reason) {
      case 'missing':
        return error(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      case 'unknown-key':
        return error(
          400,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      case 'expired':
        return error(
          400,
          'InvalidSignatureException',
          'Signature expired: the request is dated more than 15 minutes away.',
        );
      default:
        return error(
          400,
          'InvalidSignatureException',
          'The request signature we calculated does not match the signature you provided.',
        );
    }
  }
  if (check.service !== id.service || check.region !== id.region)
    return error(
      400,
      'InvalidSignatureException',
      `Credential should be scoped to a valid region and service: ${id.region}/${id.service}.`,
    );
  if (id.expired)
    return error(400, 'ExpiredTokenException', 'The security token included in the request is expired');
  return undefined;
}

/**
 * STS GetCallerIdentity at `POST /sts` of a simulator (Query protocol, XML answer; STS API Reference,
 * GetCallerIdentity: it needs no permission): what Test Connection proves first. The account's
 * `stsEndpoint` is then `<simulator URL>/sts`.
 */
export function mountCallerIdentity(server: SimServer, id: AwsSimIdentity, accountId: string): void {
  const xmlError = (status: number, code: string, message: string): SimReply => ({
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>sim</RequestId></ErrorResponse>`,
  });
  server.route('POST', '/sts', async (req) => {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('Action') !== 'GetCallerIdentity')
      return xmlError(400, 'InvalidAction', `Could not find operation ${form.get('Action')}`);
    const refused = await refuseUnsigned(req, { ...id, service: 'sts' }, (status, code, message) =>
      xmlError(
        status === 400 && code !== 'ExpiredTokenException' ? 403 : status,
        code === 'UnrecognizedClientException'
          ? 'InvalidClientTokenId'
          : code === 'InvalidSignatureException'
            ? 'SignatureDoesNotMatch'
            : code,
        message,
      ),
    );
    if (refused) return refused;
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${accountId}:user/tributary</Arn><UserId>AIDASIMULATOR0000001</UserId><Account>${accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    };
  });
}

export interface AwsJsonSimOptions {
  clock: Clock;
  /** Label in the request log, and the account's `endpoints` key (the signing name: `logs`, …). */
  service: string;
  region?: string;
  accountId?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The error body and headers of this API (`awsJsonError` with its content type). */
  error: (status: number, code: string, message: string) => SimReply;
  /** The service's codes for a 5xx, a refused parameter, and its throttling answer. */
  codes: {
    serverError: string;
    badRequest: string;
    throttle: { status: number; code: string; message: string };
  };
}

/**
 * The common part of the AWS JSON-API simulators: one SimServer answering as the service, the
 * credentials it accepts, STS GetCallerIdentity at `/sts`, and the switches every test uses —
 * `throttle(n)`, `expireCredentials`, `loopTokens(n)` (a page gives back the token it was asked with),
 * faults through the kit.
 */
export class AwsJsonSim extends SimHost {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly accountId: string;
  readonly server: SimServer;
  protected readonly service: string;
  protected readonly error: AwsJsonSimOptions['error'];
  private readonly throttleReply: () => SimReply;
  private throttled = 0;
  private looping = 0;
  private expired = false;

  constructor(o: AwsJsonSimOptions) {
    super();
    this.accessKeyId = o.accessKeyId;
    this.secretAccessKey = o.secretAccessKey;
    this.region = o.region ?? 'us-east-1';
    this.accountId = o.accountId ?? '111122223333';
    this.service = o.service;
    this.error = o.error;
    const t = o.codes.throttle;
    this.throttleReply = () => o.error(t.status, t.code, t.message);
    this.server = new SimServer({
      name: o.service,
      clock: o.clock,
      hooks: {
        errorReply: (_req, status) =>
          status === 401
            ? o.error(
                401,
                'UnrecognizedClientException',
                'The security token included in the request is invalid.',
              )
            : status >= 500
              ? o.error(status, o.codes.serverError, 'The service cannot complete the request.')
              : o.error(status, o.codes.badRequest, `Simulated ${status}.`),
        rateLimitReply: () => this.throttleReply(),
      },
    });
    mountCallerIdentity(this.server, { ...this.identity(), service: 'sts' }, this.accountId);
  }

  /** The `aws` account that reaches this simulator (its endpoint for the service, and its STS). */
  account(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      accessKeyId: this.accessKeyId,
      secretAccessKey: this.secretAccessKey,
      region: this.region,
      endpoints: { [this.service]: this.url },
      stsEndpoint: `${this.url}/sts`,
      ...over,
    };
  }

  /** The next n requests are answered with the service's throttling error. */
  throttle(n: number): void {
    this.throttled = n;
  }

  /** The credentials' session has expired (true) or is valid again (false). */
  expireCredentials(on: boolean): void {
    this.expired = on;
  }

  /** The next `pages` paged answers give back the token they were asked with (a pagination loop). */
  loopTokens(pages: number): void {
    this.looping = pages;
  }

  /** The refusal of a request that is not signed with this simulator's key, or is throttled. */
  protected async refuse(req: SimRequest): Promise<SimReply | undefined> {
    const refused = await refuseUnsigned(req, this.identity(), this.error);
    if (refused) return refused;
    if (this.throttled > 0) {
      this.throttled--;
      return this.throttleReply();
    }
    return undefined;
  }

  /** Whether this paged answer is one of a pagination loop (`loopTokens`). */
  protected looped(): boolean {
    if (this.looping <= 0) return false;
    this.looping--;
    return true;
  }

  private identity(): AwsSimIdentity {
    return {
      accessKeyId: this.accessKeyId,
      secretAccessKey: this.secretAccessKey,
      region: this.region,
      service: this.service,
      expired: this.expired,
    };
  }
}
