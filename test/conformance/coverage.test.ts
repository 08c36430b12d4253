import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isPushSource } from '../../src/core/source.ts';
import { sources } from '../../src/sources/index.ts';
import type { ConformanceCheck } from './harness.ts';
import { harnesses } from './harnesses.ts';
import { pushSuites } from './push-suites.ts';

/**
 * Conformance coverage is checked, not kept by hand: every pull source Tributary ships has a harness in
 * the conformance suite, every push source runs the push suite, and every exemption says why. Sources on
 * the object-notification reader (family `object-storage`) read a bucket and a queue, not pages, so the
 * pull-source harness does not fit them: each has its own suite, `test/conformance/<id>.test.ts`, with the
 * reader's checks against its vendor's simulator (crash at every boundary, redelivery, lost deletes, no writes).
 * A queue source on the queue-message reader (engine/queue-messages.ts: `aws-sqs`) has no pages either: its
 * own suite stands in for the harness.
 */

const ownSuite = (id: string) => existsSync(new URL(`./${id}.test.ts`, import.meta.url));

const CHECKS: ConformanceCheck[] = [
  'late-events',
  'loop-guard',
  'huge-pages',
  'token-refresh',
  'empty-pages',
];

describe('conformance coverage', () => {
  it('every pull source has a conformance harness', () => {
    const covered = new Set(harnesses.map((h) => h.sourceId));
    const missing = Object.values(sources)
      .filter(
        (s) =>
          !isPushSource(s) &&
          s.family !== 'object-storage' &&
          !(s.family === 'queue' && ownSuite(s.id)) &&
          !covered.has(s.id),
      )
      .map((s) => s.id);
    assert.deepEqual(missing, [], 'write test/conformance/harnesses/<id>.ts and list it in harnesses.ts');
  });

  it('every object-storage source has its own conformance suite', () => {
    const missing = Object.values(sources)
      .filter((s) => s.family === 'object-storage' && !ownSuite(s.id))
      .map((s) => s.id);
    assert.deepEqual(missing, [], 'write test/conformance/<id>.test.ts (see aws-cloudtrail.test.ts)');
  });

  it('every push source runs the push-source suite', () => {
    const covered = new Set(pushSuites.map((p) => p.sourceId));
    const missing = Object.values(sources)
      .filter((s) => isPushSource(s) && !covered.has(s.id))
      .map((s) => s.id);
    assert.deepEqual(missing, [], 'add the source to test/conformance/push-suites.ts');
  });

  it('harnesses name shipped sources of the right family, and every exemption gives its reason', () => {
    for (const h of [...harnesses, ...pushSuites]) {
      const source = sources[h.sourceId];
      assert.ok(source, `${h.sourceId}: no such source`);
      assert.equal(
        isPushSource(source),
        pushSuites.includes(h as never),
        `${h.sourceId}: the suite of its family`,
      );
    }
    for (const h of harnesses) {
      for (const [check, reason] of Object.entries(h.exemptions ?? {})) {
        assert.ok(CHECKS.includes(check as ConformanceCheck), `${h.sourceId}: unknown check ${check}`);
        assert.ok(
          typeof reason === 'string' && reason.length >= 20,
          `${h.sourceId}: ${check} needs a reason`,
        );
      }
    }
    const labels = harnesses.map((h) => `${h.sourceId} ${h.label ?? ''}`);
    assert.equal(new Set(labels).size, labels.length, 'several harnesses of one source have distinct labels');
  });
});
