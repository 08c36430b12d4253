/**
 * Registries indexed by names that users type (source ids, account kinds, collector and account
 * names). A plain object answers `constructor`, `toString` or `__proto__` from Object.prototype, so a
 * name like that would find a function instead of nothing; these have no prototype.
 */
export function byName<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const map: Record<string, T> = Object.create(null);
  for (const [k, v] of entries) map[k] = v;
  return map;
}

/** `map[key]` when `map` has its own `key`; never an inherited property such as `constructor`. */
export function own<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/**
 * Where `value` (parsed JSON or YAML) has a `__proto__` key, as dotted paths. JSON.parse and the YAML
 * parser keep such a key, but any object built from it later (validation included) drops it silently
 * or takes it for the prototype: both the config file and the API refuse it instead.
 */
export function reservedKeyPaths(value: unknown, path: string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => reservedKeyPaths(v, [...path, String(i)]));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === '__proto__' ? [[...path, k].join('.')] : reservedKeyPaths(v, [...path, k]),
  );
}

export const RESERVED_KEY_PROBLEM = '"__proto__" is reserved and cannot be used as a name or key';
