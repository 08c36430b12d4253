import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, encodeLine } from '../../core/envelope.ts';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { egressLookup } from '../egress-agents.ts';
import type { SyslogDestinationConfig } from './index.ts';

/** RFC 5424 §6.2.1 facility and severity codes. */
export const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  clock: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};
export const SEVERITIES: Record<string, number> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** RFC 5424 header fields are printable US-ASCII without spaces (PRINTUSASCII, §6). */
const printable = (s: string, max: number) => s.replace(/[^!-~]/g, '_').slice(0, max) || '-';

/**
 * Syslog (RFC 5424 messages) over TLS (RFC 5425), TCP (RFC 6587) or UDP (RFC 5426). Each event is
 * one message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID - MSG`, where TIMESTAMP is the event's
 * own time, MSGID its stream and MSG the envelope JSON (no BOM; receivers treat it as UTF-8 text).
 *
 * Syslog has no application-level acknowledgement: over TCP and TLS a batch counts as delivered once
 * every message has been written to the socket and handed to the kernel (the write callbacks fired).
 * If the connection breaks while a batch is written, the destination reconnects and writes the whole
 * batch again (the receiver may see some messages twice), then gives up with a transient error: the
 * runtime retries the same batch later. Messages the kernel accepted just before a connection reset
 * can still be lost: that is syslog's limit (RELP would close it), and why docs/destinations.md
 * prefers an acknowledging destination for anything that must not lose events. UDP is fire and forget.
 */
export class SyslogDestination implements Destination {
  readonly kind = 'syslog';
  readonly name: string;
  private readonly c: SyslogDestinationConfig;
  private readonly port: number;
  private readonly pri: number;
  private readonly hostname: string;
  private socket?: Socket;
  private udp?: UdpSocket;
  private connecting?: Promise<Socket>;

  constructor(name: string, config: SyslogDestinationConfig) {
    this.name = name;
    this.c = config;
    this.port = config.port ?? (config.protocol === 'tls' ? 6514 : 514);
    this.pri = FACILITIES[config.facility]! * 8 + SEVERITIES[config.severity]!;
    this.hostname = printable(config.hostname ?? osHostname(), 255);
  }

  private get where(): string {
    return `${this.c.protocol}://${this.c.host.includes(':') && !this.c.host.startsWith('[') ? `[${this.c.host}]` : this.c.host}:${this.port}`;
  }

  /** One event as a framed RFC 5424 message. */
  message(e: Envelope): Buffer {
    const msg = `<${this.pri}>1 ${e.time} ${this.hostname} ${printable(this.c.appName, 48)} - ${printable(e.stream, 32)} - ${encodeLine(e)}`;
    const bytes = Buffer.from(msg);
    if (bytes.length > this.c.maxMessageBytes)
      throw configError(
        'syslog_message_too_large',
        `Destination ${this.name}: event ${e.id.slice(0, 80)} makes a ${bytes.length}-byte syslog message; maxMessageBytes is ${this.c.maxMessageBytes}.`,
        `Raise maxMessageBytes of destination ${this.name}, and the receiver's limit with it (rsyslog: global(maxMessageSize="…")).`,
      );
    if (this.c.protocol === 'udp') return bytes;
    return this.c.framing === 'octet-counting'
      ? Buffer.concat([Buffer.from(`${bytes.length} `), bytes])
      : Buffer.concat([bytes, Buffer.from('\n')]);
  }

  private checkEgress(): void {
    const host = this.c.host.replace(/^\[|\]$/g, '');
    if (isIP(host) && egressPolicy().refuses(host))
      egressPolicy().checkUrl(
        new URL(`http://${host.includes(':') ? `[${host}]` : host}`),
        `destination ${this.name}`,
      );
  }

  private async stream(signal: AbortSignal): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return this.socket;
    this.connecting ??= this.connect(signal).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private connect(signal: AbortSignal): Promise<Socket> {
    this.checkEgress();
    const host = this.c.host.replace(/^\[|\]$/g, '');
    return new Promise<Socket>((ok, fail) => {
      const common = { host, port: this.port, lookup: egressLookup };
      const s: Socket =
        this.c.protocol === 'tls'
          ? tlsConnect({
              ...common,
              servername: isIP(host) ? undefined : host,
              ca: this.c.ca,
              cert: this.c.cert,
              key: this.c.key,
              minVersion: 'TLSv1.2',
            })
          : tcpConnect(common);
      const timer = setTimeout(
        () => s.destroy(new Error(`no connection within ${this.c.timeout} ms`)),
        this.c.timeout,
      );
      const onAbort = () => s.destroy(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      s.once(this.c.protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        done();
        s.setNoDelay(true);
        s.setKeepAlive(true, 30_000);
        s.removeAllListeners('error');
        // A receiver closing the connection (idle timeout, restart) makes the next batch reconnect.
        s.on('error', () => s.destroy());
        s.on('end', () => s.destroy());
        s.on('data', () => {}); // receivers send nothing; drain anything
        this.socket = s;
        ok(s);
      });
      s.once('error', (err) => {
        done();
        s.destroy();
        fail(err);
      });
    });
  }

