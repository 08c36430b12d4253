/**
 * Shared pieces of the Azure REST simulators (Azure Resource Manager, Log Analytics): an HTTP server behind
 * an Entra ID token endpoint (sim/microsoft.ts) for one token resource, the error bodies of the Azure REST
 * API guidelines, and a token-bucket request limit per principal.
 *
 * - Error body: `{"error":{"code","message"}}` (learn.microsoft.com/azure/azure-resource-manager/management/common-deployment-errors
 *   and the Azure REST API guidelines' "Handling errors": a top-level `error` object with `code` and `message`).
 * - Throttling (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
 *   429 with `Retry-After` seconds; a token bucket per principal — ARM's subscription reads: bucket 250,
 *   refilled at 25 a second, remaining requests in `x-ms-ratelimit-remaining-subscription-reads`.
 * - Tokens: Entra v2.0 client credentials, audience the service's resource; 401 on a missing, expired or
 *   wrong-audience token (`InvalidAuthenticationToken` as ARM names it).
 */
import {
  type Clock,
  json,
  type RecordedRequest,
  type SimHooks,
  type SimReply,
  type SimRequest,
} from './kit.ts';
import { GraphSim } from './microsoft.ts';

export function azureError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): SimReply {
  return json(status, { error: { code, message } }, { 'x-ms-request-id': crypto.randomUUID(), ...headers });
}

export interface TokenBucketOptions {
  size: number;
  perSecond: number;
}

/** A token bucket (size, refill a second) per key; `take` answers the remaining count or the wait in seconds. */
export class TokenBuckets {
  private readonly o: TokenBucketOptions;
  private readonly clock: Clock;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  throttled = 0;

  constructor(o: TokenBucketOptions, clock: Clock) {
    this.o = o;
    this.clock = clock;
  }

  take(key: string): { remaining: number } | { retryAfter: number } {
    const now = this.clock();
    const b = this.buckets.get(key) ?? { tokens: this.o.size, at: now };
    b.tokens = Math.min(this.o.size, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) {
      this.throttled++;
      return { retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / this.o.perSecond)) };
    }
    b.tokens -= 1;
    return { remaining: Math.floor(b.tokens) };
  }
}

export interface AzureRestSimOptions {
  clock?: Clock;
  seed?: number;
  /** The token resource the service accepts, e.g. https://management.azure.com. */
  resource: string;
  name: string;
}

/**
 * An Azure REST service behind the Entra token endpoint: GraphSim's server, identity and faults with the
 * service's own name and error answers (its Graph routes are not used).
 */
export class AzureRestSim extends GraphSim {
  constructor(o: AzureRestSimOptions, hooks: SimHooks) {
    super(
      { clock: o.clock, seed: o.seed, resource: o.resource },
      { permissions: [], rateLimit: { requests: Number.MAX_SAFE_INTEGER, windowMs: 1 }, name: o.name, hooks },
    );
  }

  /** Requests that could change data; token requests and the declared read-only query POSTs are not. */
  override writeCalls(readOnlyPost: RegExp = /^$/): RecordedRequest[] {
    return super.writeCalls().filter((r) => !(r.method === 'POST' && readOnlyPost.test(r.path)));
  }

  /** The bearer token's answer: undefined when it is valid for the service, else ARM's 401. */
  protected unauthorised(req: SimRequest): SimReply | undefined {
    if (!this.identity.check(req, this.resource)) return undefined;
    return req.headers.authorization
      ? azureError(401, 'InvalidAuthenticationToken', 'The access token is invalid or has expired.', {
          'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${this.tenantId}", error="invalid_token"`,
        })
      : azureError(
          401,
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing.",
        );
  }
}
