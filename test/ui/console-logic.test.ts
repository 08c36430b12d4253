import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sources } from '../../src/sources/index.ts';
import { parseBlocks, spans } from '../../ui/src/markdown-blocks.ts';
import { matchZones, RENAMED, timeZones } from '../../ui/src/time-zones.ts';

/**
 * The console's logic that needs no browser: the setup guides' Markdown (ui/src/markdown-blocks.ts)
 * and the time zone list (ui/src/time-zones.ts). newcomer.test.ts drives both in Chromium.
 */

describe('setup guides as Markdown', () => {
  it('joins hard-wrapped lines: a sentence is never broken in two', () => {
    assert.deepEqual(parseBlocks('Collects from any API\nthat filters by time.\n\nSecond paragraph.'), [
      { kind: 'p', text: 'Collects from any API that filters by time.' },
      { kind: 'p', text: 'Second paragraph.' },
    ]);
  });

  it('lists: numbered and bulleted, items continued on indented lines, prose after them', () => {
    assert.deepEqual(
      parseBlocks(
        [
          'You need owner access.',
          '1. In ChatGPT: copy the',
          '   **Organization ID**.',
          '2. Create a key.',
          'Then this collector.',
          '- one',
          '- two',
        ].join('\n'),
      ),
      [
        { kind: 'p', text: 'You need owner access.' },
        {
          kind: 'list',
          ordered: true,
          start: 1,
          items: ['In ChatGPT: copy the **Organization ID**.', 'Create a key.'],
        },
        { kind: 'p', text: 'Then this collector.' },
        { kind: 'list', ordered: false, start: 1, items: ['one', 'two'] },
      ],
    );
  });

  it('code blocks keep their lines; headings', () => {
    assert.deepEqual(parseBlocks('## Setup\n```\na: 1\n  b: 2\n```'), [
      { kind: 'h', level: 2, text: 'Setup' },
      { kind: 'code', text: 'a: 1\n  b: 2' },
    ]);
  });

  it('inline: bold, emphasis, code and http(s) links only; HTML stays text', () => {
    assert.deepEqual(spans('**Read-Only Administrator** with `logs:read` and *care*'), [
      { kind: 'strong', children: [{ kind: 'text', text: 'Read-Only Administrator' }] },
      { kind: 'text', text: ' with ' },
      { kind: 'code', text: 'logs:read' },
      { kind: 'text', text: ' and ' },
      { kind: 'em', children: [{ kind: 'text', text: 'care' }] },
    ]);
    assert.deepEqual(spans('[docs](https://developer.okta.com/docs/)'), [
      { kind: 'link', href: 'https://developer.okta.com/docs/', children: [{ kind: 'text', text: 'docs' }] },
    ]);
    const plain = (t: string) => {
      const out = spans(t);
      assert.ok(
        out.every((x) => x.kind === 'text'),
        JSON.stringify(out),
      );
      return out.map((x) => (x as { text: string }).text).join('');
    };
    assert.equal(
      plain('[click](javascript:alert(1))'),
      '[click](javascript:alert(1))',
      'no javascript: link',
    );
    assert.equal(plain('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>', 'HTML is text');
    assert.deepEqual(
      spans('a*b*c 2 * 3'),
      [{ kind: 'text', text: 'a*b*c 2 * 3' }],
      'no emphasis inside words',
    );
  });

  it("every source's guide parses into prose and lists, none with a paragraph that is really a list", () => {
    for (const s of Object.values(sources)) {
      const blocks = parseBlocks(s.setupGuide);
      assert.ok(blocks.length, s.id);
      for (const b of blocks)
        if (b.kind === 'p') assert.doesNotMatch(b.text, /(^|\s)\d+\.\s+\S.*\s\d+\.\s/, `${s.id}: ${b.text}`);
    }
  });
});

describe('time zones', () => {
  const zones = timeZones(new Date('2026-01-15T12:00:00Z'));

  it('lists current IANA names, once each, UTC first, with offsets', () => {
    const names = zones.map((z) => z.name);
    assert.equal(names[0], 'UTC');
    assert.equal(new Set(names).size, names.length);
    for (const old of Object.keys(RENAMED)) assert.ok(!names.includes(old), `${old} is listed`);
    for (const current of Object.values(RENAMED)) assert.ok(names.includes(current), `${current} is missing`);
    const kolkata = zones.find((z) => z.name === 'Asia/Kolkata')!;
    assert.deepEqual(kolkata, {
      name: 'Asia/Kolkata',
      offset: 'UTC+05:30',
      minutes: 330,
      aliases: ['Asia/Calcutta'],
    });
    assert.equal(zones.find((z) => z.name === 'America/New_York')!.offset, 'UTC-05:00', 'winter time');
    assert.equal(zones.find((z) => z.name === 'UTC')!.offset, 'UTC±00:00');
    for (const z of zones) assert.match(z.offset, /^UTC([+-]\d{2}:\d{2}|±00:00)$/, z.name);
  });

  it('each current name is one the runtime accepts (the server validates with it)', () => {
    for (const name of Object.values(RENAMED))
      assert.doesNotThrow(() => new Intl.DateTimeFormat('en', { timeZone: name }), name);
  });

  it('finds zones by city, region, old name or offset', () => {
    const found = (q: string) => matchZones(zones, q).map((z) => z.name);
    assert.ok(found('new york').includes('America/New_York'));
    assert.deepEqual(found('calcutta'), ['Asia/Kolkata']);
    assert.deepEqual(found('saigon'), ['Asia/Ho_Chi_Minh']);
    assert.deepEqual(found('+05:45'), ['Asia/Kathmandu']);
    assert.deepEqual(found('UTC+5:30'), ['Asia/Colombo', 'Asia/Kolkata']);
    assert.ok(found('utc-3').includes('America/Sao_Paulo'));
    assert.equal(found('').length, zones.length);
    assert.deepEqual(found('atlantis'), []);
  });
});
