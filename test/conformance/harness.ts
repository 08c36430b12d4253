import type { Fault, ManualClock } from '../../src/sim/kit.ts';

/**
 * What every source provides to the conformance suite: a simulator of its vendor, set up so the
 * suite can check delivery, resumption and fault handling without knowing the vendor.
 */
export interface ConformanceHarness {
  sourceId: string;
  /** Tells apart several harnesses of one source (configurations of a generic source). */
  label?: string;
  /** Starts a simulator whose visible data spans the last hour and fills about `pages` pages. */
  start(o: { clock: ManualClock; pages: number; pageSize: number; eventBytes?: number }): Promise<HarnessSim>;
  /** Checks the source cannot meet, with the reason (docs/architecture.md, "Tests"). */
  exemptions?: Partial<Record<ConformanceCheck, string>>;
}

/**
 * `empty-pages`: the vendor has no pages, and an empty answer means the window holds nothing (Proofpoint
 * TAP's 204): a simulated empty answer for a window with events cannot be told from a true one. Truncated
 * and reset answers are still checked.
 */
export type ConformanceCheck = 'late-events' | 'loop-guard' | 'huge-pages' | 'token-refresh' | 'empty-pages';

export interface HarnessSim {
  account: Record<string, unknown>;
  /** The account's kind, for a source that accepts several (default: the source's `account`). */
  accountKind?: string;
  settings: Record<string, unknown>;
  streams?: string[];
  /** Every event id the vendor holds and a complete drain must deliver, once each. */
  expectedIds(): string[];
  /** Adds events near now; with `visibleDelayMs` they are indexed late (visible only after that delay). */
  addEvents(n: number, o?: { visibleDelayMs?: number; agoMs?: number }): void;
  inject(fault: Fault): void;
  /** Requests that return pages of records (where page faults are injected). */
  pagePath: RegExp;
  /** Makes the vendor repeat the same next-page cursor from now on (true) or behave again (false). */
  loop(on: boolean): void;
  writeCalls(): unknown[];
  /** Requests that carried our credentials where they must not (signed URLs). */
  credentialLeaks(): unknown[];
  /** Count of requests served, to assert retries happened. */
  requestCount(): number;
  /**
   * The vendor refuses every access token issued so far from now on, as it refuses an expired one (for
   * the `token-refresh` check). Absent for static credentials, whose harness declares the exemption.
   */
  expireTokens?(): void;
  /** How many access tokens the vendor issued so far. */
  tokensIssued?(): number;
  stop(): Promise<void>;
}
