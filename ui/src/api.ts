import type {
  Account,
  AccountCreate,
  AccountKindInfo,
  AccountUpdate,
  ApiToken,
  AuditRecord,
  CollectorCreate,
  CollectorDefinition,
  CollectorDetail,
  CollectorSummary,
  CollectorTest,
  Destination,
  DestinationKindInfo,
  DestinationTestResult,
  InstanceSettings,
  PreviewResult,
  Role,
  Site,
  SourceInfo,
  TestResult,
  User,
} from './api-types.ts';

/**
 * The console's only way to the server: the public REST API (src/api/routes.ts), with the wire types
 * of api-types.ts. Cookie session; every change carries the CSRF token from login or GET /api/session.
 */

export type * from './api-types.ts';

export interface Session {
  user: User;
  csrfToken: string | null;
  via: 'session' | 'token';
}

export interface Issue {
  path: string;
  message: string;
}

/** An API error: `error.message` plus, for bad input, each `issues[].path: message`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: Issue[];
  constructor(status: number, code: string, message: string, issues: Issue[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

let csrf = '';
let onUnauthenticated: (() => void) | undefined;

export function setCsrfToken(token: string | null | undefined): void {
  csrf = token ?? '';
}

/** Called when a request answers 401 (the session ended): the app goes back to the login page. */
export function onSessionLost(fn: () => void): void {
  onUnauthenticated = fn;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'The Tributary server cannot be reached.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; issues?: Issue[] } } | undefined)?.error;
    const err = new ApiError(
      res.status,
      e?.code ?? 'http_error',
      e?.message ?? `${res.status} ${res.statusText}`,
      e?.issues ?? [],
    );
    if (res.status === 401 && !path.startsWith('/api/login') && !path.startsWith('/api/setup'))
      onUnauthenticated?.();
    throw err;
  }
  return data as T;
}

const enc = encodeURIComponent;

export const api = {
  session: () => request<Session>('GET', '/api/session'),
  setupNeeded: () => request<{ needed: boolean }>('GET', '/api/setup'),
  setup: (body: { token: string; username: string; password: string }) =>
    request<User>('POST', '/api/setup', body),
  login: (body: { username: string; password: string }) =>
    request<{ user: User; csrfToken: string }>('POST', '/api/login', body),
  logout: () => request<void>('POST', '/api/logout'),

  sources: () => request<SourceInfo[]>('GET', '/api/sources'),
  accountKinds: () => request<AccountKindInfo[]>('GET', '/api/account-kinds'),
  settings: () => request<InstanceSettings>('GET', '/api/settings'),
  updateSettings: (body: Partial<InstanceSettings>) =>
    request<InstanceSettings>('PUT', '/api/settings', body),

  accounts: () => request<Account[]>('GET', '/api/accounts'),
  createAccount: (body: AccountCreate) => request<Account>('POST', '/api/accounts', body),
  updateAccount: (name: string, body: AccountUpdate) =>
    request<Account>('PUT', `/api/accounts/${enc(name)}`, body),
  deleteAccount: (name: string) => request<void>('DELETE', `/api/accounts/${enc(name)}`),
  testAccount: (name: string, body: { source?: string; settings?: Record<string, unknown> } = {}) =>
    request<TestResult>('POST', `/api/accounts/${enc(name)}/test`, body),

  collectors: () => request<CollectorSummary[]>('GET', '/api/collectors'),
  collector: (name: string) => request<CollectorDetail>('GET', `/api/collectors/${enc(name)}`),
  createCollector: (body: CollectorCreate) => request<CollectorDetail>('POST', '/api/collectors', body),
  updateCollector: (name: string, body: CollectorDefinition) =>
    request<CollectorDetail>('PUT', `/api/collectors/${enc(name)}`, body),
  deleteCollector: (name: string) => request<void>('DELETE', `/api/collectors/${enc(name)}`),
  testCollector: (body: CollectorTest) => request<TestResult>('POST', '/api/collectors/test', body),
  previewCollector: (body: CollectorTest) => request<PreviewResult>('POST', '/api/collectors/preview', body),
  startCollector: (name: string) => request<CollectorDetail>('POST', `/api/collectors/${enc(name)}/start`),
  stopCollector: (name: string) => request<CollectorDetail>('POST', `/api/collectors/${enc(name)}/stop`),
  runCollector: (name: string) => request<{ started: boolean }>('POST', `/api/collectors/${enc(name)}/run`),
  rotateIngestToken: (name: string, overlap: string) =>
    request<CollectorDetail & { previousExpiresAt?: string | null }>(
      'POST',
      `/api/collectors/${enc(name)}/rotate-ingest-token`,
      { overlap },
    ),
  resetCheckpoint: (name: string, stream?: string) =>
    request<CollectorDetail>(
      'POST',
      `/api/collectors/${enc(name)}/reset-checkpoint`,
      stream ? { stream } : {},
    ),

  sites: () => request<Site[]>('GET', '/api/sites'),
  createSite: (name: string) => request<{ name: string }>('POST', '/api/sites', { name }),
  renameSite: (name: string, to: string) =>
    request<{ name: string }>('PUT', `/api/sites/${enc(name)}`, { name: to }),
  deleteSite: (name: string) => request<void>('DELETE', `/api/sites/${enc(name)}`),

  destinationKinds: () => request<DestinationKindInfo[]>('GET', '/api/destination-kinds'),
  destinations: () => request<Destination[]>('GET', '/api/destinations'),
  createDestination: (body: { name: string; config: Record<string, unknown> }) =>
    request<Destination>('POST', '/api/destinations', body),
  updateDestination: (name: string, config: Record<string, unknown>) =>
    request<Destination>('PUT', `/api/destinations/${enc(name)}`, { config }),
  deleteDestination: (name: string) => request<void>('DELETE', `/api/destinations/${enc(name)}`),
  testDestination: (name: string) =>
    request<DestinationTestResult>('POST', `/api/destinations/${enc(name)}/test`),

  users: () => request<User[]>('GET', '/api/users'),
  createUser: (body: { username: string; password: string; role: Role }) =>
    request<User>('POST', '/api/users', body),
  updateUser: (id: string, body: { password?: string; role?: Role; disabled?: boolean }) =>
    request<User>('PUT', `/api/users/${enc(id)}`, body),
  deleteUser: (id: string) => request<void>('DELETE', `/api/users/${enc(id)}`),

  tokens: () => request<ApiToken[]>('GET', '/api/tokens'),
  createToken: (body: { name: string; expiresAt?: string }) =>
    request<ApiToken & { token: string }>('POST', '/api/tokens', body),
  revokeToken: (id: string) => request<void>('DELETE', `/api/tokens/${enc(id)}`),

  audit: (query: Record<string, string>) => request<AuditRecord[]>('GET', `/api/audit?${auditQuery(query)}`),
};

/** The audit query string with empty filters left out (also for the export links). */
export function auditQuery(query: Record<string, string>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
  return q.toString();
}

export const ROLE_RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };
export const can = (role: Role | undefined, needed: Role) =>
  Boolean(role && ROLE_RANK[role] >= ROLE_RANK[needed]);
