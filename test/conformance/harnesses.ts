import type { ConformanceHarness } from './harness.ts';
import { abnormalHarness } from './harnesses/abnormal-security.ts';
import { anomaliHarness } from './harnesses/anomali.ts';
import { awsCloudWatchAlarmsHarness } from './harnesses/aws-cloudwatch-alarms.ts';
import { awsCloudWatchLogsHarness } from './harnesses/aws-cloudwatch-logs.ts';
import { awsGuardDutyHarness } from './harnesses/aws-guardduty.ts';
import { activityLogsHarness } from './harnesses/azure-activity-logs.ts';
import { logAnalyticsHarness } from './harnesses/azure-log-analytics.ts';
import { boxHarness, boxJwtHarness } from './harnesses/box.ts';
import { carbonBlackHarness } from './harnesses/carbon-black.ts';
import { catoHarness } from './harnesses/cato-networks.ts';
import { chatgptHarness } from './harnesses/chatgpt-enterprise.ts';
import { ciscoDuoHarness } from './harnesses/cisco-duo.ts';
import { ciscoMerakiHarness } from './harnesses/cisco-meraki.ts';
import { ciscoSecureEndpointHarness } from './harnesses/cisco-secure-endpoint.ts';
import { cloudflareHarness } from './harnesses/cloudflare.ts';
import { crowdstrikeHarness } from './harnesses/crowdstrike.ts';
import { cylanceProtectHarness } from './harnesses/cylance-protect.ts';
import { dropboxHarness } from './harnesses/dropbox.ts';
import { gcpCloudLoggingHarness } from './harnesses/gcp-cloud-logging.ts';
import { gcpSecurityCommandCenterHarness } from './harnesses/gcp-security-command-center.ts';
import { geminiEnterpriseHarness } from './harnesses/gemini-enterprise.ts';
import { githubHarness } from './harnesses/github.ts';
import { gmailBigQueryHarness } from './harnesses/gmail-bigquery.ts';
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
import { oktaContextHarness } from './harnesses/okta-context.ts';
import { cortexXdrHarness } from './harnesses/palo-alto-cortex-xdr.ts';
import { progressShareFileHarness } from './harnesses/progress-sharefile.ts';
import { podHarness } from './harnesses/proofpoint-on-demand.ts';
import { proofpointTapHarness } from './harnesses/proofpoint-tap.ts';
import { qualysHarness } from './harnesses/qualys.ts';
import { recordedFutureHarness, recordedFuturePlaybookHarness } from './harnesses/recorded-future.ts';
import { recordedFutureContextHarness } from './harnesses/recorded-future-context.ts';
import { restApiCursorHarness, restApiLinkHeaderHarness, restApiPostHarness } from './harnesses/rest-api.ts';
import { salesforceHarness } from './harnesses/salesforce.ts';
import { salesforceEventlogHarness } from './harnesses/salesforce-eventlog.ts';
import {
  sentinelOneAlertsHarness,
  sentinelOneHarness,
  sentinelOneThreatsHarness,
} from './harnesses/sentinelone.ts';
import { servicenowHarness, servicenowOAuthHarness } from './harnesses/servicenow.ts';
import { slackHarness } from './harnesses/slack.ts';
import { snowflakeHarness } from './harnesses/snowflake.ts';
import { sophosHarness, sophosPartnerHarness } from './harnesses/sophos-central.ts';
import { splunkHarness } from './harnesses/splunk.ts';
import { stixTaxiiHarness } from './harnesses/stix-taxii.ts';
import { symantecEndpointSecurityHarness } from './harnesses/symantec-endpoint-security.ts';
import { tenableHarness } from './harnesses/tenable.ts';
import { trellixHarness } from './harnesses/trellix-endpoint-security.ts';
import { visionOneHarness } from './harnesses/trend-vision-one.ts';
import { vectraHarness } from './harnesses/vectra.ts';
import { wizApiHarness, wizIssuesHarness } from './harnesses/wiz.ts';
import { zoomHarness } from './harnesses/zoom.ts';

/** Every pull source's harness (coverage.test.ts fails for a pull source that has none). */
export const harnesses: ConformanceHarness[] = [
  oktaHarness,
  chatgptHarness,
  githubHarness,
  slackHarness,
  googleWorkspaceHarness,
  geminiEnterpriseHarness,
  gcpCloudLoggingHarness,
  gcpSecurityCommandCenterHarness,
  gmailBigQueryHarness,
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
  boxJwtHarness,
  dropboxHarness,
  servicenowHarness,
  servicenowOAuthHarness,
  sophosHarness,
  sophosPartnerHarness,
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
  wizIssuesHarness,
  wizApiHarness,
  tenableHarness,
  qualysHarness,
  ciscoSecureEndpointHarness,
  cylanceProtectHarness,
  oktaContextHarness,
  stixTaxiiHarness,
  anomaliHarness,
  recordedFutureContextHarness,
  recordedFutureHarness,
  recordedFuturePlaybookHarness,
  salesforceHarness,
  salesforceEventlogHarness,
  splunkHarness,
  snowflakeHarness,
  awsCloudWatchLogsHarness,
  awsGuardDutyHarness,
  awsCloudWatchAlarmsHarness,
];
