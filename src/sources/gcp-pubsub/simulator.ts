/**
 * Pub/Sub pull-subscription simulator (REST v1), following Google's documentation:
 *
 * - cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/pull: POST
 *   /v1/projects/{p}/subscriptions/{s}:pull with {maxMessages (required, positive)}; answer
 *   {receivedMessages: [{ackId, message: {data (base64), attributes, messageId, publishTime,
 *   orderingKey}, deliveryAttempt}]}, "the response can be entirely empty" when there is nothing.
 * - …/acknowledge: POST …:acknowledge {ackIds}; answer {}. "Acknowledging a message whose ack deadline
 *   has expired may succeed, but such a message may be redelivered later. Acknowledging a message more
 *   than once will not result in an error." A message acknowledged is never delivered again.
 * - …/modifyAckDeadline: POST …:modifyAckDeadline {ackIds, ackDeadlineSeconds}; "The minimum deadline
 *   you can specify is 0 seconds. The maximum deadline you can specify in a single request is 600
 *   seconds"; 0 makes the message available again at once.
 * - cloud.google.com/pubsub/docs/subscription-properties ("Acknowledgment deadline", "Message retention
 *   duration"): a pulled message not acknowledged within the subscription's ack deadline (default 10 s,
 *   10–600 s) is redelivered (with a new ackId); unacknowledged messages are kept 7 days by default.
 * - projects.subscriptions.testIamPermissions: POST …:testIamPermissions {permissions}; answer
 *   {permissions: the subset the caller has}. roles/pubsub.subscriber grants pubsub.subscriptions.consume
 *   (cloud.google.com/pubsub/docs/access-control); roles/pubsub.viewer grants pubsub.subscriptions.get.
 * - Errors (cloud.google.com/pubsub/docs/reference/error-codes): 404 NOT_FOUND "Resource not found
 *   (resource=S).", 403 PERMISSION_DENIED "User not authorized to perform this action.", 400
 *   INVALID_ARGUMENT, 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE. Auth: src/sim/google.ts (scopes pubsub or
 *   cloud-platform).
 * - Log sink messages (cloud.google.com/logging/docs/export/pubsub): `data` is the LogEntry as JSON, with
 *   attribute `logging.googleapis.com/timestamp`.
 *
 * Assumed: ackIds are opaque strings naming the message and its delivery; `deliveryAttempt` is sent only
 * with a dead-letter policy, so not here.
 */

import { GoogleApiSimulator, googleError, googleStatusError } from '../../sim/google.ts';
import {
  type Clock,
  json,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  seedOf,
} from '../../sim/kit.ts';

const SCOPES = ['https://www.googleapis.com/auth/pubsub', 'https://www.googleapis.com/auth/cloud-platform'];
const ROLE_PERMISSIONS: Record<string, string[]> = {
  'roles/pubsub.subscriber': ['pubsub.subscriptions.consume'],
  'roles/pubsub.viewer': ['pubsub.subscriptions.get', 'pubsub.subscriptions.list'],
};

interface Message {
  messageId: string;
  data: string;
  attributes?: Record<string, string>;
  publishTime: number;
  acked: boolean;
  /** Until when the message is leased to a puller (0: available). */
  leasedUntil: number;
  /** The current delivery's ackId. */
  ackId?: string;
  deliveries: number;
}

export interface PubSubSimulatorOptions {
  clock?: Clock;
  seed?: number;
  projectId?: string;
  subscription?: string;
  /** The subscription's ack deadline (default 10 s). */
  ackDeadlineSeconds?: number;
  /** The subscription's message retention (default 7 days). */
  retentionMs?: number;
  roles?: string[];
}

export class PubSubSimulator extends GoogleApiSimulator {
  readonly projectId: string;
  readonly subscription: string;
  roles: Set<string>;
  ackDeadlineSeconds: number;
  readonly retentionMs: number;
  private readonly messages: Message[] = [];
  private readonly rng: Rng;
  private nextId = 1;
  /** Acknowledge requests served (with their ackIds), in order. */
  readonly acks: string[][] = [];
  /** modifyAckDeadline requests served, in order, with their arrival on the simulator's clock. */
  readonly modifies: Array<{ ackIds: string[]; seconds: number; at: number }> = [];
  /** Called with the messageIds of each acknowledge request, as it arrives. */
  onAcknowledge?: (messageIds: string[]) => void;

  constructor(o: PubSubSimulatorOptions = {}) {
    super({ name: 'pubsub', clock: o.clock, seed: o.seed ?? 1, projectId: o.projectId ?? 'acme-logs' });
    this.projectId = o.projectId ?? 'acme-logs';
    this.subscription = `projects/${this.projectId}/subscriptions/${o.subscription ?? 'tributary-audit'}`;
    this.ackDeadlineSeconds = o.ackDeadlineSeconds ?? 10;
    this.retentionMs = o.retentionMs ?? 7 * 86_400_000;
    this.roles = new Set(o.roles ?? ['roles/pubsub.subscriber']);
    this.rng = new Rng(seedOf(o.seed ?? 1, 'pubsub'));
    this.server.route('POST', '/v1/projects/:project/subscriptions/:action', (req) => this.call(req));
  }

