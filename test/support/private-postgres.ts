import { execFile, spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A Postgres server of a test's own (initdb in a temporary directory, a free port on 127.0.0.1, trust
 * authentication), for what the shared server on 5432 must not suffer because other test files use it
 * at the same time: restarts, crashes, configuration changes. The binaries come from
 * TRIBUTARY_TEST_PG_BIN, else /usr/lib/postgresql/15/bin (Debian's postgresql-15). Postgres refuses to
 * run as root: as root, the directory is given to the `postgres` OS user and initdb / pg_ctl run as it
 * (runuser). Durability is off (fsync, synchronous_commit): a test server, not a database.
 */
export const PG_BIN = process.env.TRIBUTARY_TEST_PG_BIN || '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';
const asRoot = () => process.getuid?.() === 0;

/** Why a private server cannot be started here (undefined if it can). */
export function privatePostgresUnavailable(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl', 'postgres'])
    try {
      accessSync(join(PG_BIN, tool), constants.X_OK);
    } catch {
      return `${join(PG_BIN, tool)} is missing: install Postgres 15 (apt-get install postgresql-15) or set TRIBUTARY_TEST_PG_BIN to a Postgres bin directory`;
    }
  if (asRoot()) {
    const id = spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' });
    if (id.status !== 0)
      return `running as root, and there is no "${OS_USER}" OS user to run Postgres as (Postgres refuses root)`;
    if (spawnSync('runuser', ['--help'], { stdio: 'ignore' }).error)
      return 'running as root, and runuser (util-linux) is missing to run Postgres as another user';
  }
  return undefined;
}

/**
 * When no private server can be started: under CI a failing test (never a pass by skipping there);
 * elsewhere one skipped test carrying the reason. Mirrors requirePostgres (postgres.ts).
 */
export function requirePrivatePostgres(reason: string): void {
  if (process.env.CI === 'true')
    it('a private Postgres server can be started (required under CI=true)', () => {
      throw new Error(reason);
    });
  else it('private Postgres server tests', { skip: reason }, () => {});
}

/** A TCP port nothing listens on right now (the kernel's choice). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok, fail) => {
    s.once('error', fail);
    s.listen(0, '127.0.0.1', ok);
  });
  const { port } = s.address() as { port: number };
  await new Promise((ok) => s.close(ok));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepting(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      ok(true);
    });
    sock.once('error', () => ok(false));
    sock.once('timeout', () => {
      sock.destroy();
      ok(false);
    });
  });
}

export class PrivatePostgres {
  /** The temporary directory: data/, the socket, server.log. */
  readonly dir: string;
  readonly port: number;
  private readonly data: string;
  private readonly logFile: string;
  private running = false;
  private destroyed = false;
  private readonly onExit = () => this.destroySync();
  /** Killed by a signal (a test runner's timeout, Ctrl-C): stop the server, then die of the signal. */
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.destroySync();
    process.kill(process.pid, signal);
  };

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    this.data = join(dir, 'data');
    this.logFile = join(dir, 'server.log');
  }

  /** initdb in a fresh temporary directory, then starts the server. Call destroy() when done. */
  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-pg-'));
    if (asRoot()) {
      const uid = Number(spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' }).stdout.trim());
      chownSync(dir, uid, gid);
    }
    const pg = new PrivatePostgres(dir, await freePort());
    // Never left running behind a test process that ends without its after() hooks, or is killed by
    // SIGINT or SIGTERM (SIGKILL cannot be caught: it leaves the server and its directory behind).
    process.once('exit', pg.onExit);
    process.once('SIGINT', pg.onSignal);
    process.once('SIGTERM', pg.onSignal);
    try {
      await pg.tool('initdb', [
        '-D',
        pg.data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]);
      await pg.start();
    } catch (err) {
      await pg.destroy();
      throw err;
    }
    return pg;
  }

  /** A connection URL (database postgres, user postgres) with optional query parameters. */
  url(params: Record<string, string> = {}): string {
    const q = new URLSearchParams(params).toString();
    return `postgres://postgres@127.0.0.1:${this.port}/postgres${q ? `?${q}` : ''}`;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=100',
    ].join(' ');
    await this.tool('pg_ctl', [
      '-D',
      this.data,
      '-l',
      this.logFile,
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    this.running = true;
  }

  /**
   * Stops the server (`fast`: sessions are terminated, as an administrator's restart does;
   * `immediate`: a crash, recovery on next start) and waits until the port refuses connections.
   */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.tool('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
    const deadline = Date.now() + 10_000;
    while (await accepting(this.port)) {
      if (Date.now() > deadline) throw new Error(`port ${this.port} still accepts connections after stop`);
      await delay(20);
    }
  }

  /** stop() then start(): resolves with how long the port refused connections (ms). */
  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<number> {
    await this.stop(mode);
    const down = Date.now();
    await this.start();
    return Date.now() - down;
  }

  /** The server's log so far (for a failing test's message). */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops the server if it runs and removes its directory. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    if (this.running) await this.stop('immediate').catch(() => {});
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    if (this.running) {
      this.running = false;
      const [cmd, args] = this.command('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
      spawnSync(cmd, args, { stdio: 'ignore', cwd: this.dir });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const bin = join(PG_BIN, tool);
    return asRoot() ? ['runuser', ['-u', OS_USER, '--', bin, ...args]] : [bin, args];
  }

  /** Runs a Postgres tool (as the postgres user when root); fails with its output. */
  private tool(tool: string, args: string[]): Promise<void> {
    const [cmd, argv] = this.command(tool, args);
    return new Promise((ok, fail) =>
      execFile(cmd, argv, { cwd: this.dir, timeout: 90_000 }, (err, stdout, stderr) => {
        if (!err) return ok();
        const out = `${stdout}${stderr}`.trim();
        fail(new Error(`${tool} ${args.at(-1)} failed (${err.message.split('\n')[0]}): ${out}`));
      }),
    );
  }
}
