import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import rhea from 'rhea';
import { EventHubSim, type HubEvent } from './event-hub.ts';

/**
 * An Azure Event Hubs namespace over AMQP 1.0 on loopback, built on `rhea`, that the official
 * `@azure/event-hubs` client connects to unchanged (connection string with `UseDevelopmentEmulator=true`:
 * plain TCP to the endpoint's port, as for Microsoft's own emulator — learn.microsoft.com/azure/event-hubs/
 * test-locally-with-event-hub-emulator, "Interact with the emulator"). Each hub's partitions are an
 * EventHubSim (src/sim/event-hub.ts). What it follows, and where Microsoft documents it:
 *
 * - SASL ANONYMOUS, then claims-based security: a `put-token` request on the `$cbs` node with a
 *   `servicebus.windows.net:sastoken` for an audience (learn.microsoft.com/azure/service-bus-messaging/
 *   service-bus-amqp-protocol-guide, "Claims-based authorization"); the answer carries `status-code`
 *   (202 accepted, 401 refused) and `status-description`, correlated by the request's message-id.
 * - The SAS token `SharedAccessSignature sr=…&sig=…&se=…&skn=…`: `sig` is base64 HMAC-SHA256, keyed with the
 *   policy's key, of the URL-encoded resource URI, a newline and the expiry in epoch seconds; a token past `se`
 *   or with another signature is refused (learn.microsoft.com/azure/event-hubs/authenticate-shared-access-signature,
 *   "Generate a Shared Access Signature token"). The policy must have the Listen right to receive and to read
 *   properties (learn.microsoft.com/azure/event-hubs/authorize-access-shared-access-signature,
 *   "Shared access authorization policies"); the token's resource must be the namespace or the hub (or under it).
 * - Entra ID (learn.microsoft.com/azure/event-hubs/authorize-access-azure-active-directory; the AMQP
 *   protocol guide's put-token `type` "jwt"): a `put-token` of type `jwt` carries an Entra access token for
 *   the resource `https://eventhubs.azure.net` (the client asks the scope `https://eventhubs.azure.net//.default`);
 *   an unknown, expired or other-resource token is refused 401, and so is one whose app holds no role with
 *   the Listen right on the namespace (Azure Event Hubs Data Receiver, or Data Owner: "Azure built-in roles for
 *   Azure Event Hubs"); role assignments are per app in `entra.roles`. The claim lasts until the token expires.
 * - `$management` READ of `com.microsoft:eventhub` (name, created_at, partition_count, partition_ids) and of
 *   `com.microsoft:partition` (begin_sequence_number, last_enqueued_sequence_number, last_enqueued_offset,
 *   last_enqueued_time_utc, is_partition_empty), each request with its `security_token`
 *   (service-bus-amqp-protocol-guide, "AMQP management"; learn.microsoft.com/azure/event-hubs/event-hubs-amqp-
 *   troubleshoot is silent on field names: these are the ones the SDK reads).
 * - Receivers attach to `{hub}/ConsumerGroups/{group}/Partitions/{id}` with an
 *   `apache.org:selector-filter:string` on `amqp.annotation.x-opt-offset`, `…x-opt-sequence-number` (`>` or
 *   `>=`) or `…x-opt-enqueued-time` (`>`, epoch ms); offset `-1` is the start of the stream and `@latest` its end
 *   (learn.microsoft.com/azure/event-hubs/event-hubs-features, "Event consumers", "Checkpointing").
 *   Each event carries `x-opt-sequence-number`, `x-opt-offset` (a string) and `x-opt-enqueued-time` in its
 *   message annotations, and its body as a data section. A position older than the retention starts at the
 *   earliest event kept ("Event retention"). An unknown hub or consumer group refuses the attach with
 *   `amqp:not-found`; at most 5 concurrent readers per partition per consumer group ("Consumer groups"),
 *   the sixth refused with `amqp:resource-limit-exceeded`.
 * Faults: `disconnect()` drops every connection (a network cut), `dropAfter(n)` cuts after n more deliveries
 * (mid-stream), `failManagement(n)` answers the next management reads 503 with `error-condition`
 * `com.microsoft:server-busy` (learn.microsoft.com/azure/event-hubs/event-hubs-messaging-exceptions, "ServerBusyException"),
 * `freezeAfterAttach()` stops reading every connection once the next partition receiver is attached (a
 * namespace that goes silent: the client's detach and close are never answered).
 * Anything that would write — a sender to a hub — is counted in `writes` and refused.
 */

export interface Policy {
  key: string;
  rights: Array<'Listen' | 'Send' | 'Manage'>;
}

