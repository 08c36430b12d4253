import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { TributaryError } from '../core/errors.ts';
import type { Batch } from '../core/source.ts';
import type { DeltaCheckpoint } from './delta-cursor.ts';
import { Http } from './http.ts';
import { paginate } from './paginate.ts';
import { restPoll } from './rest-poll.ts';

/**
 * A small change-tracking vendor: `/things` answers a snapshot in pages of 2 (`next`), the last page
 * carries `delta` (a link with the round's version); `?since=V` answers what changed after V. Links with
 * a version below `oldest` answer 410. `noDelta` makes the last page carry neither link.
 */
let things = [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }, { id: 'e' }];
const changes: Array<{ v: number; rec: Record<string, unknown> }> = [];
let version = 1;
let oldest = 0;
let noDelta = false;
const server = createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const since = u.searchParams.get('since');
  if (since !== null) {
    if (Number(since) < oldest)
      return send(410, { error: { code: 'resyncRequired', message: 'start over' } });
    const recs = changes.filter((c) => c.v > Number(since)).map((c) => c.rec);
    return send(200, { value: recs, delta: `/things?since=${version}` });
  }
  const from = Number(u.searchParams.get('from') ?? 0);
  const page = things.slice(from, from + 2);
  const more = from + 2 < things.length;
  send(200, {
    value: page,
    ...(more ? { next: `/things?from=${from + 2}` } : noDelta ? {} : { delta: `/things?since=${version}` }),
  });
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const stream = restPoll({
  title: 't',
  url: () => `${base}/things`,
  records: (b) => b.value,
  paginate: paginate.nextUrl('next'),
  cursor: { kind: 'delta', deltaLink: 'delta', expired: (e) => e.status === 410 },
  eventId: (r) => r.id,
});

async function read(checkpoint?: DeltaCheckpoint) {
  const warnings: TributaryError[] = [];
  const out: Batch<DeltaCheckpoint>[] = [];
  const http = new Http({ vendor: 'Fake', backoffBaseMs: 1, maxAttempts: 2 });
  for await (const b of stream.read(readContext(http, { checkpoint, warn: (w) => warnings.push(w) })))
    out.push(b as Batch<DeltaCheckpoint>);
  return {
    ids: out.flatMap((b) => b.events.map((e) => e.id)),
    checkpoints: out.map((b) => b.checkpoint),
    deadLetters: out.flatMap((b) => b.deadLetters ?? []),
    warnings,
  };
}

describe('delta-link cursor', () => {
  it('reads a snapshot page by page, keeps the delta link, then reads only changes', async () => {
    const snap = await read();
    assert.deepEqual(snap.ids, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(
      snap.checkpoints.map((c) => [c.phase, new URL(c.next.url).search]),
      [
        ['snapshot', '?from=2'],
        ['snapshot', '?from=4'],
        ['delta', '?since=1'],
      ],
    );
    changes.push({ v: 2, rec: { id: 'b', name: 'changed' } }, { v: 2, rec: { id: 'c', removed: true } });
    version = 2;
    const delta = await read(snap.checkpoints.at(-1));
    assert.deepEqual(delta.ids, ['b', 'c']);
    assert.equal(new URL(delta.checkpoints[0].next.url).search, '?since=2');
    const again = await read(delta.checkpoints[0]);
    assert.deepEqual(again.ids, [], 'one round per run; nothing new');
  });

  it('resumes a snapshot at its saved page', async () => {
    const snap = await read();
    const resumed = await read(snap.checkpoints[0]);
    assert.deepEqual(resumed.ids, ['c', 'd', 'e']);
  });

  it('restarts a full snapshot with a gap warning when the vendor refuses the saved link', async () => {
    oldest = 5;
    const r = await read({ next: { url: `${base}/things?since=1` }, phase: 'delta' });
    oldest = 0;
    assert.deepEqual(r.ids, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0].type, 'gap');
    assert.equal(r.warnings[0].code, 'delta_link_expired');
    assert.equal(r.checkpoints.at(-1)?.phase, 'delta');
  });

  it('does not loop when a fresh snapshot is refused too', async () => {
    const failing = restPoll({
      title: 't',
      url: () => `${base}/things?since=-1`,
      records: (b) => b.value,
      paginate: paginate.nextUrl('next'),
      cursor: { kind: 'delta', deltaLink: 'delta', expired: (e) => e.status === 410 },
      eventId: (r) => r.id,
    });
    oldest = 5;
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    const warnings: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const _ of failing.read(readContext(http, { warn: (w) => warnings.push(w) }))) {
          /* drain */
        }
      })(),
      (e: TributaryError) => e.status === 410,
    );
    oldest = 0;
    assert.equal(warnings.length, 1);
  });

  it('fails transiently when the last page has no delta link, and dead-letters records without an id', async () => {
    things = [{ id: 'a' }, { name: 'no id' } as never, { id: 'c' }];
    const snap = await read();
    assert.deepEqual(snap.ids, ['a', 'c']);
    assert.equal(snap.deadLetters.length, 1);
    noDelta = true;
    await assert.rejects(
      read(),
      (e: TributaryError) => e.code === 'delta_link_missing' && e.type === 'transient',
    );
    noDelta = false;
  });
});
