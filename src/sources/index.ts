import { lazyRecord, type Manifest } from '../core/lazy.ts';
import type { SourceDef } from '../core/source.ts';

/**
 * Where each source is: its id → its module (src/sources/<id>/index.ts, whose default export is the
 * source). The order is the listings' (`tributary sources`, `GET /api/sources`). A run loads only the
 * sources it runs (core/lazy.ts); src/sources/index.test.ts checks this list against the directories
 * and each module's own id.
 */
export const sourceManifest = {
  'chatgpt-enterprise': ['./chatgpt-enterprise/index.ts', 'default'],
  okta: ['./okta/index.ts', 'default'],
  github: ['./github/index.ts', 'default'],
  slack: ['./slack/index.ts', 'default'],
  zoom: ['./zoom/index.ts', 'default'],
  'cisco-duo': ['./cisco-duo/index.ts', 'default'],
  'google-workspace': ['./google-workspace/index.ts', 'default'],
  'gemini-enterprise': ['./gemini-enterprise/index.ts', 'default'],
  'gcp-cloud-logging': ['./gcp-cloud-logging/index.ts', 'default'],
  'gcp-pubsub': ['./gcp-pubsub/index.ts', 'default'],
  'gcp-security-command-center': ['./gcp-security-command-center/index.ts', 'default'],
  'gmail-bigquery': ['./gmail-bigquery/index.ts', 'default'],
  'microsoft-entra-id-logs': ['./microsoft-entra-id-logs/index.ts', 'default'],
  'microsoft-security-alerts': ['./microsoft-security-alerts/index.ts', 'default'],
  'microsoft-defender-xdr': ['./microsoft-defender-xdr/index.ts', 'default'],
  'microsoft-sentinel': ['./microsoft-sentinel/index.ts', 'default'],
  'microsoft-entra-id-context': ['./microsoft-entra-id-context/index.ts', 'default'],
  'microsoft-365-management-activity': ['./microsoft-365-management-activity/index.ts', 'default'],
  'azure-activity-logs': ['./azure-activity-logs/index.ts', 'default'],
  'azure-log-analytics': ['./azure-log-analytics/index.ts', 'default'],
  'azure-storage-analytics': ['./azure-storage-analytics/index.ts', 'default'],
  'azure-vnet-flow-logs': ['./azure-vnet-flow-logs/index.ts', 'default'],
  'microsoft-365-exchange-admin-reports': ['./microsoft-365-exchange-admin-reports/index.ts', 'default'],
  'rest-api': ['./rest-api/index.ts', 'default'],
  webhook: ['./webhook/index.ts', 'default'],
  'zscaler-zia': ['./zscaler-zia/index.ts', 'default'],
  'palo-alto-cortex-data-lake': ['./palo-alto-cortex-data-lake/index.ts', 'default'],
  cribl: ['./cribl/index.ts', 'default'],
  databahn: ['./databahn/index.ts', 'default'],
  'abnormal-security': ['./abnormal-security/index.ts', 'default'],
  'proofpoint-tap': ['./proofpoint-tap/index.ts', 'default'],
  cloudflare: ['./cloudflare/index.ts', 'default'],
  'cisco-meraki': ['./cisco-meraki/index.ts', 'default'],
  'cisco-umbrella': ['./cisco-umbrella/index.ts', 'default'],
  'cato-networks': ['./cato-networks/index.ts', 'default'],
  'netskope-events': ['./netskope-events/index.ts', 'default'],
  'netskope-alerts': ['./netskope-alerts/index.ts', 'default'],
  mimecast: ['./mimecast/index.ts', 'default'],
  'proofpoint-on-demand': ['./proofpoint-on-demand/index.ts', 'default'],
  box: ['./box/index.ts', 'default'],
  dropbox: ['./dropbox/index.ts', 'default'],
  servicenow: ['./servicenow/index.ts', 'default'],
  'sophos-central': ['./sophos-central/index.ts', 'default'],
  vectra: ['./vectra/index.ts', 'default'],
  lastpass: ['./lastpass/index.ts', 'default'],
  'symantec-endpoint-security': ['./symantec-endpoint-security/index.ts', 'default'],
  'progress-sharefile': ['./progress-sharefile/index.ts', 'default'],
  'aws-cloudtrail': ['./aws-cloudtrail/index.ts', 'default'],
  'aws-s3': ['./aws-s3/index.ts', 'default'],
  'aws-security-lake': ['./aws-security-lake/index.ts', 'default'],
  'aws-sqs': ['./aws-sqs/index.ts', 'default'],
  'aws-cloudwatch-logs': ['./aws-cloudwatch-logs/index.ts', 'default'],
  'aws-guardduty': ['./aws-guardduty/index.ts', 'default'],
  'aws-cloudwatch-alarms': ['./aws-cloudwatch-alarms/index.ts', 'default'],
  'azure-blob-storage': ['./azure-blob-storage/index.ts', 'default'],
  'azure-event-hub': ['./azure-event-hub/index.ts', 'default'],
  crowdstrike: ['./crowdstrike/index.ts', 'default'],
  sentinelone: ['./sentinelone/index.ts', 'default'],
  'sentinelone-alerts': ['./sentinelone-alerts/index.ts', 'default'],
  'sentinelone-cloud-funnel': ['./sentinelone-cloud-funnel/index.ts', 'default'],
  'sentinelone-threats': ['./sentinelone-threats/index.ts', 'default'],
  'carbon-black': ['./carbon-black/index.ts', 'default'],
  'palo-alto-cortex-xdr': ['./palo-alto-cortex-xdr/index.ts', 'default'],
  'trend-vision-one': ['./trend-vision-one/index.ts', 'default'],
  'trellix-endpoint-security': ['./trellix-endpoint-security/index.ts', 'default'],
  'wiz-issues': ['./wiz-issues/index.ts', 'default'],
  'wiz-api': ['./wiz-api/index.ts', 'default'],
  tenable: ['./tenable/index.ts', 'default'],
  qualys: ['./qualys/index.ts', 'default'],
  'cisco-secure-endpoint': ['./cisco-secure-endpoint/index.ts', 'default'],
  'cylance-protect': ['./cylance-protect/index.ts', 'default'],
  'okta-context': ['./okta-context/index.ts', 'default'],
  'stix-taxii': ['./stix-taxii/index.ts', 'default'],
  anomali: ['./anomali/index.ts', 'default'],
  'recorded-future-context': ['./recorded-future-context/index.ts', 'default'],
  'recorded-future': ['./recorded-future/index.ts', 'default'],
  salesforce: ['./salesforce/index.ts', 'default'],
  'salesforce-eventlog': ['./salesforce-eventlog/index.ts', 'default'],
  splunk: ['./splunk/index.ts', 'default'],
  snowflake: ['./snowflake/index.ts', 'default'],
} as const satisfies Manifest;

/**
 * Every source Tributary ships, by id, each loaded on first access (core/lazy.ts); no prototype:
 * `sources.constructor` is undefined (core/names.ts).
 */
export const sources: Record<string, SourceDef> = lazyRecord<SourceDef>(import.meta.url, sourceManifest);

/**
 * The push sources (`isPushSource`: they receive events on an ingest endpoint and are never polled),
 * known without loading any source: the cluster's schedule leaves their collectors out of every claim.
 * src/sources/index.test.ts checks it against the sources themselves.
 */
export const pushSourceIds: readonly string[] = [
  'webhook',
  'zscaler-zia',
  'palo-alto-cortex-data-lake',
  'cribl',
  'databahn',
];
