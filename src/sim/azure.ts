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
  type Fault,
  json,
  type RecordedRequest,
  type SimReply,
  type SimRequest,
  SimServer,
} from './kit.ts';
import { EntraIdentitySim, TOKEN_PATH } from './microsoft.ts';

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
  tenantId?: string;
  clientId?: string;
  clientSecret?: string | null;
  /** The token resource the service accepts, e.g. https://management.azure.com. */
  resource: string;
  name: string;
}

export class AzureRestSim {
  readonly server: SimServer;
  readonly identity: EntraIdentitySim;
  readonly clock: Clock;
  readonly seed: number;
  readonly resource: string;
  protected loopPages = 0;

  constructor(
    o: AzureRestSimOptions,
    hooks: {
      errorReply(req: SimRequest, status: number): SimReply;
      rateLimitReply(req: SimRequest, retryAfter: number): SimReply;
    },
  ) {
    this.clock = o.clock ?? Date.now;
    this.seed = o.seed ?? 1;
    this.resource = o.resource;
    this.server = new SimServer({ name: o.name, clock: this.clock, hooks });
    this.identity = new EntraIdentitySim(this.server, {
      tenantId: o.tenantId,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      resources: [o.resource],
      clock: this.clock,
    });
  }

  get url(): string {
    return this.server.url;
  }
  get tenantId(): string {
    return this.identity.tenantId;
  }
  get clientId(): string {
    return this.identity.clientId;
  }
  get clientSecret(): string {
    return this.identity.clientSecret ?? '';
  }
  start(): Promise<string> {
    return this.server.start();
  }
  stop(): Promise<void> {
    return this.server.stop();
  }
  inject(fault: Fault): void {
    this.server.inject(fault);
  }
  requests(): RecordedRequest[] {
    return this.server.requests.all();
  }
  /** Requests that could change data; token requests and the declared read-only query POSTs are not. */
  writeCalls(readOnlyPost: RegExp = /^$/): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => !(r.method === 'POST' && (TOKEN_PATH.test(r.path) || readOnlyPost.test(r.path))));
  }
  /** The next `pages` answers carry a next link identical to the request (a misbehaving vendor). */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  /** The bearer token's answer: undefined when it is valid for the service, else ARM's 401. */
  protected unauthorised(req: SimRequest): SimReply | undefined {
    const refused = this.identity.check(req, this.resource);
    if (!refused) return undefined;
    const auth = req.headers.authorization;
    return auth
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