export interface AmqpHubOptions {
  /** Hub name → partitions (and consumer groups besides `$Default`). */
  hubs: Record<string, { partitions: number; consumerGroups?: string[] }>;
  /** Shared access policies of the namespace, by name. */
  policies?: Record<string, Policy>;
  /** Entra ID (RBAC) access: how to read an access token (EntraIdentitySim.inspect) and each app's roles. */
  entra?: EntraAccess;
  clock?: () => number;
}

export interface EntraAccess {
  inspect(token: string): { appId: string; resource: string; expiresAt: number } | undefined;
  /** Role names assigned on the namespace, by app (client) ID. */
  roles: Record<string, string[]>;
}

/** The built-in roles that grant Listen (authorize-access-azure-active-directory, "Azure built-in roles"). */
const LISTEN_ROLES = ['Azure Event Hubs Data Receiver', 'Azure Event Hubs Data Owner'];

const MAX_READERS = 5;

interface Claim {
  audience: string;
  expires: number;
  rights: Policy['rights'];
}

interface Reader {
  hub: string;
  partition: string;
  /** The next sequence number to deliver. */
  next: number;
  sender: rhea.Sender;
}

export class EventHubAmqpSim {
  readonly hubs = new Map<string, { sim: EventHubSim; groups: Set<string>; created: Date }>();
  readonly policies: Record<string, Policy>;
  readonly entra?: EntraAccess;
  private readonly clock: () => number;
  private readonly container = rhea.create_container({ id: 'eventhub-sim' });
  private server?: ReturnType<rhea.Container['listen']>;
  private readonly sockets = new Set<Socket>();
  private readonly claims = new Map<rhea.Connection, Claim[]>();
  private readonly readers = new Set<Reader>();
  private readonly replies = new Map<rhea.Connection, Map<string, rhea.Sender>>();
  private dropIn?: number;
  private freezeNext = false;
  private managementFailures = 0;
  /** What the namespace saw. */
  readonly stats = {
    connections: 0,
    putTokens: 0,
    /** Distinct Entra tokens accepted on `$cbs` (put-token of type `jwt`): a new one is a renewal. */
    jwtTokens: 0,
    refusedTokens: 0,
    managementReads: 0,
    attaches: 0,
    refusedAttaches: 0,
    delivered: 0,
    writes: 0,
  };
  /** The selector filters receivers attached with, in order. */
  readonly filters: string[] = [];
  port = 0;

  constructor(o: AmqpHubOptions) {
    this.clock = o.clock ?? Date.now;
    this.policies = o.policies ?? { listen: { key: 'c2ltdWxhdG9yLWxpc3Rlbi1rZXk=', rights: ['Listen'] } };
    this.entra = o.entra;
    for (const [name, h] of Object.entries(o.hubs))
      this.hubs.set(name, {
        sim: new EventHubSim({ partitions: h.partitions, clock: this.clock }),
        groups: new Set(['$Default', ...(h.consumerGroups ?? [])]),
        created: new Date(this.clock()),
      });
    this.container.sasl_server_mechanisms.enable_anonymous();
    this.container.on('connection_open', (ctx: rhea.EventContext) => {
      this.stats.connections++;
      this.claims.set(ctx.connection, []);
    });
    this.container.on('disconnected', (ctx: rhea.EventContext) => this.forget(ctx.connection));
    this.container.on('connection_close', (ctx: rhea.EventContext) => this.forget(ctx.connection));
    this.container.on('receiver_open', (ctx: rhea.EventContext) => this.onReceiverOpen(ctx));
    this.container.on('sender_open', (ctx: rhea.EventContext) => this.onSenderOpen(ctx));
    this.container.on('sendable', (ctx: rhea.EventContext) => {
      for (const r of this.readers) if (r.sender === ctx.sender) this.pump(r);
    });
    this.container.on('sender_close', (ctx: rhea.EventContext) => this.dropReader(ctx.sender));
    this.container.on('message', (ctx: rhea.EventContext) => this.onMessage(ctx));
    this.container.on('error', () => {});
  }

