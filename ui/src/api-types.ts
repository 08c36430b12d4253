/**
 * What the REST API sends and accepts, as the console uses it. Written here rather than imported so the
 * browser build's type check does not pull in the server; ui/scripts/api-types.check.ts proves against
 * the control plane's own return types and request schemas (in `npm run typecheck`) that the server
 * delivers every field these types promise and accepts every body the console sends.
 */

export type Role = 'admin' | 'editor' | 'viewer';
export type CollectorStatus = 'running' | 'stopped' | 'error';
export type HealthLevel = 'OK' | 'WARNING' | 'ERROR';

export interface ErrorInfo {
  type: string;
  code: string;
  message: string;
  action: string;
  status?: number;
  /** The destination a delivery failure is about. */
  destination?: string;
  /** The vendor asked the account to wait until then. */
  waitUntil?: string;
}

/** The vendor told the collector's account to wait: no run starts before `until`. */
export interface VendorWait {
  until: string;
  /** When the vendor said so. */
  since: string;
  /** The collector whose run was told. */
  collector: string | null;
  reason: ErrorInfo;
}

/** A destination failing to acknowledge the collector's deliveries. */
export interface DeliveryFailure {
  destination: string;
  since: string;
  lastAt: string;
  failures: number;
  error: ErrorInfo;
  gaveUpAt: string | null;
}

export interface RunRecord {
  id: string;
  startedAt: string;
  endedAt?: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  events: number;
  pages: number;
  bytes: number;
  deadLetters: number;
  error?: ErrorInfo;
}

export interface CollectorSummary {
  name: string;
  source: string;
  sourceTitle: string;
  account: string | null;
  site: string | null;
  timezone: string | null;
  enabled: boolean;
  status: CollectorStatus;
  health: { level: HealthLevel; silent: boolean; reasons: string[] };
  volumeLastDay: number;
  lastEventReceived: string | null;
  lastRun: RunRecord | null;
  vendorWait: VendorWait | null;
  createdAt: string;
  updatedAt: string;
}

export interface CollectorDetail extends CollectorSummary {
  config: Record<string, unknown>;
  volumeByHour: Array<{ hour: string; count: number }>;
  runs: RunRecord[];
  checkpoints: Array<{ stream: string; value: unknown; updatedAt: string }>;
  errors: Array<ErrorInfo & { stream?: string; firstSeen: string; lastSeen: string; count: number }>;
  deadLetters: Array<{ id: number; stream: string; reason: string; raw: string; at: string }>;
  deliveryFailures: DeliveryFailure[];
  /** Push collectors: the ingest token, in the answer that created or rotated it only. */
  ingestToken?: string;
  /** Push collectors: where the vendor sends, the live tokens (hints only) and the signature header. */
  ingest?: {
    path: string;
    tokens: Array<{ hint: string; createdAt: string; expiresAt: string | null }>;
    signature: { header: string; secret: string } | null;
    /** What the endpoint answered (5-minute buckets): the details view has it. */
    traffic?: IngestTraffic;
  };
}

/** Requests a push collector's endpoint answered in a period, and the events it accepted. */
export interface IngestTally {
  requests: number;
  accepted: number;
  events: number;
  /** Requests per HTTP status ("200", "429", …). */
  byStatus: Record<string, number>;
}

export interface IngestTraffic {
  lastHour: IngestTally;
  lastDay: IngestTally;
  lastRequestAt: string | null;
  /** The latest refusal of each kind (429, 503, 413, …) in the last 7 days, newest first. */
  refusals: Array<{
    status: number;
    code: string;
    message: string | null;
    lastAt: string;
    retryAfter: number | null;
    requests: number;
  }>;
}

export interface Account {
  name: string;
  kind: string;
  /** Non-secret fields, and secrets masked (••••last4). */
  fields: Record<string, unknown>;
  secretFields: string[];
  /** Origins saved with the secret, beyond the kind's own. */
  origins: string[];
  /** Every origin the credentials may be sent to (the kind's own and `origins`). */
  credentialOrigins: string[];
  requestsPerMinute: number | null;
  expiresAt: string | null;
  expiryWarning: boolean;
  usedBy: string[];
  createdAt: string;
  updatedAt: string;
}

