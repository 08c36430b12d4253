import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import {
  HashingBusy,
  hashPassword,
  needsRehash,
  newSecret,
  sha256,
  verifyPassword,
} from '../control/auth.ts';
import { ApiError } from '../control/errors.ts';
import { passwordProblem } from '../control/password-policy.ts';
import type { Actor } from '../control/service.ts';
import type { Store, TokenScope, UserRecord } from '../core/store.ts';
import { ANONYMOUS_ACTOR, type AttemptLimit } from '../store/login-attempts.ts';

/**
 * Who is calling: a session cookie (HttpOnly, SameSite=Strict, with a CSRF token required on every
 * change), or `Authorization: Bearer trb_…` API tokens. Both are random secrets stored only as
 * SHA-256 hashes.
 *
 * Sign-in throttling (docs/control-plane.md): every attempt is counted in the store, against the
 * username and against the client address, before the password is checked; a right password takes
 * its attempt back. Past a key's free attempts it is locked, for a time that doubles with each further
 * attempt up to a cap, and every attempt meanwhile (a right password too) gets 429 with Retry-After.
 * The address limit is the tight one: it stops one client guessing many passwords or spraying one
 * password over many usernames. The username limit is looser and shorter, because anyone who knows a
 * username can trip it: it only bounds guessing spread over many addresses.
 */

export const SESSION_COOKIE = 'tributary_session';
const SESSION_TTL_MS = 12 * 3_600_000;
const HOUR = 3_600_000;

export type ThrottlePolicy = Omit<AttemptLimit, 'key'>;

/** Per client address (an IPv6 client's /64): 5 attempts, then 30 s, 1 min, 2 min … up to 15 min. */
export const ADDRESS_LIMIT: ThrottlePolicy = { free: 5, baseMs: 30_000, capMs: 15 * 60_000, forgetMs: HOUR };
/** Per username, from all addresses together: 10 attempts, then 15 s, 30 s … up to 5 min. */
export const USER_LIMIT: ThrottlePolicy = { free: 10, baseMs: 15_000, capMs: 5 * 60_000, forgetMs: HOUR };
/** Failed sign-ins with unknown usernames: one audit entry per address per window. */
export const UNKNOWN_LOGIN_WINDOW_MS = 5 * 60_000;
/** How often closed windows are audited and idle counters dropped (on the next sign-in). */
const MAINTENANCE_EVERY_MS = 60_000;

export interface AuthOptions {
  addressLimit?: ThrottlePolicy;
  userLimit?: ThrottlePolicy;
  unknownLoginWindowMs?: number;
}

