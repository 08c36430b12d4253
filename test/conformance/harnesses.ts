import type { ConformanceHarness } from './harness.ts';
import { abnormalHarness } from './harnesses/abnormal-security.ts';
import { activityLogsHarness } from './harnesses/azure-activity-logs.ts';
import { logAnalyticsHarness } from './harnesses/azure-log-analytics.ts';
import { boxHarness } from './harnesses/box.ts';
import { carbonBlackHarness } from './harnesses/carbon-black.ts';
import { catoHarness } from './harnesses/cato-networks.ts';
import { chatgptHarness } from './harnesses/chatgpt-enterprise.ts';
import { ciscoDuoHarness } from './harnesses/cisco-duo.ts';
import { ciscoMerakiHarness } from './harnesses/cisco-meraki.ts';
import { cloudflareHarness } from './harnesses/cloudflare.ts';
import { crowdstrikeHarness } from './harnesses/crowdstrike.ts';
import { dropboxHarness } from './harnesses/dropbox.ts';
import { geminiEnterpriseHarness } from './harnesses/gemini-enterprise.ts';
import { githubHarness } from './harnesses/github.ts';
import { googleWorkspaceHarness } from './harnesses/google-workspace.ts';
import { lastpassHarness } from './harnesses/lastpass.ts';
import { exchangeAdminReportsHarness } from './harnesses/microsoft-365-exchange-admin-reports.ts';
import { managementActivityHarness } from './harnesses/microsoft-365-management-activity.ts';
import { entraContextHarness } from './harnesses/microsoft-entra-id-context.ts';
import { entraLogsHarness } from './harnesses/microsoft-entra-id-logs.ts';
import { securityAlertsHarness } from './harnesses/microsoft-security-alerts.ts';
import { mimecastHarness } from './harnesses/mimecast.ts';
import { netskopeAlertsHarness } from './harnesses/netskope-alerts.ts';
import { netskopeEventsHarness } from './harnesses/netskope-events.ts';
import { oktaHarness } from './harnesses/okta.ts';
import { cortexXdrHarness } from './harnesses/palo-alto-cortex-xdr.ts';
import { progressShareFileHarness } from './harnesses/progress-sharefile.ts';
import { podHarness } from './harnesses/proofpoint-on-demand.ts';
import { proofpointTapHarness } from './harnesses/proofpoint-tap.ts';
import { restApiCursorHarness, restApiLinkHeaderHarness, restApiPostHarness } from './harnesses/rest-api.ts';
import {
  sentinelOneAlertsHarness,
  sentinelOneHarness,
  sentinelOneThreatsHarness,
} from './harnesses/sentinelone.ts';
import { servicenowHarness } from './harnesses/servicenow.ts';
import { slackHarness } from './harnesses/slack.ts';
import { sophosHarness } from './harnesses/sophos-central.ts';
import { symantecEndpointSecurityHarness } from './harnesses/symantec-endpoint-security.ts';
import { trellixHarness } from './harnesses/trellix-endpoint-security.ts';
import { visionOneHarness } from './harnesses/trend-vision-one.ts';
import { vectraHarness } from './harnesses/vectra.ts';
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
  activityLogsHarness,
  logAnalyticsHarness,
  exchangeAdminReportsHarness,
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
  boxHarness,
  dropboxHarness,
  servicenowHarness,
  sophosHarness,
  vectraHarness,
  crowdstrikeHarness,
  sentinelOneHarness,
  sentinelOneAlertsHarness,
  sentinelOneThreatsHarness,
  carbonBlackHarness,
  cortexXdrHarness,
  visionOneHarness,
  trellixHarness,
  lastpassHarness,
  symantecEndpointSecurityHarness,
  progressShareFileHarness,
];
