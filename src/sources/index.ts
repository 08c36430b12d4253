import type { SourceDef } from '../core/source.ts';
import chatgptEnterprise from './chatgpt-enterprise/index.ts';
import geminiEnterprise from './gemini-enterprise/index.ts';
import github from './github/index.ts';
import googleWorkspace from './google-workspace/index.ts';
import microsoftEntraIdContext from './microsoft-entra-id-context/index.ts';
import microsoftEntraIdLogs from './microsoft-entra-id-logs/index.ts';
import microsoftSecurityAlerts from './microsoft-security-alerts/index.ts';
import okta from './okta/index.ts';
import slack from './slack/index.ts';

/** Every source Tributary ships, by id. */
export const sources: Record<string, SourceDef> = Object.fromEntries(
  [
    chatgptEnterprise,
    okta,
    github,
    slack,
    googleWorkspace,
    geminiEnterprise,
    microsoftEntraIdLogs,
    microsoftSecurityAlerts,
    microsoftEntraIdContext,
  ].map((s) => [s.id, s as SourceDef]),
);
