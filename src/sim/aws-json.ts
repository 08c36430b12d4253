import { checkSigV4 } from './aws-sigv4.ts';
import type { SimReply, SimRequest, SimServer } from './kit.ts';

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
