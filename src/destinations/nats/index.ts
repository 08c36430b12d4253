import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { defineDestinationKind } from '../kind.ts';
import { NatsDestination } from './nats-destination.ts';

/** `nats://host:port`, `tls://host:port` or `host[:port]` (the client's server URL forms). */
const SERVER =
  /^((nats|tls):\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?$|^((nats|tls):\/\/)?\[[0-9a-fA-F:]+\](:\d{1,5})?$/;

/** A subject template: tokens of letters, digits, - and _, or a placeholder, separated by dots. */
const SUBJECT =
  /^([A-Za-z0-9_-]+|\{(source|collector|stream)\})+(\.([A-Za-z0-9_-]+|\{(source|collector|stream)\})+)*$/;

export const natsAuthSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('token'),
        token: z.string().min(1).meta(SECRET).describe('The authorization token'),
      })
      .strict(),
    z
      .object({
        type: z.literal('user'),
        user: z.string().min(1).describe('User name'),
        password: z.string().min(1).meta(SECRET).describe('Password'),
      })
      .strict(),
    z
      .object({
        type: z.literal('nkey'),
        seed: z
          .string()
          .trim()
          .regex(/^SU[A-Z2-7]{56}$/, 'expected a user NKey seed (SU…, 58 characters)')
          .meta(SECRET)
          .describe('The user NKey seed (SU…); the server knows its public key (U…)'),
      })
      .strict(),
    z
      .object({
        type: z.literal('credentials'),
        credentials: z
          .string()
          .regex(
            /BEGIN NATS USER JWT/,
            'expected the contents of a .creds file (a user JWT and its NKey seed)',
          )
          .meta(SECRET)
          .describe('The contents of a .creds file (decentralised JWT auth, e.g. Synadia Cloud)'),
      })
      .strict(),
  ])
  .describe('How the client authenticates; the secret is never logged or shown in errors');

export const natsConfigSchema = z
  .object({
    kind: z.literal('nats'),
    servers: z
      .array(
        z.string().trim().regex(SERVER, 'expected a server such as nats://nats.example.com:4222 or tls://…'),
      )
      .min(1)
      .meta({ ...ORIGIN, title: 'Servers' })
      .describe('NATS servers to connect to, e.g. nats://nats.example.com:4222 (tls://… requires TLS)'),
    subject: z
      .string()
      .trim()
      .regex(
        SUBJECT,
        'expected a subject such as tributary.{source}.{stream}: dot-separated tokens, no wildcards',
      )
      .default('tributary.{source}.{stream}')
      .meta({ title: 'Subject' })
      .describe(
        'Subject each event is published to; {source} {collector} {stream} are replaced (default tributary.{source}.{stream})',
      ),
    stream: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{1,255}$/, 'expected a stream name: letters, digits, - and _')
      .optional()
      .meta({ title: 'Expected stream' })
      .describe('If set, the server refuses a message unless this stream captures it (Nats-Expected-Stream)'),
    auth: natsAuthSchema.optional(),
    tls: z
      .boolean()
      .default(false)
      .meta({ title: 'TLS' })
      .describe('Require TLS (implied by tls:// servers)'),
    ca: z
      .string()
      .regex(/BEGIN CERTIFICATE/, 'expected a PEM certificate')
      .optional()
      .meta({ title: 'CA certificate (PEM)' })
      .describe('CA that signed the server certificate, when it is not a public one'),
    cert: z
      .string()
      .regex(/BEGIN CERTIFICATE/, 'expected a PEM certificate')
      .optional()
      .meta({ title: 'Client certificate (PEM)' })
      .describe('Client certificate, for servers that verify clients (mutual TLS)'),
    key: z
      .string()
      .regex(/BEGIN [A-Z ]*PRIVATE KEY/, 'expected a PEM private key')
      .optional()
      .meta({ ...SECRET, title: 'Client key (PEM)' })
      .describe('Private key of the client certificate'),
    timeout: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .meta({ title: 'Acknowledgement timeout (ms)' })
      .describe('Milliseconds to wait for JetStream to acknowledge a message (default 10000)'),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(512)
      .meta({ title: 'Messages in flight' })
      .describe('Messages published before their acknowledgements are awaited (default 512)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.cert === undefined) !== (c.key === undefined))
      ctx.addIssue({ code: 'custom', path: [c.cert ? 'key' : 'cert'], message: 'cert and key go together' });
  })
  .describe('Publishes each event to a NATS JetStream subject; only the JetStream acknowledgement counts');

export type NatsDestinationConfig = z.infer<typeof natsConfigSchema>;

export const natsKind = defineDestinationKind({
  kind: 'nats',
  title: 'NATS JetStream',
  description:
    'Publishes each event to a JetStream subject with Nats-Msg-Id = the event id; a batch is acknowledged once JetStream acknowledged every message.',
  schema: natsConfigSchema,
  create: (name, config) => new NatsDestination(name, config),
});
