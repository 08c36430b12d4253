import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private nats-server (Debian's `nats-server` package) for tests that need their own: auth, TLS,
 * or one to stop. JetStream on, a free port on 127.0.0.1 (`-p -1`), storage in a temp folder; the
 * port is read from the line the server logs once listening. The shared server on 127.0.0.1:4222 is
 * used wherever the test needs nothing special.
 */
export function natsServerBinary(): string | undefined {
  return [
    process.env.NATS_SERVER,
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ].find((p): p is string => Boolean(p && existsSync(p)));
}

export class NatsServer {
  private child?: ChildProcess;
  private dir = '';
  url = '';

  /** `config`: extra nats-server configuration (e.g. an authorization block). */
  async start(config = ''): Promise<void> {
    const bin = natsServerBinary();
    if (!bin) throw new Error('nats-server is not installed (Debian package nats-server)');
    this.dir = mkdtempSync(join(tmpdir(), 'tributary-nats-'));
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, `${config}\njetstream { store_dir: "${join(this.dir, 'js')}" }\n`);
    const child = spawn(bin, ['-c', conf, '-a', '127.0.0.1', '-p', '-1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let out = '';
    const port = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`nats-server did not start: ${out}`)), 20_000);
      const seen = (d: Buffer) => {
        out += d;
        const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.on('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`nats-server exited (${code}): ${out}`));
      });
    });
    this.url = `nats://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGKILL');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
