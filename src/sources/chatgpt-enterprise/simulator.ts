/**
 * ChatGPT Enterprise Compliance Logs Platform simulator (base `https://api.chatgpt.com/v1`), following
 * OpenAI's documentation: the API reference chatgpt.com/admin/api-reference#tag/Compliance-API-Logs-Platform
 * (the "Enterprise Compliance API" OpenAPI description, v1.1.x, security scheme
 * `chatgpt.enterprise.compliance_export` with `read`/`delete` scopes); the cookbook quickstart
 * developers.openai.com/cookbook/examples/chatgpt/compliance_api/logs_platform ("Quickstart Scripts",
 * download_compliance_files.sh: list with `event_type`, `limit`, `after`, follow `has_more` with
 * `last_end_time`, download each file by id following the redirect); help.openai.com/en/articles/9261474
 * ("Compliance API for ChatGPT Enterprise, Edu…": keys, scopes, 30-day retention). Elastic's
 * `openai_chatgpt_enterprise` integration fixture (github.com/elastic/integrations, packages/
 * openai_chatgpt_enterprise) shows the record shape.
 *
 * - `GET /v1/compliance/{workspaces|organizations}/{id}/logs?event_type=…(repeatable)&after=…[&before=…][&limit=1–100]`
 *   lists immutable log files ascending by `end_time`, strictly later than `after` (required, ISO-8601
 *   with zone); `{data:[{id,event_type,end_time,file_name,file_size,file_sha256}], has_more,
 *   last_end_time}` with `last_end_time: null` on an empty page.
 * - `GET …/logs/{log_file_id}` answers 307 to a short-lived signed URL on another origin (a second
 *   server here) that must be fetched WITHOUT the Authorization header; it expires after 5 minutes of
 *   simulator time. A request carrying Authorization is recorded (`authLeaks()`) and refused like an
 *   object store refuses two auth mechanisms.
 * - `GET …/max_event_time?event_type=A&event_type=B` → `{max_event_time:{A:iso|null,…}}`.
 * - `Authorization: Bearer <key>`; 401 bad/missing key, 403 key without Compliance scopes, 404 unknown
 *   workspace/organization or a plan without the API; 100 requests/minute per method and route with
 *   429 + Retry-After; OpenAI error body `{"error":{"message","type","param","code"}}`.
 * - Quirks on request: boundary file re-returned for the same `after`, concatenated-JSON bodies,
 *   files whose listed sha256 does not match, late files (visible only some time after end_time).
 * - Legacy object endpoints: `GET …/conversations` answers 410; DELETE routes exist and answer like
 *   the vendor (`{deleted:true,object,id}`) but are recorded as write calls, which tests forbid.
 *
 * Assumed (not documented), decided here: the quirks above are switches for tests, not observed
 * behaviour; `before` is exclusive; default `limit` 100; COSTS files are
 * organization-scoped (the workspace path lists none); file ids are UUIDs.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  answer,
  appName,
  browser,
  type Clock,
  type Fault,
  FaultQueue,
  geo,
  ipv4,
  isoMicros,
  json,
  network,
  parseIsoMicros,
  person,
  prompt,
  type RecordedRequest,
  RequestLog,
  Rng,
  redirect,
  type SimReply,
  type SimRequest,
  SimServer,
  seedOf,
  stableUuid,
  streamOf,
} from '../../sim/kit.ts';

export const COMPLIANCE_EVENT_TYPES = [
  'AUDIT_LOG',
  'AUTH_LOG',
  'CONVERSATION_MESSAGE',
  'APP_LOG',
  'APP_AUTH_LOG',
  'CODEX_LOG',
  'CODEX_SECURITY_LOG',
  'CUSTOM_AGENTS_LOG',
  'CHATGPT_PLUGIN_SPREADSHEET',
  'COSTS',
] as const;

export type ComplianceEventType = (typeof COMPLIANCE_EVENT_TYPES)[number];

export interface ChatGptComplianceSimulatorOptions {
  apiKey?: string;
  /** ChatGPT workspace id (UUID). */
  workspaceId?: string;
  /** API Platform organization id (`org-…`). */
  organizationId?: string;
  seed?: number | string;
  clock?: Clock;
  /** Compliance scopes granted to the key (default both, as OpenAI grants them). */
  scopes?: ('read' | 'delete')[];
  /** `not-enabled`: 403 (key without Compliance scopes); `wrong-plan`: 404 (no Compliance API). */
  access?: 'enabled' | 'not-enabled' | 'wrong-plan';
  /** Types that get generated files (initially and live). Default AUDIT_LOG, AUTH_LOG, CONVERSATION_MESSAGE. */
  eventTypes?: ComplianceEventType[];
  /** Per method and route (default 100). */
  rateLimitPerMinute?: number;
  /** Files generated per event type up front (default 3). */
  filesPerType?: number;
  /** Events per generated file (default 5). */
  eventsPerFile?: number;
  /** Time covered by one file; generated files end this far apart (default 10 minutes). */
  fileSpacingMs?: number;
  /** `end_time` of the first generated file (default: the last one ends one spacing before now). */
  start?: string | number;
  /** Quirk: re-return the file(s) whose end_time equals `after` when re-queried with it. */
  reReturnBoundary?: boolean;
  /** Quirk: every other generated file is concatenated JSON without newlines. */
  concatenatedJson?: boolean;
  /** File ids whose listed `file_sha256` does not match the served bytes. */
  corruptSha?: string[];
  /** Signed URL lifetime in simulator time (default 5 minutes). */
  signedUrlTtlMs?: number;
  host?: string;
}

