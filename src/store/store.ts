import type { ErrorInfo } from '../core/errors.ts';

/**
 * All persistent state goes through this interface. The embedded implementation is SQLite
 * (node:sqlite); cluster mode adds a Postgres one. Everything is async so either fits.
 * Secrets are encrypted before they reach the store (see secrets.ts): the store sees ciphertext only.
 */

export interface AccountRecord {
  id: string;
  name: string;
  kind: string;
  /** Non-secret fields, as JSON. */
  config: Record<string, unknown>;
  /** Secret fields, encrypted: field name -> ciphertext envelope. */
  secrets: Record<string, string>;
  expiresAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface CollectorRecord {
  id: string;
  name: string;
  source: string;
  account?: string;
  /** The collector definition: settings, streams, destinations, interval, site, timezone, lookback … */
  config: Record<string, unknown>;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CheckpointRecord {
  collectorId: string;
  stream: string;
  value: unknown;
  updatedAt: string;
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
}

export interface ErrorRecord extends ErrorInfo {
  collectorId: string;
  stream?: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
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
  /** Events per UTC hour (ISO hour start, e.g. 2026-11-25T10:00:00.000Z). */
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
}

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

  // checkpoints
  getCheckpoint(collectorId: string, stream: string): Promise<CheckpointRecord | undefined>;
  listCheckpoints(collectorId: string): Promise<CheckpointRecord[]>;
  resetCheckpoint(collectorId: string, stream?: string): Promise<void>;
  /** Atomically: checkpoint, run counters, hourly volume, last event time, dead letters. */
  commitBatch(b: BatchCommit): Promise<void>;

  // runs
  startRun(r: RunRecord): Promise<void>;
  finishRun(id: string, status: RunStatus, error?: ErrorInfo): Promise<void>;
  listRuns(collectorId: string, limit?: number): Promise<RunRecord[]>;

  // errors (deduplicated by collector + stream + code)
  recordError(collectorId: string, stream: string | undefined, err: ErrorInfo): Promise<void>;
  listErrors(collectorId: string): Promise<ErrorRecord[]>;
  clearErrors(collectorId: string): Promise<void>;

  // dead letters, volume
  listDeadLetters(collectorId: string, limit?: number): Promise<DeadLetterRecord[]>;
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

  // audit log: append-only
  appendAudit(a: Omit<AuditRecord, 'id'>): Promise<AuditRecord>;
  /** Newest first. */
  listAudit(q?: AuditQuery): Promise<AuditRecord[]>;
}
