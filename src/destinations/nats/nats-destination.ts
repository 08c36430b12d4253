import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, encodeLine } from '../../core/envelope.ts';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { egressPolicy } from '../../engine/egress.ts';
import type { NatsDestinationConfig } from './index.ts';

/** A subject token made from a name: NATS subjects separate tokens with dots and reserve * and >. */
const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_') || '_';

/**
 * NATS JetStream (docs.nats.io/nats-concepts/jetstream): every event is one message on the subject
 * the template names, published with `Nats-Msg-Id` = the event id, and counted only when JetStream
 * answers its PubAck ("the server stored the message", docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication).
 * A batch is acknowledged when every message is. A re-sent batch repeats the ids, which the stream
 * drops as duplicates within its duplicate window (2 minutes by default; set `duplicate_window`
 * longer than the longest outage you expect).
 *
 * Failures: no stream capturing the subject (503 no responders), a refused expected stream, or a
 * message above the server's max_payload are config errors; timeouts and lost connections are
 * transient (the runtime re-sends the batch). The client does not follow the cluster's gossiped
 * server list (ignoreClusterUpdates): it connects only to the configured servers.
 */
export class NatsDestination implements Destination {
  readonly kind = 'nats';
  readonly name: string;
  private readonly c: NatsDestinationConfig;
  private conn?: Promise<{ nc: NatsConnection; js: JetStreamClient }>;

  constructor(name: string, config: NatsDestinationConfig) {
    this.name = name;
    this.c = config;
  }

  private where(): string {
    return this.c.servers.join(', ');
  }

