import { sentinelOneSource, versionId } from '../sentinelone/shared.ts';

/**
 * SentinelOne threats (`GET /web/api/v2.1/threats`) by `updatedAt` (vendor facts and what is assumed:
 * ../sentinelone/shared.ts). A threat changes in place — mitigation, incident status, analyst verdict — so
 * each change is a new event: id `{id}@{threatInfo.updatedAt}`, time `threatInfo.updatedAt` (keep the newest
 * per `raw.id`).
 */
export default sentinelOneSource({
  id: 'sentinelone-threats',
  title: 'SentinelOne Threats',
  description:
    'SentinelOne threats: malware and behavioural detections on endpoints with classification, confidence, mitigation and incident status, every time a threat changes.',
  stream: 'threats',
  what: 'threats',
  list: {
    path: '/threats',
    filter: 'updatedAt',
    sortBy: 'updatedAt',
    time: 'threatInfo.updatedAt',
    eventId: versionId('id', 'threatInfo.updatedAt'),
    missingId: 'threat has no id or threatInfo.updatedAt',
    title: 'Threats',
    description: 'Threats (/web/api/v2.1/threats), one event each time a threat changes.',
  },
});
