import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template, TemplateError } from './template.ts';

const vars = { 'window.start': 'time', 'window.end': 'time', cursor: 'string', offset: 'number' } as const;
const start = Date.parse('2026-11-25T10:00:00.250Z');
const values = { 'window.start': start, 'window.end': start + 3_600_000, cursor: 'a"b\\c', offset: 40 };

const render = (text: string, o: Parameters<Template['render']>[1] = {}, v: object = values) =>
  Template.compile(text, vars).render(v as never, o);

describe('template language', () => {
  it('renders times in ISO, ISO seconds, epoch seconds, epoch ms and patterns', () => {
    assert.equal(render('{{window.start}}'), '2026-11-25T10:00:00.250Z');
    assert.equal(render('{{ window.start | iso }}'), '2026-11-25T10:00:00.250Z');
    assert.equal(render('{{window.start|iso_seconds}}'), '2026-11-25T10:00:00Z');
    assert.equal(render('{{window.end | epoch_s}}'), String(Math.floor((start + 3_600_000) / 1000)));
    assert.equal(render('{{window.end | epoch_ms}}'), String(start + 3_600_000));
    assert.equal(render('{{window.start | format:"%d/%m/%Y %H:%M"}}'), '25/11/2026 10:00');
    assert.equal(
      render("{{window.start | format:'%Y-%m-%dT%H:%M:%S%z'}}", { zone: 'Europe/Berlin' }),
      '2026-11-25T11:00:00+0100',
    );
    assert.equal(render('since={{window.start|epoch_s}}&x=1'), `since=${Math.floor(start / 1000)}&x=1`);
  });

  it('escapes for the place the text goes: URL, JSON string, or a JSON literal with json', () => {
    assert.equal(render('/items/{{cursor}}', { context: 'url' }), '/items/a%22b%5Cc');
    assert.equal(render('{"after":"{{cursor}}"}', { context: 'json' }), '{"after":"a\\"b\\\\c"}');
    assert.deepEqual(JSON.parse(render('{"after":{{cursor | json}}}', { context: 'json' })), {
      after: 'a"b\\c',
    });
    assert.deepEqual(
      JSON.parse(render('{"after":{{cursor|json}},"from":{{offset | json}}}', { context: 'json' }, {})),
      { after: null, from: null },
      'empty values are null',
    );
    assert.deepEqual(JSON.parse(render('{"from":{{offset|json}}}', { context: 'json' })), { from: 40 });
    assert.equal(render('{"from":{{offset}}}', { context: 'json' }), '{"from":40}');
    assert.equal(render('c={{cursor}}', {}, {}), 'c=', 'an empty value renders as nothing');
  });

  it('keeps braces that are not placeholders', () => {
    assert.equal(render('{"a":{"b":{{offset}}}}', { context: 'json' }), '{"a":{"b":40}}');
    assert.equal(render('{{{offset}}}'), '{40}');
    assert.equal(render('plain text'), 'plain text');
    assert.equal(Template.compile('x', vars).isStatic, true);
    assert.deepEqual(
      [...Template.compile('{{cursor}}{{window.end}}', vars).variables],
      ['cursor', 'window.end'],
    );
  });

  it('refuses unknown variables and filters, bad syntax and misplaced filters with clear messages', () => {
    const err = (text: string) => {
      try {
        Template.compile(text, vars);
      } catch (e) {
        assert.ok(e instanceof TemplateError);
        return e.message;
      }
      assert.fail(`"${text}" compiled`);
    };
    assert.match(
      err('{{window.begin}}'),
      /unknown variable \{\{window\.begin\}\} \(known here: window\.start/,
    );
    assert.match(err('{{window.start | upper}}'), /unknown filter "upper"/);
    assert.match(err('{{cursor | epoch_s}}'), /formats a time; cursor is not a time/);
    assert.match(err('{{window.start | format}}'), /needs a pattern/);
    assert.match(err('{{window.start | format:"%Q"}}'), /unknown directive %Q/);
    assert.match(err('{{window.start | iso:"x"}}'), /takes no argument/);
    assert.match(err('{{cursor | json | json}}'), /last filter/);
    assert.match(err('since={{window.start'), /never closed/);
    assert.match(err('{{ 1+1 }}'), /expected a variable name/);
    assert.match(err('{{ process.env.HOME }}'), /unknown variable/);
    assert.throws(() => Template.compile('{{cursor}}', {}), /no variables are available here/);
  });
});