  /** Refuses servers at link-local or metadata addresses, by name after DNS (docs/security.md). */
  private async checkEgress(): Promise<void> {
    const lookup = promisify(egressPolicy().lookup);
    for (const s of this.c.servers) {
      const host = new URL(s.includes('://') ? s : `nats://${s}`).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) {
        if (egressPolicy().refuses(host))
          egressPolicy().checkUrl(
            new URL(`http://${host.includes(':') ? `[${host}]` : host}`),
            `destination ${this.name}`,
          );
        continue;
      }
      try {
        await lookup(host, { all: true });
      } catch (err) {
        if (err instanceof TributaryError) throw err;
        // a name that does not resolve: the connection fails below, transient
      }
    }
  }

  private async connection(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    const current = this.conn;
    if (current) {
      const c = await current.catch(() => undefined);
      if (c && !c.nc.isClosed()) return c;
      if (this.conn === current) this.conn = undefined;
    }
    if (!this.conn) {
      const opening = this.open();
      this.conn = opening;
      opening.catch(() => {
        if (this.conn === opening) this.conn = undefined;
      });
    }
    return this.conn;
  }

  private async open(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    await this.checkEgress();
    const a = this.c.auth;
    const tls =
      this.c.tls || this.c.ca || this.c.cert || this.c.servers.some((s) => s.startsWith('tls://'))
        ? {
            ...(this.c.ca ? { ca: this.c.ca } : {}),
            ...(this.c.cert ? { cert: this.c.cert, key: this.c.key } : {}),
          }
        : undefined;
    // The client is loaded when a destination of this kind first connects (README, Performance).
    const [{ jetstream }, { connect, credsAuthenticator, nkeyAuthenticator }] = await Promise.all([
      import('@nats-io/jetstream'),
      import('@nats-io/transport-node'),
    ]);
    try {
      const nc = await connect({
        servers: this.c.servers,
        name: `tributary ${this.name}`,
        timeout: Math.min(this.c.timeout, 20_000),
        ignoreClusterUpdates: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        ...(a?.type === 'token' ? { token: a.token } : {}),
        ...(a?.type === 'user' ? { user: a.user, pass: a.password } : {}),
        ...(a?.type === 'nkey' ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(a.seed)) } : {}),
        ...(a?.type === 'credentials'
          ? { authenticator: credsAuthenticator(new TextEncoder().encode(a.credentials)) }
          : {}),
        ...(tls ? { tls } : {}),
      });
      return { nc, js: jetstream(nc, { timeout: this.c.timeout }) };
    } catch (err) {
      throw this.classify(err, 'connect');
    }
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    if (!events.length) return;
    const { js } = await this.connection();
    const expect = this.c.stream ? { streamName: this.c.stream } : undefined;
    // Publishes are pipelined: up to maxInFlight acknowledgements are awaited at once, in order.
    const window: Array<Promise<PubAck>> = [];
    let failure: unknown;
    const settle = async (p: Promise<PubAck>) => {
      try {
        await p;
      } catch (err) {
        failure ??= err;
      }
    };
    for (const e of events) {
      signal.throwIfAborted();
      if (failure) break;
      const subject = this.subject(e);
      const p = js.publish(subject, encodeLine(e), {
        msgID: e.id,
        timeout: this.c.timeout,
        ...(expect ? { expect } : {}),
      });
      p.catch(() => {}); // awaited below
      window.push(p);
      if (window.length >= this.c.maxInFlight) await settle(window.shift()!);
    }
    for (const p of window) await settle(p);
    signal.throwIfAborted();
    if (failure) throw this.classify(failure, 'publish');
  }

  private subject(e: Envelope): string {
    return this.c.subject
      .replaceAll('{source}', token(e.source))
      .replaceAll('{collector}', token(e.collector))
      .replaceAll('{stream}', token(e.stream));
  }

  /**
   * Test Connection: connects (authenticating) and asks JetStream which stream captures the subject
   * for the probe's names, proving the account has JetStream and a stream listens.
   */
  async test(signal: AbortSignal): Promise<void> {
    const { nc } = await this.connection();
    signal.throwIfAborted();
    const subject = this.c.subject
      .replaceAll('{source}', 'tributary')
      .replaceAll('{collector}', 'test')
      .replaceAll('{stream}', 'test');
    try {
      const r = await nc.request(
        '$JS.API.STREAM.NAMES',
        new TextEncoder().encode(JSON.stringify({ subject })),
        { timeout: this.c.timeout },
      );
      const body = JSON.parse(new TextDecoder().decode(r.data)) as {
        streams?: string[] | null;
        error?: { description?: string };
      };
      if (body.error) throw new Error(body.error.description ?? 'JetStream error');
      const streams = body.streams ?? [];
      if (!streams.length)
        throw configError(
          'nats_no_stream',
          `Destination ${this.name}: no JetStream stream captures subject ${subject} on ${this.where()}.`,
          `Create a stream whose subjects include ${this.c.subject.replace(/\{[a-z]+\}/g, '*')} (docs/destinations.md, nats).`,
        );
      if (this.c.stream && !streams.includes(this.c.stream))
        throw configError(
          'nats_wrong_stream',
          `Destination ${this.name}: subject ${subject} is captured by ${streams.join(', ')}, not by stream ${this.c.stream}.`,
          `Fix the stream setting of destination ${this.name}, or the stream's subjects.`,
        );
    } catch (err) {
      throw this.classify(err, 'test');
    }
  }

  /** A client error as a TributaryError naming the servers, never a token, password or seed. */
  private classify(err: unknown, during: 'connect' | 'publish' | 'test'): TributaryError {
    if (err instanceof TributaryError) return err;
    const e = err as Error & { code?: string; name?: string; cause?: unknown };
    const text = `${e?.name ?? ''} ${e?.message ?? ''} ${(e?.cause as Error | undefined)?.message ?? ''}`;
    if (/authori[sz]ation|authentication|auth.*(violation|expired)|user.*expired/i.test(text))
      return configError(
        'destination_rejected',
        `Destination ${this.name}: the NATS server at ${this.where()} refused the credentials.`,
        `Check the auth of destination ${this.name} (token, user and password, NKey seed or .creds).`,
      );
    if (/permission/i.test(text))
      return configError(
        'destination_rejected',
        `Destination ${this.name}: the NATS user may not publish to the subject (permissions violation).`,
        `Allow the user to publish to ${this.c.subject.replace(/\{[a-z]+\}/g, '*')} and to $JS.API.> on ${this.where()}.`,
      );
    if (/no responders|503/i.test(text) && during === 'publish')
      return configError(
        'nats_no_stream',
        `Destination ${this.name}: no JetStream stream captures the subject on ${this.where()} (no responders).`,
        `Create a stream whose subjects include ${this.c.subject.replace(/\{[a-z]+\}/g, '*')} (docs/destinations.md, nats).`,
      );
    if (/expected stream/i.test(text))
      return configError(
        'nats_wrong_stream',
        `Destination ${this.name}: the subject is not captured by stream ${this.c.stream}.`,
        `Fix the stream setting of destination ${this.name}, or the stream's subjects.`,
      );
    if (/max.?payload/i.test(text))
      return configError(
        'nats_payload_too_large',
        `Destination ${this.name}: an event is larger than the server's max_payload.`,
        'Raise max_payload on the NATS server (default 1 MB).',
      );
    if (/tls|certificate|self.signed|SSL/i.test(text) && during === 'connect')
      return configError(
        'nats_tls_failed',
        `Destination ${this.name}: TLS with ${this.where()} failed (${e?.message?.slice(0, 120) ?? 'handshake'}).`,
        `Check tls, ca, cert and key of destination ${this.name}.`,
      );
    return transientError(
      'destination_unavailable',
      `Destination ${this.name}: JetStream at ${this.where()} did not acknowledge (${(e?.message ?? String(err)).slice(0, 120)}).`,
      `Check that the NATS servers are up and JetStream is enabled; the events wait and nothing is lost.`,
    );
  }

  async close(): Promise<void> {
    const c = await this.conn?.catch(() => undefined);
    this.conn = undefined;
    await c?.nc.close().catch(() => {});
  }
}
