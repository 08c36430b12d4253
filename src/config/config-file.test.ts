import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from './config-file.ts';

const VALID = `
sites: [hq]
accounts:
  okta-main: { kind: okta, url: "https://acme.okta.com", token: "\${env:OKTA_TOKEN}" }
  openai-compliance: { kind: openai, apiKey: "\${env:OPENAI_COMPLIANCE_KEY}", organizationId: "org-AbC123" }
destinations:
  local: { kind: file, path: ./out/events.ndjson }
collectors:
  okta-prod:
    source: okta
    account: okta-main
    destinations: [local]
    interval: 1m
    lookback: 7d
    site: hq
    timezone: Europe/Berlin
  chatgpt:
    source: chatgpt-enterprise
    account: openai-compliance
    destinations: [local]
    settings: { workspaceId: "3f0c2a8e-1b7d-4c39-9a51-6e2f0d4b8c17", eventTypes: [AUDIT_LOG, AUTH_LOG] }
`;
const env = { OKTA_TOKEN: 'okta-secret', OPENAI_COMPLIANCE_KEY: 'sk-secret' };

function issues(text: string, e: NodeJS.ProcessEnv = env): string[] {
  try {
    parseConfig(text, { baseDir: '/tmp', env: e });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues;
  }
  assert.fail('expected the config to be refused');
}

