import { z } from 'zod';
import { byName } from '../core/names.ts';
import { SECRET } from '../core/secret-spec.ts';
import { type AccountKind, defineAccountKind } from '../core/source.ts';
import { abnormalSecurity } from './abnormal-security.ts';
import { apiKey } from './api-key.ts';
import { aws } from './aws.ts';
import { azureEventHubs } from './azure-event-hubs.ts';
import { azureStorage } from './azure-storage.ts';
import { basic } from './basic.ts';
import { bearer } from './bearer.ts';
import { box } from './box.ts';
import { carbonBlack } from './carbon-black.ts';
import { catoNetworks } from './cato-networks.ts';
import { ciscoDuo } from './cisco-duo.ts';
import { ciscoMeraki } from './cisco-meraki.ts';
import { ciscoSecureEndpoint } from './cisco-secure-endpoint.ts';
import { cloudflare } from './cloudflare.ts';
import { crowdstrike } from './crowdstrike.ts';
import { cylance } from './cylance.ts';
import { dropbox } from './dropbox.ts';
import { github } from './github.ts';
import { google } from './google.ts';
import { lastpass } from './lastpass.ts';
import { microsoft } from './microsoft.ts';
import { mimecast } from './mimecast.ts';
import { netskope } from './netskope.ts';
import { none } from './none.ts';
import { oauth2ClientCredentials } from './oauth2-client-credentials.ts';
import { okta } from './okta.ts';
import { cortexXdr } from './palo-alto-cortex-xdr.ts';
import { progressShareFile } from './progress-sharefile.ts';
import { proofpointOnDemand } from './proofpoint-on-demand.ts';
import { proofpointTap } from './proofpoint-tap.ts';
import { qualys } from './qualys.ts';
import { recordedFuture } from './recorded-future.ts';
import { salesforce } from './salesforce.ts';
import { sentinelOne } from './sentinelone.ts';
import { servicenow } from './servicenow.ts';
import { slack } from './slack.ts';
import { snowflake } from './snowflake.ts';
import { sophosCentral } from './sophos-central.ts';
import { splunk } from './splunk.ts';
import { symantecEndpointSecurity } from './symantec-endpoint-security.ts';
import { tenable } from './tenable.ts';
import { trellix } from './trellix.ts';
import { trendMicro } from './trend-micro.ts';
import { vectra } from './vectra.ts';
import { wiz } from './wiz.ts';
import { zoom } from './zoom.ts';

export { okta };

/**
 * Account kinds: a shareable, named credential (docs/architecture.md, Words). Secrets are listed so the store encrypts
 * them and the API never returns them. Rate limits here are per account, shared by its collectors.
 */

export const openai = defineAccountKind({
  id: 'openai',
  title: 'OpenAI',
  fields: z
    .object({
      apiKey: z
        .string()
        .min(1)
        .meta({ ...SECRET, title: 'Admin API key' })
        .describe('API key with the Compliance API scopes granted by OpenAI'),
      organizationId: z
        .string()
        .regex(/^org-[A-Za-z0-9]+$/, 'expected an OpenAI organization ID such as org-AbC123')
        .optional()
        .meta({ title: 'Organization ID' })
        .describe(
          'OpenAI Platform organization ID (org-…); needed for organization-scoped logs such as COSTS',
        ),
    })
    .strict(),
  // The Compliance API (api.chatgpt.com) and the OpenAI Platform API (organization-scoped logs).
  origins: () => ['https://api.chatgpt.com', 'https://api.openai.com'],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.apiKey}`);
  },
  // The Compliance API allows 100 requests a minute per workspace, method and route.
  rateLimit: { perSecond: 1.5, burst: 10 },
});

/** By id, without a prototype (core/names.ts). */
export const accountKinds: Record<string, AccountKind> = byName(
  Object.entries({
    okta,
    openai,
    google,
    github,
    slack,
    microsoft,
    aws,
    'azure-event-hubs': azureEventHubs,
    'azure-storage': azureStorage,
    'cisco-duo': ciscoDuo,
    salesforce,
    snowflake,
    splunk,
    'trend-micro': trendMicro,
    tenable,
    qualys,
    'cisco-secure-endpoint': ciscoSecureEndpoint,
    cylance,
    wiz,
    zoom,
    'abnormal-security': abnormalSecurity,
    'recorded-future': recordedFuture,
    'proofpoint-tap': proofpointTap,
    cloudflare,
    'cisco-meraki': ciscoMeraki,
    'cato-networks': catoNetworks,
    box,
    dropbox,
    servicenow,
    'sophos-central': sophosCentral,
    vectra,
    lastpass,
    'symantec-endpoint-security': symantecEndpointSecurity,
    'progress-sharefile': progressShareFile,
    netskope,
    mimecast,
    'proofpoint-on-demand': proofpointOnDemand,
    crowdstrike,
    sentinelone: sentinelOne,
    'carbon-black': carbonBlack,
    'palo-alto-cortex-xdr': cortexXdr,
    trellix,
    'api-key': apiKey,
    bearer,
    basic,
    'oauth2-client-credentials': oauth2ClientCredentials,
    none,
  }),
);
