import type { WizAccount } from '../../accounts/wiz.ts';
import { defineSource } from '../../core/source.ts';
import { versionId, type WizList, type WizSettings, wizSourceParts } from './shared.ts';

/**
 * Wiz Issues: every status change of a Wiz issue (open, in progress, resolved, rejected), from the GraphQL
 * `issuesV2` connection with the shared `wiz` account. Vendor facts (see ./shared.ts for the endpoint, paging
 * and errors): the Wiz pack of Cortex XSOAR (demisto/content Packs/Wiz/Integrations/Wiz/Wiz.py) reads issues
 * with `issuesV2(filterBy, first, after, orderBy)`, asks the issues modified since a time with
 * `filterBy: {statusChangedAt: {after}}` and `orderBy: {field: STATUS_CHANGED_AT, direction: ASC}`, and its
 * `PULL_ISSUES_QUERY` names the fields selected below (`sourceRule` by type, `entitySnapshot`, `projects`,
 * `serviceTickets`, `notes`).
 *
 * How it reads. Windows on `statusChangedAt` (`after` = window start, `before` = window end). An issue changes
 * status in place, so each status is one event with id `{id}@{statusChangedAt}` (`updatedAt` when Wiz gives
 * no `statusChangedAt`); an issue whose status changes while its window is paged leaves the window, so windows
 * are checked against `totalCount` and read again when they moved (restPoll `settle`).
 *
 * Assumed (why early access): see ./shared.ts; also that a new issue has `statusChangedAt` set to its
 * creation (so it is listed by the filter) and that notes or due dates do not change `statusChangedAt`.
 */

export const ISSUES_QUERY = `query IssuesV2($first: Int, $after: String, $filterBy: IssueFilters, $orderBy: IssueOrder) {
  issuesV2(first: $first, after: $after, filterBy: $filterBy, orderBy: $orderBy) {
    nodes {
      id type status severity createdAt updatedAt statusChangedAt resolvedAt dueAt resolutionReason
      sourceRule {
        __typename
        ... on Control { id name description resolutionRecommendation }
        ... on CloudEventRule { id name description sourceType type }
        ... on CloudConfigurationRule { id name description remediationInstructions serviceType }
      }
      entitySnapshot { id type nativeType name status cloudPlatform providerId region resourceGroupExternalId subscriptionExternalId subscriptionName externalId tags }
      projects { id name slug businessUnit }
      serviceTickets { externalId name url }
      notes { createdAt updatedAt text user { name email } serviceAccount { name } }
    }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

const statusTime = (n: any): unknown => n?.statusChangedAt ?? n?.updatedAt;

export const ISSUES: WizList = {
  title: 'Issues',
  description: 'Wiz issues, one event each time an issue changes status (issuesV2 by statusChangedAt).',
  field: 'issuesV2',
  query: ISSUES_QUERY,
  filter: (after, before) => ({ statusChangedAt: { after, before } }),
  orderBy: { field: 'STATUS_CHANGED_AT', direction: 'ASC' },
  time: statusTime,
  eventId: (n) => versionId(n?.id, statusTime(n)),
  missingId: 'issue has no id or statusChangedAt/updatedAt',
  what: 'issues',
  scope: 'read:issues',
  changesInPlace: true,
};

export default defineSource<WizSettings, WizAccount>({
  id: 'wiz-issues',
  title: 'Wiz Issues',
  account: 'wiz',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Wiz cloud security issues (toxic combinations, misconfigurations, threat detections) and every change of their status.',
  setupGuide: [
    '1. In Wiz, **Settings → Access Management → Service Accounts → Add Service Account**: type **Custom',
    '   Integration (GraphQL API)**, API scope **read:issues** (nothing else is needed). Copy the client ID and',
    '   the client secret (shown once).',
    '2. **User settings → Tenant**: copy the **API Endpoint URL** (e.g. https://api.us17.app.wiz.io/graphql).',
    '3. Create a **Wiz** account in Tributary with the client ID, secret and API endpoint URL (tenants still on the',
    '   older Auth0 login: token URL https://auth.wiz.io/oauth/token).',
    '',
    'Each status change of an issue is one event with id `{id}@{statusChangedAt}`: keep the newest per `raw.id`.',
    '',
    "Early access: Wiz's API reference needs a login. Wiz publishes no GraphQL rate limits (429 answers are",
    'honoured); the error codes, the bounds of the time filter and how long page cursors last are assumed.',
  ].join('\n'),
  ...wizSourceParts({ issues: ISSUES }),
});
