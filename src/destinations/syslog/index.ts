import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { defineDestinationKind } from '../kind.ts';
import { FACILITIES, SEVERITIES, SyslogDestination } from './syslog-destination.ts';

export const syslogConfigSchema = z
  .object({
    kind: z.literal('syslog'),
    host: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9.-]+$|^\[?[0-9a-fA-F:]+\]?$/, 'expected a host name or IP address')
      .meta({ ...ORIGIN, title: 'Host' })
      .describe('Syslog receiver (rsyslog, syslog-ng, a SIEM collector)'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .meta({ ...ORIGIN, title: 'Port' })
      .describe('Port (default 6514 for tls, 514 for tcp and udp)'),
    protocol: z
      .enum(['tcp', 'tls', 'udp'])
      .default('tls')
      .meta({ ...ORIGIN, title: 'Transport' })
      .describe(
        'tls (RFC 5425, recommended), tcp (RFC 6587, clear text) or udp (RFC 5426, fire and forget: no delivery guarantee)',
      ),
    framing: z
      .enum(['octet-counting', 'newline'])
      .default('octet-counting')
      .meta({ title: 'Framing (tcp, tls)' })
      .describe('octet-counting (RFC 6587 §3.4.1, "LEN MSG") or newline (non-transparent framing, §3.4.2)'),
    appName: z
      .string()
      .regex(/^[!-~]{1,48}$/, 'expected 1–48 printable ASCII characters without spaces')
      .default('tributary')
      .meta({ title: 'APP-NAME' })
      .describe('RFC 5424 APP-NAME of every message (default tributary)'),
    hostname: z
      .string()
      .regex(/^[!-~]{1,255}$/, 'expected 1–255 printable ASCII characters without spaces')
      .optional()
      .meta({ title: 'HOSTNAME' })
      .describe('RFC 5424 HOSTNAME of every message (default: this machine’s host name)'),
    facility: z
      .enum(Object.keys(FACILITIES) as [string, ...string[]])
      .default('local0')
      .meta({ title: 'Facility' })
      .describe('Facility of every message (default local0)'),
    severity: z
      .enum(Object.keys(SEVERITIES) as [string, ...string[]])
      .default('info')
      .meta({ title: 'Severity' })
      .describe('Severity of every message (default info)'),
    maxMessageBytes: z
      .number()
      .int()
      .min(480)
      .max(1024 * 1024)
      .default(64_000)
      .meta({ title: 'Largest message (bytes)' })
      .describe(
        'An event whose message would be longer is refused with an error (raise it together with the receiver’s limit, e.g. rsyslog maxMessageSize); UDP allows at most 65000 (default 64000)',
      ),
    ca: z
      .string()
      .regex(/BEGIN CERTIFICATE/, 'expected a PEM certificate')
      .optional()
      .meta({ title: 'CA certificate (PEM)' })
      .describe('tls: the CA that signed the receiver’s certificate, when it is not a public one'),
    cert: z
      .string()
      .regex(/BEGIN CERTIFICATE/, 'expected a PEM certificate')
      .optional()
      .meta({ title: 'Client certificate (PEM)' })
      .describe('tls: a client certificate, for receivers that authenticate senders (RFC 5425 §5)'),
    key: z
      .string()
      .regex(/BEGIN [A-Z ]*PRIVATE KEY/, 'expected a PEM private key')
      .optional()
      .meta({ ...SECRET, title: 'Client key (PEM)' })
      .describe('tls: the private key of the client certificate'),
    timeout: z
      .number()
      .int()
      .positive()
      .default(15_000)
      .meta({ title: 'Timeout (ms)' })
      .describe('Milliseconds to connect and to write a batch before it counts as failed (default 15000)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.cert === undefined) !== (c.key === undefined))
      ctx.addIssue({ code: 'custom', path: [c.cert ? 'key' : 'cert'], message: 'cert and key go together' });
    if (c.protocol !== 'tls' && (c.ca || c.cert))
      ctx.addIssue({ code: 'custom', path: [c.ca ? 'ca' : 'cert'], message: 'only used with protocol tls' });
    if (c.protocol === 'udp' && c.maxMessageBytes > 65_000)
      ctx.addIssue({
        code: 'custom',
        path: ['maxMessageBytes'],
        message: 'a UDP datagram carries at most 65000 bytes of message here',
      });
  })
  .describe('Sends each event as an RFC 5424 syslog message whose MSG is the envelope JSON');

export type SyslogDestinationConfig = z.infer<typeof syslogConfigSchema>;

export const syslogKind = defineDestinationKind({
  kind: 'syslog',
  title: 'Syslog',
  description:
    'Sends each event as an RFC 5424 message over TLS, TCP or UDP; a batch counts as delivered once written to the socket (syslog has no acknowledgement; UDP may lose messages).',
  schema: syslogConfigSchema,
  create: (name, config) => new SyslogDestination(name, config),
});
