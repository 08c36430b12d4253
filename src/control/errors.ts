/** An error the API returns as-is: a stable code, an HTTP status, and for bad input the issues. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues?: Array<{ path: string; message: string }>;
  /** Response headers that go with it (e.g. Retry-After on 429 and 503). */
  headers?: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    issues?: Array<{ path: string; message: string }>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.issues = issues;
  }

  toJSON() {
    return {
      error: { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) },
    };
  }
}

export const notFound = (what: string, name: string) =>
  new ApiError(404, 'not_found', `No ${what} named "${name}".`);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);
export const forbidden = (message = 'Your role does not allow this.') =>
  new ApiError(403, 'forbidden', message);

/** `path: message` strings (config-file style) as API issues. */
export function invalid(issues: string[], prefix = ''): ApiError {
  return new ApiError(
    400,
    'invalid_request',
    'The request is invalid.',
    issues.map((i) => {
      const at = i.indexOf(': ');
      const path = at > 0 ? i.slice(0, at) : '';
      return {
        path: prefix && path ? `${prefix}.${path}` : prefix || path,
        message: at > 0 ? i.slice(at + 2) : i,
      };
    }),
  );
}
