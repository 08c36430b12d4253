import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * An `aws` account without an access key acts with the host's own AWS identity (when the host lends it:
 * TRIBUTARY_AWS_HOST_CREDENTIALS=1). It holds no secret, so the rule that a change of where credentials go
 * needs the secret entered again cannot guard it: only an administrator may create, change, test or
 * preview one. An editor keeps everything with credentials of its own.
 */

const fresh = tempDirs('tributary-host-identity');
let api: ApiServer;
before(async () => {
  api = await startTestApi(fresh());
});
after(() => api?.close());

const keyless = { region: 'us-east-1' };
const withKey = {
  region: 'us-east-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

describe('accounts acting with the host identity', () => {
  it('an editor can neither create, change, test nor preview one; an administrator can', async () => {
    const refused = await api.call('POST', '/api/accounts', {
      as: 'editor',
      body: { name: 'host', kind: 'aws', fields: keyless },
    });
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.body.error.message, /Only an administrator .* host's own identity/);

    const made = await api.call('POST', '/api/accounts', {
      as: 'admin',
      body: { name: 'host', kind: 'aws', fields: keyless },
    });
    assert.equal(made.status, 201, made.text);

    const moved = await api.call('PUT', '/api/accounts/host', {
      as: 'editor',
      body: { fields: { ...keyless, endpoint: 'https://attacker.example' } },
    });
    assert.equal(moved.status, 403, 'an editor cannot point it elsewhere');
    const tested = await api.call('POST', '/api/accounts/host/test', { as: 'editor', body: {} });
    assert.equal(tested.status, 403, 'nor learn the host role from Test');

    const inline = await api.call('POST', '/api/collectors/test', {
      as: 'editor',
      body: {
        source: 'aws-sqs',
        settings: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q' },
        newAccount: { name: 'inline', kind: 'aws', fields: keyless },
        destinations: ['out'],
      },
    });
    assert.equal(inline.status, 403, inline.text);
  });

  it('an editor keeps full use of aws accounts with keys of their own', async () => {
    const made = await api.call('POST', '/api/accounts', {
      as: 'editor',
      body: { name: 'keyed', kind: 'aws', fields: withKey },
    });
    assert.equal(made.status, 201, made.text);
    const dropKey = await api.call('PUT', '/api/accounts/keyed', {
      as: 'editor',
      body: { fields: { region: 'us-east-1', accessKeyId: '', secretAccessKey: '' } },
    });
    assert.notEqual(dropKey.status, 200, 'nor turn a keyed account into a host-identity one');
  });
});
