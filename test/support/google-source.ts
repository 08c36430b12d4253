import assert from 'node:assert/strict';
import { type GoogleAccount, google } from '../../src/accounts/google.ts';
import { validateSettings } from '../../src/config/config-file.ts';
import type { Batch, SourceDef } from '../../src/core/source.ts';
import { Http } from '../../src/engine/http.ts';
import type { GoogleTokenSimulator } from '../../src/sim/google.ts';
import type { ManualClock } from '../../src/sim/kit.ts';
import { readContext } from './read-context.ts';

/** A simulator of a Google API, with its token endpoint. */
export interface GoogleApiSim {
  start(): Promise<string>;
  stop(): Promise<void>;
  readonly tokens: GoogleTokenSimulator;
}

/** Starts `sim`, runs `fn` with a `google` account holding the simulator's service-account key, stops it. */
export async function withGoogleSim<S extends GoogleApiSim, T>(
  sim: S,
  fn: (sim: S, account: GoogleAccount) => Promise<T>,
): Promise<T> {
  await sim.start();
  try {
    return await fn(sim, { serviceAccountKey: sim.tokens.keyJson(), tokenUrl: sim.tokens.tokenUrl });
  } finally {
    await sim.stop();
  }
}

/**
 * Reads one stream of a Google source to the end with validated settings, the `google` account kind and
 * the source's error wording, and returns its batches.
 */
export async function drainGoogle(
  source: SourceDef,
  stream: string,
  account: GoogleAccount,
  settings: Record<string, unknown>,
  clock: ManualClock,
  o: { checkpoint?: unknown; lookbackMs: number },
): Promise<Batch[]> {
  const checked = validateSettings(source.id, settings);
  assert.ok(checked.ok, checked.ok ? '' : checked.issues.join('; '));
  const http: Http = new Http({
    vendor: source.title,
    authorize: (headers, refresh, url) => google.authorize(account, headers, { refresh, http, url }),
    explain: source.explain,
    rateLimited: source.rateLimited,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  const ctx = readContext(http, {
    stream,
    settings: checked.settings,
    account,
    checkpoint: o.checkpoint,
    now: clock.now,
    window: { lookbackMs: o.lookbackMs },
  });
  const out: Batch[] = [];
  for await (const b of source.streams[stream].read(ctx)) out.push(b);
  return out;
}
