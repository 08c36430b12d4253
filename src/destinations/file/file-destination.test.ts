import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import type { TributaryError } from '../../core/errors.ts';
import { CurrentState, readCurrentState } from './current-state.ts';
import { FileDestination } from './file-destination.ts';
import { fileScope } from './file-scope.ts';

const fresh = tempDirs('tributary-file');
const signal = new AbortController().signal;
const envs = (n: number, tag = 'e'): Envelope[] =>
  Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 's', stream: 't', collector: 'c' },
      { n: i, tag },
      `${tag}${i}`,
      undefined,
      '2026-11-25T10:00:00.000Z',
    ),
  );
/** Every line of a file parsed; fails on a line that is not a whole envelope. */
const lines = (p: string): Envelope[] => {
  const text = readFileSync(p, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${p} ends with a whole line`);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
};
const ids = (p: string) => lines(p).map((e) => e.id);
const dest = (path: string, maxBytes = 1 << 30, maxFiles = 3) =>
  new FileDestination('archive', { path, maxBytes, maxFiles });

/** FileHandle's prototype, to spy on write/sync of every handle the destination opens. */
async function fileHandleProto(dir: string): Promise<FileHandle> {
  const h = await open(join(dir, 'proto-probe'), 'w');
  await h.close();
  return Object.getPrototypeOf(h);
}

describe('file destination', () => {
  it('writes each envelope as exactly one line, creating parent directories', async () => {
    const path = join(fresh(), 'deep', 'er', 'events.ndjson');
    const d = dest(path);
    const first = envs(3);
    await d.send(first, signal);
    // Readable right after the acknowledgement, byte for byte the envelopes.
    assert.equal(readFileSync(path, 'utf8'), first.map((e) => `${JSON.stringify(e)}\n`).join(''));
    await d.send(envs(2, 'x'), signal);
    assert.deepEqual(ids(path), ['e0', 'e1', 'e2', 'x0', 'x1']);
    await d.close();
    // A new instance (a restart) appends after what is there.
    const again = dest(path);
    await again.send(envs(1, 'y'), signal);
    await again.close();
    assert.deepEqual(ids(path), ['e0', 'e1', 'e2', 'x0', 'x1', 'y0']);
  });

  it('fsyncs the written file before send resolves', async (t) => {
    const dir = fresh();
    const proto = await fileHandleProto(dir);
    const log: string[] = [];
    const write = proto.write;
    const sync = proto.sync;
    t.mock.method(proto, 'write', function (this: FileHandle, ...args: unknown[]) {
      log.push(`write ${this.fd}`);
      return (write as (...a: unknown[]) => unknown).apply(this, args);
    });
    t.mock.method(proto, 'sync', function (this: FileHandle) {
      log.push(`sync ${this.fd}`);
      return sync.apply(this);
    });
    const d = dest(join(dir, 'events.ndjson'));
    for (const tag of ['a', 'b']) {
      log.length = 0;
      await d.send(envs(2, tag), signal);
      log.push('resolved');
      const written = log
        .filter((l) => l.startsWith('write'))
        .at(-1)!
        .split(' ')[1];
      assert.deepEqual(log.slice(-2), [`sync ${written}`, 'resolved'], log.join(', '));
    }
    await d.close();
  });

  it('cuts a torn trailing line left by a crash when it opens, keeping whole lines', async () => {
    const dir = fresh();
    const torn = join(dir, 'torn.ndjson');
    writeFileSync(torn, '{"id":"a"}\n{"id":"b"}\n{"id":"tor');
    const none = join(dir, 'none.ndjson');
    writeFileSync(none, '{"id":"never-finished');
    const long = join(dir, 'long.ndjson'); // a torn line longer than one read chunk
    writeFileSync(long, `{"id":"a"}\n{"id":"${'x'.repeat(200_000)}`);
    const whole = join(dir, 'whole.ndjson');
    writeFileSync(whole, '{"id":"a"}\n');
    for (const [path, before] of [
      [torn, ['a', 'b']],
      [none, []],
      [long, ['a']],
      [whole, ['a']],
    ] as const) {
      const d = dest(path);
      await d.send(envs(1), signal);
      await d.close();
      assert.deepEqual(ids(path), [...before, 'e0'], path);
    }
  });

  it('rotates by size, keeps maxFiles rotated files and never splits a batch or a line', async () => {
    const path = join(fresh(), 'events.ndjson');
    const maxBytes = 1000;
    const d = dest(path, maxBytes, 2);
    const batches = Array.from({ length: 12 }, (_, i) => envs(3, `b${i}-`));
    for (const b of batches) await d.send(b, signal);
    await d.close();
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`));
    assert.ok(!existsSync(`${path}.3`), 'older files fall off');
    const files = [`${path}.2`, `${path}.1`, path];
    for (const f of files) {
      assert.ok(statSync(f).size <= maxBytes, `${f} within maxBytes`);
      const got = ids(f); // every line whole
      assert.equal(got.length % 3, 0, `${f} holds whole batches`);
    }
    // Oldest to newest, the kept files are exactly the latest batches, in order.
    const kept = files.flatMap(ids);
    const sent = batches.flat().map((e) => e.id);
    assert.deepEqual(kept, sent.slice(sent.length - kept.length));
  });

  it('puts a batch larger than maxBytes whole into a fresh file', async () => {
    const path = join(fresh(), 'events.ndjson');
    const d = dest(path, 300, 5);
    await d.send(envs(1, 'small'), signal);
    await d.send(envs(10, 'big'), signal);
    await d.close();
    assert.deepEqual(ids(`${path}.1`), ['small0']);
    assert.deepEqual(
      ids(path),
      envs(10, 'big').map((e) => e.id),
    );
  });

  it('serialises concurrent sends: lines never interleave, batches stay contiguous, also across rotation', async () => {
    for (const maxBytes of [1 << 30, 20_000]) {
      const path = join(fresh(), 'events.ndjson');
      const d = dest(path, maxBytes, 1000);
      const batches = Array.from({ length: 20 }, (_, i) => envs(50, `p${i}-`));
      await Promise.all(batches.map((b) => d.send(b, signal)));
      await d.close();
      const rotated = readdirSync(join(path, '..'))
        .filter((f) => f.startsWith('events.ndjson.'))
        .map((f) => Number(f.split('.').at(-1)))
        .sort((a, b) => b - a)
        .map((n) => `${path}.${n}`);
      if (maxBytes < 1 << 30) assert.ok(rotated.length > 1, 'rotation happened');
      const got = [...rotated, path].flatMap(ids);
      assert.equal(got.length, 1000);
      for (let at = 0; at < got.length; at += 50) {
        const tag = got[at].split('-')[0];
        assert.deepEqual(
          got.slice(at, at + 50),
          Array.from({ length: 50 }, (_, i) => `${tag}-${i}`),
        );
      }
    }
  });

  it('after a failed fsync cuts the batch back out, reports it transient and recovers', async (t) => {
    const dir = fresh();
    const path = join(dir, 'events.ndjson');
    const d = dest(path);
    await d.send(envs(2, 'ok'), signal);
    const proto = await fileHandleProto(dir);
    t.mock.method(
      proto,
      'sync',
      async () => {
        throw Object.assign(new Error('I/O error'), { code: 'EIO' });
      },
      { times: 1 },
    );
    await assert.rejects(d.send(envs(2, 'lost'), signal), (e: TributaryError) => {
      assert.equal(e.type, 'transient');
      assert.equal(e.code, 'destination_write_failed');
      assert.match(e.message, /archive.*EIO/);
      return true;
    });
    assert.deepEqual(ids(path), ['ok0', 'ok1'], 'the unacknowledged batch is not left behind');
    await d.send(envs(2, 'lost'), signal); // the runtime's retry
    await d.close();
    assert.deepEqual(ids(path), ['ok0', 'ok1', 'lost0', 'lost1']);
  });

  it('reports an unwritable path as transient on send and config on test, and recovers once fixed', async () => {
    const dir = fresh();
    const blocker = join(dir, 'sub');
    writeFileSync(blocker, 'a file where the directory should be');
    const d = dest(join(blocker, 'events.ndjson'));
    await assert.rejects(
      d.send(envs(1), signal),
      (e: TributaryError) => e.type === 'transient' && /archive/.test(e.message) && /archive/.test(e.action),
    );
    await assert.rejects(
      d.test(signal),
      (e: TributaryError) => e.type === 'config' && e.code === 'destination_not_writable',
    );
    // Fixed by the user: the next retry of the same batch goes through.
    rmSync(blocker);
    await d.send(envs(1), signal);
    await d.close();
    assert.deepEqual(ids(join(blocker, 'events.ndjson')), ['e0']);
  });

  it('test() proves the directory writable without writing the events file; only inside the output root does it create anything', async () => {
    const data = fresh();
    const scope = fileScope(data);
    const inside = join(scope.root, 'new-dir');
    const d = new FileDestination('archive', {
      path: join(inside, 'events.ndjson'),
      maxBytes: 1000,
      maxFiles: 1,
      scope,
    });
    await d.test(signal);
    assert.deepEqual(readdirSync(inside), [], 'no events file, no probe left behind');
    // A path outside the root (the operator's config file set it): nothing is created there.
    const outside = join(fresh(), 'not', 'yet');
    const o = new FileDestination('archive', {
      path: join(outside, 'events.ndjson'),
      maxBytes: 1000,
      maxFiles: 1,
      scope,
    });
    await o.test(signal);
    assert.equal(existsSync(join(outside, '..')), false, 'no directory created outside the root');
  });

  it("refuses the data directory's own files whoever set the path, before writing a byte", async () => {
    const data = fresh();
    const scope = fileScope(data);
    const key = join(data, 'master.key');
    writeFileSync(key, '{"current":"k1"}\n');
    for (const name of ['master.key', 'tributary.db', 'tributary.db-wal', 'MASTER.KEY.tmp']) {
      const path = join(data, name);
      if (!existsSync(path)) writeFileSync(path, 'store\n');
      const before = readFileSync(path);
      const d = new FileDestination('k', { path, maxBytes: 1, maxFiles: 1, scope });
      for (const attempt of [() => d.send(envs(2), signal), () => d.test(signal)])
        await assert.rejects(attempt(), (e: TributaryError) => {
          assert.equal(e.type, 'config');
          assert.equal(e.code, 'destination_path_refused');
          assert.match(e.message, /own files/);
          return true;
        });
      await d.close();
      assert.deepEqual(readFileSync(path), before, `${name} untouched`);
    }
    // Also through a directory link outside the root (an operator path): the real directory counts.
    const link = join(fresh(), 'state');
    symlinkSync(data, link);
    const d = new FileDestination('k', { path: join(link, 'master.key'), maxBytes: 1, maxFiles: 1, scope });
    await assert.rejects(d.send(envs(1), signal), { code: 'destination_path_refused' });
    assert.equal(readFileSync(key, 'utf8'), '{"current":"k1"}\n');
  });

  it('never writes through a symbolic link: the events file, or a directory inside the root swapped for one later', async () => {
    const data = fresh();
    const scope = fileScope(data);
    const victim = join(fresh(), '.bashrc');
    writeFileSync(victim, 'original\n');
    // The events file itself is a link (outside the root no scope rule applies, the link is refused anyway).
    for (const dir of [scope.root, fresh()]) {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'events.ndjson');
      symlinkSync(victim, path);
      const d = new FileDestination('f', { path, maxBytes: 1 << 20, maxFiles: 1, scope });
      await assert.rejects(d.send(envs(1), signal), { code: 'destination_path_refused' });
      await d.close();
    }
    // A directory inside the root that is replaced by a link after the first writes: refused at the
    // rotation that would reopen the file there.
    const sub = join(scope.root, 'sub');
    const d = new FileDestination('f', {
      path: join(sub, 'events.ndjson'),
      maxBytes: 600,
      maxFiles: 2,
      scope,
    });
    await d.send(envs(1, 'a'), signal);
    const outside = dirname(victim);
    renameSync(sub, join(scope.root, 'moved'));
    symlinkSync(outside, sub);
    await assert.rejects(d.send(envs(3, 'b'), signal), (e: TributaryError) => {
      assert.equal(e.code, 'destination_path_refused');
      assert.match(e.message, /leaves the output root/);
      return true;
    });
    await d.close();
    assert.equal(readFileSync(victim, 'utf8'), 'original\n');
    assert.deepEqual(readdirSync(outside).sort(), ['.bashrc']);
    assert.deepEqual(ids(join(scope.root, 'moved', 'events.ndjson')), ['a0']);
  });

  it('does not write a batch whose send was cancelled while queued', async () => {
    const path = join(fresh(), 'events.ndjson');
    const d = dest(path);
    const ac = new AbortController();
    const first = d.send(envs(1, 'kept'), signal);
    const second = d.send(envs(1, 'cancelled'), ac.signal);
    ac.abort();
    await first;
    await assert.rejects(second, { name: 'AbortError' });
    await d.close();
    assert.deepEqual(ids(path), ['kept0']);
  });
});

describe('file destination: current state of context streams', () => {
  const at = '2026-12-01T00:00:00.000Z';
  const ctxOf = (collector: string, stream: string) => ({ source: 's', stream, collector });
  const rec = (
    id: string,
    op: 'upsert' | 'delete' | 'end',
    snapshot: string,
    o: { collector?: string; stream?: string; v?: number } = {},
  ) =>
    makeEnvelope(
      ctxOf(o.collector ?? 'okta-ctx', o.stream ?? 'users'),
      { id, v: o.v ?? 0 },
      id,
      undefined,
      at,
      {
        op,
        entity: 'user',
        snapshot,
      },
    );

  it('keeps the last record per id, removes deletions, and drops what a completed refresh did not mention', async () => {
    const path = join(fresh(), 'ctx.ndjson');
    const d = new FileDestination('ctx', { path, maxBytes: 1 << 30, maxFiles: 3, currentState: true });
    const state = join(`${path}.state`, 'okta-ctx', 'users.ndjson');
    const changes = CurrentState.changesOf(state);
    const current = async () => (await readCurrentState(state)).map((e) => e.id);
    await d.send([rec('u1', 'upsert', 'S1'), rec('u2', 'upsert', 'S1'), rec('u3', 'upsert', 'S1')], signal);
    assert.deepEqual(await current(), ['u1', 'u2', 'u3'], 'the state file with its changes applied');
    assert.equal(lines(changes).length, 3, 'a batch is appended to the change file');
    await d.send(
      [rec('u1', 'upsert', 'S1', { v: 2 }), rec('u2', 'delete', 'S1'), rec('snapshot:S1', 'end', 'S1')],
      signal,
    );
    // The marker compacts: the state file alone is the state, the change file is empty.
    assert.deepEqual(
      lines(state).map((e) => [e.id, (e.raw as { v: number }).v]),
      [
        ['u1', 2],
        ['u3', 0],
      ],
    );
    assert.equal(readFileSync(changes, 'utf8'), '');
    assert.equal(lines(path).length, 6, 'the change log keeps every record');
    // A new refresh mentions u3 and u4 only: once its marker arrives, u1 is gone.
    await d.send([rec('u3', 'upsert', 'S2'), rec('u4', 'upsert', 'S2')], signal);
    assert.deepEqual(await current(), ['u1', 'u3', 'u4'], 'nothing dropped before the refresh completes');
    assert.deepEqual(ids(state), ['u1', 'u3'], 'the state file is not rewritten for a batch');
    await d.send([rec('snapshot:S2', 'end', 'S2')], signal);
    assert.deepEqual(ids(state), ['u3', 'u4']);
    await d.close();

    // A new process reads the state back and goes on from it; other streams and events are apart.
    const again = new FileDestination('ctx', { path, maxBytes: 1 << 30, maxFiles: 3, currentState: true });
    await again.send(
      [rec('u5', 'upsert', 'S2'), rec('g1', 'upsert', 'S9', { stream: 'groups' }), ...envs(2)],
      signal,
    );
    assert.deepEqual(await current(), ['u3', 'u4', 'u5']);
    assert.deepEqual(readdirSync(join(`${path}.state`, 'okta-ctx')).sort(), [
      'groups.changes.ndjson',
      'users.changes.ndjson',
      'users.ndjson',
    ]);
    await again.close();
    // Closing compacts: each state file alone is the state.
    assert.deepEqual(ids(state), ['u3', 'u4', 'u5']);
    assert.deepEqual(ids(join(`${path}.state`, 'okta-ctx', 'groups.ndjson')), ['g1']);
    assert.equal(readFileSync(changes, 'utf8'), '');
  });

  it('writes no state without the option, and encodes names so that none leaves the state directory', async () => {
    const dir = fresh();
    const plain = new FileDestination('p', { path: join(dir, 'a.ndjson'), maxBytes: 1 << 30, maxFiles: 3 });
    await plain.send([rec('u1', 'upsert', 'S1')], signal);
    await plain.close();
    assert.equal(existsSync(join(dir, 'a.ndjson.state')), false);
    const d = new FileDestination('ctx', {
      path: join(dir, 'b.ndjson'),
      maxBytes: 1 << 30,
      maxFiles: 3,
      currentState: true,
    });
    await d.send([rec('u1', 'upsert', 'S1', { collector: '../x', stream: 'a/b' })], signal);
    await d.close();
    assert.deepEqual(ids(join(dir, 'b.ndjson.state', '..%2Fx', 'a%2Fb.ndjson')), ['u1']);
  });

  /** A refresh of `n` users in batches of 100, then its marker, applied to `state`. */
  async function refresh(state: CurrentState, n: number, snapshot: string, collector = 'okta-ctx') {
    for (let i = 0; i < n; i += 100)
      await state.apply(
        Array.from({ length: Math.min(100, n - i) }, (_, j) =>
          rec(`u${i + j}`, 'upsert', snapshot, { collector }),
        ),
      );
    await state.apply([rec(`snapshot:${snapshot}`, 'end', snapshot, { collector })]);
  }

  it('writes a bounded number of bytes per record, whatever the size of the state (no whole rewrite per batch)', async () => {
    const dir = fresh();
    const perRecord: number[] = [];
    for (const n of [1000, 8000]) {
      const state = new CurrentState(join(dir, `${n}.ndjson`), undefined, false, { minCompactBytes: 0 });
      await refresh(state, n, 'S1');
      const before = state.bytesWritten;
      await refresh(state, n, 'S2'); // a second refresh over a state of n entities
      perRecord.push((state.bytesWritten - before) / n);
      await state.close();
    }
    const line = Buffer.byteLength(`${JSON.stringify(rec('u1000', 'upsert', 'S1'))}\n`);
    // Rewriting the state file at every batch of 100 writes n / 100 lines per record (10 and 80 here).
    for (const bytes of perRecord)
      assert.ok(bytes < 5 * line, `${bytes.toFixed(0)} bytes written per record (a line is ${line})`);
    assert.ok(
      perRecord[1] < perRecord[0] * 1.3,
      `per record: ${perRecord.map((b) => b.toFixed(0)).join(' → ')} bytes as the state grew 8×`,
    );
  });

  it('a crash during compaction leaves a valid state: a torn temporary file, or changes not yet emptied', async () => {
    const dir = fresh();
    const live = join(dir, 'c.ndjson');
    const a = new CurrentState(live, undefined, false);
    await refresh(a, 250, 'S1');
    await a.apply([rec('u3', 'delete', 'S1'), rec('u7', 'upsert', 'S1', { v: 9 })]);
    const file = a.pathOf('okta-ctx', 'users');
    const changes = CurrentState.changesOf(file);
    const expected = (await readCurrentState(file)).map((e) => [e.id, (e.raw as { v: number }).v]);
    assert.equal(expected.length, 249);
    assert.ok(!expected.some(([id]) => id === 'u3'), 'the deletion is applied');
    const pending = readFileSync(changes);
    assert.ok(pending.length > 0);
    await a.close({ compact: false }); // the process dies here
    // 1. Killed while writing the temporary file: it is torn, the state file and changes are whole.
    writeFileSync(`${file}.tmp`, '{"id":"u1","tim');
    const b = new CurrentState(live, undefined, false);
    await b.apply([rec('u8', 'upsert', 'S1', { v: 1 })]);
    const afterTorn = (await readCurrentState(file)).map((e) => [e.id, (e.raw as { v: number }).v]);
    assert.deepEqual(
      afterTorn,
      expected.map(([id, v]) => (id === 'u8' ? [id, 1] : [id, v])),
    );
    // 2. Killed after the new state file was renamed in, before the change file was emptied: the
    // changes are applied a second time, to the same state.
    await b.close(); // compacts
    assert.equal(readFileSync(changes, 'utf8'), '');
    writeFileSync(changes, Buffer.concat([pending, Buffer.from('{"id":"u9","op":"ups')])); // and a torn append
    const c = new CurrentState(live, undefined, false);
    await c.apply([rec('u8', 'upsert', 'S1', { v: 1 })]);
    assert.deepEqual(
      (await readCurrentState(file)).map((e) => [e.id, (e.raw as { v: number }).v]),
      afterTorn,
      'the same state: replaying changes is idempotent, the torn line is cut off',
    );
    await c.close();
    assert.deepEqual(
      lines(file).map((e) => [e.id, (e.raw as { v: number }).v]),
      afterTorn,
      'the compacted file is whole and exact; deleted entities are not in it',
    );
    assert.ok(!existsSync(`${file}.tmp`), 'no temporary file left');
  });

  it('a compaction that fails after its rename keeps the change file: older changes never replay over newer state', async () => {
    const dir = fresh();
    const live = join(dir, 'c.ndjson');
    let failAfterRename = false;
    const a = new CurrentState(live, undefined, false, {
      onSyncDir: () => {
        // Called once the new state file is renamed in, before the change file is emptied.
        if (failAfterRename) throw Object.assign(new Error('EIO'), { code: 'EIO' });
      },
    });
    await a.apply([rec('u1', 'upsert', 'S1', { v: 1 }), rec('u2', 'upsert', 'S1', { v: 1 })]);
    failAfterRename = true;
    // The marker compacts: u1 v2, u2 deleted are in the renamed state file when the failure comes.
    await assert.rejects(
      a.apply([
        rec('u1', 'upsert', 'S1', { v: 2 }),
        rec('u2', 'delete', 'S1'),
        rec('snapshot:S1', 'end', 'S1'),
      ]),
    );
    await a.close({ compact: false }); // the process dies before the batch comes again
    const file = a.pathOf('okta-ctx', 'users');
    assert.deepEqual(
      (await readCurrentState(file)).map((e) => [e.id, (e.raw as { v: number }).v]),
      [['u1', 2]],
      'the state the renamed file holds: u1 not back at v1, u2 not resurrected',
    );
  });

  it('a reader racing a compaction reads a consistent state (the state file it read was replaced: it reads again)', async () => {
    const dir = fresh();
    const live = join(dir, 'c.ndjson');
    const a = new CurrentState(live, undefined, false);
    await refresh(a, 3, 'S1'); // compacted: u0 u1 u2
    await a.apply([rec('u1', 'delete', 'S1'), rec('u3', 'upsert', 'S1')]); // in the change file only
    const file = a.pathOf('okta-ctx', 'users');
    let compacted = false;
    const seen = await readCurrentState(file, {
      // Tributary compacts between the reader's two reads: the change file it reads next is empty.
      afterStateFile: async () => {
        if (compacted) return;
        compacted = true;
        await a.close();
      },
    });
    assert.ok(compacted);
    assert.deepEqual(
      seen.map((e) => e.id),
      ['u0', 'u2', 'u3'],
    );
  });

  it('a compaction checks its place again: a state directory swapped for a link out of the root after the first batch is refused', async () => {
    const scope = fileScope(fresh());
    const live = join(scope.root, 'ctx', 'c.ndjson');
    const a = new CurrentState(live, scope, true);
    await a.apply([rec('u1', 'upsert', 'S1')]); // opens the stream: its place is checked
    const collectorDir = dirname(a.pathOf('okta-ctx', 'users'));
    const outside = fresh();
    renameSync(collectorDir, `${collectorDir}.moved`);
    symlinkSync(outside, collectorDir);
    await assert.rejects(a.apply([rec('snapshot:S1', 'end', 'S1')]), { code: 'destination_path_refused' });
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the root');
    await a.close();
    assert.deepEqual(readdirSync(outside), []);
  });

  it('fsyncs the parent of every directory and file it creates', async () => {
    const dir = fresh();
    const synced: string[] = [];
    const live = join(dir, 'deep', 'c.ndjson');
    const state = new CurrentState(live, undefined, false, { onSyncDir: (d) => synced.push(d) });
    await state.apply([rec('u1', 'upsert', 'S1')]);
    const file = state.pathOf('okta-ctx', 'users');
    // Created: deep/c.ndjson.state/okta-ctx (dir, deep already exists? no: deep too), then the change file.
    for (const d of [dir, join(dir, 'deep'), join(dir, 'deep', 'c.ndjson.state'), dirname(file)])
      assert.ok(synced.includes(d), `${d} fsynced (${synced.join(', ')})`);
    await state.close();
  });
});
