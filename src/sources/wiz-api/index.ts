import type { WizAccount } from '../../accounts/wiz.ts';
import { defineSource } from '../../core/source.ts';
import { versionId, type WizList, type WizSettings, wizSourceParts } from '../wiz-issues/shared.ts';

/**
 * Wiz API: named read-only queries of the Wiz GraphQL API, one stream each (the collector's streams choose
 * them): audit log entries, vulnerability findings and cloud detections, with the shared `wiz` account. The
 * query texts are constants here, so no setting can send a mutation. Endpoint, paging and errors: ./shared.ts
 * of `wiz-issues`. Vendor facts, from the queries Wiz's integrations send (the Wiz pack of Cortex XSOAR and
 * Wiz's data connectors, as public copies show them):
 *
 * - `auditLogEntries(first, after, filterBy: {timestamp: {after, before}})`: `{id, action, requestId, status,
 *   timestamp, actionParameters, userAgent, sourceIP, serviceAccount {id name}, user {id name}}`; immutable.
 * - `vulnerabilityFindings(first, after, filterBy: {updatedAt: {after, before}})`: findings on assets
 *   (`{id, name, severity, status, firstDetectedAt, lastDetectedAt, updatedAt, vulnerableAsset {…}}`), changed
 *   in place when re-detected, fixed or rejected: one event per version, id `{id}@{updatedAt}`.
 * - `detections(first, after, filterBy: {createdAt: {after, before}})`: cloud threat detections (`{id,
 *   createdAt, severity, ruleMatch {rule {id name}}, primaryResource {…}, issue {id}}`); immutable.
 *
 * Assumed (why early access): the filter names above (`timestamp`, `updatedAt`, `createdAt`), the selected
 * fields, the service-account scopes (`admin:audit`, `read:vulnerabilities`, `read:detections`), and the rest
 * listed in ./shared.ts.
 */

export const AUDIT_QUERY = `query AuditLogEntries($first: Int, $after: String, $filterBy: AuditLogEntryFilters) {
  auditLogEntries(first: $first, after: $after, filterBy: $filterBy) {
    nodes { id action requestId status timestamp actionParameters userAgent sourceIP serviceAccount { id name } user { id name } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const VULNERABILITY_QUERY = `query VulnerabilityFindings($first: Int, $after: String, $filterBy: VulnerabilityFindingFilters) {
  vulnerabilityFindings(first: $first, after: $after, filterBy: $filterBy) {
    nodes {
      id name detailedName description severity status fixedVersion detectionMethod hasExploit hasCisaKevExploit
      firstDetectedAt lastDetectedAt resolvedAt updatedAt score vendorSeverity link
      vulnerableAsset { ... on VulnerableAssetBase { id type name region providerUniqueId cloudPlatform subscriptionExternalId } }
    }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

export const DETECTIONS_QUERY = `query Detections($first: Int, $after: String, $filterBy: DetectionFilter) {
  detections(first: $first, after: $after, filterBy: $filterBy) {
    nodes {
      id createdAt startedAt endedAt severity description
      ruleMatch { rule { id name } }
      primaryResource { id name type region cloudAccount { id name cloudProvider externalId } }
      actors { id name type }
      issue { id }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

const idOf = (n: any) => (typeof n?.id === 'string' && n.id ? n.id : undefined);

export const WIZ_API_LISTS: Record<string, WizList> = {
  'audit-log': {
    title: 'Audit log entries',
    description:
      'Wiz audit log: logins, API calls and changes by users and service accounts (auditLogEntries).',
    field: 'auditLogEntries',
    query: AUDIT_QUERY,
    filter: (after, before) => ({ timestamp: { after, before } }),
    time: (n) => n?.timestamp,
    eventId: idOf,
    missingId: 'audit log entry has no id',
    what: 'audit log entries',
    scope: 'admin:audit',
  },
  'vulnerability-findings': {
    title: 'Vulnerability findings',
    description:
      'Vulnerability findings on cloud assets, one event per change (vulnerabilityFindings by updatedAt).',
    field: 'vulnerabilityFindings',
    query: VULNERABILITY_QUERY,
    filter: (after, before) => ({ updatedAt: { after, before } }),
    time: (n) => n?.updatedAt,
    eventId: (n) => versionId(n?.id, n?.updatedAt),
    missingId: 'vulnerability finding has no id or updatedAt',
    what: 'vulnerability findings',
    scope: 'read:vulnerabilities',
    changesInPlace: true,
  },
  'cloud-detections': {
    title: 'Cloud detections',
    description: 'Cloud threat detections (detections by createdAt).',
    field: 'detections',
    query: DETECTIONS_QUERY,
    filter: (after, before) => ({ createdAt: { after, before } }),
    time: (n) => n?.createdAt,
    eventId: idOf,
    missingId: 'detection has no id',
    what: 'detections',
    scope: 'read:detections',
  },
};

export default defineSource<WizSettings, WizAccount>({
  id: 'wiz-api',
  title: 'Wiz API',
  account: 'wiz',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Named read-only queries of the Wiz GraphQL API: audit log entries, vulnerability findings and cloud detections, one stream each.',
  setupGuide: [
    '1. In Wiz, **Settings → Access Management → Service Accounts → Add Service Account**: type **Custom',
    '   Integration (GraphQL API)** with the API scopes of the streams you collect: **admin:audit** (audit log),',
    '   **read:vulnerabilities** (vulnerability findings), **read:detections** (cloud detections). Read scopes only:',
    '   Tributary sends no mutations. Copy the client ID and secret (shown once).',
    '2. **User settings → Tenant**: copy the **API Endpoint URL** (e.g. https://api.us17.app.wiz.io/graphql).',
    '3. Create (or reuse) a **Wiz** account in Tributary with them, then choose the streams (the named queries).',
    '',
    'Vulnerability findings change in place: each change is one event with id `{id}@{updatedAt}`.',
    '',
    "Early access: Wiz's API reference needs a login; the filter fields, the scope names and the error codes are",
    'assumed from the queries Wiz integrations send. Wiz publishes no GraphQL rate limits (429 answers are honoured).',
  ].join('\n'),
  ...wizSourceParts(WIZ_API_LISTS),
});
