import { sentinelOneSource } from '../sentinelone/shared.ts';

/**
 * SentinelOne alerts (`GET /web/api/v2.1/cloud-detection/alerts`): STAR custom-rule and cloud detections, by
 * creation time (`createdAt` filter, `sortBy=alertInfoCreatedAt`, as SentinelOne's own event collector reads
 * them; vendor facts and what is assumed: ../sentinelone/shared.ts). One event per alert, id
 * `alertInfo.alertId`, time `alertInfo.createdAt`; later status changes of an alert are not read again.
 */
export default sentinelOneSource({
  id: 'sentinelone-alerts',
  title: 'SentinelOne Alerts',
  description:
    'SentinelOne alerts: STAR custom detection rules and cloud detections, with the rule, the process and the endpoint that matched.',
  stream: 'alerts',
  what: 'alerts',
  list: {
    path: '/cloud-detection/alerts',
    filter: 'createdAt',
    sortBy: 'alertInfoCreatedAt',
    time: 'alertInfo.createdAt',
    eventId: (r) => {
      const id = r?.alertInfo?.alertId;
      return typeof id === 'string' && id ? id : undefined;
    },
    missingId: 'alert has no alertInfo.alertId',
    title: 'Alerts',
    description: 'STAR and cloud detection alerts (/web/api/v2.1/cloud-detection/alerts), by creation time.',
  },
  extraGuide: ['4. Alerts come from **STAR custom rules**: without rules, the alerts stream stays empty.'],
});
