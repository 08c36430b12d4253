import { lazyRecord, type Manifest } from '../core/lazy.ts';
import type { AccountKind } from '../core/source.ts';

/**
 * Account kinds: a shareable, named credential (docs/architecture.md, Words). Secrets are listed so the store encrypts
 * them and the API never returns them. Rate limits here are per account, shared by its collectors.
 *
 * Where each kind is: its id → its module and export (src/accounts/<file>.ts). A run loads only the
 * kinds of the accounts it uses (core/lazy.ts); src/accounts/index.test.ts checks each entry's own id.
 */
export const accountKindManifest = {
  okta: ['./okta.ts', 'okta'],
  openai: ['./openai.ts', 'openai'],
  google: ['./google.ts', 'google'],
  github: ['./github.ts', 'github'],
  slack: ['./slack.ts', 'slack'],
  microsoft: ['./microsoft.ts', 'microsoft'],
  aws: ['./aws.ts', 'aws'],
  'azure-event-hubs': ['./azure-event-hubs.ts', 'azureEventHubs'],
  'azure-storage': ['./azure-storage.ts', 'azureStorage'],
  'cisco-duo': ['./cisco-duo.ts', 'ciscoDuo'],
  salesforce: ['./salesforce.ts', 'salesforce'],
  snowflake: ['./snowflake.ts', 'snowflake'],
  splunk: ['./splunk.ts', 'splunk'],
  'trend-micro': ['./trend-micro.ts', 'trendMicro'],
  tenable: ['./tenable.ts', 'tenable'],
  qualys: ['./qualys.ts', 'qualys'],
  'cisco-secure-endpoint': ['./cisco-secure-endpoint.ts', 'ciscoSecureEndpoint'],
  cylance: ['./cylance.ts', 'cylance'],
  wiz: ['./wiz.ts', 'wiz'],
  zoom: ['./zoom.ts', 'zoom'],
  'abnormal-security': ['./abnormal-security.ts', 'abnormalSecurity'],
  'recorded-future': ['./recorded-future.ts', 'recordedFuture'],
  'proofpoint-tap': ['./proofpoint-tap.ts', 'proofpointTap'],
  cloudflare: ['./cloudflare.ts', 'cloudflare'],
  'cisco-meraki': ['./cisco-meraki.ts', 'ciscoMeraki'],
  'cato-networks': ['./cato-networks.ts', 'catoNetworks'],
  box: ['./box.ts', 'box'],
  dropbox: ['./dropbox.ts', 'dropbox'],
  servicenow: ['./servicenow.ts', 'servicenow'],
  'sophos-central': ['./sophos-central.ts', 'sophosCentral'],
  vectra: ['./vectra.ts', 'vectra'],
  lastpass: ['./lastpass.ts', 'lastpass'],
  'symantec-endpoint-security': ['./symantec-endpoint-security.ts', 'symantecEndpointSecurity'],
  'progress-sharefile': ['./progress-sharefile.ts', 'progressShareFile'],
  netskope: ['./netskope.ts', 'netskope'],
  mimecast: ['./mimecast.ts', 'mimecast'],
  'proofpoint-on-demand': ['./proofpoint-on-demand.ts', 'proofpointOnDemand'],
  crowdstrike: ['./crowdstrike.ts', 'crowdstrike'],
  sentinelone: ['./sentinelone.ts', 'sentinelOne'],
  'carbon-black': ['./carbon-black.ts', 'carbonBlack'],
  'palo-alto-cortex-xdr': ['./palo-alto-cortex-xdr.ts', 'cortexXdr'],
  trellix: ['./trellix.ts', 'trellix'],
  'api-key': ['./api-key.ts', 'apiKey'],
  bearer: ['./bearer.ts', 'bearer'],
  basic: ['./basic.ts', 'basic'],
  'oauth2-client-credentials': ['./oauth2-client-credentials.ts', 'oauth2ClientCredentials'],
  none: ['./none.ts', 'none'],
} as const satisfies Manifest;

/** By id, each loaded on first access (core/lazy.ts), without a prototype (core/names.ts). */
export const accountKinds: Record<string, AccountKind> = lazyRecord<AccountKind>(
  import.meta.url,
  accountKindManifest,
);
