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
}
