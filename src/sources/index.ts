import type { SourceDef } from '../core/source.ts';
import chatgptEnterprise from './chatgpt-enterprise/index.ts';
import okta from './okta/index.ts';

/** Every source Tributary ships, by id. */
export const sources: Record<string, SourceDef> = Object.fromEntries(
  [chatgptEnterprise, okta].map((s) => [s.id, s as SourceDef]),
);
