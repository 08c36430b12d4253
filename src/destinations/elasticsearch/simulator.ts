import { gunzipSync } from 'node:zlib';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

/**
 * An Elasticsearch (or OpenSearch) cluster's document API, as documented:
 *
 * - `GET /`: the cluster's name and `version.number` (OpenSearch adds `version.distribution`).
 * - `POST /_bulk` and `POST /{target}/_bulk` (elastic.co/docs/api → document → "Bulk index or delete
 *   documents"): NDJSON action/source pairs ending with a newline; per item, in order, `status` and
 *   `error` {type, reason}; `errors` is true when any item failed; the request answers 200 all the same.
 *   `create` with an `_id` that exists is 409 `version_conflict_engine_exception` ("document already
 *   exists"); data streams accept only `create` and need `@timestamp`; `?pipeline=` naming no pipeline
 *   fails each item with "pipeline with id [x] does not exist"; `filter_path` trims the answer.
 * - Dynamic mapping ("Dynamic field mapping"): the first value of a field fixes its type (number, string,
 *   boolean, object); a later document whose value cannot be read as that type is refused with a
 *   parsing error — `document_parsing_exception` on Elasticsearch 8, `mapper_parsing_exception` on
 *   OpenSearch — "failed to parse field [f] of type [t] in document with id 'x'", or "tried to parse
 *   field [f] as object, but found a concrete value".
 * - Security: Authorization `ApiKey`, `Basic` or `Bearer`; wrong or missing credentials are 401
 *   `security_exception`; `POST /_security/user/_has_privileges` answers `has_all_requested`; a user
 *   without the write privilege gets 403 `security_exception` per item.
 * - Requests above `http.max_content_length` (100mb by default) are 413.
 *
 * Faults: `rejectItems(n, status)` refuses the next n items with 429 `es_rejected_execution_exception`
 * (or 503 `unavailable_shards_exception`) without storing them; the kit's status faults refuse whole
 * requests. Data streams are the names matching `dataStreams` (default `logs-*-*`, Elasticsearch's
 * built-in template); other names are auto-created indices.
 */

export interface ElasticSimOptions {
  flavor?: 'elasticsearch' | 'opensearch';
  apiKey?: string;
  basic?: { username: string; password: string };
  bearer?: string;
  /** Patterns (with *) of names that are data streams. */
  dataStreams?: string[];
  maxContentLength?: number;
  pipelines?: string[];
  /** Keep each document (tests); otherwise ids and counts only (benchmarks). */
  keepDocs?: boolean;
}

type FieldType = 'number' | 'string' | 'boolean' | 'object';

interface Target {
  dataStream: boolean;
  ids: Set<string>;
  docs: Map<string, Record<string, unknown>>;
  mapping: Map<string, FieldType>;
}

const esError = (
  status: number,
  type: string,
  reason: string,
  extra: Record<string, unknown> = {},
): SimReply => json(status, { error: { root_cause: [{ type, reason }], type, reason, ...extra }, status });

export class ElasticSimulator {
  readonly server = new SimServer({ name: 'elasticsearch' });
  readonly flavor: 'elasticsearch' | 'opensearch';
  readonly targets = new Map<string, Target>();
  /** Every `_id` created, in order. */
  readonly created: string[] = [];
  /** Items answered 409 (already there). */
  conflicts = 0;
  /** The user may write (otherwise items are 403 security_exception). */
  writable = true;
  /** Store the documents, then answer 503 as if the answer were lost (a node failing after writing). */
  failAfterStore = false;
  /** Requests answered 503 after storing. */
  failedAfterStore = 0;
  readonly pipelines: Set<string>;
  private readonly o: ElasticSimOptions;
  private readonly patterns: RegExp[];
  private faults: Array<{ n: number; status: number }> = [];
  /** Bulk requests answered, and the pipeline each named. */
  readonly bulks: Array<{ items: number; pipeline?: string; gzip: boolean }> = [];

