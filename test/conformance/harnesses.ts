import { abnormalHarness } from '../../src/sources/abnormal-security/conformance.ts';
import { catoHarness } from '../../src/sources/cato-networks/conformance.ts';
import { chatgptHarness } from '../../src/sources/chatgpt-enterprise/conformance.ts';
import { ciscoDuoHarness } from '../../src/sources/cisco-duo/conformance.ts';
import { ciscoMerakiHarness } from '../../src/sources/cisco-meraki/conformance.ts';
import { cloudflareHarness } from '../../src/sources/cloudflare/conformance.ts';
import { geminiEnterpriseHarness } from '../../src/sources/gemini-enterprise/conformance.ts';
import { githubHarness } from '../../src/sources/github/conformance.ts';
import { googleWorkspaceHarness } from '../../src/sources/google-workspace/conformance.ts';
import { managementActivityHarness } from '../../src/sources/microsoft-365-management-activity/conformance.ts';
import { entraContextHarness } from '../../src/sources/microsoft-entra-id-context/conformance.ts';
import { entraLogsHarness } from '../../src/sources/microsoft-entra-id-logs/conformance.ts';
import { securityAlertsHarness } from '../../src/sources/microsoft-security-alerts/conformance.ts';
import { mimecastHarness } from '../../src/sources/mimecast/conformance.ts';
import { netskopeAlertsHarness } from '../../src/sources/netskope-alerts/conformance.ts';
import { netskopeEventsHarness } from '../../src/sources/netskope-events/conformance.ts';
import { oktaHarness } from '../../src/sources/okta/conformance.ts';
import { podHarness } from '../../src/sources/proofpoint-on-demand/conformance.ts';
import { proofpointTapHarness } from '../../src/sources/proofpoint-tap/conformance.ts';
import {
  restApiCursorHarness,
  restApiLinkHeaderHarness,
  restApiPostHarness,
} from '../../src/sources/rest-api/conformance.ts';
import { slackHarness } from '../../src/sources/slack/conformance.ts';
import { zoomHarness } from '../../src/sources/zoom/conformance.ts';
import type { ConformanceHarness } from './harness.ts';

/** Every source's harness: a new source is not done until it is listed here. */
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
  abnormalHarness,
  proofpointTapHarness,
  cloudflareHarness,
  ciscoMerakiHarness,
  catoHarness,
  netskopeEventsHarness,
  netskopeAlertsHarness,
  mimecastHarness,
  podHarness,
];
