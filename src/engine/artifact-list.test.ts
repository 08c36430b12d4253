import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import { RawJson } from '../core/envelope.ts';
import { type TributaryError, transientError } from '../core/errors.ts';
import type { Batch, ReadContext } from '../core/source.ts';
import {
  type ArtifactListCheckpoint,
  type ArtifactListOptions,
  type ArtifactPart,
  csvParts,
  DOWNLOAD_ATTEMPTS,
  deliverArtifact,
  downloadArtifact,
  jsonLineParts,
  openArtifact,
  readArtifactList,
  recordParts,
} from './artifact-list.ts';
import { Http } from './http.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const min = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface File {
  id: string;
  end: string;
  records: string[];
}

/**
 * A fake vendor listing files ascending by `end`, strictly after `after`, `pageSize` at a time; with
 * `reReturn` it lists the files at exactly `after` again (a vendor that means "at or after").
 */
class Vendor {
  files: File[] = [];
  listings: string[] = [];
  fetches: string[] = [];
  reReturn = false;
  loop = false;
  private readonly pageSize: number;
  constructor(pageSize = 2) {
    this.pageSize = pageSize;
  }

  add(id: string, end: number, n: number): void {
    this.files.push({ id, end: iso(end), records: Array.from({ length: n }, (_, i) => `${id}#${i}`) });
  }

  options(): ArtifactListOptions<File> {
    return {
      retention: '30d',
      what: 'log files',
      list: async (after) => {
        this.listings.push(after);
        const matching = this.files
          .filter((f) => f.end > after || (this.reReturn && f.end === after))
          .sort((a, b) => a.end.localeCompare(b.end));
        const page = this.loop ? matching.slice(0, 1) : matching.slice(0, this.pageSize);
        return {
          artifacts: page,
          hasMore: this.loop || matching.length > page.length,
          last: this.loop ? after : page.at(-1)?.end,
        };
      },
      id: (f) => f.id,
      position: (f) => f.end,
      fetch: (f, skip) => this.fetch(f, skip),
    };
  }

  private async *fetch(f: File, skip: number): AsyncGenerator<ArtifactPart> {
    this.fetches.push(`${f.id}@${skip}`);
    yield* recordParts([...f.records], {
      skip,
      maxEvents: 2,
      maxBytes: 1e9,
      record: (r) => ({ event: { raw: r, id: r }, bytes: r.length }),
    });
  }
}

async function read(v: Vendor, over: Partial<ReadContext> = {}, stopAfter = Number.POSITIVE_INFINITY) {
  const warnings: TributaryError[] = [];
  const ctx = readContext({} as never, {
    now: () => T0,
    window: { lookbackMs: 60 * min },
    warn: (w) => warnings.push(w),
    ...over,
  });
  const out: Batch<ArtifactListCheckpoint>[] = [];
  for await (const b of readArtifactList(ctx, v.options())) {
    out.push(b);
    if (out.length >= stopAfter) break;
  }
  return {
    out,
    warnings,
    ids: out.flatMap((b) => b.events.map((e) => e.id)),
    last: out.at(-1)?.checkpoint,
  };
}