  /** Calls that change the subscription (pull leases, acknowledge, modifyAckDeadline): the source declares them. */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => !(r.path === '/token' || r.path.endsWith(':testIamPermissions')));
  }

  /** Publishes a message (as a log sink would); returns its messageId. */
  publish(data: string | Buffer, attributes?: Record<string, string>, publishTime = this.clock()): string {
    const messageId = String(10_000_000_000_000 + this.nextId++ * 7919);
    this.messages.push({
      messageId,
      data: Buffer.from(data).toString('base64'),
      attributes,
      publishTime,
      acked: false,
      leasedUntil: 0,
      deliveries: 0,
    });
    return messageId;
  }

  /** Publishes `n` Cloud Audit Log entries as a log sink does; returns their messageIds. */
  publishLogEntries(n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = new Date(this.clock() - 1000 * (n - i)).toISOString();
      const entry = {
        insertId: this.rng.chars('0123456789abcdefghijklmnopqrstuvwxyz', 12),
        logName: `projects/${this.projectId}/logs/cloudaudit.googleapis.com%2Factivity`,
        protoPayload: {
          '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
          authenticationInfo: { principalEmail: `user${i % 7}@example.com` },
          methodName: 'SetIamPolicy',
          serviceName: 'cloudresourcemanager.googleapis.com',
          resourceName: `projects/${this.projectId}`,
        },
        resource: { type: 'project', labels: { project_id: this.projectId } },
        severity: 'NOTICE',
        timestamp: t,
        receiveTimestamp: t,
      };
      out.push(this.publish(JSON.stringify(entry), { 'logging.googleapis.com/timestamp': t }));
    }
    return out;
  }

  /** Messages not yet acknowledged (outstanding or waiting) and inside the retention. */
  pending(): number {
    return this.live().length;
  }

  /** How many times each message was delivered. */
  deliveries(): Map<string, number> {
    return new Map(this.messages.map((m) => [m.messageId, m.deliveries]));
  }

  /**
   * When the latest lease of these messages ends (simulator clock): their pull plus the subscription's
   * ack deadline, or what a later modifyAckDeadline set; 0 for messages never pulled.
   */
  leaseEnd(messageIds: string[]): number {
    const wanted = new Set(messageIds);
    return Math.max(0, ...this.messages.filter((m) => wanted.has(m.messageId)).map((m) => m.leasedUntil));
  }

  private live(): Message[] {
    const now = this.clock();
    return this.messages.filter((m) => !m.acked && now - m.publishTime < this.retentionMs);
  }

  protected statusError(status: number): SimReply {
    return status === 404
      ? this.notFound()
      : googleStatusError(status, { 403: 'User not authorized to perform this action.' });
  }

  private notFound(): SimReply {
    return googleError(
      404,
      `Resource not found (resource=${this.subscription.split('/').pop()}).`,
      'NOT_FOUND',
      'notFound',
    );
  }

  private invalid(message: string): SimReply {
    return googleError(400, message, 'INVALID_ARGUMENT', 'badRequest');
  }

  private call(req: SimRequest): SimReply {
    const auth = this.tokens.authenticate(req, SCOPES);
    if (!auth.ok) return auth.reply;
    const [sub, method] = req.params.action.split(':');
    if (`projects/${req.params.project}/subscriptions/${sub}` !== this.subscription) return this.notFound();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return this.invalid('Invalid JSON payload received.');
    }
    const held = new Set([...this.roles].flatMap((r) => ROLE_PERMISSIONS[r] ?? []));
    if (method === 'testIamPermissions') {
      const asked = Array.isArray(body.permissions) ? body.permissions.map(String) : [];
      return json(200, { permissions: asked.filter((p) => held.has(p)) });
    }
    if (!held.has('pubsub.subscriptions.consume'))
      return googleError(403, 'User not authorized to perform this action.', 'PERMISSION_DENIED');
    const now = req.at;
    switch (method) {
      case 'pull': {
        const max = body.maxMessages;
        if (typeof max !== 'number' || !Number.isInteger(max) || max <= 0)
          return this.invalid('maxMessages must be a positive integer.');
        if (req.empty) return json(200, {});
        const out: unknown[] = [];
        for (const m of this.live()) {
          if (out.length >= max) break;
          if (m.leasedUntil > now) continue;
          m.deliveries++;
          m.leasedUntil = now + this.ackDeadlineSeconds * 1000;
          m.ackId = `${m.messageId}-${m.deliveries}-${this.rng.base64url(16)}`;
          out.push({
            ackId: m.ackId,
            message: {
              data: m.data,
              ...(m.attributes ? { attributes: m.attributes } : {}),
              messageId: m.messageId,
              publishTime: new Date(m.publishTime).toISOString(),
            },
          });
        }
        return json(200, out.length ? { receivedMessages: out } : {});
      }
      case 'acknowledge': {
        const ids = Array.isArray(body.ackIds) ? body.ackIds.map(String) : [];
        if (!ids.length) return this.invalid('No ack ids specified.');
        this.acks.push(ids);
        this.onAcknowledge?.(ids.map((id) => id.split('-')[0]));
        for (const id of ids) {
          const m = this.byAckId(id);
          // An expired lease may still be acknowledged unless the message went out again since.
          if (m && (m.ackId === id || m.leasedUntil <= now)) m.acked = true;
        }
        return json(200, {});
      }
      case 'modifyAckDeadline': {
        const ids = Array.isArray(body.ackIds) ? body.ackIds.map(String) : [];
        const seconds = body.ackDeadlineSeconds;
        if (typeof seconds !== 'number' || seconds < 0 || seconds > 600)
          return this.invalid(
            `Invalid ack deadline given: ${String(seconds)}. The minimum deadline is 0 seconds and the maximum 600 seconds.`,
          );
        this.modifies.push({ ackIds: ids, seconds, at: now });
        for (const id of ids) {
          const m = this.byAckId(id);
          if (m && m.ackId === id && !m.acked && m.leasedUntil > now) m.leasedUntil = now + seconds * 1000;
        }
        return json(200, {});
      }
      default:
        return this.notFound();
    }
  }

  private byAckId(id: string): Message | undefined {
    const messageId = id.split('-')[0];
    return this.messages.find((m) => m.messageId === messageId);
  }
}