export interface Caller extends Actor {
  user: UserRecord;
  via: 'session' | 'token';
  csrfToken?: string;
  sessionId?: string;
  /** An API token limited to these scopes: usable for them only (docs/operations.md). */
  scopes?: TokenScope[];
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * The address sign-in attempts are counted against: an IPv4 address (also when written IPv4-mapped,
 * ::ffff:a.b.c.d), or an IPv6 client's /64, the block one subscriber usually holds whole.
 */
export function clientBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** The 400 for a password the policy refuses, naming the field. */
export const passwordRefused = (problem: string) =>
  new ApiError(400, 'invalid_request', 'The password cannot be used.', [
    { path: 'password', message: problem },
  ]);

/** Refuses a password `username` may not use (400 naming `password`). */
export async function checkNewPassword(password: string, username: string): Promise<void> {
  const problem = await passwordProblem(password, username);
  if (problem) throw passwordRefused(problem);
}

const tooMany = (retryAfterMs: number) => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const err = new ApiError(
    429,
    'too_many_attempts',
    `Too many sign-in attempts; try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
  );
  err.headers = { 'retry-after': String(seconds) };
  return err;
};

export class Auth {
  private readonly store: Store;
  private readonly addressLimit: ThrottlePolicy;
  private readonly userLimit: ThrottlePolicy;
  private readonly unknownWindowMs: number;
  private lastMaintenance = 0;
  /** One-time token that lets the first admin be created; undefined once a user exists. */
  setupToken?: string;

  constructor(store: Store, o: AuthOptions = {}) {
    this.store = store;
    this.addressLimit = o.addressLimit ?? ADDRESS_LIMIT;
    this.userLimit = o.userLimit ?? USER_LIMIT;
    this.unknownWindowMs = o.unknownLoginWindowMs ?? UNKNOWN_LOGIN_WINDOW_MS;
  }

  /** First start: an admin from TRIBUTARY_ADMIN_PASSWORD, or a one-time setup token to print. */
  async bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<{ setupToken?: string; created?: string }> {
    if ((await this.store.listUsers()).length) return {};
    const password = env.TRIBUTARY_ADMIN_PASSWORD;
    if (password) {
      const username = env.TRIBUTARY_ADMIN_USER ?? 'admin';
      const problem = await passwordProblem(password, username);
      if (problem) throw new Error(`TRIBUTARY_ADMIN_PASSWORD: ${problem}`);
      await this.createUser({ username, password, role: 'admin' });
      return { created: username };
    }
    this.setupToken = newSecret();
    return { setupToken: this.setupToken };
  }

  /** Creates a user; refuses (400 naming `password`) a password the policy refuses. */
  async createUser(o: { username: string; password: string; role: UserRecord['role'] }): Promise<UserRecord> {
    await checkNewPassword(o.password, o.username);
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
    await checkNewPassword(password, username); // before the link is used up
    this.setupToken = undefined;
    return this.createUser({ username, password, role: 'admin' });
  }

  /** The throttle key of a username: hashed, so what people type there (a password, by mistake) is not stored. */
  static userKey = (username: string) => `user:${sha256(username.toLowerCase())}`;

  async login(username: string, password: string, ip: string) {
    await this.maintain();
    const address = clientBucket(ip);
    const userKey = Auth.userKey(username);
    const attempt = await this.store.takeLoginAttempt([
      { key: `addr:${address}`, ...this.addressLimit },
      { key: userKey, ...this.userLimit },
    ]);
    if (!attempt.granted) throw tooMany(attempt.retryAfterMs);
    let user: UserRecord | undefined;
    let ok: boolean;
    try {
      user = await this.store.getUserByName(username);
      ok = await verifyPassword(password, user?.passwordHash);
    } catch (err) {
      await this.store.releaseLoginAttempt(attempt.reservation); // never checked: not counted
      if (err instanceof HashingBusy) {
        const busy = new ApiError(503, 'busy', 'Too many sign-ins at once; try again in a moment.');
        busy.headers = { 'retry-after': '1' };
        throw busy;
      }
      throw err;
    }
    if (!user || !ok || user.disabled) {
      const at = new Date().toISOString();
      if (!user) await this.store.countUnknownLogin(address, this.unknownWindowMs);
      else
        await this.store.appendAudit({
          at,
          actor: ANONYMOUS_ACTOR,
          action: 'user.login-failed',
          targetType: 'user',
          target: user.username,
          ip,
          after: { reason: ok ? 'disabled' : 'wrong password' },
        });
      throw new ApiError(401, 'invalid_credentials', 'Wrong username or password.');
    }
    await this.store.releaseLoginAttempt(attempt.reservation);
    await this.store.clearLoginAttempts(userKey);
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
    // A hash made with older scrypt parameters is replaced now that the password is known.
    const passwordHash = needsRehash(user.passwordHash) ? await hashPassword(password) : user.passwordHash;
    await this.store.putUser({ ...user, passwordHash, lastLoginAt: now.toISOString() });
    return { user, secret, csrfToken, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  /** Lifts a user's sign-in lock (an admin set a new password); their address's stays. */
  async unlockUser(username: string): Promise<void> {
    await this.store.clearLoginAttempts(Auth.userKey(username));
  }

  /** Writes the audit entries of closed unknown-user windows (before the audit log is read, too). */
  async flushUnknownLogins(): Promise<void> {
    await this.store.flushUnknownLogins(this.unknownWindowMs);
  }

  /** At most once a minute: closed unknown-user windows audited, idle counters dropped. */
  private async maintain(): Promise<void> {
    if (Date.now() - this.lastMaintenance < MAINTENANCE_EVERY_MS) return;
    this.lastMaintenance = Date.now();
    await this.flushUnknownLogins();
    await this.store.pruneLoginAttempts(Math.max(this.addressLimit.forgetMs, this.userLimit.forgetMs));
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
        ...(token.scopes ? { scopes: token.scopes } : {}),
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