export interface AddFileOptions {
  endTime: string | number;
  /** Generated events (default `eventsPerFile`); ignored with `records` or `huge`. */
  events?: number;
  /** Approximate bytes per generated record. */
  eventBytes?: number;
  /** A huge file of about `bytes`, generated and streamed from a seed, never held in memory. */
  huge?: { bytes: number };
  /** Exact records (e.g. to repeat earlier event_ids across files: at-least-once delivery). */
  records?: Record<string, unknown>[];
  format?: 'jsonl' | 'concatenated';
  /** Late file: listed only from `end_time + visibleDelayMs` of simulator time. */
  visibleDelayMs?: number;
  /** Span of event timestamps before end_time (default `fileSpacingMs`). */
  spanMs?: number;
  corruptSha?: boolean;
}

/** A simulated log file, as tests see it. */
export interface ComplianceLogFile {
  id: string;
  eventType: string;
  endTime: string;
  fileName: string;
  /** Known once hashed (immediately for normal files; `await ready()` for huge ones). */
  fileSize?: number;
  /** sha256 of the served bytes (hex). */
  sha256?: string;
  /** What the listing says (differs from `sha256` for corrupt files). */
  listedSha256?: string;
  eventCount?: number;
  huge: boolean;
  format: 'jsonl' | 'concatenated';
  visibleAt: number;
  scope: 'workspace' | 'organization';
}

interface FileState {
  no: number;
  id: string;
  eventType: ComplianceEventType;
  endMs: number;
  endUs: number;
  endIso: string;
  spanMs: number;
  fileName: string;
  visibleAt: number;
  format: 'jsonl' | 'concatenated';
  scope: 'workspace' | 'organization';
  corrupt: boolean;
  records?: Record<string, unknown>[];
  content?: Buffer;
  huge?: { bytes: number; eventBytes: number };
  size?: number;
  sha256?: string;
  eventCount?: number;
  maxEventUs?: number;
  ready: Promise<void>;
}

const MINUTE = 60_000;

export class ChatGptComplianceSimulator {
  /** The API server (`url`) and the signed-URL server (`fileServer.url`): two origins, one fault queue and request log. */
  readonly server: SimServer;
  readonly fileServer: SimServer;
  private apiKey_: string;
  readonly workspaceId: string;
  readonly organizationId: string;
  readonly clock: Clock;
  readonly seed: number;
  readonly faults = new FaultQueue();
  readonly requestLog = new RequestLog();
  private readonly o: {
    scopes: ('read' | 'delete')[];
    access: 'enabled' | 'not-enabled' | 'wrong-plan';
    eventTypes: ComplianceEventType[];
    rateLimitPerMinute: number;
    eventsPerFile: number;
    fileSpacingMs: number;
    reReturnBoundary: boolean;
    concatenatedJson: boolean;
    signedUrlTtlMs: number;
  };
  private readonly corrupt = new Set<string>();
  private readonly all: FileState[] = [];
  private readonly byId = new Map<string, FileState>();
  private readonly secret = randomBytes(32);
  private readonly leaks: RecordedRequest[] = [];
  private readonly rate = new Map<string, { window: number; count: number }>();
  private readonly people: { id: string; email: string; name: string }[];
  private live: { start: number; emitted: number; perFile: number } | undefined;
  private sorted = true;
  private loopPages = 0;

  constructor(opts: ChatGptComplianceSimulatorOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.seed = typeof opts.seed === 'string' ? seedOf(opts.seed) : (opts.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'ids'));
    this.apiKey_ = opts.apiKey ?? `sk-proj-${randomBytes(36).toString('base64url')}`;
    this.workspaceId = opts.workspaceId ?? rng.uuid();
    this.organizationId = opts.organizationId ?? `org-${rng.base62(24)}`;
    this.o = {
      scopes: opts.scopes ?? ['read', 'delete'],
      access: opts.access ?? 'enabled',
      eventTypes: opts.eventTypes ?? ['AUDIT_LOG', 'AUTH_LOG', 'CONVERSATION_MESSAGE'],
      rateLimitPerMinute: opts.rateLimitPerMinute ?? 100,
      eventsPerFile: opts.eventsPerFile ?? 5,
      fileSpacingMs: opts.fileSpacingMs ?? 10 * MINUTE,
      reReturnBoundary: opts.reReturnBoundary ?? false,
      concatenatedJson: opts.concatenatedJson ?? false,
      signedUrlTtlMs: opts.signedUrlTtlMs ?? 5 * MINUTE,
    };
    for (const id of opts.corruptSha ?? []) this.corrupt.add(id);
    const domain = 'acme-corp.com';
    this.people = Array.from({ length: 40 }, () => {
      const p = person(rng, domain);
      return { id: `user-${rng.base62(24)}`, email: p.email, name: p.displayName };
    });

    const shared = { clock: this.clock, host: opts.host, faults: this.faults, requests: this.requestLog };
    this.server = new SimServer({
      ...shared,
      name: 'api',
      hooks: {
        errorReply: (req, status) => this.apiError(req, status),
        rateLimitReply: () =>
          openAiError(
            429,
            'Rate limit reached for requests. Please try again later.',
            'requests',
            'rate_limit_exceeded',
          ),
      },
    });
    this.fileServer = new SimServer({
      ...shared,
      name: 'files',
      hooks: {
        errorReply: (_req, status) =>
          blobError(
            status,
            status >= 500 ? 'InternalError' : status === 404 ? 'BlobNotFound' : 'InvalidRequest',
            'Simulated error.',
          ),
        rateLimitReply: () => blobError(429, 'TooManyRequests', 'The request rate is too high.'),
      },
    });
    this.routes();

