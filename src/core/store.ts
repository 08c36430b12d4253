import { type ErrorInfo, TributaryError, transientError } from './errors.ts';

/**
 * All persistent state goes through this interface. The embedded implementation is SQLite
 * (node:sqlite); cluster mode adds a Postgres one. Everything is async so either fits.
 * Secrets are encrypted before they reach the store (see secrets.ts): the store sees ciphertext only.
 */

export interface AccountRecord {
  id: string;
  name: string;
  kind: string;
  /**
   * Non-secret fields, as JSON, with what Tributary keeps beside the kind's fields (`accountParts`):
   * `requestsPerMinute` and `origins`.
   */
  config: Record<string, unknown>;
  /** Secret fields, encrypted: field name -> ciphertext envelope. */
  secrets: Record<string, string>;
  expiresAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** An account record's config split into the kind's plain fields and Tributary's own settings. */
export function accountParts(a: Pick<AccountRecord, 'config'>): {
  fields: Record<string, unknown>;
  /** Overrides the kind's request budget. */
  requestsPerMinute?: number;
  /**
   * Origins the credentials may be sent to beyond the kind's own, saved with the secret. Undefined for
   * accounts saved before origins existed: they keep the origins their collectors used then.
   */
  origins?: string[];
} {
  const { requestsPerMinute, origins, ...fields } = a.config as {
    requestsPerMinute?: number;
    origins?: string[];
  };
  return { fields, requestsPerMinute, origins };
}

export interface CollectorRecord {
  id: string;
  name: string;
  source: string;
  account?: string;
  /**
   * The collector definition: settings, streams, destinations, interval, site, timezone, lookback …,
   * without its secret settings (a REST API collector's headers, a push collector's HMAC secret).
   */
  config: Record<string, unknown>;
  /** Secret settings by dotted path (e.g. settings.headers.X-Api-Key), encrypted. */
  secrets: Record<string, string>;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CheckpointRecord {
  collectorId: string;
  stream: string;
  value: unknown;
  updatedAt: string;
  /**
   * The event time the committed position has reached: the newest event time delivered, or when the
   * stream was last caught up (read to the vendor's end), whichever is later. Checkpoint lag is now
   * minus this (docs/operations.md). Undefined before the first commit that set one.
   */
  positionTime?: string;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunRecord {
  id: string;
  collectorId: string;
  startedAt: string;
  endedAt?: string;
  status: RunStatus;
  events: number;
  pages: number;
  bytes: number;
  deadLetters: number;
  error?: ErrorInfo;
  /** Who ran it: a host/pid in embedded mode, a worker id in cluster mode. */
  runner?: string;
  /**
   * Cluster mode: the fencing token of the lease the run holds. startRun is then refused, changing
   * nothing, unless that is still the collector's current, unexpired lease.
   */
  fence?: number;
}

export interface ErrorRecord extends ErrorInfo {
  collectorId: string;
  stream?: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

/**
 * A destination that failed to acknowledge a collector's deliveries and has not acknowledged one
 * since: the streak health reports (WARNING, ERROR once it lasts or the run gave up). A delivery the
 * destination acknowledges deletes it.
 */
export interface DeliveryFailureRecord {
  collectorId: string;
  destination: string;
  /** The first failed delivery of the streak. */
  since: string;
  /** The latest failed delivery. */
  lastAt: string;
  /** Failed deliveries in the streak (a run's attempts, or pushed requests answered 503). */
  failures: number;
  /** The latest failure, as shown to users. */
  error: ErrorInfo;
  /** When a run stopped retrying and failed because of it (unset while runs still retry). */
  gaveUpAt?: string;
}

/** One failed delivery, as the runner or the ingest receiver reports it. */
export interface DeliveryFailure {
  collectorId: string;
  destination: string;
  error: ErrorInfo;
  /** When it failed (the caller's clock). */
  at: string;
  /** Failed deliveries this reports (pushed requests refused together; default 1). */
  count?: number;
  /** The run stopped retrying and failed. */
  gaveUp?: boolean;
}

/**
 * The vendor told an account to wait longer than a run waits (a Retry-After beyond the HTTP client's
 * maxRetryAfterMs): no run of the account's collectors starts before `until`.
 */
export interface VendorWaitRecord {
  /** The account's id (its rate-limit key). */
  accountId: string;
  until: string;
  /** What the vendor answered, as shown to users. */
  error: ErrorInfo;
  /** The collector whose run was told. */
  collector?: string;
  /** When it was told. */
  at: string;
}

/**
 * Answers a push collector's ingest endpoint gave (`/ingest/{name}`), counted per 5-minute bucket,
 * HTTP status and code: what its page shows (requests and events accepted, the latest refusals and
 * why) and what its health is judged on. Requests that named no collector are not counted.
 */
export interface IngestAnswerCount {
  collectorId: string;
  /** Start of the 5-minute bucket (ISO, e.g. 2026-11-25T10:05:00.000Z). */
  bucket: string;
  status: number;
  /** `accepted` for 200, else the error code answered (rate_limited, body_too_large, …). */
  code: string;
  requests: number;
  /** Events accepted (200 answers). */
  events: number;
  /** The latest of these answers, its message and the Retry-After (seconds) it carried. */
  lastAt: string;
  message?: string;
  retryAfter?: number;
}

export interface DeadLetterRecord {
  id: number;
  collectorId: string;
  stream: string;
  reason: string;
  raw: string;
  at: string;
}

/** What one delivered batch changes, committed atomically. */
export interface BatchCommit {
  collectorId: string;
  stream: string;
  checkpoint: unknown;
  runId: string;
  events: number;
  pages: number;
  bytes: number;
  /** Newest event time in the batch, for "last event received". */
  lastEventTime?: string;
  /**
   * The event time this checkpoint has reached (CheckpointRecord.positionTime): kept when later than
   * the stream's, so a batch re-reading an overlap does not move it back.
   */
  positionTime?: string;
  /** Events per UTC hour (ISO hour start, e.g. 2026-11-25T10:00:00.000Z). */
  hourly: Record<string, number>;
  deadLetters: Array<{ reason: string; raw: string }>;
  /**
   * Cluster mode: the fencing token of the lease the run holds. The commit is refused (a `lease_lost`
   * error, nothing changed) unless, inside the same transaction, that is still the collector's current,
   * unexpired lease: a runner that was paused or cut off past its lease cannot move the checkpoint.
   */
  fence?: number;
}

/**
 * The right to run one collector (cluster mode: one runner per collector at a time). Times are the
 * store's clock (Postgres: the server's), so the runners' clocks need not agree.
 */
export interface LeaseRecord {
  collectorId: string;
  /** The holder (a worker id); undefined once released. */
  owner?: string;
  /** Fencing token: grows every time the lease is acquired. Writes carry it and are refused once stale. */
  token: number;
  acquiredAt: string;
  expiresAt: string;
  /** The control plane asked the holder to stop after its batch in flight (collector stopped or deleted). */
  stopRequested: boolean;
  /**
   * Set by acquireLease when the lease was taken from a holder that never released it (its lease expired):
   * a failover.
   */
  takenOver?: boolean;
}

/** The error a fenced write fails with: the caller no longer holds the collector's lease. */
export const leaseLost = (collectorId: string, token: number): TributaryError =>
  transientError(
    'lease_lost',
    `The run no longer holds the lease of collector ${collectorId} (token ${token}): it expired or another runner took it over, so nothing was committed.`,
    'None needed: the collector resumes from its last committed checkpoint on the runner that holds the lease.',
  );

/** The error a fenced partition commit fails with: the consumer no longer holds the partition's lease. */
export const partitionLeaseLost = (collectorId: string, stream: string, partition: string, token: number) =>
  transientError(
    'lease_lost',
    `The consumer no longer holds partition ${partition} of stream ${stream} of collector ${collectorId} (token ${token}): it expired or was handed over, so nothing was committed.`,
    'None needed: the partition resumes from its last committed position under its new owner.',
  );

export const isLeaseLost = (err: unknown): boolean =>
  err instanceof TributaryError && err.code === 'lease_lost';

/** How a run that stopped renewing its lease is recorded when another runner takes the lease over. */
export const leaseExpiredError: ErrorInfo = {
  type: 'transient',
  code: 'lease_expired',
  message:
    'The runner stopped renewing its lease (it crashed, was paused or lost the database); another runner took the collector over.',
  action:
    'None needed: the collector resumed from its last committed checkpoint. Check the runner if it recurs.',
};

/**
 * One partition of a stream consumer's stream (an Event Hubs partition, a Kafka topic partition): its
 * committed position and its lease. One owner at a time; the token grows with every acquisition and
 * fences commits (docs/architecture.md, "Stream consumers"). Times are the store's clock.
 */
export interface PartitionRecord {
  collectorId: string;
  stream: string;
  partition: string;
  /** The committed position (the vendor's offset or sequence number, as the consumer stores it). */
  position?: unknown;
  /** The holder; undefined when released or never held. */
  owner?: string;
  token: number;
  /** When the holder's lease ends unless renewed. */
  expiresAt?: string;
  updatedAt: string;
}

/** What one delivered batch of a partition changes, committed atomically, fenced by the partition's lease. */
export interface PartitionCommit {
  collectorId: string;
  stream: string;
  partition: string;
  position: unknown;
  /** The partition lease's token: refused (`lease_lost`, nothing changed) unless current and unexpired. */
  token: number;
  /** The consumer's run, whose counters grow. */
  runId?: string;
  events: number;
  bytes: number;
  lastEventTime?: string;
  hourly: Record<string, number>;
  deadLetters: Array<{ reason: string; raw: string }>;
}

export interface SiteRecord {
  name: string;
  createdAt: string;
}

export interface DestinationRecord {
  id: string;
  name: string;
  kind: string;
  /** The destination's config without its secret fields. */
  config: Record<string, unknown>;
  /** Secret fields by dotted path (e.g. auth.token), encrypted. */
  secrets: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export type Role = 'admin' | 'editor' | 'viewer';

export interface UserRecord {
  id: string;
  username: string;
  /** scrypt$N$r$p$salt$hash, never returned by the API. */
  passwordHash: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt?: string;
}

export interface SessionRecord {
  /** SHA-256 of the cookie value: a stolen database holds no usable session. */
  id: string;
  userId: string;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
  ip?: string;
}

export interface ApiTokenRecord {
  id: string;
  name: string;
  userId: string;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  hash: string;
  /** Last four characters, to recognise a token in lists. */
  last4: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  /**
   * What the token may be used for, when narrower than its user's role: ["metrics"] reads /metrics and
   * nothing else (docs/operations.md). Undefined: everything the user's role allows.
   */
  scopes?: TokenScope[];
}

/** The scopes an API token may be limited to. */
export const TOKEN_SCOPES = ['metrics'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface AuditRecord {
  id: number;
  at: string;
  /** Username (or "token:NAME", "config-file", "system"). */
  actor: string;
  /** e.g. collector.create, account.update, user.login */
  action: string;
  targetType: string;
  target?: string;
  ip?: string;
  /** State before and after, with secrets masked. */
  before?: unknown;
  after?: unknown;
}

export interface AuditQuery {
  since?: string;
  until?: string;
  actor?: string;
  action?: string;
  targetType?: string;
  target?: string;
  /** Entries with id below this (paging newest first). */
  beforeId?: number;
  limit?: number;
}

export interface Store {
  migrate(): Promise<void>;
  /**
   * Why the store cannot serve requests now (/readyz): unreachable, not answering within `timeoutMs`,
   * or schema migrations pending; undefined when it is ready. Never throws, never retries.
   */
  unready(timeoutMs: number): Promise<string | undefined>;
  close(): Promise<void>;

  // accounts
  putAccount(a: AccountRecord): Promise<void>;
  getAccount(name: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  deleteAccount(name: string): Promise<boolean>;

  // collectors
  putCollector(c: CollectorRecord): Promise<void>;
  getCollector(name: string): Promise<CollectorRecord | undefined>;
  listCollectors(): Promise<CollectorRecord[]>;
  deleteCollector(name: string): Promise<boolean>;

  /**
   * Stores a new account and a new collector using it in one transaction: both or neither (a name
   * taken fails it whole). The wizard's inline account is created this way, with its collector.
   */
  putAccountAndCollector(a: AccountRecord, c: CollectorRecord): Promise<void>;

  // checkpoints
  getCheckpoint(collectorId: string, stream: string): Promise<CheckpointRecord | undefined>;
  listCheckpoints(collectorId: string): Promise<CheckpointRecord[]>;
  /**
   * Forgets the stream's (or every stream's) position: its checkpoint, and its partitions' positions
   * (stream consumers; their leases stay, so tokens keep growing). A consumer holding a partition keeps
   * its own position until it commits again: stop the collector before resetting.
   */
  resetCheckpoint(collectorId: string, stream?: string): Promise<void>;
  /**
   * Atomically: checkpoint, run counters, hourly volume, last event time, dead letters. With `fence`,
   * refused (lease_lost, nothing changed) unless the lease is still current, in the same transaction.
   */
  commitBatch(b: BatchCommit): Promise<void>;
  /** Sets a stream's checkpoint outside a run (`tributary import`). */
  putCheckpoint(collectorId: string, stream: string, value: unknown): Promise<void>;

  // runs
  /** With `fence`, refused (lease_lost, nothing recorded) unless the lease is still current. */
  startRun(r: RunRecord): Promise<void>;
  /** A run ends once: finishing a run that already ended (e.g. taken over) changes nothing. */
  finishRun(id: string, status: RunStatus, error?: ErrorInfo): Promise<void>;
  listRuns(collectorId: string, limit?: number): Promise<RunRecord[]>;

  // leases (cluster mode)
  /**
   * Takes the collector's lease if it is free (never held, released, or expired) with a new, larger
   * token; undefined while another holder's lease is live. Taking over an expired holder's lease ends
   * that holder's unfinished run (failed, lease_expired) at the moment its lease expired.
   */
  acquireLease(collectorId: string, owner: string, ttlMs: number): Promise<LeaseRecord | undefined>;
  /** Extends a live lease; undefined if it expired or was taken over: the holder can no longer commit. */
  renewLease(collectorId: string, token: number, ttlMs: number): Promise<LeaseRecord | undefined>;
  /** Gives the lease up (the token stays, so the next holder's is larger); false if not held with `token`. */
  releaseLease(collectorId: string, token: number): Promise<boolean>;
  getLease(collectorId: string): Promise<LeaseRecord | undefined>;
  listLeases(): Promise<LeaseRecord[]>;
  /** Asks the live holder to stop after its batch in flight; false if no live lease. */
  requestLeaseStop(collectorId: string): Promise<boolean>;

  // stream consumers: partitions under fenced leases, and the consumers sharing a stream
  /** The stream's partitions known so far, by partition. */
  listPartitions(collectorId: string, stream: string): Promise<PartitionRecord[]>;
  /**
   * Takes the partition if no live owner holds it (never held, released, or expired), with a new, larger
   * token, keeping its committed position; undefined while another owner's lease is live.
   */
  acquirePartition(
    collectorId: string,
    stream: string,
    partition: string,
    owner: string,
    ttlMs: number,
  ): Promise<PartitionRecord | undefined>;
  /** Extends a live partition lease held with `token`; undefined once it expired or was taken over. */
  renewPartition(
    collectorId: string,
    stream: string,
    partition: string,
    token: number,
    ttlMs: number,
  ): Promise<PartitionRecord | undefined>;
  /** Gives a partition up (hand-over); false if not held with `token`. */
  releasePartition(collectorId: string, stream: string, partition: string, token: number): Promise<boolean>;
  /**
   * Atomically: the partition's position, the run's counters, hourly volume, last event time and dead
   * letters — refused (lease_lost, nothing changed) unless `token` is the partition's current, unexpired lease.
   */
  commitPartition(c: PartitionCommit): Promise<void>;
  /** Announces (or keeps alive) a consumer of the stream for `ttlMs`. */
  joinStream(collectorId: string, stream: string, member: string, ttlMs: number): Promise<void>;
  leaveStream(collectorId: string, stream: string, member: string): Promise<void>;
  /** The consumers whose announcement has not expired, sorted. */
  listStreamMembers(collectorId: string, stream: string): Promise<string[]>;

  // errors (deduplicated by collector + stream + code)
  recordError(collectorId: string, stream: string | undefined, err: ErrorInfo): Promise<void>;
  listErrors(collectorId: string): Promise<ErrorRecord[]>;
  clearErrors(collectorId: string): Promise<void>;

  // delivery failures (health): one streak per collector and destination
  /** Starts the destination's streak, or extends it (latest error, count, gave up). */
  recordDeliveryFailure(f: DeliveryFailure): Promise<void>;
  /** The destination acknowledged a delivery: its streak ends (every destination's when omitted). */
  clearDeliveryFailures(collectorId: string, destination?: string): Promise<void>;
  listDeliveryFailures(collectorId: string): Promise<DeliveryFailureRecord[]>;

  // vendor waits (per account)
  /** Records a wait; an account already told to wait longer keeps the later time. */
  putVendorWait(w: VendorWaitRecord): Promise<void>;
  /** The account's latest wait, past or not (callers compare `until` with their clock). */
  getVendorWait(accountId: string): Promise<VendorWaitRecord | undefined>;

  // push collectors' answers (5-minute buckets)
  /**
   * Adds the counts to their buckets; a bucket's message and Retry-After are those of its latest
   * answer. Counts of a collector that no longer exists are dropped.
   */
  recordIngestAnswers(counts: IngestAnswerCount[]): Promise<void>;
  /** The collector's buckets from `sinceIso` on, oldest first. */
  listIngestAnswers(collectorId: string, sinceIso: string): Promise<IngestAnswerCount[]>;
  /** Deletes buckets older than `beforeIso`; returns how many. */
  pruneIngestAnswers(beforeIso: string): Promise<number>;

  // dead letters, volume
  listDeadLetters(collectorId: string, limit?: number): Promise<DeadLetterRecord[]>;
  /**
   * Dead letters outside a batch commit: events a destination refused for good while its buffer was
   * drained, after their checkpoint had moved (docs/destinations.md, "Buffering").
   */
  addDeadLetters(
    collectorId: string,
    stream: string,
    items: Array<{ reason: string; raw: string }>,
  ): Promise<void>;
  /** Events per hour since `sinceIso`, oldest first. */
  volume(collectorId: string, sinceIso: string): Promise<Array<{ hour: string; count: number }>>;
  lastEventTime(collectorId: string): Promise<string | undefined>;

  // instance settings (early access, …)
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  // sites
  listSites(): Promise<SiteRecord[]>;
  putSite(name: string): Promise<void>;
  /** Renames the site and every collector's `site` that names it, atomically. False if unknown. */
  renameSite(from: string, to: string): Promise<boolean>;
  deleteSite(name: string): Promise<boolean>;

  // destinations
  putDestination(d: DestinationRecord): Promise<void>;
  getDestination(name: string): Promise<DestinationRecord | undefined>;
  listDestinations(): Promise<DestinationRecord[]>;
  deleteDestination(name: string): Promise<boolean>;

  // users, sessions, API tokens
  putUser(u: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByName(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Deletes the user with their sessions and tokens. */
  deleteUser(id: string): Promise<boolean>;
  putSession(s: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  deleteSession(id: string): Promise<void>;
  deleteUserSessions(userId: string): Promise<void>;
  putApiToken(t: ApiTokenRecord): Promise<void>;
  getApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  getApiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined>;
  listApiTokens(userId?: string): Promise<ApiTokenRecord[]>;

  // sign-in throttling (src/store/login-attempts.ts): shared by every process on the store, on its clock
  /**
   * Counts one sign-in attempt against every key of `limits`, atomically: refused (nothing counted,
   * with the time left) while any key is locked, else counted against all of them. Called before the
   * password is checked, so concurrent attempts cannot all be checked before any is counted.
   */
  takeLoginAttempt(limits: AttemptLimit[]): Promise<AttemptDecision>;
  /** Takes a granted attempt back (the password was right), lifting the locks it set if still current. */
  releaseLoginAttempt(r: AttemptReservation): Promise<void>;
  /** Forgets a key's attempts (its user signed in). */
  clearLoginAttempts(key: string): Promise<void>;
  /** Deletes counters that are unlocked and untouched for `idleMs`; returns how many. */
  pruneLoginAttempts(idleMs: number): Promise<number>;
  /**
   * Counts one failed sign-in with an unknown username from `address`. Its window (the first such
   * failure + `windowMs`) gets one audit entry, user.login-failed-unknown with the count, written
   * once the window has closed: by the next failure from that address or by flushUnknownLogins.
   */
  countUnknownLogin(address: string, windowMs: number): Promise<void>;
  /** Writes the audit entries of every closed window and forgets them; returns how many. */
  flushUnknownLogins(windowMs: number): Promise<number>;

  // audit log: append-only
  appendAudit(a: Omit<AuditRecord, 'id'>): Promise<AuditRecord>;
  /** Newest first. */
  listAudit(q?: AuditQuery): Promise<AuditRecord[]>;
}

// Sign-in throttling (src/store/login-attempts.ts decides; both stores count).

/** How attempts counted against one key are limited. */
export interface AttemptLimit {
  /** What is counted, e.g. `user:<hash>` or `addr:<address>`. */
  key: string;
  /** Attempts allowed before the first lockout. */
  free: number;
  /** The first lockout; each further attempt doubles it … */
  baseMs: number;
  /** … up to this. */
  capMs: number;
  /** A key left alone this long (and not locked) starts over from zero. */
  forgetMs: number;
}

/** One key's counter as the store keeps it (times in ms since the epoch, on the store's clock). */
export interface AttemptRow {
  key: string;
  failures: number;
  lockedUntil?: number;
  updatedAt: number;
}

/**
 * What a granted attempt counted: per key, the lock it set (if any). Releasing it (the password was
 * right) takes the attempt back and lifts that lock unless a later attempt replaced it.
 */
export interface AttemptReservation {
  keys: Array<{ key: string; lockedUntil?: number }>;
}

export type AttemptDecision =
  | { granted: true; reservation: AttemptReservation }
  | { granted: false; retryAfterMs: number };