  constructor(o: ElasticSimOptions = {}) {
    this.o = o;
    this.flavor = o.flavor ?? 'elasticsearch';
    this.pipelines = new Set(o.pipelines ?? []);
    this.patterns = (o.dataStreams ?? ['logs-*-*']).map(
      (p) =>
        new RegExp(
          `^${p
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
    );
    this.server.hooks = {
      errorReply: (req, status) =>
        esError(
          status,
          status === 404 ? 'resource_not_found_exception' : 'exception',
          `simulated ${status} for ${req.path}`,
        ),
    };
    this.server.route('GET', '/', (req) => this.info(req));
    this.server.route('POST', '/_bulk', (req) => this.bulk(req));
    this.server.route('PUT', '/_bulk', (req) => this.bulk(req));
    this.server.route('POST', '/:target/_bulk', (req) => this.bulk(req, req.params.target));
    this.server.route('POST', '/_security/user/_has_privileges', (req) => this.privileges(req));
    this.server.route('GET', '/_ingest/pipeline/:id', (req) => this.pipeline(req));
  }

  get url(): string {
    return this.server.url;
  }
  start(): Promise<string> {
    return this.server.start();
  }
  stop(): Promise<void> {
    return this.server.stop();
  }

  /** The next `n` items are refused with `status` (429 or 503) and not stored. */
  rejectItems(n: number, status = 429): void {
    this.faults.push({ n, status });
  }

  /** Items with these ids are refused with `status` (429 or 503), `times` times each. */
  rejectIds(ids: string[], times: number, status = 429): void {
    for (const id of ids) this.byId.set(id, { n: times, status });
  }
  private readonly byId = new Map<string, { n: number; status: number }>();

  /** Ids stored in `target`. */
  ids(target: string): string[] {
    return [...(this.targets.get(target)?.ids ?? [])];
  }

  doc(target: string, id: string): Record<string, unknown> | undefined {
    return this.targets.get(target)?.docs.get(id);
  }

  private authenticate(req: SimRequest): SimReply | undefined {
    const { apiKey, basic, bearer } = this.o;
    if (!apiKey && !basic && !bearer) return undefined; // security off
    const h = String(req.headers.authorization ?? '');
    const ok =
      (apiKey && h === `ApiKey ${apiKey}`) ||
      (basic && h === `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`) ||
      (bearer && h === `Bearer ${bearer}`);
    if (ok) return undefined;
    return esError(
      401,
      'security_exception',
      h
        ? `unable to authenticate with provided credentials and anonymous access is not allowed for this request`
        : `missing authentication credentials for REST request [${req.path}]`,
      { header: { 'WWW-Authenticate': ['Basic realm="security" charset="UTF-8"', 'ApiKey'] } },
    );
  }

  private info(req: SimRequest): SimReply {
    const refused = this.authenticate(req);
    if (refused) return refused;
    return json(200, {
      name: 'sim-node-1',
      cluster_name: 'tributary-sim',
      version:
        this.flavor === 'opensearch'
          ? { distribution: 'opensearch', number: '2.17.0' }
          : { number: '8.15.0', build_flavor: 'default' },
      tagline:
        this.flavor === 'opensearch'
          ? 'The OpenSearch Project: https://opensearch.org/'
          : 'You Know, for Search',
    });
  }

  private privileges(req: SimRequest): SimReply {
    const refused = this.authenticate(req);
    if (refused) return refused;
    if (this.flavor === 'opensearch') return esError(404, 'resource_not_found_exception', 'no handler');
    const asked = JSON.parse(req.body.toString('utf8') || '{}') as {
      index?: Array<{ names: string[]; privileges: string[] }>;
    };
    const index: Record<string, Record<string, boolean>> = {};
    for (const i of asked.index ?? [])
      for (const n of i.names) index[n] = Object.fromEntries(i.privileges.map((p) => [p, this.writable]));
    return json(200, {
      username: 'tributary',
      has_all_requested: this.writable,
      cluster: {},
      index,
      application: {},
    });
  }

  private pipeline(req: SimRequest): SimReply {
    const refused = this.authenticate(req);
    if (refused) return refused;
    const id = req.params.id!;
    return this.pipelines.has(id) ? json(200, { [id]: { processors: [] } }) : json(404, {});
  }

  private target(name: string): Target {
    let t = this.targets.get(name);
    if (!t) {
      t = {
        dataStream: this.patterns.some((p) => p.test(name)),
        ids: new Set(),
        docs: new Map(),
        mapping: new Map(),
      };
      this.targets.set(name, t);
    }
    return t;
  }

  private bulk(req: SimRequest, pathTarget?: string): SimReply {
    const refused = this.authenticate(req);
    if (refused) return refused;
    const gzip = req.headers['content-encoding'] === 'gzip';
    const raw = gzip ? gunzipSync(req.body) : req.body;
    if (raw.byteLength > (this.o.maxContentLength ?? 100 * 1024 * 1024))
      return esError(413, 'content_too_long_exception', 'request body is too large');
    const text = raw.toString('utf8');
    if (!text.endsWith('\n'))
      return esError(
        400,
        'illegal_argument_exception',
        'The bulk request must be terminated by a newline [\\n]',
      );
    const lines = text.split('\n');
    lines.pop();
    const pipeline = req.query.get('pipeline') ?? undefined;
    const items: Array<Record<string, Record<string, unknown>>> = [];
    for (let i = 0; i < lines.length; i++) {
      let action: Record<string, Record<string, unknown>>;
      try {
        action = JSON.parse(lines[i]!);
      } catch {
        return esError(400, 'x_content_parse_exception', `[1:1] Unexpected character in action line ${i}`);
      }
      const op = Object.keys(action)[0]!;
      const meta = action[op] ?? {};
      const index = String(meta._index ?? pathTarget ?? '');
      const id = meta._id === undefined ? `auto-${this.created.length}` : String(meta._id);
      const source = op === 'delete' ? undefined : lines[++i];
      items.push({ [op]: this.item(op, index, id, source, pipeline) });
    }
    this.bulks.push({ items: items.length, pipeline, gzip });
    if (this.failAfterStore) {
      this.failedAfterStore++;
      return esError(503, 'unavailable_shards_exception', 'the node failed after writing (simulated)');
    }
    const errors = items.some((x) => Number(Object.values(x)[0]!.status) >= 300);
    return json(200, filter({ took: 3, errors, items }, req.query.get('filter_path')));
  }

  private item(op: string, index: string, id: string, source: string | undefined, pipeline?: string) {
    const base = { _index: index, _id: id };
    const fail = (status: number, type: string, reason: string) => ({
      ...base,
      status,
      error: { type, reason, index },
    });
    const targeted = this.byId.get(id);
    if (targeted && targeted.n-- <= 0) this.byId.delete(id);
    const fault = targeted && targeted.n >= 0 ? targeted : this.faults[0];
    if (fault) {
      if (fault !== targeted && --fault.n <= 0) this.faults.shift();
      return fault.status === 429
        ? fail(
            429,
            'es_rejected_execution_exception',
            'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=0]',
          )
        : fail(
            fault.status,
            'unavailable_shards_exception',
            `[${index}][0] primary shard is not active Timeout: [1m]`,
          );
    }
    if (!index)
      return fail(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;');
    if (!this.writable)
      return fail(
        403,
        'security_exception',
        `action [indices:data/write/bulk[s]] is unauthorized for user [tributary] with effective roles [viewer] on indices [${index}], this action is granted by the index privileges [create_doc,create,index,write,all]`,
      );
    if (pipeline && !this.pipelines.has(pipeline))
      return fail(400, 'illegal_argument_exception', `pipeline with id [${pipeline}] does not exist`);
    const t = this.target(index);
    if (t.dataStream && op !== 'create')
      return fail(
        400,
        'illegal_argument_exception',
        `only write ops with an op_type of create are allowed in data streams`,
      );
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(source ?? '');
    } catch {
      return fail(400, this.parseError(), `[1:1] failed to parse: Unexpected character`);
    }
    if (t.dataStream && doc['@timestamp'] === undefined)
      return fail(
        400,
        this.parseError(),
        `[1:1] failed to parse: data stream timestamp field [@timestamp] is missing`,
      );
    if (op === 'create' && t.ids.has(id)) {
      this.conflicts++;
      return fail(
        409,
        'version_conflict_engine_exception',
        `[${id}]: version conflict, document already exists (current version [1])`,
      );
    }
    const problem = this.map(t, doc, '', id, 0, new Map());
    if (problem) return fail(400, this.parseError(), problem);
    t.ids.add(id);
    if (this.o.keepDocs ?? true) t.docs.set(id, doc);
    this.created.push(id);
    return {
      ...base,
      _version: 1,
      result: 'created',
      status: 201,
      _seq_no: this.created.length - 1,
      _primary_term: 1,
    };
  }

  private parseError(): string {
    return this.flavor === 'opensearch' ? 'mapper_parsing_exception' : 'document_parsing_exception';
  }

  /**
   * Checks `doc` against the target's dynamic mapping and returns the refusal, if any. New fields are
   * collected in `added` and mapped only when the whole document fits (a refused document maps nothing).
   */
  private map(
    t: Target,
    value: Record<string, unknown>,
    prefix: string,
    id: string,
    depth: number,
    added: Map<string, FieldType>,
  ): string | undefined {
    if (depth > 20) return undefined;
    for (const [k, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${k}` : k;
      for (const one of Array.isArray(v) ? v : [v]) {
        if (one === null) continue;
        const type: FieldType =
          typeof one === 'object'
            ? 'object'
            : typeof one === 'number'
              ? 'number'
              : typeof one === 'boolean'
                ? 'boolean'
                : 'string';
        const known = t.mapping.get(path) ?? added.get(path);
        if (!known) added.set(path, type);
        else if (known !== type) {
          if (known === 'object')
            return `object mapping for [${path}] tried to parse field [${k}] as object, but found a concrete value`;
          const fits =
            known === 'string'
              ? type !== 'object'
              : known === 'number'
                ? type === 'string' && one !== '' && Number.isFinite(Number(one))
                : known === 'boolean' && (one === 'true' || one === 'false');
          if (!fits) {
            const es = { number: 'long', string: 'keyword', boolean: 'boolean' }[known];
            const preview =
              type === 'object' ? JSON.stringify(one).replace(/"/g, '').replace(/:/g, '=') : String(one);
            return `[1:${path.length + 10}] failed to parse field [${path}] of type [${es}] in document with id '${id}'. Preview of field's value: '${preview.slice(0, 100)}'`;
          }
        }
        if (type === 'object') {
          const problem = this.map(t, one as Record<string, unknown>, path, id, depth + 1, added);
          if (problem) return problem;
        }
      }
    }
    if (depth === 0) for (const [p, ty] of added) t.mapping.set(p, ty);
    return undefined;
  }
}

/** Elasticsearch's `filter_path` for the answers here: `errors` and `items.*.<path>` patterns. */
function filter(
  body: { took: number; errors: boolean; items: Array<Record<string, Record<string, unknown>>> },
  paths: string | null,
) {
  if (!paths) return body;
  const wanted = paths.split(',');
  const out: Record<string, unknown> = {};
  if (wanted.includes('errors')) out.errors = body.errors;
  if (wanted.includes('took')) out.took = body.took;
  const itemPaths = wanted
    .filter((p) => p.startsWith('items.*.'))
    .map((p) => p.slice('items.*.'.length).split('.'));
  if (itemPaths.length)
    out.items = body.items.map((x) => {
      const [op, r] = Object.entries(x)[0]!;
      const kept: Record<string, unknown> = {};
      for (const p of itemPaths) {
        let src: unknown = r;
        for (const k of p) src = (src as Record<string, unknown> | undefined)?.[k];
        if (src === undefined) continue;
        let dst = kept;
        for (const k of p.slice(0, -1)) dst = (dst[k] ??= {}) as Record<string, unknown>;
        dst[p.at(-1)!] = src;
      }
      return { [op]: kept };
    });
  return out;
}
