import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { allows, hashPassword, newSecret, sha256 } from '../control/auth.ts';
import { conflict, notFound } from '../control/errors.ts';
import * as S from '../control/schemas.ts';
import type { Control } from '../control/service.ts';
import type { ApiTokenRecord, AuditRecord, Role, TokenScope, UserRecord } from '../core/store.ts';
import { destinationCatalog } from '../destinations/index.ts';
import { type Auth, type Caller, checkNewPassword } from './auth.ts';

/**
 * Every route of the control-plane API in one table: method, path, the role it needs, the schemas of
 * its body and query (which validate requests and generate /api/openapi.json), and the handler.
 * `public` routes need no credentials; `user` routes any signed-in user.
 */

export type Access = 'public' | 'user' | Role;

export interface RouteContext {
  caller?: Caller;
  params: Record<string, string>;
  body: any;
  query: any;
  req: IncomingMessage;
  res: ServerResponse;
  ip: string;
  secure: boolean;
  control: Control;
  auth: Auth;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  access: Access;
  tag: string;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status (200 unless said). */
  status?: number;
  /** Handler result is sent as JSON; `undefined` sends 204. A handler may write `res` itself. */
  handler(ctx: RouteContext): Promise<unknown>;
}

const me = (ctx: RouteContext) => ctx.caller!;

const userView = (u: UserRecord) => ({
  id: u.id,
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
  lastLoginAt: u.lastLoginAt ?? null,
});

const tokenView = (t: ApiTokenRecord) => ({
  id: t.id,
  name: t.name,
  userId: t.userId,
  hint: `trb_…${t.last4}`,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt ?? null,
  lastUsedAt: t.lastUsedAt ?? null,
  revokedAt: t.revokedAt ?? null,
  scopes: t.scopes ?? null,
});

async function requireUser(ctx: RouteContext): Promise<UserRecord> {
  const u = await ctx.control.runtime.store.getUser(ctx.params.id!);
  if (!u) throw notFound('user', ctx.params.id!);
  return u;
}

async function admins(ctx: RouteContext): Promise<UserRecord[]> {
  return (await ctx.control.runtime.store.listUsers()).filter((u) => u.role === 'admin' && !u.disabled);
}

const csvCell = (v: unknown) => {
  const s = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

function exportAudit(res: ServerResponse, rows: AuditRecord[], format: 'ndjson' | 'csv'): void {
  if (format === 'ndjson') {
    res.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'content-disposition': 'attachment; filename="tributary-audit.ndjson"',
    });
    res.end(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return;
  }
  const cols = ['id', 'at', 'actor', 'action', 'targetType', 'target', 'ip', 'before', 'after'] as const;
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': 'attachment; filename="tributary-audit.csv"',
  });
  res.end(
    `${cols.join(',')}\r\n${rows.map((r) => cols.map((c) => csvCell(r[c])).join(',')).join('\r\n')}\r\n`,
  );
}