describe('readArtifactList', () => {
  it('delivers every file of every listing page in order, then nothing new from the final position', async () => {
    const v = new Vendor();
    for (let i = 0; i < 5; i++) v.add(`f${i}`, T0 - 50 * min + i * min, 3);
    const r = await read(v);
    assert.deepEqual(
      r.ids,
      v.files.flatMap((f) => f.records),
    );
    assert.deepEqual(r.last, { after: v.files[4].end, done: ['f4'] });
    assert.equal(v.listings[0], iso(T0 - 60 * min), 'the first listing starts at the lookback');
    const again = await read(v, { checkpoint: r.last });
    assert.deepEqual(again.ids, []);
  });

  it('skips files the vendor lists again at the boundary', async () => {
    const v = new Vendor();
    v.reReturn = true;
    for (let i = 0; i < 4; i++) v.add(`f${i}`, T0 - 50 * min + i * min, 2);
    v.add('g', T0 - 47 * min, 2); // shares f3's end: both are the boundary of the last listing
    const r = await read(v);
    assert.deepEqual([...r.ids].sort(), v.files.flatMap((f) => f.records).sort());
    assert.equal(new Set(r.ids).size, r.ids.length);
  });

  it('resumes inside a file after the records already delivered, and at no other', async () => {
    const v = new Vendor();
    v.add('big', T0 - 30 * min, 7);
    const first = await read(v, {}, 2);
    assert.deepEqual(first.last, { after: iso(T0 - 60 * min), done: [], file: { id: 'big', records: 4 } });
    const rest = await read(v, { checkpoint: first.last });
    assert.deepEqual([...first.ids, ...rest.ids], v.files[0].records);
    assert.deepEqual(v.fetches, ['big@0', 'big@4']);
  });

  it('stops with pagination_loop when the vendor lists the same position again with nothing new', async () => {
    const v = new Vendor();
    v.add('f', T0 - 30 * min, 1);
    const first = await read(v);
    v.loop = true;
    await assert.rejects(
      read(v, { checkpoint: first.last }),
      (e: TributaryError) => e.code === 'pagination_loop',
    );
  });

  it('moves a position older than the retention up with a gap warning; a first run starts no earlier', async () => {
    const v = new Vendor();
    v.add('f', T0 - 30 * min, 1);
    const old = await read(v, { checkpoint: { after: iso(T0 - 40 * 86_400_000), done: ['x'] } });
    assert.deepEqual(
      old.warnings.map((w) => [w.code, w.type]),
      [['checkpoint_beyond_retention', 'gap']],
    );
    assert.match(old.warnings[0].message, /log files \(30d\)/);
    assert.equal(v.listings[0], iso(T0 - 30 * 86_400_000));
    v.listings.length = 0;
    const first = await read(v, { window: { lookbackMs: 90 * 86_400_000 } });
    assert.deepEqual(first.warnings, []);
    assert.equal(v.listings[0], iso(T0 - 30 * 86_400_000));
  });
});

describe('recordParts', () => {
  it('bounds parts by events and bytes, counts dead letters as consumed, and empties an array as it goes', async () => {
    const items: unknown[] = ['a', 'b', 7, 'cccccccccc', 'd'];
    const parts: ArtifactPart[] = [];
    for await (const p of recordParts(items, {
      skip: 1,
      maxEvents: 2,
      maxBytes: 8,
      record: (x, i) =>
        typeof x === 'string'
          ? { event: { raw: x, id: `${i}` }, bytes: x.length }
          : { deadLetter: { raw: x, reason: `record ${i} is not text` } },
    }))
      parts.push(p);
    assert.deepEqual(
      parts.map((p) => [p.events.map((e) => e.id), p.deadLetters?.map((d) => d.reason), p.records]),
      [
        [['1', '3'], ['record 2 is not text'], 3],
        [['4'], [], 1],
      ],
    );
    assert.deepEqual(items, ['a', undefined, undefined, undefined, undefined], 'skipped items are left');
  });

  it('marks a full part `more` once the next record is read; the last part is not marked', async () => {
    const read: number[] = [];
    async function* items() {
      for (let i = 0; i < 5; i++) {
        read.push(i);
        yield `r${i}`;
      }
    }
    const parts: Array<{ ids: string[]; more?: boolean; readBefore: number }> = [];
    for await (const p of recordParts(items(), {
      maxEvents: 2,
      maxBytes: 1e6,
      record: (x, i) => ({ event: { raw: x, id: `${i}` }, bytes: 1 }),
    }))
      parts.push({ ids: p.events.map((e) => e.id!), more: p.more, readBefore: read.length });
    assert.deepEqual(parts, [
      { ids: ['0', '1'], more: true, readBefore: 3 },
      { ids: ['2', '3'], more: true, readBefore: 5 },
      { ids: ['4'], more: undefined, readBefore: 5 },
    ]);
    // Ending on a full part: nothing follows it, so it is not marked.
    const even: ArtifactPart[] = [];
    for await (const p of recordParts(['a', 'b', 'c', 'd'], {
      maxEvents: 2,
      maxBytes: 1e6,
      record: (x, i) => ({ event: { raw: x, id: `${i}` }, bytes: 1 }),
    }))
      even.push(p);
    assert.deepEqual(
      even.map((p) => [p.events.length, p.more]),
      [
        [2, true],
        [2, undefined],
      ],
    );
  });

  it('deliverArtifact: a part marked `more` goes before the next is read; `release` empties its events', async () => {
    let asked = 0;
    async function* parts(): AsyncGenerator<ArtifactPart> {
      asked++;
      yield { events: [{ raw: 1, id: 'a' }], records: 1, more: true };
      asked++;
      yield { events: [{ raw: 2, id: 'b' }], records: 1 }; // unmarked: held until the end is known
      asked++;
      yield { events: [{ raw: 3, id: 'c' }], records: 2 };
    }
    const batches: Array<{ ids: string[]; checkpoint: string; askedBefore: number; pages?: number }> = [];
    const all: Batch<string>[] = [];
    for await (const b of deliverArtifact(
      parts(),
      10,
      (n) => `at ${n}`,
      () => 'done',
    )) {
      batches.push({
        ids: b.events.map((e) => e.id!),
        checkpoint: b.checkpoint,
        askedBefore: asked,
        pages: b.pages,
      });
      all.push(b);
    }
    assert.deepEqual(batches, [
      { ids: ['a'], checkpoint: 'at 11', askedBefore: 1, pages: undefined },
      { ids: ['b'], checkpoint: 'at 12', askedBefore: 3, pages: undefined },
      { ids: ['c'], checkpoint: 'done', askedBefore: 3, pages: 1 },
    ]);
    all[0].release?.();
    assert.deepEqual(all[0].events, [], 'released: its events let go');
    assert.equal(all[1].events.length, 1, 'the others untouched until released');
  });

  it('JSON Lines: bad lines are dead letters naming the artifact; skip counts them', async () => {
    async function* text() {
      yield new TextEncoder().encode('{"id":1}\nnot json\n{"id":2}\n{"id":3}\n');
    }
    const parts: ArtifactPart[] = [];
    for await (const p of jsonLineParts(text(), {
      skip: 1,
      label: 'log file f1',
      maxEvents: 10,
      maxBytes: 1e6,
      event: (v, t) => ({ raw: t, id: String((v as { id: number }).id) }),
    }))
      parts.push(p);
    assert.deepEqual(
      parts[0].events.map((e) => e.id),
      ['2', '3'],
    );
    assert.equal(parts[0].deadLetters?.[0].reason.startsWith('log file f1: '), true);
    assert.equal(parts[0].records, 3);
  });
});

