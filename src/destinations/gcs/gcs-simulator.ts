import { createHash } from 'node:crypto';
import { STORAGE_API } from '../../accounts/google.ts';
import { GoogleTokenSimulator, googleError } from '../../sim/google.ts';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

/**
 * Google Cloud Storage's upload API, as documented (cloud.google.com/storage/docs/json_api/v1/objects/insert,
 * cloud.google.com/storage/docs/uploading-objects#uploading-an-object, "multipart upload"), with
 * Google's OAuth token endpoint (sim/google.ts) on the same server:
 *
 * - `POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=…` (the body is the object) and
 *   `uploadType=multipart` (a multipart/related body: JSON metadata with `name`, `contentType`,
 *   optionally `md5Hash`, then the object). 200 with the object resource; an existing name is replaced
 *   with a new generation.
 * - A bearer token from the token endpoint with a storage scope (devstorage.read_write, full_control
 *   or cloud-platform): else 401 / 403 `ACCESS_TOKEN_SCOPE_INSUFFICIENT`.
 * - An unknown bucket is 404 `notFound`; a bucket the service account may not write is 403
 *   `forbidden` ("… does not have storage.objects.create access …"); an `md5Hash` that does not match
 *   the bytes is 400 `invalid` ("Provided MD5 hash … doesn't match calculated MD5 hash").
 * - Faults: the kit's fault queue (`server.faults`), and `failAfterStore(n)` storing then answering 503.
 *
 * Assumed where the docs are silent: the exact wording of messages; a multipart body's parts are
 * separated by CRLF as RFC 2046 describes.
 */
export class GcsSimulator {
  readonly server = new SimServer({ name: 'gcs' });
  readonly google = new GoogleTokenSimulator();
  /** bucket → object name → stored object */
  readonly buckets = new Map<
    string,
    Map<string, { body: Buffer; contentType: string; generation: number }>
  >();
  readonly readOnlyBuckets = new Set<string>();
  private afterStore = 0;
  private generation = 1;
  uploads = 0;

  constructor(buckets: string[] = []) {
    for (const b of buckets) this.buckets.set(b, new Map());
    this.google.mount(this.server, '/token');
    this.server.route('POST', '/upload/storage/v1/b/:bucket/o', (req) => this.upload(req));
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  get url(): string {
    return this.server.url;
  }

  /** Fields of a google account for this simulator (its key file, and its token endpoint). */
  accountFields(): { serviceAccountKey: string; tokenUrl: string } {
    return { serviceAccountKey: this.google.keyJson(), tokenUrl: this.google.tokenUrl };
  }

  failAfterStore(n: number): void {
    this.afterStore = n;
  }

  private upload(req: SimRequest): SimReply {
    const auth = this.google.authenticate(req, STORAGE_API.accepts);
    if (!auth.ok) return auth.reply;
    const bucket = this.buckets.get(req.params.bucket!);
    if (!bucket) return googleError(404, 'The specified bucket does not exist.', 'NOT_FOUND', 'notFound');
    if (this.readOnlyBuckets.has(req.params.bucket!))
      return googleError(
        403,
        `${auth.iss} does not have storage.objects.create access to the Google Cloud Storage object.`,
        'PERMISSION_DENIED',
        'forbidden',
      );
    let name: string | undefined;
    let contentType = 'application/octet-stream';
    let md5: string | undefined;
    let body: Buffer;
    const type = String(req.headers['content-type'] ?? '');
    const uploadType = req.query.get('uploadType');
    if (uploadType === 'media') {
      name = req.query.get('name') ?? undefined;
      contentType = type || contentType;
      body = req.body;
    } else if (uploadType === 'multipart') {
      const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
      if (!/^multipart\/related/i.test(type) || !boundary)
        return googleError(400, 'Invalid multipart request', 'INVALID_ARGUMENT', 'invalid');
      const parts = splitMultipart(req.body, boundary);
      if (parts.length !== 2)
        return googleError(400, 'Invalid multipart request', 'INVALID_ARGUMENT', 'invalid');
      let meta: { name?: string; contentType?: string; md5Hash?: string };
      try {
        meta = JSON.parse(parts[0]!.body.toString('utf8'));
      } catch {
        return googleError(400, 'Invalid JSON metadata', 'INVALID_ARGUMENT', 'parseError');
      }
      name = meta.name;
      contentType = meta.contentType ?? parts[1]!.headers['content-type'] ?? contentType;
      md5 = meta.md5Hash;
      body = parts[1]!.body;
    } else {
      return googleError(400, `Invalid upload type: ${uploadType}`, 'INVALID_ARGUMENT', 'invalid');
    }
    if (!name) return googleError(400, 'Required', 'INVALID_ARGUMENT', 'required');
    const actual = createHash('md5').update(body).digest('base64');
    if (md5 && md5 !== actual)
      return googleError(
        400,
        `Provided MD5 hash "${md5}" doesn't match calculated MD5 hash "${actual}".`,
        'INVALID_ARGUMENT',
        'invalid',
      );
    const generation = this.generation++;
    bucket.set(name, { body, contentType, generation });
    this.uploads++;
    if (this.afterStore > 0) {
      this.afterStore--;
      return googleError(503, 'Backend Error', 'UNAVAILABLE', 'backendError');
    }
    return json(200, {
      kind: 'storage#object',
      name,
      bucket: req.params.bucket,
      generation: String(generation),
      contentType,
      size: String(body.length),
      md5Hash: actual,
    });
  }
}

/** The parts of a multipart body (RFC 2046 §5.1.1): each part's headers and bytes. */
function splitMultipart(
  body: Buffer,
  boundary: string,
): Array<{ headers: Record<string, string>; body: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const out: Array<{ headers: Record<string, string>; body: Buffer }> = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // close delimiter
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // after CRLF, before the CRLF preceding the delimiter
    const split = part.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, split).toString('utf8').split('\r\n')) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    out.push({ headers, body: part.subarray(split + 4) });
    at = next;
  }
  return out;
}