    const spacing = this.o.fileSpacingMs;
    const perType = opts.filesPerType ?? 3;
    const first =
      opts.start === undefined
        ? this.clock() - perType * spacing
        : typeof opts.start === 'string'
          ? Date.parse(opts.start)
          : opts.start;
    for (let i = 0; i < perType; i++) {
      for (const type of this.o.eventTypes) {
        const concatenated = this.o.concatenatedJson && i % 2 === 1;
        this.addFile(type, { endTime: first + i * spacing, format: concatenated ? 'concatenated' : 'jsonl' });
      }
    }
  }

  /** API origin, e.g. `http://127.0.0.1:PORT`; the API base URL is `${url}/v1`. */
  get url(): string {
    return this.server.url;
  }

  get baseUrl(): string {
    return `${this.server.url}/v1`;
  }

  get apiKey(): string {
    return this.apiKey_;
  }

  /** Revokes the current key (now 401 invalid_api_key) and accepts a new one. */
  rotateApiKey(key = `sk-proj-${randomBytes(36).toString('base64url')}`): string {
    this.apiKey_ = key;
    return key;
  }

  /**
   * A misbehaving vendor, for the pagination loop guard: the next `pages` listings say
   * `has_more: true` with `last_end_time` equal to the request's `after`.
   */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages; // 0 ends a loop in progress
  }

  async start(): Promise<string> {
    await this.fileServer.start();
    return this.server.start();
  }

  async stop(): Promise<void> {
    this.live = undefined;
    await Promise.all([this.server.stop(), this.fileServer.stop()]);
  }

  /** Faults apply to both servers; API paths start with `/v1/`, signed downloads with `/blob/`. */
  inject(fault: Fault): void {
    this.faults.inject(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  faultsPending(): number {
    return this.faults.pending();
  }

  requests(): RecordedRequest[] {
    return this.requestLog.all();
  }

  writeCalls(): RecordedRequest[] {
    return this.requestLog.writeCalls();
  }

  /** Signed-URL downloads that carried an Authorization header (the bearer key leaked to storage). */
  authLeaks(): RecordedRequest[] {
    return [...this.leaks];
  }

  setCorruptSha(fileId: string, corrupt = true): void {
    if (corrupt) this.corrupt.add(fileId);
    else this.corrupt.delete(fileId);
  }

  /** Resolves when every huge file has been hashed (size, sha256, event count known). */
  async ready(): Promise<void> {
    await Promise.all(this.all.map((f) => f.ready));
  }

  addFile(eventType: ComplianceEventType, o: AddFileOptions): ComplianceLogFile {
    const no = this.all.length;
    const endMs = typeof o.endTime === 'string' ? Date.parse(o.endTime) : o.endTime;
    if (!Number.isFinite(endMs)) throw new Error(`bad endTime ${o.endTime}`);
    const id = stableUuid(0, no, seedOf(this.seed, 'file'));
    const format = o.format ?? 'jsonl';
    const stamp = new Date(endMs)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const f: FileState = {
      no,
      id,
      eventType,
      endMs,
      endUs: endMs * 1000,
      endIso: isoMicros(endMs),
      spanMs: o.spanMs ?? this.o.fileSpacingMs,
      fileName: `${eventType.toLowerCase()}/${stamp}_${id}.jsonl`,
      visibleAt: endMs + (o.visibleDelayMs ?? 0),
      format,
      scope: eventType === 'COSTS' ? 'organization' : 'workspace',
      corrupt: o.corruptSha ?? false,
      ready: Promise.resolve(),
    };
    if (o.huge) {
      f.huge = { bytes: o.huge.bytes, eventBytes: o.eventBytes ?? 1024 };
      f.ready = this.hashHuge(f);
    } else {
      const records = o.records ?? this.generateRecords(f, o.events ?? this.o.eventsPerFile, o.eventBytes);
      f.records = records;
      const text =
        format === 'concatenated'
          ? records.map((r) => JSON.stringify(r)).join('')
          : records.map((r) => `${JSON.stringify(r)}\n`).join('');
      f.content = Buffer.from(text);
      f.size = f.content.byteLength;
      f.sha256 = createHash('sha256').update(f.content).digest('hex');
      f.eventCount = records.length;
      let max: number | undefined;
      for (const r of records) {
        const us = typeof r.timestamp === 'string' ? parseIsoMicros(r.timestamp) : undefined;
        if (us !== undefined && (max === undefined || us > max)) max = us;
      }
      f.maxEventUs = max;
    }
    const last = this.all[this.all.length - 1];
    if (last && (last.endUs > f.endUs || (last.endUs === f.endUs && last.id > f.id))) this.sorted = false;
    this.all.push(f);
    this.byId.set(id, f);
    return this.info(f);
  }

  /** Every simulated file, ascending by end_time. */
  files(eventType?: string): ComplianceLogFile[] {
    this.catchUp();
    return this.sortedFiles()
      .filter((f) => !eventType || f.eventType === eventType)
      .map((f) => this.info(f));
  }

  /**
   * The distinct records (first occurrence by event_id) of all normal files, by file end_time then
   * position; huge files' records are not materialised — use `eventIds()` / `eventCount()`.
   */
  events(eventType?: string): Record<string, unknown>[] {
    this.catchUp();
    const seen = new Set<string>();
    const out: Record<string, unknown>[] = [];
    for (const f of this.sortedFiles()) {
      if (eventType && f.eventType !== eventType) continue;
      for (const r of f.records ?? []) {
        const id = String(r.event_id);
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(r);
      }
    }
    return out;
  }

  /** Every distinct event_id, huge files included (generated lazily). */
  *eventIds(eventType?: string): Generator<string> {
    this.catchUp();
    const seen = new Set<string>();
    for (const f of this.sortedFiles()) {
      if (eventType && f.eventType !== eventType) continue;
      if (f.huge) {
        if (f.eventCount === undefined) throw new Error('huge file not hashed yet: await sim.ready()');
        for (let j = 0; j < f.eventCount; j++) yield this.hugeEventId(f, j);
        continue;
      }
      for (const r of f.records ?? []) {
        const id = String(r.event_id);
        if (!seen.has(id)) {
          seen.add(id);
          yield id;
        }
      }
    }
  }

  /** Distinct events, huge files included (await `ready()` first when there are huge files). */
  eventCount(eventType?: string): number {
    let n = this.events(eventType).length;
    for (const f of this.all) {
      if (!f.huge || (eventType && f.eventType !== eventType)) continue;
      if (f.eventCount === undefined) throw new Error('huge file not hashed yet: await sim.ready()');
      n += f.eventCount;
    }
    return n;
  }

  /**
   * Keeps producing files as the clock advances: every `fileSpacingMs` one file per enabled event
   * type, with about `eventsPerMinute` events per minute each. Lazy: catches up on every request.
   */
  startLive(eventsPerMinute = 30): void {
    this.catchUp();
    const perFile = Math.max(1, Math.round((eventsPerMinute * this.o.fileSpacingMs) / MINUTE));
    this.live = { start: this.clock(), emitted: 0, perFile };
  }

  stopLive(): void {
    this.catchUp();
    this.live = undefined;
  }

  // -------------------------------------------------------------------------------------------

  private catchUp(): void {
    const live = this.live;
    if (!live) return;
    const due = Math.floor((this.clock() - live.start) / this.o.fileSpacingMs);
    for (let k = live.emitted; k < due; k++) {
      for (const type of this.o.eventTypes)
        this.addFile(type, { endTime: live.start + (k + 1) * this.o.fileSpacingMs, events: live.perFile });
    }
    if (due > live.emitted) live.emitted = due;
  }

  private sortedFiles(): FileState[] {
    if (!this.sorted) {
      this.all.sort((a, b) => a.endUs - b.endUs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      this.sorted = true;
    }
    return this.all;
  }

  private info(f: FileState): ComplianceLogFile {
    return {
      id: f.id,
      eventType: f.eventType,
      endTime: f.endIso,
      fileName: f.fileName,
      fileSize: f.size,
      sha256: f.sha256,
      listedSha256: f.sha256 === undefined ? undefined : this.listedSha(f),
      eventCount: f.eventCount,
      huge: !!f.huge,
      format: f.format,
      visibleAt: f.visibleAt,
      scope: f.scope,
    };
  }

  private listedSha(f: FileState): string {
    const sha = f.sha256 ?? '';
    if (!f.corrupt && !this.corrupt.has(f.id)) return sha;
    return createHash('sha256').update(`corrupt:${sha}`).digest('hex');
  }

  // ---- records ------------------------------------------------------------------------------

  private generateRecords(f: FileState, n: number, eventBytes?: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const salt = seedOf(this.seed, 'event');
    for (let j = 0; j < n; j++) {
      const rng = new Rng(seedOf(this.seed, f.no, j));
      const ms = f.endMs - f.spanMs + Math.floor(((j + 1) * f.spanMs) / (n + 1));
      const rec = this.record(f.eventType, rng, stableUuid(f.no, j, salt), isoMicros(ms, rng.int(0, 999)));
      if (eventBytes) fit(rec, rng, eventBytes);
      out.push(rec);
    }
    return out;
  }

  private record(
    type: ComplianceEventType,
    rng: Rng,
    eventId: string,
    timestamp: string,
  ): Record<string, any> {
    const user = rng.pick(this.people);
    const net = network(rng);
    const g = geo(rng);
    const ua = browser(rng);
    const userActor = { type: 'ACCOUNT_USER', user_id: user.id, user_email: user.email };
    let actor: Record<string, unknown> = userActor;
    let action = '';
    let actionResult = rng.bool(0.03) ? 'BLOCKED' : 'SUCCESS';
    let privilege: string | undefined;
    let data: Record<string, unknown> = {};
    const convId = () => rng.uuid();
    switch (type) {
      case 'AUDIT_LOG': {
        privilege = 'ADMIN';
        action = rng.weighted([
          ['USER_ROLE_UPDATED', 3],
          ['INVITE_SEND', 3],
          ['WORKSPACE_TOGGLE_FEATURE', 2],
          ['WORKSPACE_SET_POLICY', 1],
          ['GROUP_MEMBER_ADDED', 2],
          ['ROLE_CREATED', 1],
          ['APP_ENABLED', 1],
          ['LIST_WORKSPACE_LOG_FILES', 2],
        ] as const);
        const other = rng.pick(this.people);
        if (action === 'USER_ROLE_UPDATED')
          data = {
            user_id: other.id,
            previous_role: 'standard-user',
            new_role: rng.pick(['manager', 'account-admin', 'standard-user']),
          };
        else if (action === 'INVITE_SEND')
          data = { invitee_email: person(rng, 'acme-corp.com').email, role: 'standard-user' };
        else if (action === 'WORKSPACE_TOGGLE_FEATURE')
          data = {
            feature: rng.pick(['code_interpreter', 'connectors', 'memory', 'web_browsing', 'custom_gpts']),
            enabled: rng.bool(),
          };
        else if (action === 'WORKSPACE_SET_POLICY')
          data = { policy: 'conversation_retention_days', value: rng.pick([30, 90, 365]) };
        else if (action === 'GROUP_MEMBER_ADDED')
          data = {
            group_id: `group-${rng.base62(20)}`,
            group_name: rng.pick(['Engineering', 'Legal', 'Support']),
            user_id: other.id,
          };
        else if (action === 'ROLE_CREATED')
          data = { role_name: 'Compliance reviewer', permissions: ['compliance.read', 'workspace.read'] };
        else if (action === 'APP_ENABLED')
          data = {
            app_id: `connector_${rng.hex(32)}`,
            app_name: rng.pick(['Google Drive', 'SharePoint', 'GitHub', 'Slack']),
          };
        else {
          privilege = 'API';
          actor = { type: 'API_KEY', redacted_id: `sk-...${rng.base62(4)}` };
          data = { event_type: rng.pick(['AUDIT_LOG', 'AUTH_LOG']), limit: 100 };
        }
        break;
      }
      case 'AUTH_LOG':
        action = 'USER_LOGIN';
        actionResult = rng.bool(0.05) ? 'FAILURE' : 'SUCCESS';
        data = {
          action:
            actionResult === 'FAILURE'
              ? 'login_failure'
              : rng.weighted([
                  ['login_success', 8],
                  ['native_login_success', 3],
                  ['signup_success', 1],
                ] as const),
          auth_provider_name: rng.pick(['okta', 'google', 'microsoft', 'password']),
          client_id: `app_${rng.base62(24)}`,
          application_name: rng.pick([
            'ChatGPT Web',
            'ChatGPT macOS',
            'ChatGPT Windows',
            'ChatGPT iOS',
            'ChatGPT Android',
          ]),
          granted_scopes: ['openid', 'email', 'profile', 'offline_access'],
        };
        break;
      case 'CONVERSATION_MESSAGE': {
        const assistant = rng.bool(0.5);
        action = 'CONVERSATION_MESSAGE_CREATED';
        const mode = rng.weighted([
          ['default', 6],
          ['gpt', 2],
          ['project', 2],
        ] as const);
        data = {
          conversation: {
            id: convId(),
            mode,
            gpt_id: mode === 'gpt' ? `g-${rng.base62(9)}` : null,
            project_id: mode === 'project' ? `g-p-${rng.hex(32)}` : null,
            is_temporary_chat: rng.bool(0.05),
          },
          message: {
            id: rng.uuid(),
            author: {
              type: assistant ? 'assistant' : 'user',
              model: assistant ? rng.pick(['gpt-5', 'gpt-5-thinking', 'gpt-4o']) : null,
              tools_used:
                assistant && rng.bool(0.3) ? [rng.pick(['web_search', 'python', 'file_search'])] : [],
              client_type: rng.pick(['web', 'desktop', 'ios', 'android']),
            },
            content: { type: 'text', value: assistant ? answer(rng) : prompt(rng) },
            files: [],
          },
        };
        break;
      }
      case 'APP_LOG':
        action = 'APP_TOOL_CALL';
        data = {
          app_id: `connector_${rng.hex(32)}`,
          app_name: rng.pick(['Google Drive', 'SharePoint', 'GitHub', 'Slack', 'Box', appName(rng)]),
          conversation_id: rng.bool(0.8) ? convId() : null,
          tool_name: rng.pick(['search', 'fetch', 'list_files']),
          request_id: `req_${rng.hex(32)}`,
        };
        break;
      case 'APP_AUTH_LOG':
        action = 'APP_AUTHORIZED';
        data = {
          app_id: `connector_${rng.hex(32)}`,
          app_name: rng.pick(['Google Drive', 'SharePoint', 'GitHub']),
          scopes: ['files.read'],
        };
        break;
      case 'CODEX_LOG':
        action = rng.pick(['CODEX_TASK_CREATED', 'CODEX_TOOL_CALL']);
        data = {
          task_id: `task_e_${rng.hex(32)}`,
          environment_id: `env_${rng.hex(24)}`,
          repository: rng.pick(['acme/payments-service', 'acme/web-frontend', 'acme/infra']),
          prompt: rng.pick([
            'Fix the failing unit tests in the billing module',
            'Add pagination to the /orders endpoint',
          ]),
          tool: 'shell',
          command: rng.pick(['npm test', 'pytest -q', 'go test ./...']),
        };
        break;
      case 'CODEX_SECURITY_LOG':
        action = 'CODEX_SECURITY_FINDING';
        data = {
          finding_id: `finding_${rng.hex(24)}`,
          severity: rng.pick(['low', 'medium', 'high']),
          title: rng.pick([
            'Hard-coded credential',
            'SQL injection in search handler',
            'Outdated dependency with known CVE',
          ]),
          repository: 'acme/payments-service',
        };
        break;
      case 'CUSTOM_AGENTS_LOG':
        action = rng.pick(['AGENT_CREATED', 'AGENT_RUN_STARTED', 'AGENT_RUN_COMPLETED']);
        data = {
          agent_id: `agent_${rng.hex(24)}`,
          agent_name: rng.pick(['Expense helper', 'Onboarding buddy']),
          run_id: `run_${rng.hex(24)}`,
        };
        break;
      case 'CHATGPT_PLUGIN_SPREADSHEET':
        action = 'SPREADSHEET_OPENED';
        data = { file_name: rng.pick(['Q3 forecast.xlsx', 'headcount.csv']), conversation_id: convId() };
        break;
      default: // COSTS
        actor = { type: 'API_KEY', redacted_id: `sk-...${rng.base62(4)}` };
        action = 'COST_RECORDED';
        data = {
          amount: { value: Math.round(rng.next() * 10_000) / 100, currency: 'usd' },
          line_item: rng.pick(['gpt-5, input', 'gpt-5, output', 'ChatGPT Enterprise seats']),
          project_id: `proj_${rng.base62(24)}`,
        };
    }
    const principal =
      type === 'COSTS'
        ? { id: this.organizationId, type: 'API_ORGANIZATION' }
        : { id: this.workspaceId, type: 'CHATGPT_WORKSPACE' };
    return {
      event_id: eventId,
      type,
      principal,
      actor,
      timestamp,
      action,
      action_result: actionResult,
      ...(privilege ? { action_privilege: privilege } : {}),
      action_data: data,
      request_metadata: {
        client_ip: ipv4(rng, net),
        client_ip_details: { country: g.countryCode, city: g.city, region: g.state, asn: net.asNumber },
        client_user_agent: ua.raw,
        client_ja3: '',
        client_ja4: '',
        destination_hostname: null,
      },
    };
  }

  // ---- huge files ---------------------------------------------------------------------------

  private hugeEventId(f: FileState, j: number): string {
    return stableUuid(f.no, j, seedOf(this.seed, 'event'));
  }

  /**
   * Deterministic chunks of a huge file: a pool of record templates with ids and times spliced in.
   * Returns the event count and the last event's time (µs) when exhausted.
   */
  private *hugeChunks(f: FileState): Generator<Buffer, { count: number; lastUs: number }> {
    const huge = f.huge!;
    const templates: [string, string, string][] = [];
    for (let k = 0; k < 64; k++) {
      const rng = new Rng(seedOf(this.seed, f.no, 'tpl', k));
      const rec = this.record(f.eventType, rng, '@@EVENT_ID@@', '@@TIMESTAMP@@');
      fit(rec, rng, huge.eventBytes);
      const s = JSON.stringify(rec);
      const [a, rest] = s.split('"@@EVENT_ID@@"');
      const [b, c] = rest.split('"@@TIMESTAMP@@"');
      templates.push([a, b, c]);
    }
    const avg =
      templates.reduce((n, [a, b, c]) => n + a.length + b.length + c.length + 70, 0) / templates.length;
    const estimated = Math.max(1, Math.ceil(huge.bytes / avg));
    const start = f.endMs - f.spanMs;
    const sep = f.format === 'concatenated' ? '' : '\n';
    let written = 0;
    let j = 0;
    let lastUs = f.endUs;
    let buf = '';
    while (written < huge.bytes) {
      const [a, b, c] = templates[j % 64];
      const ms = Math.min(f.endMs - 1, start + Math.floor(((j + 1) * f.spanMs) / (estimated + 1)));
      const micros = (j * 7) % 1000;
      const line = `${a}"${this.hugeEventId(f, j)}"${b}"${isoMicros(ms, micros)}"${c}${sep}`;
      buf += line;
      written += line.length; // characters, not bytes: the target size is approximate
      lastUs = ms * 1000 + micros;
      j++;
      if (buf.length >= 256 * 1024 || written >= huge.bytes) {
        yield Buffer.from(buf);
        buf = '';
      }
    }
    return { count: j, lastUs };
  }

  /** One streaming pass at creation: size, sha256, count and last event time, never the whole file. */
  private async hashHuge(f: FileState): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const hash = createHash('sha256');
    let size = 0;
    const it = this.hugeChunks(f);
    for (let i = 1; ; i++) {
      const r = it.next();
      if (r.done) {
        f.eventCount = r.value.count;
        f.maxEventUs = r.value.lastUs;
        break;
      }
      hash.update(r.value);
      size += r.value.byteLength;
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    f.size = size;
    f.sha256 = hash.digest('hex');
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private routes(): void {
    const api = this.server;
    const base = '/v1/compliance/:kind/:id';
    api.route('GET', `${base}/logs`, (req) =>
      this.guarded(req, 'GET logs', 'read', () => this.listLogs(req)),
    );
    api.route('GET', `${base}/logs/:fileId`, (req) =>
      this.guarded(req, 'GET logs/{log_file_id}', 'read', () => this.download(req)),
    );
    api.route('GET', `${base}/max_event_time`, (req) =>
      this.guarded(req, 'GET max_event_time', 'read', () => this.maxEventTime(req)),
    );
    api.route('GET', `${base}/conversations`, (req) =>
      this.guarded(req, 'GET conversations', 'read', () =>
        openAiError(
          410,
          'This endpoint is no longer available. Conversation content is delivered as CONVERSATION_MESSAGE files by the Compliance Logs Platform (GET /v1/compliance/workspaces/{workspace_id}/logs).',
          'invalid_request_error',
          'endpoint_deprecated',
        ),
      ),
    );
    const deletes: [string, string, string][] = [
      [
        'conversations/:objectId',
        'compliance.workspace.conversation',
        'DELETE conversations/{conversation_id}',
      ],
      [
        'users/:userId/conversations/:objectId',
        'compliance.workspace.conversation',
        'DELETE users/{user_id}/conversations/{conversation_id}',
      ],
      ['gpts/:objectId', 'compliance.workspace.gpt', 'DELETE gpts/{gpt_id}'],
      ['projects/:objectId', 'compliance.workspace.project', 'DELETE projects/{project_id}'],
      [
        'users/:userId/files/:objectId',
        'compliance.workspace.user_file',
        'DELETE users/{user_id}/files/{file_id}',
      ],
    ];
    for (const [path, object, key] of deletes) {
      api.route('DELETE', `${base}/${path}`, (req) =>
        this.guarded(req, key, 'delete', () => json(200, { deleted: true, object, id: req.params.objectId })),
      );
    }
    this.fileServer.route('GET', '/blob/:fileId', (req) => this.serveBlob(req));
  }

  private async guarded(
    req: SimRequest,
    routeKey: string,
    scope: 'read' | 'delete',
    handler: () => SimReply | Promise<SimReply>,
  ): Promise<SimReply> {
    this.catchUp();
    const auth = req.headers.authorization;
    if (!auth || !/^Bearer\s+\S/i.test(auth)) {
      return openAiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
        null,
      );
    }
    const key = auth.replace(/^Bearer\s+/i, '');
    if (key !== this.apiKey_) {
      return openAiError(
        401,
        `Incorrect API key provided: ${redactKey(key)}.`,
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    const limited = this.rateLimit(routeKey);
    if (limited) return limited;
    if (this.o.access === 'wrong-plan') {
      return openAiError(
        404,
        'The Compliance API is not available for this workspace plan.',
        'invalid_request_error',
        'not_found',
      );
    }
    if (this.o.access === 'not-enabled' || !this.o.scopes.includes(scope)) {
      return openAiError(
        403,
        `You have insufficient permissions for this operation. Missing scopes: chatgpt.enterprise.compliance_export.${scope}. Ask OpenAI to enable the Compliance API for this key.`,
        'invalid_request_error',
        'insufficient_permissions',
      );
    }
    const { kind, id } = req.params;
    const known =
      (kind === 'workspaces' && id === this.workspaceId) ||
      (kind === 'organizations' && id === this.organizationId);
    if (!known) {
      const what =
        kind === 'organizations' ? 'Organization' : kind === 'workspaces' ? 'Workspace' : 'Resource';
      return openAiError(404, `${what} '${id}' not found.`, 'invalid_request_error', 'not_found');
    }
    return handler();
  }

  private rateLimit(routeKey: string): SimReply | undefined {
    const now = this.clock();
    const w = Math.floor(now / MINUTE);
    let r = this.rate.get(routeKey);
    if (!r || r.window !== w) this.rate.set(routeKey, (r = { window: w, count: 0 }));
    r.count++;
    if (r.count <= this.o.rateLimitPerMinute) return undefined;
    const retryAfter = Math.max(1, Math.ceil(((w + 1) * MINUTE - now) / 1000));
    const reply = openAiError(
      429,
      `Rate limit reached for ${routeKey}: limit ${this.o.rateLimitPerMinute} requests per minute. Please try again in ${retryAfter}s.`,
      'requests',
      'rate_limit_exceeded',
    );
    reply.headers = { ...reply.headers, 'retry-after': String(retryAfter) };
    return reply;
  }

  private eventTypesParam(req: SimRequest): ComplianceEventType[] | SimReply {
    const types = req.query
      .getAll('event_type')
      .flatMap((t) => t.split(','))
      .filter(Boolean);
    if (!types.length) return missing('event_type');
    const known = COMPLIANCE_EVENT_TYPES as readonly string[];
    const bad = types.find((t) => !known.includes(t));
    if (bad) {
      return openAiError(
        400,
        `Invalid value for 'event_type': '${bad}'. Supported values are: ${known.map((k) => `'${k}'`).join(', ')}.`,
        'invalid_request_error',
        'invalid_value',
        'event_type',
      );
    }
    return types as ComplianceEventType[];
  }

  private visible(f: FileState, kind: string, now: number): boolean {
    return f.visibleAt <= now && (kind === 'organizations' || f.scope === 'workspace');
  }

  private async listLogs(req: SimRequest): Promise<SimReply> {
    const types = this.eventTypesParam(req);
    if (!Array.isArray(types)) return types;
    const afterRaw = req.query.get('after');
    if (afterRaw === null || afterRaw === '') return missing('after');
    const afterUs = parseIsoMicros(afterRaw);
    if (afterUs === undefined) return invalidTime('after', afterRaw);
    const beforeRaw = req.query.get('before');
    let beforeUs: number | undefined;
    if (beforeRaw !== null && beforeRaw !== '') {
      beforeUs = parseIsoMicros(beforeRaw);
      if (beforeUs === undefined) return invalidTime('before', beforeRaw);
    }
    let limit = 100;
    const limitRaw = req.query.get('limit');
    if (limitRaw !== null && limitRaw !== '') {
      const n = Number(limitRaw);
      if (!Number.isInteger(n))
        return openAiError(
          400,
          `Invalid 'limit': expected an integer, but got '${limitRaw}' instead.`,
          'invalid_request_error',
          'invalid_type',
          'limit',
        );
      if (n < 1)
        return openAiError(
          400,
          `Invalid 'limit': integer below minimum value. Expected a value >= 1, but got ${n} instead.`,
          'invalid_request_error',
          'integer_below_min_value',
          'limit',
        );
      if (n > 100)
        return openAiError(
          400,
          `Invalid 'limit': integer above maximum value. Expected a value <= 100, but got ${n} instead.`,
          'invalid_request_error',
          'integer_above_max_value',
          'limit',
        );
      limit = n;
    }
    if (req.empty) return json(200, { data: [], has_more: false, last_end_time: null });

    const now = this.clock();
    const kind = req.params.kind;
    const matches = this.sortedFiles().filter(
      (f) =>
        types.includes(f.eventType) &&
        this.visible(f, kind, now) &&
        (this.o.reReturnBoundary ? f.endUs >= afterUs : f.endUs > afterUs) &&
        (beforeUs === undefined || f.endUs < beforeUs),
    );
    const page = matches.slice(0, limit);
    await Promise.all(page.map((f) => f.ready));
    const looping = this.loopPages > 0;
    if (looping) this.loopPages--;
    return json(200, {
      data: page.map((f) => ({
        id: f.id,
        event_type: f.eventType,
        end_time: f.endIso,
        file_name: f.fileName,
        file_size: f.size,
        file_sha256: this.listedSha(f),
      })),
      has_more: looping || matches.length > page.length,
      last_end_time: looping ? afterRaw : page.length ? page[page.length - 1].endIso : null,
    });
  }

  private download(req: SimRequest): SimReply {
    const f = this.byId.get(req.params.fileId);
    if (!f || !this.visible(f, req.params.kind, this.clock())) {
      return openAiError(
        404,
        `Log file '${req.params.fileId}' not found.`,
        'invalid_request_error',
        'not_found',
      );
    }
    const expires = this.clock() + this.o.signedUrlTtlMs;
    const sig = this.sign(f.id, expires);
    return redirect(307, `${this.fileServer.url}/blob/${f.id}?se=${expires}&sp=r&sig=${sig}`);
  }

  private async maxEventTime(req: SimRequest): Promise<SimReply> {
    const types = this.eventTypesParam(req);
    if (!Array.isArray(types)) return types;
    const now = this.clock();
    const out: Record<string, string | null> = {};
    for (const t of types) {
      let max: number | undefined;
      for (const f of this.all) {
        if (f.eventType !== t || !this.visible(f, req.params.kind, now)) continue;
        await f.ready;
        if (f.maxEventUs !== undefined && (max === undefined || f.maxEventUs > max)) max = f.maxEventUs;
      }
      out[t] = max === undefined ? null : isoMicros(Math.floor(max / 1000), max % 1000);
    }
    return json(200, { max_event_time: out });
  }

  private sign(fileId: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${fileId}.${expires}`).digest('base64url');
  }

  private async serveBlob(req: SimRequest): Promise<SimReply> {
    if (req.headers.authorization !== undefined) {
      const { server, method, path, query, headers, at } = req;
      this.leaks.push({ server, method, path, query, headers, at });
      return blobError(
        400,
        'InvalidArgument',
        'Only one auth mechanism allowed; only the signature query parameters or the Authorization header should be specified.',
      );
    }
    const f = this.byId.get(req.params.fileId);
    const expires = Number(req.query.get('se'));
    const sig = req.query.get('sig') ?? '';
    if (!f || !Number.isFinite(expires) || sig !== this.sign(f.id, expires)) {
      return blobError(403, 'AuthenticationFailed', 'Signature did not match.');
    }
    if (this.clock() > expires)
      return blobError(403, 'AuthenticationFailed', 'Signed expiry time has expired.');
    await f.ready;
    const headers = {
      'content-type': 'application/octet-stream',
      'content-length': String(f.size),
      'content-disposition': `attachment; filename="${f.fileName.split('/').pop()}"`,
      etag: `"${(f.sha256 ?? '').slice(0, 32)}"`,
    };
    if (req.empty) return { status: 200, headers: { ...headers, 'content-length': '0' }, body: '' };
    if (f.huge) return { status: 200, headers, body: streamOf(() => this.hugeChunks(f)) };
    return { status: 200, headers, body: f.content };
  }

  private apiError(_req: SimRequest, status: number): SimReply {
    switch (status) {
      case 401:
        return openAiError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
      case 403:
        return openAiError(
          403,
          'You have insufficient permissions for this operation.',
          'invalid_request_error',
          'insufficient_permissions',
        );
      case 404:
        return openAiError(404, 'Not found.', 'invalid_request_error', 'not_found');
      case 405:
        return openAiError(405, 'Method not allowed.', 'invalid_request_error', null);
      case 429:
        return openAiError(
          429,
          'Rate limit reached for requests. Please try again later.',
          'requests',
          'rate_limit_exceeded',
        );
      default:
        return status >= 500
          ? openAiError(
              status,
              'The server had an error while processing your request. Sorry about that!',
              'server_error',
              null,
            )
          : openAiError(status, `Request failed with status ${status}.`, 'invalid_request_error', null);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function openAiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): SimReply {
  return json(status, { error: { message, type, param, code } });
}

function missing(param: string): SimReply {
  return openAiError(
    400,
    `Missing required parameter: '${param}'.`,
    'invalid_request_error',
    'missing_required_parameter',
    param,
  );
}

function invalidTime(param: string, value: string): SimReply {
  return openAiError(
    400,
    `Invalid '${param}': '${value}' is not an ISO 8601 date-time with a time zone (e.g. 2026-07-09T10:24:53.814285Z).`,
    'invalid_request_error',
    'invalid_value',
    param,
  );
}

function blobError(status: number, code: string, message: string): SimReply {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  };
}

function redactKey(key: string): string {
  return key.length > 8 ? `${key.slice(0, 3)}*****${key.slice(-4)}` : '*****';
}

/** Grows a record to about `bytes` of JSON with realistic content. */
function fit(rec: Record<string, any>, rng: Rng, bytes: number): void {
  // Grows the record to about `bytes`, counting what each addition adds instead of re-serialising
  // the whole record every step (which made large records quadratic).
  let size = JSON.stringify(rec).length;
  if (rec.type === 'CONVERSATION_MESSAGE') {
    const message = rec.action_data.message;
    const parts: string[] = [message.content.value];
    while (size < bytes) {
      const piece = ` ${message.author.type === 'user' ? prompt(rng) : answer(rng)}`;
      parts.push(piece);
      size += JSON.stringify(piece).length - 2;
    }
    message.content.value = parts.join('');
    return;
  }
  const ctx: string[] = [];
  rec.action_data.context = ctx;
  size += ',"context":[]'.length;
  const settings = [
    'sharing.link_access=internal',
    'memory.enabled=true',
    'connectors.allowed=google_drive,sharepoint',
    'data_retention_days=90',
    'sso.enforced=true',
    'web_browsing.enabled=true',
  ];
  while (size < bytes) {
    const item = `${rng.pick(settings)}#${rng.hex(8)}`;
    ctx.push(item);
    size += item.length + 3; // quotes and a comma
  }
}
