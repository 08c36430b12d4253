import { byName } from '../core/names.ts';
import type { SourceDef } from '../core/source.ts';
import abnormalSecurity from './abnormal-security/index.ts';
import anomali from './anomali/index.ts';
import awsCloudtrail from './aws-cloudtrail/index.ts';
import awsCloudwatchAlarms from './aws-cloudwatch-alarms/index.ts';
import awsCloudwatchLogs from './aws-cloudwatch-logs/index.ts';
import awsGuardduty from './aws-guardduty/index.ts';
import awsS3 from './aws-s3/index.ts';
import awsSecurityLake from './aws-security-lake/index.ts';
import awsSqs from './aws-sqs/index.ts';
import azureActivityLogs from './azure-activity-logs/index.ts';
import azureBlobStorage from './azure-blob-storage/index.ts';
import azureEventHub from './azure-event-hub/index.ts';
import azureLogAnalytics from './azure-log-analytics/index.ts';
import azureStorageAnalytics from './azure-storage-analytics/index.ts';
import azureVnetFlowLogs from './azure-vnet-flow-logs/index.ts';
import box from './box/index.ts';
import carbonBlack from './carbon-black/index.ts';
import catoNetworks from './cato-networks/index.ts';
import chatgptEnterprise from './chatgpt-enterprise/index.ts';
import ciscoDuo from './cisco-duo/index.ts';
import ciscoMeraki from './cisco-meraki/index.ts';
import ciscoSecureEndpoint from './cisco-secure-endpoint/index.ts';
import ciscoUmbrella from './cisco-umbrella/index.ts';
import cloudflare from './cloudflare/index.ts';
import cribl from './cribl/index.ts';
import crowdstrike from './crowdstrike/index.ts';
import cylanceProtect from './cylance-protect/index.ts';
import databahn from './databahn/index.ts';
import dropbox from './dropbox/index.ts';
import gcpCloudLogging from './gcp-cloud-logging/index.ts';
import gcpPubsub from './gcp-pubsub/index.ts';
import gcpSecurityCommandCenter from './gcp-security-command-center/index.ts';
import geminiEnterprise from './gemini-enterprise/index.ts';
import github from './github/index.ts';
import gmailBigquery from './gmail-bigquery/index.ts';
import googleWorkspace from './google-workspace/index.ts';
import lastpass from './lastpass/index.ts';
import microsoft365ExchangeAdminReports from './microsoft-365-exchange-admin-reports/index.ts';
import microsoft365ManagementActivity from './microsoft-365-management-activity/index.ts';
import microsoftDefenderXdr from './microsoft-defender-xdr/index.ts';
import microsoftEntraIdContext from './microsoft-entra-id-context/index.ts';
import microsoftEntraIdLogs from './microsoft-entra-id-logs/index.ts';
import microsoftSecurityAlerts from './microsoft-security-alerts/index.ts';
import microsoftSentinel from './microsoft-sentinel/index.ts';
import mimecast from './mimecast/index.ts';
import netskopeAlerts from './netskope-alerts/index.ts';
import netskopeEvents from './netskope-events/index.ts';
import okta from './okta/index.ts';
import oktaContext from './okta-context/index.ts';
import paloAltoCortexDataLake from './palo-alto-cortex-data-lake/index.ts';
import paloAltoCortexXdr from './palo-alto-cortex-xdr/index.ts';
import progressShareFile from './progress-sharefile/index.ts';
import proofpointOnDemand from './proofpoint-on-demand/index.ts';
import proofpointTap from './proofpoint-tap/index.ts';
import qualys from './qualys/index.ts';
import recordedFuture from './recorded-future/index.ts';
import recordedFutureContext from './recorded-future-context/index.ts';
import restApi from './rest-api/index.ts';
import salesforce from './salesforce/index.ts';
import salesforceEventlog from './salesforce-eventlog/index.ts';
import sentinelOne from './sentinelone/index.ts';
import sentinelOneAlerts from './sentinelone-alerts/index.ts';
import sentinelOneCloudFunnel from './sentinelone-cloud-funnel/index.ts';
import sentinelOneThreats from './sentinelone-threats/index.ts';
import servicenow from './servicenow/index.ts';
import slack from './slack/index.ts';
import snowflake from './snowflake/index.ts';
import sophosCentral from './sophos-central/index.ts';
import splunk from './splunk/index.ts';
import stixTaxii from './stix-taxii/index.ts';
import symantecEndpointSecurity from './symantec-endpoint-security/index.ts';
import tenable from './tenable/index.ts';
import trellixEndpointSecurity from './trellix-endpoint-security/index.ts';
import trendVisionOne from './trend-vision-one/index.ts';
import vectra from './vectra/index.ts';
import webhook from './webhook/index.ts';
import wizApi from './wiz-api/index.ts';
import wizIssues from './wiz-issues/index.ts';
import zoom from './zoom/index.ts';
import zscalerZia from './zscaler-zia/index.ts';

/** Every source Tributary ships, by id (no prototype: `sources.constructor` is undefined, core/names.ts). */
export const sources: Record<string, SourceDef> = byName(
  [
    chatgptEnterprise,
    okta,
    github,
    slack,
    zoom,
    ciscoDuo,
    googleWorkspace,
    geminiEnterprise,
    gcpCloudLogging,
    gcpPubsub,
    gcpSecurityCommandCenter,
    gmailBigquery,
    microsoftEntraIdLogs,
    microsoftSecurityAlerts,
    microsoftDefenderXdr,
    microsoftSentinel,
    microsoftEntraIdContext,
    microsoft365ManagementActivity,
    azureActivityLogs,
    azureLogAnalytics,
    azureStorageAnalytics,
    azureVnetFlowLogs,
    microsoft365ExchangeAdminReports,
    restApi,
    webhook,
    zscalerZia,
    paloAltoCortexDataLake,
    cribl,
    databahn,
    abnormalSecurity,
    proofpointTap,
    cloudflare,
    ciscoMeraki,
    ciscoUmbrella,
    catoNetworks,
    netskopeEvents,
    netskopeAlerts,
    mimecast,
    proofpointOnDemand,
    box,
    dropbox,
    servicenow,
    sophosCentral,
    vectra,
    lastpass,
    symantecEndpointSecurity,
    progressShareFile,
    awsCloudtrail,
    awsS3,
    awsSecurityLake,
    awsSqs,
    awsCloudwatchLogs,
    awsGuardduty,
    awsCloudwatchAlarms,
    azureBlobStorage,
    azureEventHub,
    crowdstrike,
    sentinelOne,
    sentinelOneAlerts,
    sentinelOneCloudFunnel,
    sentinelOneThreats,
    carbonBlack,
    paloAltoCortexXdr,
    trendVisionOne,
    trellixEndpointSecurity,
    wizIssues,
    wizApi,
    tenable,
    qualys,
    ciscoSecureEndpoint,
    cylanceProtect,
    oktaContext,
    stixTaxii,
    anomali,
    recordedFutureContext,
    recordedFuture,
    salesforce,
    salesforceEventlog,
    splunk,
    snowflake,
  ].map((s) => [s.id, s as SourceDef]),
);