describe('downloadArtifact', () => {
  const body = '{"a":1}\n{"a":2}\n';
  const sha = createHash('sha256').update(body).digest('hex');
  let corruptions = 0;
  const seen: Array<{ path: string; auth: string | undefined }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    if (req.url === '/files/f1') return res.writeHead(307, { location: '/signed/f1?sig=x' }).end();
    if (req.url?.startsWith('/signed/')) {
      if (req.headers.authorization) return res.writeHead(400).end('two auth mechanisms');
      const sent = corruptions-- > 0 ? body.replace('2', '3') : body;
      return res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(sent);
    }
    if (req.url === '/lists/l1')
      return res.writeHead(200, { etag: '"v7"', 'last-modified': 'Mon, 07 Dec 2026 06:00:00 GMT' }).end(body);
    if (req.url === '/lists/plain') return res.writeHead(200).end(body);
    res.writeHead(404).end();
  });
  let base = '';
  // A temporary directory of this test's own: other test files (and other processes on the machine) make and
  // remove their artifacts in the shared one at the same time.
  const sharedTmp = process.env.TMPDIR;
  const ownTmp = mkdtempSync(join(tmpdir(), 'artifact-test-'));
  before(async () => {
    process.env.TMPDIR = ownTmp;
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    if (sharedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = sharedTmp;
    rmSync(ownTmp, { recursive: true, force: true });
    server.close();
  });

  const http = () =>
    new Http({
      vendor: 'Fake',
      backoffBaseMs: 1,
      authorize: async (h) => {
        h.set('authorization', 'Bearer secret');
      },
    });
  const artifacts = () => readdirSync(ownTmp).filter((n) => n.startsWith('tributary-artifact-'));

  async function download(sha256: string) {
    const ctx = readContext(http());
    const chunks: string[] = [];
    for await (const c of downloadArtifact(ctx, {
      url: `${base}/files/f1`,
      signedRedirect: true,
      sha256,
      label: 'Log file f1',
    }))
      chunks.push(Buffer.from(c).toString());
    return chunks.join('');
  }

  it('follows the signed redirect without credentials, checks the sha256, and removes its temporary file', async () => {
    const before = artifacts().length;
    seen.length = 0;
    assert.equal(await download(sha), body);
    assert.deepEqual(
      seen.map((s) => [s.path.split('?')[0], s.auth !== undefined]),
      [
        ['/files/f1', true],
        ['/signed/f1', false],
      ],
    );
    assert.equal(artifacts().length, before);
  });

  it('downloads again when the bytes do not match, and fails after the last attempt', async () => {
    corruptions = 1;
    assert.equal(await download(sha), body, 'the second attempt matched');
    corruptions = DOWNLOAD_ATTEMPTS;
    const before = artifacts().length;
    await assert.rejects(
      download(sha),
      (e: TributaryError) => e.code === 'checksum_mismatch' && /Log file f1/.test(e.message),
    );
    assert.equal(corruptions, 0, `${DOWNLOAD_ATTEMPTS} attempts`);
    assert.equal(artifacts().length, before, 'no temporary file left behind');
  });

  it("openArtifact tells the download's sha256 and the server's validators before its bytes are read", async () => {
    const before = artifacts().length;
    const file = await openArtifact(readContext(http()), { url: `${base}/lists/l1`, label: 'List l1' });
    assert.deepEqual(
      { sha256: file.sha256, etag: file.etag, lastModified: file.lastModified },
      { sha256: sha, etag: '"v7"', lastModified: 'Mon, 07 Dec 2026 06:00:00 GMT' },
    );
    const chunks: string[] = [];
    for await (const c of file.chunks()) chunks.push(Buffer.from(c).toString());
    assert.equal(chunks.join(''), body);
    await file.close();
    assert.equal(artifacts().length, before, 'closing removes the temporary file');
    const plain = await openArtifact(readContext(http()), { url: `${base}/lists/plain`, label: 'List' });
    assert.equal(plain.sha256, sha);
    assert.ok(!('etag' in plain) && !('lastModified' in plain), 'no validators when the server gives none');
    await plain.close();
  });

  it('ends at once on a config error', async () => {
    let calls = 0;
    const ctx = readContext({
      request: async () => {
        calls++;
        throw Object.assign(transientError('x', 'y', 'z'), { type: 'config' });
      },
    } as never);
    await assert.rejects(
      (async () => {
        for await (const _ of downloadArtifact(ctx, { url: `${base}/files/f1`, label: 'f' })) void _;
      })(),
    );
    assert.equal(calls, 1);
  });
});

