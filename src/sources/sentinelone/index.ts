import { sentinelOneSource } from './shared.ts';

/**
 * SentinelOne console activities (`GET /web/api/v2.1/activities`): every action in the console and on agents —
 * logins, policy and exclusion changes, threat status changes, agent installs and disconnects — by `createdAt`
 * (vendor facts and what is assumed: ./shared.ts). Activities do not change: one event each, id `id`.
 */
export default sentinelOneSource({
  id: 'sentinelone',
  title: 'SentinelOne',
  description:
    'SentinelOne activities: console and agent actions (logins, policy and exclusion changes, threat status changes, agent events), the audit trail of the management console.',
  stream: 'activities',
  what: 'activities',
  list: {
    path: '/activities',
    filter: 'createdAt',
    sortBy: 'createdAt',
    time: 'createdAt',
    eventId: (r) => (typeof r?.id === 'string' && r.id ? r.id : undefined),
    missingId: 'activity has no id',
    title: 'Activities',
    description: 'Console and agent activities (/web/api/v2.1/activities), by creation time.',
  },
});
