/**
 * CrowdStrike Event Streams simulator, mounted on the Falcon API simulator (simulator.ts). Vendor behaviour, from
 * the Event Streams service collection (API reference, "Event streams",
 * https://developer.crowdstrike.com/api-reference/collections/event-streams/; FalconPy's wiki, "Event Streams",
 * https://github.com/CrowdStrike/falconpy/wiki/Event-Streams, refresh_active_stream and
 * listAvailableStreamsOAuth2; crimson-falcon docs/EventStreams.md) and the SDKs' streaming clients (gofalcon
 * `falcon.NewStream`):
 *
 * - `GET /sensors/entities/datafeed/v2?appId=…&format=json` (listAvailableStreamsOAuth2, scope Event streams:
 *   READ): "Discover all event streams in your environment"; `appId` "Label that identifies your connection. Max:
 *   32 alphanumeric characters"; the answer's `resources` hold one stream per partition: `dataFeedURL` (its last
 *   path segment is the partition), `sessionToken {token, expiration}`, `refreshActiveSessionURL`,
 *   `refreshActiveSessionInterval` (seconds, 1800).
 * - The data feed (Falcon documentation, "Event streams APIs", behind the console login:
 *   https://falcon.us-2.crowdstrike.com/documentation/89/event-streams-apis, "Connect to event streams"):
 *   `GET {dataFeedURL}&offset=N` with `Authorization: Token {sessionToken}`, a response that stays
 *   open and writes one JSON event a line as they happen; "The offset value can then be used to skip seen events,
 *   should the stream disconnect. Users are advised to use zero (0) value at start. Each event then contains its
 *   own offset" (`metadata.offset`, with `customerIDString`, `eventType`, `eventCreationTime` in ms, `version`).
 * - `POST /sensors/entities/datafeed-actions/v1/{partition}?action_name=refresh_active_stream_session&appId=…`
 *   (refreshActiveStreamSession, OAuth bearer) keeps the session alive; the SDKs call it at nine tenths of the
 *   interval.
 *
 * Decided by the simulator: a session not refreshed within its interval ends (the open feed closes, the token is
 * refused with 401); `offset` is the first offset sent (inclusive); a second connection of the same appId and
 * partition replaces the first.
 */
import { PassThrough } from 'node:stream';
import {
  type Clock,
  json,
  Rng,
  type SimReply,
  type SimRequest,
  type SimServer,
  seedOf,
} from '../../sim/kit.ts';

export interface FeedOptions {
  clock: Clock;
  seed: number;
  cid: string;
  /** Partitions of the stream (default 2). */
  partitions?: number;
  /** refreshActiveSessionInterval, seconds (default 1800). */
  sessionSeconds?: number;
}

interface FeedEvent {
  offset: number;
  t: number;
}

interface Session {
  appId: string;
  partition: number;
  expires: number;
}

interface Connection {
  partition: number;
  appId: string;
  token: string;
  out: PassThrough;
  next: number;
}

export class EventStreamFeed {
  private readonly o: Required<FeedOptions>;
  private readonly logs: FeedEvent[][];
  private readonly sessions = new Map<string, Session>();
  private readonly open = new Set<Connection>();
  /** Refresh calls received, by partition. */
  readonly refreshes: number[] = [];
  /** Data feed connections opened: partition and offset asked. */
  readonly connections: Array<{ partition: number; offset: number }> = [];

  constructor(server: SimServer, o: FeedOptions, guard: (req: SimRequest, next: () => SimReply) => SimReply) {
    this.o = { partitions: 2, sessionSeconds: 1800, ...o };
    this.logs = Array.from({ length: this.o.partitions }, () => []);
    server.route('GET', '/sensors/entities/datafeed/v2', (r) => guard(r, () => this.discover(r)));
    server.route('POST', '/sensors/entities/datafeed-actions/v1/:partition', (r) =>
      guard(r, () => this.refresh(r)),
    );
    server.route('GET', '/sensors/entities/datafeed/v1/:partition', (r) => this.feed(r));
  }

