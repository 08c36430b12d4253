/**
 * Gemini Enterprise logs for the Cloud Logging simulator (src/sim/cloud-logging.ts), shaped as Google
 * documents them (docs.cloud.google.com/gemini/enterprise/docs/set-up-usage-audit-logs, audit-logging):
 * the usage log discoveryengine.googleapis.com%2Fgemini_enterprise_user_activity with
 * jsonPayload.logMetadata {serviceName, methodName}, request, response, userIamPrincipal; audit logs with
 * protoPayload.serviceName="discoveryengine.googleapis.com" in cloudaudit.googleapis.com%2Factivity
 * (ADMIN_WRITE) and %2Fdata_access (reads, StreamAssist, Search).
 *
 * Assumed (not documented): `resource` of usage entries is {type: "discoveryengine.googleapis.com/Engine"}.
 */

import { type LogCatalog, LoggingSimulator, type LoggingSimulatorOptions } from '../../sim/cloud-logging.ts';
import { answer, ipv4, network, prompt } from '../../sim/kit.ts';

export type SimLog = 'user-activity' | 'admin-activity' | 'data-access';

export const GEMINI_LOGS: LogCatalog<SimLog> = {
  ids: {
    'user-activity': 'discoveryengine.googleapis.com%2Fgemini_enterprise_user_activity',
    'admin-activity': 'cloudaudit.googleapis.com%2Factivity',
    'data-access': 'cloudaudit.googleapis.com%2Fdata_access',
  },
  counts: { 'user-activity': 40, 'admin-activity': 10, 'data-access': 30 },
  reusesInsertIds: 'user-activity',
  render(r, rng, { people, projectId: project, projectNumber, padding }) {
    const user = people[rng.int(0, people.length - 1)];
    const engine = `projects/${projectNumber}/locations/global/collections/default_collection/engines/ge-app`;
    if (r.log === 'user-activity') {
      const method = rng.weighted([
        ['StreamAssist', 5],
        ['Assist', 1],
        ['Search', 3],
      ] as const);
      const service =
        method === 'Search'
          ? 'google.cloud.discoveryengine.v1main.SearchService'
          : 'google.cloud.discoveryengine.v1main.AssistantService';
      const payload: Record<string, unknown> = {
        logMetadata: { serviceName: service, methodName: method },
        userIamPrincipal: user.email,
        request:
          method === 'Search'
            ? {
                servingConfig: `${engine}/servingConfigs/default_search`,
                query: prompt(rng),
                userInfo: { userId: user.email },
              }
            : { name: `${engine}/assistants/default_assistant`, query: { text: prompt(rng) } },
        response:
          method === 'Search'
            ? { attributionToken: rng.base64url(40), results: [{ id: rng.hex(16) }] }
            : {
                assistToken: rng.base64url(24),
                answer: {
                  name: `${engine}/sessions/${rng.int(1e9, 9e9)}/answers/${rng.int(1e9, 9e9)}`,
                  state: 'SUCCEEDED',
                  replies: [{ groundedContent: { content: { text: answer(rng) } } }],
                },
                agentInfo: { agent: 'default_assistant', displayName: 'Assistant' },
              },
      };
      if (padding) payload.padding = padding;
      return {
        resource: {
          type: 'discoveryengine.googleapis.com/Engine',
          labels: { project_id: project, location: 'global', engine_id: 'ge-app' },
        },
        severity: 'INFO',
        jsonPayload: payload,
      };
    }
    const admin = r.log === 'admin-activity';
    const method = admin
      ? rng.pick([
          'google.cloud.discoveryengine.v1.EngineService.UpdateEngine',
          'google.cloud.discoveryengine.v1alpha.AgentService.CreateAgent',
          'google.cloud.discoveryengine.v1.DataConnectorService.UpdateDataConnector',
          'google.cloud.discoveryengine.v1alpha.AgentService.SetIamPolicy',
        ])
      : rng.pick([
          'google.cloud.discoveryengine.v1.AssistantService.StreamAssist',
          'google.cloud.discoveryengine.v1.SearchService.Search',
          'google.cloud.discoveryengine.v1.AssistantService.AddContextFile',
        ]);
    const proto: Record<string, unknown> = {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: { principalEmail: user.email },
      requestMetadata: {
        callerIp: ipv4(rng, network(rng)),
        callerSuppliedUserAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36,gzip(gfe)',
        requestAttributes: {},
        destinationAttributes: {},
      },
      serviceName: 'discoveryengine.googleapis.com',
      methodName: method,
      authorizationInfo: [
        {
          resource: engine,
          permission: admin ? 'discoveryengine.engines.update' : 'discoveryengine.assistants.assist',
          granted: true,
          resourceAttributes: {},
        },
      ],
      resourceName: admin ? engine : `${engine}/assistants/default_assistant`,
    };
    if (padding) proto.request = { padding };
    return {
      protoPayload: proto,
      resource: {
        type: 'audited_resource',
        labels: { service: 'discoveryengine.googleapis.com', method, project_id: project },
      },
      severity: admin ? 'NOTICE' : 'INFO',
    };
  },
};

/** A Cloud Logging simulator holding Gemini Enterprise logs. */
export class CloudLoggingSimulator extends LoggingSimulator<SimLog> {
  constructor(o: LoggingSimulatorOptions<SimLog> = {}) {
    super(GEMINI_LOGS, o);
  }
}
