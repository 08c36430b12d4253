import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutate, randomValue, rng, spell } from '../../../test/support/json-fuzz.ts';
import { hashId, RawJson, toIsoTime } from '../../core/envelope.ts';
import type { BodyFormat, DeadLetter } from '../../core/source.ts';
import {
  BodyError,
  NO_LIMITS,
  type RecordSink,
  readRecords,
  SCAN_MAX_BYTES,
  type SplitLimits,
} from './body.ts';
import { type PushSettings, settingsReceive } from './push-source.ts';

/**
 * A pushed body read two ways (`readRecords`): split as text and parsed, or — given the top-level keys
 * the collector reads — scanned whole. Whatever the body, both must give the same events (line, id,
 * time), the same dead letters and the same refusal; only bodies of valid JSON objects within the limits
 * may be scanned, and those must be.
 */

interface Outcome {
  events: Array<{ line: string; id: string; time: string | undefined }>;
  deadLetters: DeadLetter[];
  refused?: string;
  /** Records handed on scanned. */
  scanned: number;
}

interface ReadOptions {
  format?: BodyFormat;
  limits?: SplitLimits;
  idPath?: string;
  timePath?: string;
  /** Read with the keys the settings name (scanned when possible), else split as text. */
  scan: boolean;
  /** Bytes per chunk the body arrives in. */
  chunk?: number;
}

