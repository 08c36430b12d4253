import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateAuthority, type IssuedCertificate, issueCertificate } from '../../sim/x509.ts';

/**
 * A private rsyslogd (Debian's rsyslog and rsyslog-gnutls) for tests and benchmarks: one input (imtcp
 * plain or with the gtls driver, or imudp) on a free port of 127.0.0.1, and every message's MSG part
 * written one per line to a file (omfile, template "%msg%\n"). TLS uses a CA and certificates made
 * here (src/sim/x509.ts); `clientAuth` makes rsyslog require a client certificate signed by that CA
 * (authMode x509/certvalid). rsyslog docs: imtcp (listenPortFileName, streamDriver.*), imudp, omfile.
 */
export function rsyslogdBinary(): string | undefined {
  return [process.env.RSYSLOGD, '/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p): p is string =>
    Boolean(p && existsSync(p)),
  );
}

export class Rsyslog {
  private child?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'tributary-rsyslog-'));
  readonly out = join(this.dir, 'messages.log');
  port = 0;
  ca?: IssuedCertificate;
  client?: IssuedCertificate;

  async start(o: {
    protocol: 'tcp' | 'tls' | 'udp';
    clientAuth?: boolean;
    maxMessageSize?: string;
    /** A fixed port (a restart on the same port); default: a free one. */
    port?: number;
  }): Promise<void> {
    const bin = rsyslogdBinary();
    if (!bin) throw new Error('rsyslogd is not installed: apt-get install -y rsyslog rsyslog-gnutls');
    const lines = [`global(workDirectory="${this.dir}" maxMessageSize="${o.maxMessageSize ?? '128k'}"`];
    if (o.protocol === 'tls') {
      this.ca = certificateAuthority();
      const server = issueCertificate(this.ca, {
        commonName: 'localhost',
        dnsNames: ['localhost'],
        ips: ['127.0.0.1'],
      });
      this.client = issueCertificate(this.ca, { commonName: 'tributary-client' });
      writeFileSync(join(this.dir, 'ca.pem'), this.ca.certificatePem);
      writeFileSync(join(this.dir, 'server.pem'), server.certificatePem);
      writeFileSync(join(this.dir, 'server.key'), server.privateKeyPem);
      lines.push(
        `  defaultNetstreamDriverCAFile="${join(this.dir, 'ca.pem')}" defaultNetstreamDriverCertFile="${join(this.dir, 'server.pem')}" defaultNetstreamDriverKeyFile="${join(this.dir, 'server.key')}"`,
      );
    }
    lines[lines.length - 1] += ')';
    lines.push('template(name="msgonly" type="string" string="%msg%\\n")');
    lines.push(`ruleset(name="r") { action(type="omfile" file="${this.out}" template="msgonly") }`);
    const portFile = join(this.dir, 'port');
    rmSync(portFile, { force: true });
    rmSync(join(this.dir, 'rsyslogd.pid'), { force: true });
    if (o.protocol === 'udp') {
      this.port = o.port ?? (await freeUdpPort());
      lines.push(
        'module(load="imudp")',
        `input(type="imudp" address="127.0.0.1" port="${this.port}" ruleset="r")`,
      );
    } else {
      lines.push(
        o.protocol === 'tls'
          ? `module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="${o.clientAuth ? 'x509/certvalid' : 'anon'}")`
          : 'module(load="imtcp")',
        `input(type="imtcp" address="127.0.0.1" port="${o.port ?? 0}" listenPortFileName="${portFile}" ruleset="r")`,
      );
    }
    const conf = join(this.dir, 'rsyslog.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const child = spawn(bin, ['-n', '-f', conf, '-i', join(this.dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 20_000;
    const pidFile = join(this.dir, 'rsyslogd.pid');
    // With port 0 rsyslogd writes the port it got to the port file once listening; with a fixed port
    // (and UDP) the test waits for its pid file, then (TCP) until the port accepts connections.
    const started = () =>
      o.protocol !== 'udp' && o.port === undefined
        ? existsSync(portFile) && readFileSync(portFile, 'utf8').trim() !== ''
        : existsSync(pidFile);
    while (!started()) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited (${child.exitCode}): ${log}`);
      if (Date.now() > deadline) throw new Error(`rsyslogd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (o.protocol !== 'udp' && o.port === undefined)
      this.port = Number(readFileSync(portFile, 'utf8').trim());
    else if (o.protocol !== 'udp') {
      this.port = o.port!;
      while (!(await accepts(this.port))) {
        if (Date.now() > deadline) throw new Error(`rsyslogd is not listening on ${this.port}: ${log}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** The MSG parts written so far, one per line. */
  messages(): string[] {
    if (!existsSync(this.out)) return [];
    // Only whole lines: rsyslogd may be writing the last one while it is read.
    const lines = readFileSync(this.out, 'utf8').split('\n');
    lines.pop();
    return lines.filter(Boolean);
  }

  /** Waits (polling, with a deadline) until at least `n` messages were written. */
  async waitFor(n: number, timeoutMs = 20_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const got = this.messages();
      if (got.length >= n || Date.now() > end) return got;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      ok(true);
    });
    s.on('error', () => ok(false));
  });
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}
