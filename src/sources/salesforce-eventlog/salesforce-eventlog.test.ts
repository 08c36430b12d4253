import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainSource as drainStream, settingsFor } from '../../../test/support/drain.ts';
import { type SalesforceAccount, salesforce as salesforceAccount } from '../../accounts/salesforce.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { ArtifactListCheckpoint } from '../../engine/artifact-list.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { SalesforceSimulator } from '../salesforce/simulator.ts';
import eventlog, { listingQuery } from './index.ts';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const H = 3_600_000;

const settingsOf = (raw: Record<string, unknown> = {}) => settingsFor('salesforce-eventlog', raw);

const accountOf = (sim: SalesforceSimulator): SalesforceAccount => ({
  url: sim.url,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
});

type Cp = ArtifactListCheckpoint & { apiUsage?: string };

const drain = (
  sim: SalesforceSimulator,
  o: { now: () => number; checkpoint?: Cp; settings?: Record<string, unknown>; stopAfter?: number },
) =>
  drainStream<Cp>({
    ...o,
    source: eventlog,
    stream: 'EventLogFile',
    kind: salesforceAccount,
    account: accountOf(sim),
    lookbackMs: 24 * H,
  });

describe('salesforce-eventlog listing', () => {
  it('lists by CreatedDate (when files were generated), whole seconds, a minute behind now', () => {
    assert.equal(
      listingQuery({ interval: 'Hourly', eventTypes: ['Login', 'API'] }, '2026-12-07T10:00:00.500Z', T0),
      "SELECT Id, EventType, LogDate, Interval, Sequence, LogFileLength, CreatedDate FROM EventLogFile WHERE CreatedDate >= 2026-12-07T10:00:00Z AND CreatedDate < 2026-12-07T12:00:00Z AND Interval = 'Hourly' AND EventType IN ('Login', 'API') ORDER BY CreatedDate ASC, Id ASC",
    );
    const bad = validateSettings('salesforce-eventlog', { eventTypes: ["Login') OR (Id != '"] });
    assert.ok(!bad.ok && /eventTypes\.0: expected an EventType/.test(bad.issues.join()), 'no SOQL injection');
  });
});

describe('salesforce-eventlog reading', () => {
  it('streams each CSV row as a record named by the header, ids <file>:<row>, times from TIMESTAMP_DERIVED', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 0, seed: 'elf' });
    await sim.start();
    t.after(() => sim.stop());
    const f1 = sim.addLogFile({ logDate: T0 - 8 * H, created: T0 - 4 * H, rows: 3 });
    sim.addLogFile({ logDate: T0 - 7 * H, created: T0 - 3 * H, rows: 2 });
    sim.addLogFile({ logDate: T0 - 2 * 24 * H, interval: 'Daily', created: T0 - 2 * H, rows: 4 });
    const res = await drain(sim, { now: clock.now });
    assert.deepEqual(res.ids, sim.logRowIds().slice(0, 5), 'the hourly files only, in CreatedDate order');
    const first = res.events[0];
    assert.equal(first.id, `${f1}:1`);
    const raw = JSON.parse(JSON.stringify(first.raw)) as Record<string, string>; // the row as JSON text
    assert.equal(raw.EVENT_TYPE, 'Login');
    assert.equal(
      raw.BROWSER_TYPE,
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) "Chrome", 131',
      'quoted comma and quotes',
    );
    assert.equal(first.time, raw.TIMESTAMP_DERIVED);
    assert.ok(
      Date.parse(first.time as string) >= T0 - 8 * H && Date.parse(first.time as string) < T0 - 7 * H,
    );
    assert.match(res.checkpoint?.apiUsage ?? '', /^\d+\/15000 at /);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('collects an hourly file generated hours late, after later files were already delivered', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 0, seed: 'late' });
    await sim.start();
    t.after(() => sim.stop());
    sim.addLogFile({ logDate: T0 - 5 * H, created: T0 - 2 * H, rows: 2 });
    const first = await drain(sim, { now: clock.now });
    assert.equal(first.ids.length, 2);
    // The hour before it, generated only now (6 hours after its events).
    clock.advance(H);
    const late = sim.addLogFile({ logDate: T0 - 6 * H, created: T0 + 30 * 60_000, rows: 3 });
    const second = await drain(sim, { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [`${late}:1`, `${late}:2`, `${late}:3`]);
    clock.advance(H);
    const third = await drain(sim, { now: clock.now, checkpoint: second.checkpoint });
    assert.deepEqual(third.ids, [], 'nothing twice');
  });

  it('resumes inside a file after a crash, from the rows delivered', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 0, seed: 'crash' });
    await sim.start();
    t.after(() => sim.stop());
    sim.addLogFile({ logDate: T0 - 5 * H, created: T0 - 2 * H, rows: 2500 });
    const crashed = await drain(sim, { now: clock.now, stopAfter: 1 });
    assert.equal(crashed.ids.length, 250, 'one part of the file');
    assert.equal(crashed.checkpoint?.file?.records, 250);
    const rest = await drain(sim, { now: clock.now, checkpoint: crashed.checkpoint });
    assert.deepEqual([...crashed.ids, ...rest.ids], sim.logRowIds());
  });

  it('reads 24-hour files when asked, and only the event types listed', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 0, seed: 'daily' });
    await sim.start();
    t.after(() => sim.stop());
    sim.addLogFile({ logDate: T0 - 5 * H, created: T0 - 2 * H, rows: 2 });
    const daily = sim.addLogFile({ logDate: T0 - 36 * H, interval: 'Daily', created: T0 - 3 * H, rows: 2 });
    sim.addLogFile({
      logDate: T0 - 36 * H,
      interval: 'Daily',
      eventType: 'API',
      created: T0 - 3 * H,
      rows: 2,
    });
    const res = await drain(sim, { now: clock.now, settings: { interval: 'Daily', eventTypes: ['Login'] } });
    assert.deepEqual(res.ids, [`${daily}:1`, `${daily}:2`]);
  });
});

describe('salesforce-eventlog test connection', () => {
  it('proves View Event Log Files, naming the permission when it is missing', async (t) => {
    const ok = new SalesforceSimulator({ clock: () => T0, rows: 0, seed: 'tc' });
    const denied = new SalesforceSimulator({
      clock: () => T0,
      rows: 0,
      forbidden: ['EventLogFile'],
      seed: 'tc2',
    });
    await ok.start();
    await denied.start();
    t.after(() => Promise.all([ok.stop(), denied.stop()]));
    const test = (sim: SalesforceSimulator) =>
      testConnection(eventlog, salesforceAccount, accountOf(sim), settingsOf(), ['EventLogFile']);
    assert.deepEqual(await test(ok), { ok: true });
    const r = await test(denied);
    assert.equal(!r.ok && r.error.code, 'salesforce_object_not_readable');
    if (!r.ok) assert.match(r.error.action, /cannot read EventLogFile: .*“View Event Log Files”/);
    assert.doesNotMatch(JSON.stringify(r), new RegExp(denied.clientSecret));
  });
});
