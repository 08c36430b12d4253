import { chatgptHarness } from '../../src/sources/chatgpt-enterprise/conformance.ts';
import { oktaHarness } from '../../src/sources/okta/conformance.ts';
import type { ConformanceHarness } from './harness.ts';

/** Every source's harness: a new source is not done until it is listed here. */
export const harnesses: ConformanceHarness[] = [oktaHarness, chatgptHarness];