  async start(): Promise<this> {
    const server = this.container.listen({ port: 0, host: '127.0.0.1' });
    this.server = server;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((ok) => server.once('listening', () => ok()));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.disconnect();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  /** The namespace's endpoint, as in a connection string. */
  get endpoint(): string {
    return `sb://127.0.0.1:${this.port}/`;
  }

  /** A connection string for a policy (of the namespace; `EntityPath` when a hub is given). */
  connectionString(o: { policy?: string; key?: string; hub?: string } = {}): string {
    const policy = o.policy ?? Object.keys(this.policies)[0]!;
    const key = o.key ?? this.policies[policy]?.key ?? 'missing';
    return `Endpoint=${this.endpoint};SharedAccessKeyName=${policy};SharedAccessKey=${key}${o.hub ? `;EntityPath=${o.hub}` : ''};UseDevelopmentEmulator=true`;
  }

  hub(name: string): EventHubSim {
    const h = this.hubs.get(name);
    if (!h) throw new Error(`no hub ${name}`);
    return h.sim;
  }

  /** Sends events to a hub (round robin, or to one partition) and delivers them to attached readers. */
  send(hub: string, bodies: unknown[], partition?: string): HubEvent[] {
    const out = this.hub(hub).send(bodies, partition);
    for (const r of this.readers) if (r.hub === hub) this.pump(r);
    return out;
  }

  /** Drops every connection at once (a network cut): clients reconnect and re-attach from their position. */
  disconnect(): void {
    // With an error: rhea ends a connection on its socket's 'error' or 'end', not on a bare destroy.
    for (const s of this.sockets) s.destroy(new Error('simulated network cut'));
  }

  /** Drops every connection after `n` more deliveries (mid-stream). */
  dropAfter(n: number): void {
    this.dropIn = n;
  }

  /**
   * Once the next partition receiver is attached (its attach answered), every connection stops being read:
   * nothing the client sends after it (a detach, a close) is answered, as with a namespace gone silent.
   */
  freezeAfterAttach(): void {
    this.freezeNext = true;
  }

  /** The next `n` management reads answer 503 server-busy. */
  failManagement(n: number): void {
    this.managementFailures = n;
  }

  /** Readers attached now, by `hub/partition`. */
  attached(): string[] {
    return [...this.readers].map((r) => `${r.hub}/${r.partition}`).sort();
  }

  // -- claims-based security --------------------------------------------------------------------

  /** Verifies a SAS token: known policy, signature over the resource and expiry, not expired. */
  private verify(token: unknown): { claim?: Claim; error?: string } {
    if (typeof token !== 'string' || !token.startsWith('SharedAccessSignature '))
      return { error: 'InvalidToken: not a SharedAccessSignature token' };
    const fields = new Map<string, string>();
    for (const part of token.slice('SharedAccessSignature '.length).split('&')) {
      const at = part.indexOf('=');
      if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
    }
    const sr = fields.get('sr');
    const sig = fields.get('sig');
    const se = fields.get('se');
    const skn = fields.get('skn');
    if (!sr || !sig || !se || !skn) return { error: 'InvalidToken: sr, sig, se and skn are required' };
    const policy = this.policies[decodeURIComponent(skn)];
    if (!policy) return { error: `Unauthorized: no policy ${decodeURIComponent(skn)}` };
    const want = createHmac('sha256', policy.key).update(`${sr}\n${se}`).digest();
    const got = Buffer.from(decodeURIComponent(sig), 'base64');
    if (got.length !== want.length || !timingSafeEqual(got, want))
      return { error: 'InvalidSignature: The token has an invalid signature.' };
    if (Number(se) * 1000 < this.clock()) return { error: 'ExpiredToken: The token is expired.' };
    return {
      claim: { audience: decodeURIComponent(sr), expires: Number(se) * 1000, rights: policy.rights },
    };
  }

  private readonly jwtSeen = new Set<string>();

  /** Verifies an Entra access token put for `audience`: issued, unexpired, for Event Hubs, the app's roles. */
  private verifyJwt(token: unknown, audience: string, cbs = false): { claim?: Claim; error?: string } {
    const t = typeof token === 'string' ? this.entra?.inspect(token) : undefined;
    if (!t || t.expiresAt <= this.clock())
      return { error: 'ExpireToken: The token is expired or was not issued by Microsoft Entra ID.' };
    if (t.resource !== 'https://eventhubs.azure.net')
      return {
        error: `InvalidAudience: The token's audience ${t.resource} is not https://eventhubs.azure.net.`,
      };
    const roles = this.entra?.roles[t.appId] ?? [];
    if (!roles.some((r) => LISTEN_ROLES.includes(r)))
      return {
        error: `Unauthorized access. 'Listen' claim(s) are required to perform this operation. Resource: '${audience}'.`,
      };
    if (cbs && !this.jwtSeen.has(token as string)) {
      this.jwtSeen.add(token as string);
      this.stats.jwtTokens++;
    }
    return { claim: { audience, expires: t.expiresAt, rights: ['Listen'] } };
  }

  /** Whether a claim (or a token) lets the connection Listen on `path` (hub-relative, as `hub/…`). */
  private may(conn: rhea.Connection, path: string, token?: unknown): string | undefined {
    const claims = token === undefined ? (this.claims.get(conn) ?? []) : [];
    if (token !== undefined) {
      const jwt = this.entra && !String(token).startsWith('SharedAccessSignature ');
      const v = jwt ? this.verifyJwt(token, `${this.endpoint}${path}`) : this.verify(token);
      if (v.error) return v.error;
      claims.push(v.claim!);
    }
    const ok = claims.some((c) => {
      if (c.expires < this.clock()) return false;
      const scope = new URL(c.audience.replace(/^sb:/, 'http:')).pathname.replace(/^\/+|\/+$/g, '');
      return (scope === '' || path === scope || path.startsWith(`${scope}/`)) && c.rights.includes('Listen');
    });
    return ok
      ? undefined
      : `Unauthorized: Listen claim(s) are required to perform this operation on ${path}.`;
  }

  // -- links ------------------------------------------------------------------------------------

  /** A client's sender: `$cbs` and `$management` requests; to a hub, a write (refused). */
  private onReceiverOpen(ctx: rhea.EventContext): void {
    const address = ctx.receiver?.target?.address ?? '';
    if (address === '$cbs' || address === '$management') {
      ctx.receiver!.add_credit(100);
      return;
    }
    this.stats.writes++;
    ctx.receiver!.close({
      condition: 'amqp:unauthorized-access',
      description: 'The simulator is read-only.',
    });
  }

  private onMessage(ctx: rhea.EventContext) {
    const req = ctx.message!;
    const address = ctx.receiver?.target?.address;
    ctx.receiver?.add_credit(1);
    const props = (req.application_properties ?? {}) as Record<string, unknown>;
    const reply = (status: number, description: string, body?: unknown, condition?: string) => {
      const to = this.replyLink(ctx.connection, String(req.reply_to));
      to?.send({
        correlation_id: req.message_id,
        application_properties: {
          'status-code': status,
          'status-description': description,
          ...(condition && { 'error-condition': condition }),
        },
        body: body ?? null,
      });
    };
    if (address === '$cbs') {
      this.stats.putTokens++;
      if (props.operation !== 'put-token') return reply(400, 'only put-token is supported');
      const v =
        props.type === 'jwt'
          ? this.verifyJwt(req.body, String(props.name ?? ''), true)
          : this.verify(req.body);
      if (v.error) {
        this.stats.refusedTokens++;
        return reply(401, v.error);
      }
      this.claims.get(ctx.connection)?.push(v.claim!);
      return reply(202, 'Accepted');
    }
    if (address === '$management') {
      this.stats.managementReads++;
      if (this.managementFailures > 0) {
        this.managementFailures--;
        return reply(
          503,
          'ServerBusy: The request was terminated because the namespace is busy.',
          null,
          'com.microsoft:server-busy',
        );
      }
      const name = String(props.name ?? '');
      const h = this.hubs.get(name);
      const denied = this.may(ctx.connection, name, props.security_token);
      if (denied) return reply(401, denied);
      if (!h || props.operation !== 'READ')
        return reply(404, `The messaging entity '${name}' could not be found.`);
      if (props.type === 'com.microsoft:eventhub')
        return reply(200, 'OK', {
          name,
          type: 'com.microsoft:eventhub',
          created_at: h.created,
          partition_count: h.sim.partitionIds().length,
          partition_ids: h.sim.partitionIds(),
        });
      const p = String(props.partition ?? '');
      if (props.type === 'com.microsoft:partition' && h.sim.partitionIds().includes(p)) {
        const log = h.sim.retained(p);
        const last = log.at(-1);
        return reply(200, 'OK', {
          name,
          type: 'com.microsoft:partition',
          partition: p,
          begin_sequence_number: rhea.types.wrap_long(log[0]?.sequenceNumber ?? -1),
          last_enqueued_sequence_number: rhea.types.wrap_long(last?.sequenceNumber ?? -1),
          last_enqueued_offset: last ? String(last.offset) : '-1',
          last_enqueued_time_utc: last ? new Date(last.enqueuedTime) : new Date(0),
          is_partition_empty: !last,
        });
      }
      return reply(404, `The partition '${p}' of '${name}' could not be found.`);
    }
  }

  private replyLink(conn: rhea.Connection, to: string): rhea.Sender | undefined {
    return this.replies.get(conn)?.get(to);
  }

  /** A client's receiver: a reply link (its source address echoed) or a partition reader. */
  private onSenderOpen(ctx: rhea.EventContext) {
    const sender = ctx.sender!;
    const address = String(sender.source?.address ?? '');
    if (!address.includes('/ConsumerGroups/')) {
      // the reply link of a request/response pair ($cbs, $management)
      const links = this.replies.get(ctx.connection) ?? new Map<string, rhea.Sender>();
      links.set(String(sender.target?.address ?? sender.name), sender);
      this.replies.set(ctx.connection, links);
      return;
    }
    this.stats.attaches++;
    const refuse = (condition: string, description: string) => {
      this.stats.refusedAttaches++;
      sender.close({ condition, description });
    };
    const m = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/.exec(address);
    const h = m ? this.hubs.get(m[1]!) : undefined;
    if (!m) return refuse('amqp:not-found', `The messaging entity '${address}' could not be found.`);
    const denied = this.may(ctx.connection, address);
    if (denied) return refuse('amqp:unauthorized-access', denied);
    if (!h?.groups.has(m[2]!) || !h.sim.partitionIds().includes(m[3]!))
      return refuse('amqp:not-found', `The messaging entity '${address}' could not be found.`);
    const same = [...this.readers].filter((r) => r.hub === m[1] && r.partition === m[3]).length;
    if (same >= MAX_READERS)
      return refuse(
        'amqp:resource-limit-exceeded',
        `Exceeded the maximum number of allowed receivers per partition in a consumer group which is ${MAX_READERS}.`,
      );
    const filter = selector(sender.source?.filter);
    this.filters.push(filter ?? '');
    const reader: Reader = { hub: m[1]!, partition: m[3]!, next: 0, sender };
    const log = h.sim.retained(reader.partition);
    const f = filter
      ? /x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'/.exec(filter)
      : null;
    if (!f) reader.next = 0;
    else if (f[1] === 'offset' && f[3] === '@latest') reader.next = (log.at(-1)?.sequenceNumber ?? -1) + 1;
    else if (f[1] === 'offset') {
      const off = Number(f[3]);
      const e = log.find((x) => (f[2] === '>=' ? x.offset! >= off : x.offset! > off));
      reader.next = e?.sequenceNumber ?? (log.at(-1)?.sequenceNumber ?? -1) + 1;
    } else if (f[1] === 'sequence-number') reader.next = Number(f[3]) + (f[2] === '>' ? 1 : 0);
    else {
      const e = log.find((x) => Date.parse(x.enqueuedTime) > Number(f[3]));
      reader.next = e?.sequenceNumber ?? (log.at(-1)?.sequenceNumber ?? -1) + 1;
    }
    this.readers.add(reader);
    setImmediate(() => this.pump(reader));
    if (this.freezeNext) {
      this.freezeNext = false;
      // After the attach frame is written (rhea writes on the next tick).
      setImmediate(() => {
        for (const s of this.sockets) s.pause();
      });
    }
  }

  private dropReader(sender?: rhea.Sender): void {
    for (const r of this.readers) if (r.sender === sender) this.readers.delete(r);
  }

  private forget(conn: rhea.Connection): void {
    this.claims.delete(conn);
    this.replies.delete(conn);
    for (const r of this.readers) if (r.sender.connection === conn) this.readers.delete(r);
  }

  private pump(r: Reader): void {
    if (!this.readers.has(r)) return;
    const sim = this.hub(r.hub);
    while (r.sender.sendable()) {
      const log = sim.retained(r.partition);
      const e = log[Math.max(0, r.next - (log[0]?.sequenceNumber ?? 0))];
      if (!e) return;
      r.next = e.sequenceNumber + 1;
      r.sender.send({
        message_annotations: {
          'x-opt-sequence-number': rhea.types.wrap_long(e.sequenceNumber),
          'x-opt-offset': String(e.offset),
          'x-opt-enqueued-time': rhea.types.wrap_timestamp(Date.parse(e.enqueuedTime)),
        },
        body: rhea.message.data_section(
          Buffer.from(typeof e.body === 'string' ? e.body : JSON.stringify(e.body)),
        ),
      });
      this.stats.delivered++;
      if (this.dropIn !== undefined && --this.dropIn <= 0) {
        this.dropIn = undefined;
        setImmediate(() => this.disconnect());
        return;
      }
    }
  }
}

/** The selector filter's text from a source's filter set. */
function selector(filter: unknown): string | undefined {
  if (!filter || typeof filter !== 'object') return undefined;
  const f = (filter as Record<string, unknown>)['apache.org:selector-filter:string'];
  const v = f && typeof f === 'object' && 'value' in f ? (f as { value: unknown }).value : f;
  return typeof v === 'string' ? v : undefined;
}