async function* chunks(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

async function read(body: string | Buffer, o: ReadOptions): Promise<Outcome> {
  const s = { idPath: o.idPath ?? 'uuid', timePath: o.timePath ?? 'published' } as PushSettings;
  const out: Outcome = { events: [], deadLetters: [], scanned: 0 };
  const event = (line: string, from: unknown, hash: () => string) =>
    out.events.push({
      line,
      id: settingsReceive.eventId(from, s) ?? hash(),
      time: toIsoTime(settingsReceive.eventTime(from, s)),
    });
  const sink: RecordSink = {
    record: (value, text) =>
      event(text === undefined ? JSON.stringify(value) : new RawJson(text).line, value, () => hashId(value)),
    scanned: (raw, fields) => {
      out.scanned++;
      event(raw.line, fields, () => hashId(raw));
    },
  };
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  try {
    out.deadLetters = await readRecords(
      chunks(bytes, o.chunk ?? 64 * 1024),
      o.format ?? 'json',
      o.limits ?? NO_LIMITS,
      sink,
      o.scan ? settingsReceive.fields!(s) : undefined,
    );
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    out.refused = `${err.status} ${err.code}`;
    out.events = [];
    out.deadLetters = [];
  }
  return out;
}

/** Reads `body` both ways; returns the scanned outcome after checking it against the parsed one. */
async function same(body: string | Buffer, o: Omit<ReadOptions, 'scan'> = {}): Promise<Outcome> {
  const parsed = await read(body, { ...o, scan: false });
  const scanned = await read(body, { ...o, scan: true });
  assert.equal(parsed.scanned, 0);
  assert.deepEqual(
    { ...scanned, scanned: 0 },
    parsed,
    `the same outcome both ways for ${JSON.stringify(body.toString().slice(0, 300))}`,
  );
  return scanned;
}

const obj = (o: unknown) => JSON.stringify(o);

describe('pushed bodies scanned instead of parsed (readRecords)', () => {
  it('a body of JSON objects is scanned: the same events as parsing it', async () => {
    const bodies: Array<[string, Omit<ReadOptions, 'scan'>?]> = [
      [
        '{"uuid":"a-1","published":"2026-01-01T00:00:00Z","x":1}\n{"uuid":7,"published":1700000000}\r\n{"published":"1700000000123","n":12345678901234567890}\n',
      ],
      ['{"uuid":"a\\"b\\u00e9\\/","m":"日本 😀 \\u2028"}\n{"uu\\u0069d":"escaped key"}'],
      ['{"uuid":"first","published":1,"uuid":"second","published":"2026-02-02T00:00:00.000Z"}'],
      ['{"uuid":"s1"}{"uuid":"s2"} {"uuid":"s3"}\t{"uuid":""}{"uuid":null}{"uuid":{"x":1}}'],
      ['[{"uuid":"a1"}, {"uuid":"a2"} ]\n[]\n[ {"uuid":"a3"}\n,\n{"uuid":"a4"}]{"uuid":"o"}'],
      [
        `${JSON.stringify({ uuid: 'p1', deep: { list: [1, { a: 'b' }] } }, null, 2)}\n${JSON.stringify([{ uuid: 'p2' }], null, '\t')}`,
      ],
      [
        '{"actor":{"id":"n-1","name":"x"},"at":"2026-03-03T03:03:03+02:00"}\n{"actor":"flat"}\n{"actor":{"id":5}}\n{"at":5}',
        { idPath: 'actor.id', timePath: 'at' },
      ],
      ['{"__proto__":{"id":"p"},"uuid":"proto"}\n{"uuid":"plain"}', { idPath: '__proto__.id' }],
      ['{"uuid":"c"}', { idPath: 'constructor', timePath: 'toString' }],
      ['{"uuid":"a"}\n{"uuid":"b"}', { format: 'auto' }],
      ['  \n\t[ ]  [] \n'],
      [''],
    ];
    for (const [body, o] of bodies) {
      const out = await same(body, o);
      assert.equal(out.scanned, out.events.length, `every record scanned: ${body}`);
    }
    const out = await same('{"uuid":"a-1","published":1700000000}\n{"published":2}');
    assert.deepEqual(out.events[0], {
      line: '{"uuid":"a-1","published":1700000000}',
      id: 'a-1',
      time: '2023-11-14T22:13:20.000Z',
    });
    assert.match(out.events[1]!.id, /^h:/, 'no id: a hash of the record, as when parsed');
    const pretty = await same(JSON.stringify({ uuid: 'p', a: [1, 2] }, null, 2));
    assert.equal(pretty.events[0]!.line, '{  "uuid": "p",  "a": [    1,    2  ]}', 'on one line');
  });

  it('any other body is split as text, with the same records, dead letters and refusals', async () => {
    const bodies: Array<[string | Buffer, Omit<ReadOptions, 'scan'>?]> = [
      ['\ufeff{"uuid":"bom"}'],
      [Buffer.concat([Buffer.from('{"uuid":"a"}\n{"uuid":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])],
      ['{"uuid":"a"}\n42\n"text"\n{"uuid":"b"}'],
      ['[{"uuid":"a"}, 3, [1], null]'],
      ['[{"uuid":"a"},]'],
      ['{"uuid":"a"}\n{"uuid":"b",}\n{"uuid":"c"}'],
      ['{"uuid":"a"}\nnot json\n'],
      ['{"uuid":"a"}\n{"uuid":'],
      ['{"uuid":"a"}\n{"uuid":"b"}', { format: 'raw' }],
      ['plain text line', { format: 'auto' }],
      ['{"a":1}', { limits: { ...NO_LIMITS, maxRecords: 0 } }],
    ];
    for (const [body, o] of bodies) assert.equal((await same(body, o)).scanned, 0, `split: ${body}`);
  });

  it('limits: a body just within them is scanned; one just over them is split, and answered the same', async () => {
    const limits = (l: Partial<SplitLimits>) => ({ limits: { ...NO_LIMITS, ...l } });
    // Depth: the record's own braces count; a top-level array around records does not.
    const depth3 = '{"uuid":"d","a":{"b":[1]}}';
    const depth4 = '{"uuid":"d","a":{"b":[{}]}}';
    assert.equal((await same(`${depth3}\n[${depth3}]`, limits({ maxDepth: 3 }))).scanned, 2);
    assert.equal((await same(`${depth3}\n${depth4}`, limits({ maxDepth: 3 }))).scanned, 0);
    assert.equal((await same(`[${depth3},${depth4}]`, limits({ maxDepth: 3 }))).scanned, 0);
    // Size: a record of exactly maxRecordChars, then one over it (an array element counts to its comma).
    const record = '{"uuid":"size-12345"}';
    const n = record.length;
    assert.equal((await same(`${record}\n[${record}]`, limits({ maxRecordChars: n }))).scanned, 2);
    assert.equal((await same(`${record}\n${record} `, limits({ maxRecordChars: n - 1 }))).scanned, 0);
    assert.equal((await same(`[${record}  ,${record}]`, limits({ maxRecordChars: n + 1 }))).scanned, 0);
    // Count: exactly maxRecords, then one more (413, nothing accepted).
    assert.equal((await same(`${record}\n${record}`, limits({ maxRecords: 2 }))).scanned, 2);
    const over = await same(`${record}\n[${record},${record}]`, limits({ maxRecords: 2 }));
    assert.equal(over.refused, '413 too_many_records');
  });

  it(`a body of more than ${SCAN_MAX_BYTES / 1024 / 1024} MB is split as it arrives, none of it lost`, async () => {
    const lines = Array.from({ length: 12_000 }, (_, i) => obj({ uuid: `big-${i}`, pad: 'x'.repeat(80) }));
    const body = `${lines.join('\n')}\n`;
    assert.ok(Buffer.byteLength(body) > SCAN_MAX_BYTES);
    for (const chunk of [1000, 64 * 1024, 4 * 1024 * 1024]) {
      const out = await same(body, { chunk });
      assert.equal(out.scanned, 0);
      assert.equal(out.events.length, 12_000);
      assert.equal(out.events.at(-1)!.id, 'big-11999');
    }
    // Just within: scanned whole, whatever the chunks it came in.
    const within = lines.slice(0, 8_000).join('\n');
    assert.ok(Buffer.byteLength(within) <= SCAN_MAX_BYTES);
    assert.equal((await same(within, { chunk: 777 })).scanned, 8_000);
  });

  it('fuzz: random and damaged bodies give the same outcome both ways', async () => {
    const next = rng(Number(process.env.FUZZ_SEED ?? 20261208));
    let scanned = 0;
    let split = 0;
    const cases = Number(process.env.FUZZ_CASES ?? 3000);
    for (let c = 0; c < cases; c++) {
      const records = Array.from({ length: Math.floor(next() * 5) }, () =>
        next() < 0.85 ? { ...(randomValue(next, 2) as object), uuid: `r-${c}` } : randomValue(next),
      );
      const framing = Math.floor(next() * 4);
      let body =
        framing === 0
          ? records.map((r) => spell(r, next)).join('\n')
          : framing === 1
            ? spell(records, next)
            : framing === 2
              ? records.map((r) => spell(r, next)).join('')
              : records.map((r) => spell([r], next)).join(next() < 0.5 ? '\r\n' : ' ');
      if (next() < 0.4) body = mutate(body, next);
      const limits: SplitLimits = {
        maxDepth: 1 + Math.floor(next() * 6),
        maxRecords: next() < 0.2 ? Math.floor(next() * 4) : 100,
        maxRecordChars: next() < 0.3 ? 5 + Math.floor(next() * 200) : 1e6,
      };
      const out = await same(body, {
        limits,
        chunk: 1 + Math.floor(next() * 64),
        timePath: next() < 0.2 ? 'missing.path' : 'published',
      });
      if (out.scanned) scanned++;
      else split++;
    }
    // Both ways were exercised (the fuzz would prove nothing if every body went one of them).
    assert.ok(scanned > cases / 5 && split > cases / 5, `${scanned} scanned, ${split} split`);
  });
});
