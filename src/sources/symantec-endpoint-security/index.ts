import { z } from 'zod';
import {
  type SymantecEndpointSecurityAccount,
  sesApiUrl,
} from '../../accounts/symantec-endpoint-security.ts';
import { defineSource } from '../../core/source.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Symantec Endpoint Security (ICDm) events, through the event export stream. Vendor facts, with where
 * they are published (apidocs.symantec.com "ICDm: API reference", 2.1 Authentication; techdocs.broadcom.com
 * "Adding a client application"; Cortex XSIAM's Symantec Endpoint Security event collector, demisto/content
 * Packs/SymantecEndpointSecurity, whose README links Symantec's API docs):
 *
 * - `POST {api}/v1/event-export/stream/{streamId}/{channelId}?connectionTimeout=<s>` with a bearer token,
 *   body `{}` the first time and then `{"next": "<the previous answer's next>"}`: an opaque position. The
 *   answer holds `events` (each with its `uuid` and `time`, ISO 8601) and `next`. The request is a long
 *   poll: Symantec holds it up to `connectionTimeout` seconds when there is nothing new.
 * - A `next` Symantec no longer has is refused with **410 Gone**: the stream starts again without it.
 * - Events may come again at the newest time already read (the XSIAM collector keeps the newest time's
 *   uuids to drop them): de-duplicated here by `uuid` across pages (`repeats`).
 * - The stream and its channel are made in the console (Integration → Event Stream); the client
 *   application needs a privilege that may read it.
 *
 * How it reads (engine: opaque cursor). `next` is the checkpoint, stored verbatim after every answer; an
 * answer without events ends the run with its `next` saved. A 410 is a `cursor_expired` gap warning: the
 * channel is read again from where Symantec starts a position-less request.
 *
 * Not confirmed in public documentation, assumed: the answer is one JSON object per request (Tributary asks
 * `Accept: application/json`; the XSIAM collector asks `application/x-ndjson` and reads one object per
 * chunk); the largest answer; rate limits; how long a `next` stays valid and how far back a request without
 * one starts; error bodies beyond the status.
 */

export interface SesSettings {
  streamId: string;
  channelId: string;
  connectionTimeout: number;
  baseUrl?: string;
}

const id = (what: string) =>
  z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9_-]{4,128}$/,
      `expected the ${what} shown for the event stream in the console (Integration → Event Stream)`,
    );

const settings = z
  .object({
    streamId: id('stream ID')
      .meta({ title: 'Stream ID' })
      .describe('ID of the event stream (Integration → Event Stream)'),
    channelId: id('channel ID')
      .meta({ title: 'Channel ID' })
      .describe('ID of the stream’s channel this collector reads (one reader per channel)'),
    connectionTimeout: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(10)
      .meta({ title: 'Long-poll wait (s)' })
      .describe('How long Symantec may hold a request open when there is nothing new (connectionTimeout)'),
  })
  .strict();

const streamUrl = (s: SesSettings, a: SymantecEndpointSecurityAccount) =>
  `${(s.baseUrl ?? sesApiUrl(a)).replace(/\/+$/, '')}/v1/event-export/stream/${encodeURIComponent(s.streamId)}/${encodeURIComponent(s.channelId)}`;

/** The next request: the same stream with `{"next": …}` as its body. */
const nextBody: Paginator = {
  next({ request, body }) {
    const next = body?.next;
    if (typeof next !== 'string' || next === '') return undefined;
    return { ...request, body: JSON.stringify({ next }) };
  },
};

const events = restPoll<SesSettings, SymantecEndpointSecurityAccount>({
  title: 'Events',
  description:
    'Every event of the event stream’s channel: detections, policy and device changes, scans, blocked applications, admin audit.',
  url: ({ settings: s, account }) => streamUrl(s, account),
  method: 'POST',
  headers: () => ({ accept: 'application/json', 'content-type': 'application/json' }),
  request: ({ settings: s, account }): PageRequest => ({
    url: streamUrl(s, account),
    query: { connectionTimeout: s.connectionTimeout },
    body: '{}',
  }),
  records: (body) => body?.events,
  paginate: nextBody,
  cursor: {
    kind: 'opaque',
    time: 'time',
    // An answer with no events: nothing more for now; its `next` is where the next run asks.
    caughtUp: (_body, records) => records.length === 0,
    repeats: true,
    expired: (err) => err.status === 410,
  },
  eventId: (e) => (typeof e?.uuid === 'string' && e.uuid ? e.uuid : undefined),
  missingId: 'Symantec Endpoint Security event without a uuid',
});

export default defineSource<SesSettings, SymantecEndpointSecurityAccount>({
  id: 'symantec-endpoint-security',
  title: 'Symantec Endpoint Security',
  account: 'symantec-endpoint-security',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Symantec Endpoint Security (ICDm) events — detections, device and policy changes, scans, admin audit — from an event export stream.',
  setupGuide: [
    '1. In the Symantec Endpoint Security console (ICDm), as an administrator: **Integration → Client Applications →',
    '   Add Client Application**; name it, give it a privilege that may read events, and save.',
    "2. In the application's menu (⋮) choose **Client Secret** and copy the **Client ID** and **Client Secret**.",
    '3. **Integration → Event Stream**: add a stream with the event types to export, and note its **Stream ID** and',
    '   the **Channel ID** of a channel for Tributary (a channel has one position: one collector per channel).',
    '4. Create a **Symantec Endpoint Security** account in Tributary with the Client ID and Client Secret, then a',
    '   collector with the Stream ID and Channel ID.',
    '',
    'Early access. Not confirmed by public Symantec documentation: the event stream screen and its wording (step 3),',
    'whether answers are one JSON object (Tributary asks application/json) or several (x-ndjson), how long a saved',
    'position (`next`) stays valid — a 410 answer is reported as a gap and the channel is read again — how far',
    'back a new channel starts, the token lifetime and rate limits (Tributary sends at most 2 requests a second).',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<SesSettings>,
  streams: { events },
  explain({ status }) {
    if (status === 401)
      return {
        code: 'ses_invalid_token',
        action:
          'Symantec Endpoint Security refused a freshly issued token: check that the client application still exists (Integration → Client Applications) and the account’s API URL.',
      };
    if (status === 403)
      return {
        code: 'ses_forbidden',
        action:
          'The client application may not read this event stream: give it a privilege that can (Integration → Client Applications → the application → privileges).',
      };
    if (status === 404)
      return {
        code: 'ses_stream_not_found',
        action:
          'No such event stream or channel: check the collector’s Stream ID and Channel ID (Integration → Event Stream).',
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // Proves the client application (token) and its right to read this stream's channel. A request
    // without `next` only reads: no position is saved on Symantec's side by asking (assumed).
    await http.requestJson({
      method: 'POST',
      readOnly: true,
      url: streamUrl(s, account),
      query: { connectionTimeout: 1 },
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: '{}',
    });
  },
});
