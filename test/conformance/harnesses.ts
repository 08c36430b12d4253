import type { ConformanceHarness } from './harness.ts';
import { chatgptHarness } from './harnesses/chatgpt-enterprise.ts';
import { ciscoDuoHarness } from './harnesses/cisco-duo.ts';
import { geminiEnterpriseHarness } from './harnesses/gemini-enterprise.ts';
import { githubHarness } from './harnesses/github.ts';
import { googleWorkspaceHarness } from './harnesses/google-workspace.ts';
import { managementActivityHarness } from './harnesses/microsoft-365-management-activity.ts';
import { entraContextHarness } from './harnesses/microsoft-entra-id-context.ts';
import { entraLogsHarness } from './harnesses/microsoft-entra-id-logs.ts';
import { securityAlertsHarness } from './harnesses/microsoft-security-alerts.ts';
import { oktaHarness } from './harnesses/okta.ts';
import { restApiCursorHarness, restApiLinkHeaderHarness, restApiPostHarness } from './harnesses/rest-api.ts';
import { slackHarness } from './harnesses/slack.ts';
import { zoomHarness } from './harnesses/zoom.ts';

/** Every pull source's harness (coverage.test.ts fails for a pull source that has none). */
export const harnesses: ConformanceHarness[] = [
  oktaHarness,
  chatgptHarness,
  githubHarness,
  slackHarness,
  googleWorkspaceHarness,
  geminiEnterpriseHarness,
  entraLogsHarness,
  securityAlertsHarness,
  entraContextHarness,
  managementActivityHarness,
  zoomHarness,
  ciscoDuoHarness,
  restApiCursorHarness,
  restApiLinkHeaderHarness,
  restApiPostHarness,
];