export const routes: Route[] = [
  // --- session ---
  {
    method: 'GET',
    path: '/api/setup',
    access: 'public',
    tag: 'session',
    summary: 'Whether the first admin still has to be created',
    handler: async (ctx) => ({ needed: Boolean(ctx.auth.setupToken) }),
  },
  {
    method: 'POST',
    path: '/api/setup',
    access: 'public',
    tag: 'session',
    summary: 'Create the first admin with the one-time setup token printed at first start',
    body: S.setup,
    status: 201,
    handler: async (ctx) => {
      const u = await ctx.auth.setup(ctx.body.token, ctx.body.username, ctx.body.password);
      await ctx.control.audit(
        { name: u.username, role: 'admin', ip: ctx.ip },
        'user.setup',
        'user',
        u.username,
        undefined,
        userView(u),
      );
      return userView(u);
    },
  },
  {
    method: 'POST',
    path: '/api/login',
    access: 'public',
    tag: 'session',
    summary: 'Sign in; sets an HttpOnly session cookie and returns the CSRF token to send as X-CSRF-Token',
    body: S.login,
    handler: async (ctx) => {
      // Failures are audited by Auth.login: a known user's each time, unknown usernames per address and window.
      const s = await ctx.auth.login(ctx.body.username, ctx.body.password, ctx.ip);
      ctx.res.setHeader('set-cookie', ctx.auth.sessionCookie(s.secret, s.maxAgeSeconds, ctx.secure));
      await ctx.control.audit(
        { name: s.user.username, role: s.user.role, ip: ctx.ip },
        'user.login',
        'user',
        s.user.username,
      );
      return { user: userView(s.user), csrfToken: s.csrfToken };
    },
  },
  {
    method: 'POST',
    path: '/api/logout',
    access: 'user',
    tag: 'session',
    summary: 'Sign out (ends the session)',
    handler: async (ctx) => {
      await ctx.auth.logout(me(ctx));
      ctx.res.setHeader('set-cookie', ctx.auth.sessionCookie('', 0, ctx.secure));
      return undefined;
    },
  },
  {
    method: 'GET',
    path: '/api/session',
    access: 'user',
    tag: 'session',
    summary: 'The signed-in user, role and CSRF token',
    handler: async (ctx) => ({
      user: userView(me(ctx).user),
      csrfToken: me(ctx).csrfToken ?? null,
      via: me(ctx).via,
    }),
  },

  // --- catalog and settings ---
  {
    method: 'GET',
    path: '/api/sources',
    access: 'viewer',
    tag: 'catalog',
    summary: 'Sources: streams, stability, account kind, settings JSON Schema, setup guide',
    handler: (ctx) => ctx.control.catalog(),
  },
  {
    method: 'GET',
    path: '/api/account-kinds',
    access: 'viewer',
    tag: 'catalog',
    summary: 'Account kinds with the JSON Schema of their fields and which are secret',
    handler: async (ctx) => ctx.control.accountKinds(),
  },
  {
    method: 'GET',
    path: '/api/destination-kinds',
    access: 'viewer',
    tag: 'catalog',
    summary: 'Destination kinds with the JSON Schema of their settings and which fields are secret',
    handler: async () => destinationCatalog(),
  },
  {
    method: 'GET',
    path: '/api/settings',
    access: 'viewer',
    tag: 'settings',
    summary: 'Instance settings (early access)',
    handler: (ctx) => ctx.control.settings(),
  },
  {
    method: 'PUT',
    path: '/api/settings',
    access: 'admin',
    tag: 'settings',
    summary: 'Change instance settings (enable early access)',
    body: S.instanceSettings,
    handler: (ctx) => ctx.control.updateSettings(me(ctx), ctx.body),
  },

  // --- accounts ---
  {
    method: 'GET',
    path: '/api/accounts',
    access: 'viewer',
    tag: 'accounts',
    summary: 'Accounts with the collectors using them (secrets masked)',
    handler: (ctx) => ctx.control.listAccounts(),
  },
  {
    method: 'POST',
    path: '/api/accounts',
    access: 'editor',
    tag: 'accounts',
    summary: 'Create an account',
    body: S.accountCreate,
    status: 201,
    handler: (ctx) => ctx.control.createAccount(me(ctx), ctx.body),
  },
  {
    method: 'GET',
    path: '/api/accounts/{name}',
    access: 'viewer',
    tag: 'accounts',
    summary: 'One account',
    handler: (ctx) => ctx.control.getAccount(ctx.params.name!),
  },
  {
    method: 'PUT',
    path: '/api/accounts/{name}',
    access: 'editor',
    tag: 'accounts',
    summary: 'Update an account; secret fields left out keep their stored values',
    body: S.accountUpdate,
    handler: (ctx) => ctx.control.updateAccount(me(ctx), ctx.params.name!, ctx.body),
  },
  {
    method: 'DELETE',
    path: '/api/accounts/{name}',
    access: 'editor',
    tag: 'accounts',
    summary: 'Delete an account (409 while a collector uses it)',
    handler: async (ctx) => ctx.control.deleteAccount(me(ctx), ctx.params.name!),
  },
  {
    method: 'POST',
    path: '/api/accounts/{name}/test',
    access: 'editor',
    tag: 'accounts',
    summary: 'Test Connection with this account',
    body: S.testAccount,
    handler: (ctx) => ctx.control.testAccount(ctx.params.name!, ctx.body, me(ctx)),
  },

  // --- collectors ---
  {
    method: 'GET',
    path: '/api/collectors',
    access: 'viewer',
    tag: 'collectors',
    summary: 'Collectors with status, health, volume in the last day and last event received',
    handler: (ctx) => ctx.control.listCollectors(),
  },
  {
    method: 'POST',
    path: '/api/collectors',
    access: 'editor',
    tag: 'collectors',
    summary: 'Install a collector (validated against its source; early-access sources need early access)',
    body: S.collectorCreate,
    status: 201,
    handler: (ctx) => ctx.control.createCollector(me(ctx), ctx.body),
  },
  {
    method: 'POST',
    path: '/api/collectors/test',
    access: 'editor',
    tag: 'collectors',
    summary: 'Test Connection for a collector definition before installing it',
    body: S.collectorTest,
    handler: (ctx) => ctx.control.testCollector(ctx.body, me(ctx)),
  },
  {
    method: 'POST',
    path: '/api/collectors/preview',
    access: 'editor',
    tag: 'collectors',
    summary:
      'Preview a collector definition: one page of its first window as the envelopes it would emit, the next page found, and warnings; nothing is committed or delivered',
    body: S.collectorPreview,
    handler: (ctx) => ctx.control.previewCollector(ctx.body, me(ctx)),
  },
  {
    method: 'GET',
    path: '/api/collectors/{name}',
    access: 'viewer',
    tag: 'collectors',
    summary: 'Collector details: volume per hour (7 days), runs, checkpoints, errors, dead letters',
    handler: (ctx) => ctx.control.getCollector(ctx.params.name!),
  },
  {
    method: 'PUT',
    path: '/api/collectors/{name}',
    access: 'editor',
    tag: 'collectors',
    summary: 'Replace a collector definition',
    body: S.collectorUpdate,
    handler: (ctx) => ctx.control.updateCollector(me(ctx), ctx.params.name!, ctx.body),
  },
  {
    method: 'DELETE',
    path: '/api/collectors/{name}',
    access: 'editor',
    tag: 'collectors',
    summary: 'Delete a collector with its checkpoints and history',
    handler: async (ctx) => ctx.control.deleteCollector(me(ctx), ctx.params.name!),
  },
  {
    method: 'POST',
    path: '/api/collectors/{name}/start',
    access: 'editor',
    tag: 'collectors',
    summary: 'Start (enable) a collector',
    handler: (ctx) => ctx.control.setEnabled(me(ctx), ctx.params.name!, true),
  },
  {
    method: 'POST',
    path: '/api/collectors/{name}/stop',
    access: 'editor',
    tag: 'collectors',
    summary: 'Stop a collector after the batch in flight',
    handler: (ctx) => ctx.control.setEnabled(me(ctx), ctx.params.name!, false),
  },
  {
    method: 'POST',
    path: '/api/collectors/{name}/run',
    access: 'editor',
    tag: 'collectors',
    summary:
      'Run now, unless a run is in progress; 409 `vendor_wait` (with the time and the reason) while the vendor told the account to wait',
    status: 202,
    handler: (ctx) => ctx.control.runNow(me(ctx), ctx.params.name!),
  },
  {
    method: 'POST',
    path: '/api/collectors/{name}/reset-checkpoint',
    access: 'editor',
    tag: 'collectors',
    summary: 'Forget the saved position of one stream or all: the next run starts from the lookback',
    body: S.resetCheckpoint,
    handler: (ctx) => ctx.control.resetCheckpoint(me(ctx), ctx.params.name!, ctx.body),
  },
  {
    method: 'POST',
    path: '/api/collectors/{name}/rotate-ingest-token',
    access: 'editor',
    tag: 'collectors',
    summary:
      'Push collectors: a new ingest token, in this response only; the previous one keeps working for `overlap` (default 24h)',
    body: S.rotateIngestToken,
    handler: (ctx) => ctx.control.rotateIngestToken(me(ctx), ctx.params.name!, ctx.body),
  },
  {
    method: 'GET',
    path: '/api/collectors/{name}/runs',
    access: 'viewer',
    tag: 'collectors',
    summary: 'Run history, newest first',
    query: S.runsQuery,
    handler: (ctx) => ctx.control.runs(ctx.params.name!, ctx.query.limit),
  },

  // --- sites ---
  {
    method: 'GET',
    path: '/api/sites',
    access: 'viewer',
    tag: 'sites',
    summary: 'Sites with the collectors stamping them',
    handler: (ctx) => ctx.control.listSites(),
  },
  {
    method: 'POST',
    path: '/api/sites',
    access: 'editor',
    tag: 'sites',
    summary: 'Create a site',
    body: S.siteCreate,
    status: 201,
    handler: (ctx) => ctx.control.createSite(me(ctx), ctx.body),
  },
  {
    method: 'PUT',
    path: '/api/sites/{name}',
    access: 'editor',
    tag: 'sites',
    summary: 'Rename a site (its collectors follow)',
    body: S.siteCreate,
    handler: (ctx) => ctx.control.renameSite(me(ctx), ctx.params.name!, ctx.body),
  },
  {
    method: 'DELETE',
    path: '/api/sites/{name}',
    access: 'editor',
    tag: 'sites',
    summary: 'Delete an unused site',
    handler: async (ctx) => ctx.control.deleteSite(me(ctx), ctx.params.name!),
  },

  // --- destinations ---
  {
    method: 'GET',
    path: '/api/destinations',
    access: 'viewer',
    tag: 'destinations',
    summary: 'Destinations (secrets masked) with the collectors using them',
    handler: (ctx) => ctx.control.listDestinations(),
  },
  {
    method: 'POST',
    path: '/api/destinations',
    access: 'editor',
    tag: 'destinations',
    summary: 'Create a destination',
    body: S.destinationCreate,
    status: 201,
    handler: (ctx) => ctx.control.createDestination(me(ctx), ctx.body),
  },
  {
    method: 'GET',
    path: '/api/destinations/{name}',
    access: 'viewer',
    tag: 'destinations',
    summary: 'One destination',
    handler: (ctx) => ctx.control.getDestination(ctx.params.name!),
  },
  {
    method: 'PUT',
    path: '/api/destinations/{name}',
    access: 'editor',
    tag: 'destinations',
    summary: 'Replace a destination; secret fields left out keep their stored values',
    body: S.destinationUpdateRaw,
    handler: (ctx) => ctx.control.updateDestination(me(ctx), ctx.params.name!, ctx.body.config),
  },
  {
    method: 'DELETE',
    path: '/api/destinations/{name}',
    access: 'editor',
    tag: 'destinations',
    summary: 'Delete a destination (409 while a collector uses it)',
    handler: async (ctx) => ctx.control.deleteDestination(me(ctx), ctx.params.name!),
  },
  {
    method: 'POST',
    path: '/api/destinations/{name}/test',
    access: 'editor',
    tag: 'destinations',
    summary: 'Probe the destination (a test write where the kind allows it)',
    handler: (ctx) => ctx.control.testDestination(ctx.params.name!),
  },

  // --- users and API tokens ---
  {
    method: 'GET',
    path: '/api/users',
    access: 'admin',
    tag: 'users',
    summary: 'Local users',
    handler: async (ctx) => (await ctx.control.runtime.store.listUsers()).map(userView),
  },
  {
    method: 'POST',
    path: '/api/users',
    access: 'admin',
    tag: 'users',
    summary: 'Create a user',
    body: S.userCreate,
    status: 201,
    handler: async (ctx) => {
      if (await ctx.control.runtime.store.getUserByName(ctx.body.username))
        throw conflict(`A user named "${ctx.body.username}" exists.`);
      const u = await ctx.auth.createUser(ctx.body);
      await ctx.control.audit(me(ctx), 'user.create', 'user', u.username, undefined, userView(u));
      return userView(u);
    },
  },
  {
    method: 'PUT',
    path: '/api/users/{id}',
    access: 'admin',
    tag: 'users',
    summary: 'Change a user’s role, password or disabled flag (sessions end on a password change)',
    body: S.userUpdate,
    handler: async (ctx) => {
      const store = ctx.control.runtime.store;
      const u = await requireUser(ctx);
      if (ctx.body.password) await checkNewPassword(ctx.body.password, u.username);
      const demotes = (ctx.body.role && ctx.body.role !== 'admin') || ctx.body.disabled;
      if (u.role === 'admin' && demotes && (await admins(ctx)).length <= 1)
        throw conflict('This is the last admin; make another user admin first.');
      const next: UserRecord = {
        ...u,
        role: ctx.body.role ?? u.role,
        disabled: ctx.body.disabled ?? u.disabled,
        passwordHash: ctx.body.password ? await hashPassword(ctx.body.password) : u.passwordHash,
        updatedAt: new Date().toISOString(),
      };
      await store.putUser(next);
      if (ctx.body.password || next.disabled) await store.deleteUserSessions(u.id);
      if (ctx.body.password) await ctx.auth.unlockUser(u.username);
      await ctx.control.audit(me(ctx), 'user.update', 'user', u.username, userView(u), {
        ...userView(next),
        passwordChanged: Boolean(ctx.body.password),
      });
      return userView(next);
    },
  },
  {
    method: 'DELETE',
    path: '/api/users/{id}',
    access: 'admin',
    tag: 'users',
    summary: 'Delete a user with their sessions and API tokens',
    handler: async (ctx) => {
      const u = await requireUser(ctx);
      if (u.id === me(ctx).userId) throw conflict('You cannot delete yourself.');
      if (u.role === 'admin' && (await admins(ctx)).length <= 1) throw conflict('This is the last admin.');
      await ctx.control.runtime.store.deleteUser(u.id);
      await ctx.control.audit(me(ctx), 'user.delete', 'user', u.username, userView(u));
      return undefined;
    },
  },
  {
    method: 'GET',
    path: '/api/tokens',
    access: 'viewer',
    tag: 'tokens',
    summary: 'API tokens: your own, or everyone’s for an admin',
    handler: async (ctx) => {
      const c = me(ctx);
      return (
        await ctx.control.runtime.store.listApiTokens(allows(c.role, 'admin') ? undefined : c.userId)
      ).map(tokenView);
    },
  },
  {
    method: 'POST',
    path: '/api/tokens',
    access: 'viewer',
    tag: 'tokens',
    summary:
      'Create an API token with your role (or, with `scopes: ["metrics"]`, one that only reads /metrics); the token is in this response only',
    body: S.tokenCreate,
    status: 201,
    handler: async (ctx) => {
      const c = me(ctx);
      const token = newSecret('trb_');
      const record: ApiTokenRecord = {
        id: crypto.randomUUID(),
        name: ctx.body.name,
        userId: c.userId!,
        hash: sha256(token),
        last4: token.slice(-4),
        createdAt: new Date().toISOString(),
        expiresAt: ctx.body.expiresAt,
        ...(ctx.body.scopes ? { scopes: [...new Set<TokenScope>(ctx.body.scopes)] } : {}),
      };
      await ctx.control.runtime.store.putApiToken(record);
      await ctx.control.audit(c, 'token.create', 'token', record.name, undefined, tokenView(record));
      return { ...tokenView(record), token };
    },
  },
  {
    method: 'DELETE',
    path: '/api/tokens/{id}',
    access: 'viewer',
    tag: 'tokens',
    summary: 'Revoke an API token (your own; any for an admin)',
    handler: async (ctx) => {
      const c = me(ctx);
      const store = ctx.control.runtime.store;
      const t = await store.getApiToken(ctx.params.id!);
      if (!t || (t.userId !== c.userId && !allows(c.role, 'admin'))) throw notFound('token', ctx.params.id!);
      if (!t.revokedAt) {
        const revoked = { ...t, revokedAt: new Date().toISOString() };
        await store.putApiToken(revoked);
        await ctx.control.audit(c, 'token.revoke', 'token', t.name, tokenView(t), tokenView(revoked));
      }
      return undefined;
    },
  },

  // --- audit ---
  {
    method: 'GET',
    path: '/api/audit',
    access: 'admin',
    tag: 'audit',
    summary: 'The audit log, newest first; format=ndjson or csv exports it',
    query: S.auditQuery,
    handler: async (ctx) => {
      const { format, ...q } = ctx.query;
      await ctx.auth.flushUnknownLogins(); // closed unknown-user windows, so the log is current
      const rows = await ctx.control.runtime.store.listAudit(q);
      if (format === 'json') return rows;
      exportAudit(ctx.res, rows, format);
      return ctx.res;
    },
  },
];

/** Roles allowed by an access level, for the role matrix and the OpenAPI document. */
export function permits(access: Access, caller: Caller | undefined): boolean {
  if (access === 'public') return true;
  if (!caller) return false;
  if (access === 'user') return true;
  return allows(caller.role, access);
}
