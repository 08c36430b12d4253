/**
 * Google Cloud audit and platform logs for the Cloud Logging simulator (src/sim/cloud-logging.ts), shaped
 * as Google documents them:
 *
 * - cloud.google.com/logging/docs/audit ("Types of audit logs", "Audit log entry structure"): log ids
 *   cloudaudit.googleapis.com/activity, /data_access, /system_event, /policy (URL-encoded in logName:
 *   `cloudaudit.googleapis.com%2Factivity`); protoPayload of type
 *   type.googleapis.com/google.cloud.audit.AuditLog with serviceName, methodName, resourceName,
 *   authenticationInfo.principalEmail, requestMetadata.callerIp, authorizationInfo[].
 * - cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry: `logName` is
 *   projects/P/logs/L, organizations/O/logs/L or folders/F/logs/L; `resource` {type, labels} with
 *   monitored-resource types such as `project`, `gce_instance`, `gcs_bucket`, `organization`, `folder`;
 *   `textPayload` for plain-text logs (syslog).
 *
 * Assumed: the mix of services and methods (IAM, Compute Engine, Cloud Storage, Resource Manager).
 */

import { type LogCatalog, LoggingSimulator, type LoggingSimulatorOptions } from '../../sim/cloud-logging.ts';
import { ipv4, network } from '../../sim/kit.ts';

export type GcpLog = 'activity' | 'data_access' | 'system_event' | 'syslog';

const CALLS = [
  ['iam.googleapis.com', 'google.iam.admin.v1.CreateServiceAccountKey', 'project'],
  ['cloudresourcemanager.googleapis.com', 'SetIamPolicy', 'project'],
  ['compute.googleapis.com', 'v1.compute.instances.insert', 'gce_instance'],
  ['storage.googleapis.com', 'storage.buckets.create', 'gcs_bucket'],
] as const;
const READS = [
  ['storage.googleapis.com', 'storage.objects.get', 'gcs_bucket'],
  [
    'secretmanager.googleapis.com',
    'google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion',
    'audited_resource',
  ],
] as const;

export const GCP_LOGS: LogCatalog<GcpLog> = {
  ids: {
    activity: 'cloudaudit.googleapis.com%2Factivity',
    data_access: 'cloudaudit.googleapis.com%2Fdata_access',
    system_event: 'cloudaudit.googleapis.com%2Fsystem_event',
    syslog: 'syslog',
  },
  counts: { activity: 30, data_access: 20, system_event: 5, syslog: 10 },
  reusesInsertIds: 'syslog',
  render(r, rng, { people, padding }) {
    const scope = r.parent.startsWith('projects/') ? r.parent.slice('projects/'.length) : undefined;
    if (r.log === 'syslog') {
      return {
        resource: {
          type: 'gce_instance',
          labels: {
            project_id: scope ?? 'unknown',
            instance_id: String(rng.int(1e15, 9e15)),
            zone: 'europe-west1-b',
          },
        },
        severity: rng.pick(['INFO', 'NOTICE', 'WARNING']),
        textPayload: `sshd[${rng.int(1000, 9999)}]: Accepted publickey for admin from ${ipv4(rng, network(rng))} port ${rng.int(1024, 65535)} ssh2${padding ? ` ${padding}` : ''}`,
      };
    }
    const user = people[rng.int(0, people.length - 1)];
    const [service, method, type] =
      r.log === 'data_access' ? rng.pick(READS) : r.log === 'system_event' ? CALLS[2] : rng.pick(CALLS);
    const principal = r.log === 'system_event' ? 'system@google.com' : user.email;
    const labels: Record<string, string> = scope
      ? { project_id: scope }
      : r.parent.startsWith('organizations/')
        ? { organization_id: r.parent.split('/')[1] }
        : { folder_id: r.parent.split('/')[1] };
    const resourceType = scope ? type : r.parent.startsWith('organizations/') ? 'organization' : 'folder';
    return {
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        status: {},
        authenticationInfo: { principalEmail: principal },
        requestMetadata: {
          callerIp: ipv4(rng, network(rng)),
          callerSuppliedUserAgent: 'google-cloud-sdk gcloud/502.0.0',
        },
        serviceName: service,
        methodName: method,
        authorizationInfo: [
          { resource: r.parent, permission: `${service.split('.')[0]}.resources.update`, granted: true },
        ],
        resourceName: scope ? `projects/${scope}/resources/${rng.hex(8)}` : r.parent,
        ...(padding ? { request: { padding } } : {}),
      },
      resource: { type: resourceType, labels },
      severity: r.log === 'data_access' ? 'INFO' : 'NOTICE',
    };
  },
};

/** A Cloud Logging simulator holding Google Cloud audit logs and syslog under projects, folders and organizations. */
export class GcpLoggingSimulator extends LoggingSimulator<GcpLog> {
  constructor(o: LoggingSimulatorOptions<GcpLog> = {}) {
    super(GCP_LOGS, { projectId: 'acme-prod', ...o });
  }
}