describe('csvParts', () => {
  const text = ['"A","B"', '"1","x, ""y"""', '"2","multi\nline"', '"3"', '"4","z"', ''].join('\n');
  // Chunks cut anywhere, also inside a quoted field.
  const chunks = async function* () {
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += 5) yield b.subarray(i, i + 5);
  };
  const read = async (skip: number, maxEvents: number) => {
    const parts: ArtifactPart[] = [];
    for await (const p of csvParts(chunks(), {
      skip,
      label: 'file f1',
      maxEvents,
      maxBytes: 1 << 20,
      event: (row, i) => ({ raw: row, id: `f1:${i}` }),
    }))
      parts.push(p);
    return parts;
  };

  it('names each row by the header, keeping quoted commas, quotes and line breaks', async () => {
    const parts = await read(0, 2);
    const events = parts.flatMap((p) => p.events);
    assert.ok(
      events.every((e) => e.raw instanceof RawJson),
      'each row waits in its part as JSON text, its object gone',
    );
    assert.deepEqual(
      events.map((e) => ({ ...e, raw: JSON.parse((e.raw as RawJson).text) })),
      [
        { raw: { A: '1', B: 'x, "y"' }, id: 'f1:0' },
        { raw: { A: '2', B: 'multi\nline' }, id: 'f1:1' },
        { raw: { A: '4', B: 'z' }, id: 'f1:3' },
      ],
    );
    assert.deepEqual(
      parts.flatMap((p) => p.deadLetters ?? []).map((d) => d.reason),
      ['file f1: a CSV row with 1 fields where the header names 2'],
    );
    assert.equal(
      parts.reduce((n, p) => n + p.records, 0),
      4,
    );
  });

  it('resumes after the rows delivered before a restart', async () => {
    const parts = await read(2, 10);
    assert.deepEqual(
      parts.flatMap((p) => p.events.map((e) => e.id)),
      ['f1:3'],
    );
  });
});