  /** Writes every message and resolves once the last write was handed to the kernel. */
  private write(s: Socket, messages: Buffer[], signal: AbortSignal): Promise<void> {
    return new Promise<void>((ok, fail) => {
      let failed = false;
      const onClose = () => finish(new Error('connection closed'));
      const onError = (err: Error) => finish(err);
      const onAbort = () => finish(new Error('aborted'));
      const timer = setTimeout(
        () => finish(new Error(`not written within ${this.c.timeout} ms`)),
        this.c.timeout,
      );
      const finish = (err?: Error) => {
        clearTimeout(timer);
        s.off('close', onClose);
        s.off('error', onError);
        signal.removeEventListener('abort', onAbort);
        if (err) {
          if (failed) return;
          failed = true;
          s.destroy();
          fail(err);
        } else if (!failed) ok();
      };
      s.on('close', onClose);
      s.on('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      // Messages are written in chunks of about 64 KiB; the callback of the last write means every
      // byte before it was handed to the kernel.
      let chunk: Buffer[] = [];
      let size = 0;
      for (let i = 0; i < messages.length; i++) {
        chunk.push(messages[i]!);
        size += messages[i]!.length;
        if (size >= 65_536 || i === messages.length - 1) {
          const last = i === messages.length - 1;
          s.write(chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk), (err) => {
            if (err) finish(err);
            else if (last) finish();
          });
          chunk = [];
          size = 0;
        }
      }
    });
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    if (!events.length) return;
    const messages = events.map((e) => this.message(e));
    if (this.c.protocol === 'udp') return this.sendUdp(messages, signal);
    let last: unknown;
    // A broken connection: reconnect and write the whole batch again, once.
    for (let attempt = 0; attempt < 2; attempt++) {
      signal.throwIfAborted();
      try {
        const s = await this.stream(signal);
        await this.write(s, messages, signal);
        return;
      } catch (err) {
        signal.throwIfAborted();
        if (err instanceof TributaryError) throw err;
        last = err;
        this.socket?.destroy();
        this.socket = undefined;
        const tlsProblem = this.tlsProblem(err);
        if (tlsProblem) throw tlsProblem;
      }
    }
    throw this.unavailable(last);
  }

  private sendUdp(messages: Buffer[], signal: AbortSignal): Promise<void> {
    this.checkEgress();
    const socket = (this.udp ??= createSocket({
      type: isIP(this.c.host.replace(/^\[|\]$/g, '')) === 6 ? 'udp6' : 'udp4',
      lookup: egressLookup as never,
    }));
    return new Promise<void>((ok, fail) => {
      let pending = messages.length;
      let failed = false;
      for (const m of messages) {
        if (signal.aborted || failed) break;
        socket.send(m, this.port, this.c.host.replace(/^\[|\]$/g, ''), (err) => {
          if (failed) return;
          if (err) {
            failed = true;
            fail(err instanceof TributaryError ? err : this.unavailable(err));
          } else if (--pending === 0) ok();
        });
      }
      if (signal.aborted && !failed) fail(signal.reason);
    });
  }

  /** A TLS verification failure: the configuration (ca, host name), not an outage. */
  private tlsProblem(err: unknown): TributaryError | undefined {
    const e = err as Error & { code?: string };
    if (this.c.protocol !== 'tls') return undefined;
    if (
      !/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|HOSTNAME|certificate/i.test(`${e?.code ?? ''} ${e?.message ?? ''}`)
    )
      return undefined;
    return configError(
      'syslog_tls_failed',
      `Destination ${this.name}: the TLS certificate of ${this.where} was not accepted (${e.code ?? e.message.slice(0, 100)}).`,
      `Set ca of destination ${this.name} to the CA that signed the receiver's certificate, and check that the certificate names ${this.c.host}.`,
    );
  }

  private unavailable(err: unknown): TributaryError {
    const e = err as Error & { code?: string };
    return transientError(
      'destination_unavailable',
      `Destination ${this.name}: could not deliver to ${this.where} (${e?.code ?? e?.message?.slice(0, 100) ?? 'error'}).`,
      `Check that the syslog receiver at ${this.where} is up and reachable; the events wait and nothing is lost.`,
    );
  }

  /**
   * Test Connection: connects (TLS verifying the receiver, and presenting the client certificate);
   * syslog has no way to prove a message was accepted, so nothing is sent. UDP is connectionless:
   * only the name is resolved.
   */
  async test(signal: AbortSignal): Promise<void> {
    if (this.c.protocol === 'udp') {
      this.checkEgress();
      await new Promise<void>((ok, fail) =>
        egressLookup(this.c.host.replace(/^\[|\]$/g, ''), {}, (err) =>
          err ? fail(err instanceof TributaryError ? err : this.unavailable(err)) : ok(),
        ),
      );
      return;
    }
    try {
      await this.stream(signal);
    } catch (err) {
      if (err instanceof TributaryError) throw err;
      throw this.tlsProblem(err) ?? this.unavailable(err);
    }
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) await new Promise<void>((ok) => s.end(ok));
    s?.destroy();
    this.udp?.close();
    this.udp = undefined;
  }
}
