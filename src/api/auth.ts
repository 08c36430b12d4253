import type { IncomingMessage } from 'node:http';
import { DUMMY_HASH, hashPassword, newSecret, sha256, verifyPassword } from '../control/auth.ts';
import { ApiError } from '../control/errors.ts';
import type { Actor } from '../control/service.ts';
import type { Store, UserRecord } from '../store/store.ts';

/**
 * Who is calling: a session cookie (HttpOnly, SameSite=Strict, with a CSRF token required on every
 * change), or `Authorization: Bearer trb_…` API tokens. Both are random secrets stored only as
 * SHA-256 hashes. Failed logins are throttled per username and address.
 */

export const SESSION_COOKIE = 'tributary_session';
const SESSION_TTL_MS = 12 * 3_600_000;
const MAX_FAILURES = 5;
const LOCKOUT_MS = 60_000;

export interface Caller extends Actor {
  user: UserRecord;
  via: 'session' | 'token';
  csrfToken?: string;
  sessionId?: string;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export class Auth {
  private readonly store: Store;
  private readonly failures = new Map<string, { count: number; until: number }>();
  /** One-time token that lets the first admin be created; undefined once a user exists. */
  setupToken?: string;

  constructor(store: Store) {
    this.store = store;
  }

  /** First start: an admin from TRIBUTARY_ADMIN_PASSWORD, or a one-time setup token to print. */
  async bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<{ setupToken?: string; created?: string }> {
    if ((await this.store.listUsers()).length) return {};
    const password = env.TRIBUTARY_ADMIN_PASSWORD;
    if (password) {
      if (password.length < 12) throw new Error('TRIBUTARY_ADMIN_PASSWORD: expected at least 12 characters');
      await this.createUser({ username: env.TRIBUTARY_ADMIN_USER ?? 'admin', password, role: 'admin' });
      return { created: env.TRIBUTARY_ADMIN_USER ?? 'admin' };
    }
    this.setupToken = newSecret();
    return { setupToken: this.setupToken };
  }

  async createUser(o: { username: string; password: string; role: UserRecord['role'] }): Promise<UserRecord> {
    const now = new Date().toISOString();
    const user: UserRecord = {
      id: crypto.randomUUID(),
      username: o.username,
      passwordHash: await hashPassword(o.password),
      role: o.role,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.putUser(user);
    return user;
  }

  /** Creates the first admin with the setup token; refused once any user exists. */
  async setup(token: string, username: string, password: string): Promise<UserRecord> {
    const expected = this.setupToken;
    if (!expected || (await this.store.listUsers()).length)
      throw new ApiError(409, 'already_set_up', 'Tributary already has users; sign in instead.');
    if (sha256(token) !== sha256(expected))
      throw new ApiError(401, 'invalid_setup_token', 'The setup link is not valid.');
    this.setupToken = undefined;
    return this.createUser({ username, password, role: 'admin' });
  }

  async login(username: string, password: string, ip: string) {
    const key = `${username.toLowerCase()}|${ip}`;
    const f = this.failures.get(key);
    if (f && f.count >= MAX_FAILURES && f.until > Date.now())
      throw new ApiError(429, 'too_many_attempts', 'Too many failed sign-ins; wait a minute and try again.');
    const user = await this.store.getUserByName(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok || user.disabled) {
      const count = (f && f.until > Date.now() ? f.count : 0) + 1;
      this.failures.set(key, { count, until: Date.now() + LOCKOUT_MS });
      throw new ApiError(401, 'invalid_credentials', 'Wrong username or password.');
    }
    this.failures.delete(key);
    const secret = newSecret();
    const csrfToken = newSecret();
    const now = new Date();
    await this.store.putSession({
      id: sha256(secret),
      userId: user.id,
      csrfToken,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
      ip,
    });
    await this.store.putUser({ ...user, lastLoginAt: now.toISOString() });
    return { user, secret, csrfToken, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  sessionCookie(secret: string, maxAgeSeconds: number, secure: boolean): string {
    return `${SESSION_COOKIE}=${secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
  }

  async logout(caller: Caller): Promise<void> {
    if (caller.sessionId) await this.store.deleteSession(caller.sessionId);
  }

  /** The caller of a request, or undefined when it carries no valid credential. */
  async identify(req: IncomingMessage, ip: string): Promise<Caller | undefined> {
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) throw new ApiError(401, 'unauthenticated', 'Authorization must be "Bearer <API token>".');
      const token = await this.store.getApiTokenByHash(sha256(m[1]!));
      const now = new Date();
      if (!token || token.revokedAt || (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime()))
        throw new ApiError(401, 'unauthenticated', 'The API token is invalid, expired or revoked.');
      const user = await this.store.getUser(token.userId);
      if (!user || user.disabled)
        throw new ApiError(401, 'unauthenticated', 'The API token is invalid, expired or revoked.');
      if (!token.lastUsedAt || now.getTime() - Date.parse(token.lastUsedAt) > 60_000)
        await this.store.putApiToken({ ...token, lastUsedAt: now.toISOString() });
      return {
        name: `token:${token.name} (${user.username})`,
        role: user.role,
        userId: user.id,
        ip,
        user,
        via: 'token',
      };
    }
    const secret = cookie(req, SESSION_COOKIE);
    if (!secret) return undefined;
    const id = sha256(secret);
    const session = await this.store.getSession(id);
    if (!session) return undefined;
    if (Date.parse(session.expiresAt) <= Date.now()) {
      await this.store.deleteSession(id);
      return undefined;
    }
    const user = await this.store.getUser(session.userId);
    if (!user || user.disabled) return undefined;
    return {
      name: user.username,
      role: user.role,
      userId: user.id,
      ip,
      user,
      via: 'session',
      csrfToken: session.csrfToken,
      sessionId: id,
    };
  }
}
