/** Database URL helpers that do not load the Postgres driver (the embedded default never needs it). */

export const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//i.test(url);

/** The URL's scheme only, for error messages: the rest may hold a password. */
export function schemeOf(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  return m ? `"${m[1]}:"` : 'a value that is not a URL';
}

/** host:port/database, for messages: never the user or password. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || 5432}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'the configured database URL';
  }
}
