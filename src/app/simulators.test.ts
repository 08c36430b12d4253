import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const serve = fileURLToPath(new URL('./simulators.ts', import.meta.url));

test('simulators.ts runs a simulator in its own process, controlled by JSON lines', async () => {
  const child = spawn(process.execPath, [serve, 'okta', '--events', '50', '--seed', '3'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await lines.next()).value as string);
    const ready = await next();
    assert.equal(ready.ready, true);
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await fetch(`${ready.url}/api/v1/logs?limit=1000`, {
      headers: { authorization: `SSWS ${ready.token}` },
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as unknown[]).length, 50);

    child.stdin!.write(`${JSON.stringify({ cmd: 'addEvents', n: 5 })}\n`);
    assert.equal((await next()).result.ids.length, 5);
    child.stdin!.write(
      `${JSON.stringify({ cmd: 'inject', fault: { kind: 'status', status: 503, path: '^/api/' } })}\n`,
    );
    assert.deepEqual(await next(), { ok: true });
    assert.equal((await fetch(`${ready.url}/api/v1/logs`)).status, 503);
    child.stdin!.write(`${JSON.stringify({ cmd: 'stats' })}\n`);
    const stats = await next();
    assert.equal(stats.requests, 2);
    assert.deepEqual(stats.writeCalls, []);
    assert.equal(stats.events, 55);

    child.stdin!.end(); // parent going away stops the simulator
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill();
  }
});
