import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { openai } from '../../accounts/openai.ts';
import { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import chatgpt from './index.ts';
import { ChatGptComplianceSimulator } from './simulator.ts';

type Sim = ChatGptComplianceSimulator;
const settingsOf = (sim: Sim, extra: Record<string, unknown> = {}) => ({
  workspaceId: sim.workspaceId,
  eventTypes: ['AUDIT_LOG', 'AUTH_LOG'] as Array<'AUDIT_LOG' | 'AUTH_LOG'>,
  includeMessageContent: false,
  baseUrl: sim.baseUrl,
  ...extra,
});
const accountOf = (sim: Sim, extra: Record<string, unknown> = {}) => ({
  apiKey: sim.apiKey,
  organizationId: sim.organizationId,
  ...extra,
});

async function drain(sim: Sim, type: string, checkpoint?: unknown, account = accountOf(sim)) {
  const http = new Http({
    vendor: 'OpenAI',
    authorize: (h, refresh, url, req) => openai.authorize(account, h, { refresh, http, url, ...req }),
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  const batches: Batch[] = [];
  const ctx = readContext(http, {
    stream: type,
    settings: settingsOf(sim),
    account,
    checkpoint,
    window: { lookbackMs: 86_400_000 },
  });
  for await (const b of chatgpt.streams[type].read(ctx)) batches.push(b);
  return { batches, ids: batches.flatMap((b) => b.events.map((e) => e.id)) };
}

describe('chatgpt-enterprise source', () => {
  it("Test Connection passes, and maps 401/403/404 to the seed's recommended actions", async (t) => {
    const ok = new ChatGptComplianceSimulator();
    await ok.start();
    t.after(() => ok.stop());
    assert.deepEqual(await testConnection(chatgpt, openai, accountOf(ok), settingsOf(ok)), { ok: true });
    const badKey = await testConnection(
      chatgpt,
      openai,
      accountOf(ok, { apiKey: 'sk-wrong-0000' }),
      settingsOf(ok),
    );
    assert.equal(!badKey.ok && badKey.error.code, 'openai_invalid_key');
    assert.doesNotMatch(JSON.stringify(badKey), /sk-wrong-0000/);
    const wrongWs = await testConnection(
      chatgpt,
      openai,
      accountOf(ok),
      settingsOf(ok, { workspaceId: '00000000-0000-4000-8000-000000000000' }),
    );
    assert.equal(!wrongWs.ok && wrongWs.error.code, 'workspace_not_found');
    await ok.stop();

    const notEnabled = new ChatGptComplianceSimulator({ access: 'not-enabled' });
    await notEnabled.start();
    t.after(() => notEnabled.stop());
    const r = await testConnection(chatgpt, openai, accountOf(notEnabled), settingsOf(notEnabled));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'compliance_api_not_enabled');
      assert.match(
        r.error.action,
        /ask OpenAI support to enable it with Read and Delete scope, giving the workspace ID, organization ID, the key's last four characters, key name and creator/,
      );
    }
    await notEnabled.stop();

    const wrongPlan = new ChatGptComplianceSimulator({ access: 'wrong-plan' });
    await wrongPlan.start();
    t.after(() => wrongPlan.stop());
    const p = await testConnection(chatgpt, openai, accountOf(wrongPlan), settingsOf(wrongPlan));
    assert.equal(!p.ok && p.error.code, 'workspace_not_found');
    await wrongPlan.stop();
  });

  it('reads every file of a type through signed URLs without leaking the key, and never writes', async (t) => {
    const sim = new ChatGptComplianceSimulator({
      filesPerType: 6,
      eventsPerFile: 7,
      reReturnBoundary: true,
      concatenatedJson: true,
    });
    await sim.start();
    t.after(() => sim.stop());
    const { ids, batches } = await drain(sim, 'AUDIT_LOG');
    assert.deepEqual([...ids].sort(), [...sim.eventIds('AUDIT_LOG')].sort());
    assert.equal(new Set(ids).size, ids.length, 'the boundary re-return is not delivered twice');
    assert.deepEqual(sim.authLeaks(), []);
    assert.deepEqual(sim.writeCalls(), []);
    const last = batches.at(-1)!.checkpoint as { after: string; done: string[] };
    assert.equal(
      last.after,
      sim.files('AUDIT_LOG').at(-1)!.endTime,
      "after = the last listing's last_end_time, verbatim",
    );
    assert.ok(last.done.includes(sim.files('AUDIT_LOG').at(-1)!.id));
    // a second pass from the final checkpoint finds nothing new
    const again = await drain(sim, 'AUDIT_LOG', last);
    assert.deepEqual(again.ids, []);
    await sim.stop();
  });

  it('resumes inside a file from the records already delivered', async (t) => {
    const sim = new ChatGptComplianceSimulator({ filesPerType: 0 });
    const file = sim.addFile('AUDIT_LOG', { endTime: Date.now() - 60_000, events: 2500 });
    await sim.start();
    t.after(() => sim.stop());
    const full = await drain(sim, 'AUDIT_LOG');
    assert.equal(full.ids.length, 2500);
    const firstBatch = full.batches[0];
    const mid = firstBatch.checkpoint as { file: { id: string; records: number } };
    assert.deepEqual(
      mid.file,
      { id: file.id, records: firstBatch.events.length },
      'position inside the file',
    );
    assert.ok(mid.file.records > 0 && mid.file.records < 2500);
    const resumed = await drain(sim, 'AUDIT_LOG', mid);
    assert.deepEqual(resumed.ids, full.ids.slice(mid.file.records));
    await sim.stop();
  });

  it('reads on from a checkpoint stored by earlier versions ({after, done, file})', async (t) => {
    const sim = new ChatGptComplianceSimulator({ filesPerType: 0 });
    const now = Date.now();
    const done = sim.addFile('AUDIT_LOG', { endTime: now - 3_600_000, events: 3 });
    const inside = sim.addFile('AUDIT_LOG', { endTime: now - 1_800_000, events: 5 });
    const later = sim.addFile('AUDIT_LOG', { endTime: now - 60_000, events: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const all = [...sim.eventIds('AUDIT_LOG')];
    // As stored before the artifact-list reader existed: listing position, boundary, position in a file.
    const stored = {
      after: new Date(now - 7_200_000).toISOString(),
      done: [done.id],
      file: { id: inside.id, records: 2 },
    };
    const { ids, batches } = await drain(sim, 'AUDIT_LOG', JSON.parse(JSON.stringify(stored)));
    assert.deepEqual(
      ids,
      all.slice(3 + 2),
      'nothing from the done file, the rest of the file in progress, then the next',
    );
    assert.deepEqual(batches.at(-1)!.checkpoint, { after: later.endTime, done: [later.id] });
    await sim.stop();
  });

  it('refuses a file whose sha256 does not match, delivering nothing from it', async (t) => {
    const sim = new ChatGptComplianceSimulator({ filesPerType: 0 });
    const bad = sim.addFile('AUTH_LOG', { endTime: Date.now() - 60_000, events: 5, corruptSha: true });
    await sim.start();
    t.after(() => sim.stop());
    const err = await drain(sim, 'AUTH_LOG').catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'checksum_mismatch');
    assert.match(err.message, new RegExp(bad.id));
    await sim.stop();
  });

  it('needs the organization ID for organization-scoped COSTS logs', async (t) => {
    const sim = new ChatGptComplianceSimulator({ filesPerType: 0 });
    await sim.start();
    t.after(() => sim.stop());
    const err = await drain(sim, 'COSTS', undefined, { apiKey: sim.apiKey } as never).catch((e) => e);
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'organization_id_required');
    sim.addFile('COSTS', { endTime: Date.now() - 60_000, events: 3 });
    const { ids } = await drain(sim, 'COSTS');
    assert.equal(ids.length, 3);
    assert.ok(
      sim
        .requests()
        .some((r) => r.path.startsWith(`/v1/compliance/organizations/${sim.organizationId}/logs`)),
    );
    await sim.stop();
  });

  it('never sends null as `after`, even after empty pages', async (t) => {
    const sim = new ChatGptComplianceSimulator({ filesPerType: 0 });
    await sim.start();
    t.after(() => sim.stop());
    const { batches } = await drain(sim, 'AUDIT_LOG');
    const cp = batches.at(-1)!.checkpoint as { after: string };
    assert.match(cp.after, /^\d{4}-/);
    const again = await drain(sim, 'AUDIT_LOG', cp);
    assert.equal((again.batches.at(-1)!.checkpoint as { after: string }).after, cp.after);
    assert.ok(sim.requests().every((r) => r.query.get('after') && r.query.get('after') !== 'null'));
    await sim.stop();
  });
});
