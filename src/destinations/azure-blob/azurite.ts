import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Azurite, Microsoft's Azure Storage emulator (npm `azurite`, a devDependency), started for tests and
 * benchmarks: one service (blob by default, or queue), on a free port of 127.0.0.1, in a temporary folder, telemetry off.
 * Its port is read from the line it prints once listening ("… successfully listens on http://…").
 * The account is Azurite's well-known development account (learn.microsoft.com/azure/storage/common/storage-use-azurite,
 * "Well-known storage account and key").
 * With `tls` it serves HTTPS with that certificate and key (PEM, written to its folder) and takes OAuth bearer
 * tokens (`--oauth basic`: Azurite checks a token's issuer, audience and lifetime, not its signature or roles;
 * its README, "OAuth Configuration" — bearer tokens only over HTTPS).
 */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const BIN = (service: 'blob' | 'queue') =>
  resolve(import.meta.dirname, `../../../node_modules/.bin/azurite-${service}`);

export class Azurite {
  private child?: ChildProcess;
  private dir = '';
  /** The service's endpoint, path style: http://127.0.0.1:PORT/devstoreaccount1 */
  endpoint = '';

  private readonly service: 'blob' | 'queue';
  private readonly tls?: { certificatePem: string; privateKeyPem: string };

  constructor(
    service: 'blob' | 'queue' = 'blob',
    o: { tls?: { certificatePem: string; privateKeyPem: string } } = {},
  ) {
    this.service = service;
    this.tls = o.tls;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'tributary-azurite-'));
    const tls: string[] = [];
    if (this.tls) {
      writeFileSync(join(this.dir, 'cert.pem'), this.tls.certificatePem);
      writeFileSync(join(this.dir, 'key.pem'), this.tls.privateKeyPem, { mode: 0o600 });
      tls.push('--cert', join(this.dir, 'cert.pem'), '--key', join(this.dir, 'key.pem'), '--oauth', 'basic');
    }
    const child = spawn(
      BIN(this.service),
      // The SDK may speak a newer service version than this Azurite knows; the blob calls used are old.
      [
        '--silent',
        '--disableTelemetry',
        '--skipApiVersionCheck',
        '--location',
        this.dir,
        `--${this.service}Host`,
        '127.0.0.1',
        `--${this.service}Port`,
        '0',
        ...tls,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let out = '';
    const port = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`azurite did not start within ${timeoutMs} ms: ${out}`)),
        timeoutMs,
      );
      const seen = (d: Buffer) => {
        out += d;
        const m = /successfully listens on https?:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.on('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`azurite exited (${code}): ${out}`));
      });
    });
    this.endpoint = `${this.tls ? 'https' : 'http'}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill();
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