export interface SourceInfo {
  id: string;
  title: string;
  family: string;
  stability: string;
  /** The account kind offered first ('' for push sources). */
  account: string;
  /** Every account kind the source accepts. */
  accounts: string[];
  /** The source can preview one page (POST /api/collectors/preview). */
  preview: boolean;
  description: string;
  setupGuide: string;
  /** Calls that change state at the vendor (collectors otherwise only read), each with why. */
  vendorWrites: string[];
  available: boolean;
  /** `default`: collected when the collector names no streams. */
  streams: Array<{ id: string; title: string; description?: string; default: boolean }>;
  /** JSON Schema (draft 2020-12) of the source's settings. */
  settings: unknown;
}

export interface AccountKindInfo {
  id: string;
  title: string;
  secrets: string[];
  /** JSON Schema (draft 2020-12) of the kind's fields. */
  fields: unknown;
}

/** A destination kind as `GET /api/destination-kinds` lists it. */
export interface DestinationKindInfo {
  kind: string;
  title: string;
  description: string;
  stability: 'ga' | 'early-access';
  /** Account kinds whose credentials it sends with, named in its `account` setting. */
  accountKinds: string[];
  /** Dotted paths of its write-only settings (`token`, `auth.password`). */
  secrets: string[];
  /** JSON Schema (draft 2020-12) of its settings, `kind` included. */
  settings: unknown;
}

export interface Site {
  name: string;
  createdAt: string;
  usedBy: string[];
}

export interface Destination {
  name: string;
  kind: string;
  config: Record<string, unknown>;
  usedBy: string[];
  createdAt: string;
  updatedAt: string;
  /** What its buffer holds now (only for a destination with a `buffer` setting, once started). */
  buffer?: DestinationBuffer;
}

/** A destination's buffer (docs/destinations.md, "Buffering"). */
export interface DestinationBuffer {
  maxBytes: number;
  bytes: number;
  batches: number;
  events: number;
  /** When the oldest buffered batch was written. */
  oldestAt?: string;
  /** A batch was refused since the buffer last drained one: collectors using the destination wait. */
  full: boolean;
  draining: boolean;
  /** Why the destination did not take the last batch offered. */
  lastError?: ErrorInfo;
}

export type TestResult = { ok: true } | { ok: false; error: ErrorInfo };
export type DestinationTestResult = { ok: true; probed: boolean } | { ok: false; error: ErrorInfo };
export interface InstanceSettings {
  earlyAccess: boolean;
  /** Link-local or metadata addresses (and CIDR ranges) an admin allows collectors and destinations to reach. */
  egressAllowList: string[];
}

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  userId: string;
  hint: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  target?: string;
  ip?: string;
  before?: unknown;
  after?: unknown;
}

// --- request bodies ---

export interface CollectorDefinition {
  source: string;
  account?: string;
  destinations: string[];
  interval?: string;
  lookback?: string;
  start?: string;
  lag?: string;
  overlap?: string;
  site?: string;
  timezone?: string;
  streams?: string[];
  settings?: Record<string, unknown>;
  enabled?: boolean;
}
/** An account created with the collector, in the same request (the wizard's inline account). */
export type NewAccount = AccountCreate;
export type CollectorCreate = CollectorDefinition & { name: string; newAccount?: NewAccount };
export type CollectorTest = CollectorDefinition & { name?: string; newAccount?: NewAccount };

/** POST /api/collectors/preview: one page as the collector would read it. */
export type PreviewResult =
  | {
      ok: true;
      stream: string;
      request?: { method: string; url: string; body?: string };
      window?: { start: string; end: string };
      records: number;
      /** The envelopes the destinations would receive. */
      events: Array<{
        id: string;
        time: string;
        source: string;
        stream: string;
        collector: string;
        sitename?: string;
        timezone?: string;
        ingested_at: string;
        raw: unknown;
      }>;
      next: { url: string; body?: string; token?: string | number } | null;
      warnings: string[];
    }
  | { ok: false; error: ErrorInfo };

export interface AccountCreate {
  name: string;
  kind: string;
  fields: Record<string, unknown>;
  requestsPerMinute?: number;
  expiresAt?: string;
  origins?: string[];
}
export interface AccountUpdate {
  fields: Record<string, unknown>;
  requestsPerMinute?: number | null;
  expiresAt?: string | null;
  origins?: string[];
}