describe('config file', () => {
  it('parses the documented example, resolving secrets and applying defaults', () => {
    const c = parseConfig(VALID, { baseDir: '/tmp', env });
    assert.equal(c.accounts['okta-main'].fields.token, 'okta-secret');
    assert.equal(c.accounts['okta-main'].fields.url, 'https://acme.okta.com');
    assert.equal(c.collectors['okta-prod'].timezone, 'Europe/Berlin');
    assert.equal(c.collectors.chatgpt.interval, '5m');
    // an older config's eventTypes are the collector's streams now (one place to choose the log types)
    assert.deepEqual(c.collectors.chatgpt.streams, ['AUDIT_LOG', 'AUTH_LOG']);
    assert.equal(c.collectors.chatgpt.settings.eventTypes, undefined);
    assert.equal(c.collectors.chatgpt.settings.includeMessageContent, false);
  });

  it('ChatGPT log types: streams is the one place; an older eventTypes is read as the streams, never both', () => {
    const modern = parseConfig(
      VALID.replace(', eventTypes: [AUDIT_LOG, AUTH_LOG] }', ' }\n    streams: [AUTH_LOG]'),
      { baseDir: '/tmp', env },
    );
    assert.deepEqual(modern.collectors.chatgpt.streams, ['AUTH_LOG']);
    assert.deepEqual(
      parseConfig(VALID.replace('AUTH_LOG] }\n', 'AUTH_LOG] }\n    streams: [AUTH_LOG, AUDIT_LOG]\n'), {
        baseDir: '/tmp',
        env,
      }).collectors.chatgpt.streams,
      ['AUTH_LOG', 'AUDIT_LOG'],
      'the same list twice is no conflict',
    );
    const both = issues(VALID.replace('AUTH_LOG] }\n', 'AUTH_LOG] }\n    streams: [AUDIT_LOG]\n'));
    assert.deepEqual(both, [
      'collectors.chatgpt.settings.eventTypes: the older way to choose the streams, and it names others than streams: keep streams only',
    ]);
    const conversations = issues(
      VALID.replace(
        ', eventTypes: [AUDIT_LOG, AUTH_LOG] }',
        ' }\n    streams: [AUDIT_LOG, CONVERSATION_MESSAGE]',
      ),
    );
    assert.ok(
      conversations.some((i) =>
        i.startsWith(
          'collectors.chatgpt.settings.includeMessageContent: the CONVERSATION_MESSAGE stream carries',
        ),
      ),
      conversations.join('\n'),
    );
  });

  it('reads ${file:PATH} relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-cfg-'));
    writeFileSync(join(dir, 'token.txt'), 'from-file\n');
    const c = parseConfig(VALID.replace('${env:OKTA_TOKEN}', '${file:token.txt}'), { baseDir: dir, env });
    assert.equal(c.accounts['okta-main'].fields.token, 'from-file');
  });

  it('names a missing environment variable, without any secret value', () => {
    const found = issues(VALID, { OPENAI_COMPLIANCE_KEY: 'sk-secret' });
    assert.deepEqual(found, ['accounts.okta-main.token: environment variable OKTA_TOKEN is not set']);
  });

  it('refuses an interval under 10s, naming the field', () => {
    for (const v of ['0s', '0ms', '9s', '9999ms'])
      assert.deepEqual(issues(VALID.replace('interval: 1m', `interval: ${v}`)), [
        `collectors.okta-prod.interval: expected an interval of at least 10s, got ${v}`,
      ]);
    for (const v of ['10s', '10000ms', '1h']) {
      const c = parseConfig(VALID.replace('interval: 1m', `interval: ${v}`), { baseDir: '/tmp', env });
      assert.equal(c.collectors['okta-prod']!.interval, v);
    }
  });

  it('reports every problem with its path', () => {
    const bad = VALID.replace('workspaceId: "3f0c2a8e-1b7d-4c39-9a51-6e2f0d4b8c17", ', '')
      .replace('timezone: Europe/Berlin', 'timezone: Mars/Olympus')
      .replace('site: hq', 'site: branch')
      .replace('interval: 1m', 'interval: often')
      .replace('destinations: [local]\n    settings', 'destinations: [nowhere]\n    settings');
    const found = issues(bad);
    for (const expected of [
      'collectors.chatgpt.settings.workspaceId: required',
      'collectors.okta-prod.timezone: expected an IANA time zone such as Europe/Berlin or UTC',
      'collectors.okta-prod.interval: expected an interval such as 30s, 5m, 1h or 7d',
      'collectors.chatgpt.destinations.0: no destination named "nowhere"',
    ]) {
      assert.ok(found.includes(expected), `${expected}\n  in ${found.join('\n  ')}`);
    }
  });

  it('refuses plain http except for loopback hosts, and unknown fields', () => {
    const found = issues(
      VALID.replace('https://acme.okta.com', 'http://acme.okta.com').replace('interval: 1m', 'intervall: 1m'),
    );
    assert.ok(
      found.some((i) =>
        i.startsWith('accounts.okta-main.url: plain http:// is accepted only for loopback hosts'),
      ),
      found.join('\n'),
    );
    assert.ok(
      found.some((i) => i.startsWith('collectors.okta-prod') && i.includes('intervall')),
      found.join('\n'),
    );
    const ok = parseConfig(VALID.replace('https://acme.okta.com', 'http://127.0.0.1:9999'), {
      baseDir: '/tmp',
      env,
    });
    assert.equal(ok.accounts['okta-main'].fields.url, 'http://127.0.0.1:9999');
  });

  it('checks account kinds against the source and settings.baseUrl like any URL', () => {
    const found = issues(
      VALID.replace('account: okta-main', 'account: openai-compliance').replace(
        'eventTypes: [AUDIT_LOG, AUTH_LOG]',
        'eventTypes: [AUDIT_LOG], baseUrl: "http://evil.example"',
      ),
    );
    assert.ok(
      found.includes(
        'collectors.okta-prod.account: accounts.openai-compliance is an openai account; the okta source needs an okta account',
      ),
      found.join('\n'),
    );
    assert.ok(
      found.some((i) => i.startsWith('collectors.chatgpt.settings.baseUrl: plain http://')),
      found.join('\n'),
    );
  });

  it('requires an explicit opt-in for conversation content', () => {
    const found = issues(
      VALID.replace('eventTypes: [AUDIT_LOG, AUTH_LOG]', 'eventTypes: [CONVERSATION_MESSAGE]'),
    );
    assert.ok(
      found.some((i) =>
        i.startsWith(
          'collectors.chatgpt.settings.includeMessageContent: the CONVERSATION_MESSAGE stream carries',
        ),
      ),
      found.join('\n'),
    );
  });

  it('refuses a masked value where a secret goes, naming the field', () => {
    const masked = VALID.replace('"${env:OKTA_TOKEN}"', '"••••8b9c"').replace(
      'destinations:\n  local:',
      'destinations:\n  siem: { kind: http, url: "https://siem.example", auth: { type: bearer, token: "••••" } }\n  local:',
    );
    const found = issues(masked);
    assert.ok(
      found.some((i) => /^accounts\.okta-main\.token: a masked value/.test(i)),
      found.join('\n'),
    );
    assert.ok(
      found.some((i) => /^destinations\.siem\.auth\.token: a masked value/.test(i)),
      found.join('\n'),
    );
  });

  it("binds its own collectors' URLs to the accounts it defines, and only those", () => {
    const c = parseConfig(
      VALID.replace(
        '    site: hq\n',
        '    site: hq\n    settings: { baseUrl: "https://okta-proxy.example:8443" }\n',
      ),
      { baseDir: '/tmp', env },
    );
    assert.deepEqual(c.accounts['okta-main']?.origins, ['https://okta-proxy.example:8443']);
    assert.equal(c.accounts['openai-compliance']?.origins, undefined, 'the vendor default needs no binding');
  });

  it('refuses YAML that does not parse, and unknown sources', () => {
    assert.match(issues('collectors: [unclosed')[0], /not valid YAML/);
    assert.ok(
      issues(VALID.replace('source: okta', 'source: oktaa')).includes(
        'collectors.okta-prod.source: unknown source "oktaa" (did you mean "okta"?) (see `tributary sources`)',
      ),
    );
  });

  it('reports every problem in one pass, in plain words (the issue 12 file)', () => {
    const text = [
      'sites: [hq]',
      'accounts:',
      '  o: { kind: slack, token: "xoxp-1" }',
      'destinations:',
      '  local: { kind: file, path: ./out/events.ndjson }',
      'collectors:',
      '  okta-1:',
      '    source: okta',
      '    account: o',
      '    destinations: [local]',
      '    interval: often',
      '    timezone: Mars/Olympus',
      '    intervall: 5m',
      '    site: branch',
      '    settings: { limit: 5000, bogus: true }',
    ].join('\n');
    assert.deepEqual(issues(text), [
      'collectors.okta-1.interval: expected an interval such as 30s, 5m, 1h or 7d',
      'collectors.okta-1.timezone: expected an IANA time zone such as Europe/Berlin or UTC',
      'collectors.okta-1: unknown key "intervall" (did you mean "interval"?)',
      'collectors.okta-1.account: accounts.o is a slack account; the okta source needs an okta account',
      'collectors.okta-1.site: "branch" is not among sites (hq)',
      'collectors.okta-1.settings.limit: at most 1000',
      'collectors.okta-1.settings: unknown setting "bogus"',
    ]);
  });

  it('checks every entry even when the file has other problems, and names entries by the naming rule', () => {
    const found = issues(
      [
        'sites: [hq, "no spaces"]',
        'secrets: {}',
        'collector: {}',
        'accounts:',
        '  "bad name": { kind: okta, url: "https://acme.okta.com", token: t }',
        '  okta-main: { kind: okta, url: "https://acme.okta.com" }',
        'destinations: { local: { kind: file } }',
        'collectors:',
        '  c1: { source: okta, account: okta-main, destinations: [locl], streams: [system-logs] }',
        '  c2: { source: oktaa, account: nobody, destinations: [local] }',
      ].join('\n'),
    );
    assert.deepEqual(found, [
      'secrets: unknown section; a config file has sites, accounts, destinations and collectors',
      'collector: unknown section (did you mean "collectors"?); a config file has sites, accounts, destinations and collectors',
      'sites.1: "no spaces" is not a valid site name: site names are letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63, and unique ignoring case',
      'accounts.bad name: expected a name of letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63',
      'accounts.okta-main.token: required: an API token, or clientId and privateKey of an OAuth service app',
      'destinations.local.path: required',
      'collectors.c1.destinations.0: no destination named "locl" (did you mean "local"?)',
      'collectors.c1.streams.0: okta has no stream "system-logs" (did you mean "system-log"?) (it has system-log)',
      'collectors.c2.source: unknown source "oktaa" (did you mean "okta"?) (see `tributary sources`)',
      'collectors.c2.account: no account named "nobody"',
    ]);
  });

  it('reports an unknown section even when another section has the wrong shape', () => {
    assert.deepEqual(issues('sites: hq\ncolector: {}\n'), [
      'sites: expected a list, got text',
      'colector: unknown section (did you mean "collectors"?); a config file has sites, accounts, destinations and collectors',
    ]);
  });

  it('refuses site names that repeat ignoring case, in the file and against the store, with the rule', () => {
    const rule =
      'site names are letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63, and unique ignoring case';
    assert.deepEqual(issues('sites: [hq, hq, HQ]'), [
      `sites.1: "hq" repeats site "hq" (sites.0): ${rule}`,
      `sites.2: "HQ" repeats site "hq" (sites.0): ${rule}`,
    ]);
    const known = { accounts: {}, destinations: [], sites: ['hq'] };
    assert.throws(
      () => parseConfig('sites: [HQ]', { baseDir: '/tmp', env, known }),
      (err: ConfigError) => {
        assert.deepEqual(err.issues, [`sites.0: "HQ" clashes with the existing site "hq": ${rule}`]);
        return true;
      },
    );
    assert.deepEqual(parseConfig('sites: [hq]', { baseDir: '/tmp', env, known }).sites, ['hq']);
    const found = issues(VALID.replace('site: hq', 'site: HQ'));
    assert.ok(
      found.includes(
        'collectors.okta-prod.site: no site named "HQ"; did you mean "hq"? (site names are matched exactly)',
      ),
      found.join('\n'),
    );
  });

  it('reports every YAML syntax error with its line, column and the line quoted, an inline secret masked', () => {
    const found = issues(
      [
        'sites: [hq]',
        'accounts:',
        '  okta-main: { kind: okta, url: "https://acme.okta.com" token: 00SeCrEt0123, x: 1 }',
        'collectors:',
        '  c:',
        '    source: okta',
        '   account: okta-main',
      ].join('\n'),
    );
    assert.deepEqual(found, [
      'line 3, column 57: not valid YAML: Unexpected scalar token (a missing comma or colon between entries?)\n' +
        '      okta-main: { kind: okta, url: "https://acme.okta.com" token: …, x: 1 }',
      'line 7, column 1: not valid YAML: All mapping items must start at the same column (check the indentation)\n' +
        '      account: okta-main',
    ]);
    assert.ok(!found.join().includes('SeCrEt'), 'the secret on the quoted line is masked');
    assert.deepEqual(issues('sites: [hq]\nsites: [x]\n'), [
      'line 2, column 1: not valid YAML: a key appears twice in the same mapping\n      sites: [x]',
    ]);
    assert.deepEqual(issues('collectors: [unclosed\n'), [
      'line 1, column 22: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (a bracket is not closed)\n' +
        '      collectors: [unclosed',
    ]);
  });
});
