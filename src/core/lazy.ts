import { createRequire } from 'node:module';

/**
 * Registries that load their entries on first use (sources, account kinds, destination kinds). A run
 * of one collector needs one source, one account kind and its destinations; importing all of them
 * costs ≈20 MB of resident memory (`npm run bench -- modules`), a floor under every run.
 *
 * A registry is an object without a prototype (core/names.ts) with one enumerable getter per id:
 * `Object.keys` and `Object.hasOwn` answer from a small manifest without loading anything, reading a
 * value loads that entry's module once (then the property holds the value), and `Object.values` —
 * the listings (`tributary sources`, `GET /api/sources`, the console's catalog) — loads them all.
 *
 * The modules are loaded with a synchronous `require()` of an ES module (Node ≥ 22.12, unflagged in
 * Node 24), so every call site stays synchronous. That only works for a module graph without
 * top-level `await` (`ERR_REQUIRE_ASYNC_MODULE` otherwise): nothing under src/ may use one. The
 * registries' own tests load every entry this way, so one that does fails them.
 */

/** A registry's entries, by id: `[module path relative to the registry, export name]`. */
export type Manifest = Readonly<Record<string, readonly [path: string, exportName: string]>>;

const loadedByRecord = new WeakMap<object, Set<string>>();

/**
 * A record whose entry `id` is `build(module[exportName], id)` of the module `manifest[id]`, loaded on
 * first access. `base` is the registry module's `import.meta.url`: paths resolve from it, and when it
 * is compiled JavaScript (an installed package runs lib/, tsconfig.build.json) the `.ts` paths of the
 * manifest are read as the `.js` files built from them.
 */
export function lazyRecord<T>(
  base: string,
  manifest: Manifest,
  build: (value: unknown, id: string) => T = (v) => v as T,
): Record<string, T> {
  const require = createRequire(base);
  const js = !base.endsWith('.ts');
  const record: Record<string, T> = Object.create(null);
  const loaded = new Set<string>();
  loadedByRecord.set(record, loaded);
  const settle = (id: string, value: T) => {
    Object.defineProperty(record, id, { value, enumerable: true, configurable: true, writable: true });
  };
  for (const [id, [path, name]] of Object.entries(manifest)) {
    Object.defineProperty(record, id, {
      enumerable: true,
      configurable: true,
      get() {
        const mod = require(js ? path.replace(/\.ts$/, '.js') : path) as Record<string, unknown>;
        if (!Object.hasOwn(mod, name)) throw new Error(`registry: ${path} exports no ${name} (entry ${id})`);
        const value = build(mod[name], id);
        loaded.add(id);
        settle(id, value);
        return value;
      },
      // A test may put its own entry in place of one.
      set(value: T) {
        loaded.add(id);
        settle(id, value);
      },
    });
  }
  return record;
}

/** The ids of a lazy record loaded so far (tests: a run loads only what it uses). */
export function loadedIds(record: object): string[] {
  const loaded = loadedByRecord.get(record);
  if (!loaded) throw new Error('not a lazy record');
  return [...loaded];
}

/**
 * An object built on first use: a stand-in that builds `make()` when any property of it is read (a
 * schema or spec over every entry of a registry, which only the listings and the API's documents need).
 */
export function lazyValue<T extends object>(make: () => T): T {
  let value: T | undefined;
  const get = () => {
    value ??= make();
    return value;
  };
  return new Proxy(Object.create(null) as T, {
    get: (_t, p) => {
      const v = get();
      return Reflect.get(v, p, v);
    },
    has: (_t, p) => Reflect.has(get(), p),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_t, p) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), p);
      return d ? { ...d, configurable: true } : undefined;
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
    set: (_t, p, v) => Reflect.set(get(), p, v),
  });
}