  /** Adds `n` events, round robin over the partitions, `spacingMs` apart ending now; returns their ids. */
  add(n: number, spacingMs = 1000): string[] {
    const now = this.o.clock();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const partition = this.total() % this.o.partitions;
      const log = this.logs[partition];
      const e = { offset: log.length, t: now - (n - 1 - i) * spacingMs };
      log.push(e);
      ids.push(`${partition}:${e.offset}`);
      for (const c of this.open) if (c.partition === partition && c.next === e.offset) this.write(c, e);
    }
    return ids;
  }

  /** Every event id (`partition:offset`). */
  ids(): string[] {
    return this.logs.flatMap((log, p) => log.map((e) => `${p}:${e.offset}`));
  }

  /**
   * Cuts every open feed mid-stream (a network drop); the sessions stay valid. With `midLine`, each feed is cut
   * in the middle of its next event's line (sent in part, never completed on that connection).
   */
  drop(o: { midLine?: boolean } = {}): void {
    for (const c of this.open) {
      if (o.midLine) {
        const line = JSON.stringify(this.event(c.partition, { offset: c.next, t: this.o.clock() }));
        c.out.write(line.slice(0, Math.floor(line.length / 2)));
      }
      // Let what was written reach the socket before the cut.
      setImmediate(() => c.out.destroy(new Error('connection dropped')));
    }
    this.open.clear();
  }

  /** Ends every session whose time is up (as the clock says): their feeds close, their tokens are refused. */
  expire(): void {
    const now = this.o.clock();
    for (const [token, s] of this.sessions) if (s.expires <= now) this.sessions.delete(token);
    for (const c of this.open)
      if (!this.sessions.has(c.token)) {
        c.out.end();
        this.open.delete(c);
      }
  }

  openConnections(): number {
    return this.open.size;
  }

  private total(): number {
    return this.logs.reduce((n, l) => n + l.length, 0);
  }

  private discover(req: SimRequest): SimReply {
    const appId = req.query.get('appId') ?? '';
    if (!/^[A-Za-z0-9]{1,32}$/.test(appId))
      return json(400, { meta: {}, resources: [], errors: [{ code: 400, message: 'Invalid appId' }] });
    const now = this.o.clock();
    const resources = this.logs.map((_, partition) => {
      const token = new Rng(seedOf(this.o.seed, 'session', this.sessions.size, now)).base62(40);
      this.sessions.set(token, { appId, partition, expires: now + this.o.sessionSeconds * 1000 });
      return {
        dataFeedURL: `${req.origin}/sensors/entities/datafeed/v1/${partition}?appId=${appId}`,
        sessionToken: { token, expiration: new Date(now + this.o.sessionSeconds * 1000).toISOString() },
        refreshActiveSessionURL: `${req.origin}/sensors/entities/datafeed-actions/v1/${partition}?appId=${appId}&action_name=refresh_active_stream_session`,
        refreshActiveSessionInterval: this.o.sessionSeconds,
      };
    });
    return json(200, { meta: { query_time: 0.01, trace_id: 'sim' }, resources, errors: [] });
  }

  private refresh(req: SimRequest): SimReply {
    const partition = Number(req.params.partition);
    const appId = req.query.get('appId') ?? '';
    if (req.query.get('action_name') !== 'refresh_active_stream_session' || !this.logs[partition])
      return json(400, {
        meta: {},
        resources: [],
        errors: [{ code: 400, message: 'Invalid action or partition' }],
      });
    const now = this.o.clock();
    let found = false;
    for (const s of this.sessions.values())
      if (s.appId === appId && s.partition === partition && s.expires > now) {
        s.expires = now + this.o.sessionSeconds * 1000;
        found = true;
      }
    if (!found)
      return json(404, { meta: {}, resources: [], errors: [{ code: 404, message: 'No active stream' }] });
    this.refreshes[partition] = (this.refreshes[partition] ?? 0) + 1;
    return json(200, { meta: { query_time: 0.01, trace_id: 'sim' }, errors: [] });
  }

  private feed(req: SimRequest): SimReply {
    const partition = Number(req.params.partition);
    const token = /^Token (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const session = this.sessions.get(token);
    if (!session || session.expires <= this.o.clock() || session.partition !== partition)
      return json(401, {
        meta: {},
        resources: [],
        errors: [{ code: 401, message: 'access denied, invalid session token' }],
      });
    const offset = Number(req.query.get('offset') ?? 0);
    if (!Number.isInteger(offset) || offset < 0)
      return json(400, { meta: {}, resources: [], errors: [{ code: 400, message: 'Invalid offset' }] });
    this.connections.push({ partition, offset });
    // A new connection of the same appId and partition replaces the one before.
    for (const c of this.open)
      if (c.partition === partition && c.appId === session.appId) {
        c.out.end();
        this.open.delete(c);
      }
    const c: Connection = { partition, appId: session.appId, token, out: new PassThrough(), next: offset };
    this.open.add(c);
    c.out.on('close', () => this.open.delete(c));
    for (const e of this.logs[partition]) if (e.offset >= offset) this.write(c, e);
    c.out.write('\r\n'); // a keep-alive line
    return { status: 200, headers: { 'content-type': 'application/json' }, body: c.out };
  }

  private write(c: Connection, e: FeedEvent): void {
    c.out.write(`${JSON.stringify(this.event(c.partition, e))}\r\n`);
    c.next = e.offset + 1;
  }

  private event(partition: number, e: FeedEvent): Record<string, unknown> {
    const rng = new Rng(seedOf(this.o.seed, 'feed', partition, e.offset));
    const kind = rng.pick(KINDS);
    return {
      metadata: {
        customerIDString: this.o.cid,
        offset: e.offset,
        eventType: kind.type,
        eventCreationTime: e.t,
        version: '1.0',
      },
      event: kind.event(rng, e.t),
    };
  }
}

const KINDS = [
  {
    type: 'EppDetectionSummaryEvent',
    event: (rng: Rng, t: number) => ({
      AgentId: rng.hex(32),
      Hostname: `ACME-WS-${rng.int(100, 999)}`,
      Severity: rng.int(1, 5),
      SeverityName: 'High',
      Tactic: 'Execution',
      Technique: 'PowerShell',
      FileName: 'powershell.exe',
      CommandLine: 'powershell.exe -nop -w hidden -enc SQBFAFgA',
      UserName: `user${rng.int(1, 300)}`,
      CompositeId: `${rng.hex(32)}:ind:${rng.hex(32)}:${rng.int(1000, 9999)}`,
      Timestamp: t,
    }),
  },
  {
    type: 'AuthActivityAuditEvent',
    event: (rng: Rng, t: number) => ({
      UserId: `analyst${rng.int(1, 9)}@acme.example`,
      UserIp: `203.0.113.${rng.int(1, 254)}`,
      OperationName: 'userAuthenticate',
      ServiceName: 'CrowdStrike Authentication',
      Success: rng.bool(0.9),
      UTCTimestamp: Math.floor(t / 1000),
    }),
  },
  {
    type: 'UserActivityAuditEvent',
    event: (rng: Rng, t: number) => ({
      UserId: `analyst${rng.int(1, 9)}@acme.example`,
      UserIp: `203.0.113.${rng.int(1, 254)}`,
      OperationName: 'detection_update',
      ServiceName: 'detections',
      AuditKeyValues: [{ Key: 'new_state', ValueString: 'in_progress' }],
      UTCTimestamp: Math.floor(t / 1000),
    }),
  },
] as const;
