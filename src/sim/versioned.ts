import {
  type Clock,
  type SimHooks,
  SimHost,
  type SimReply,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from './kit.ts';

/**
 * Records a simulated vendor changes in place (an issue's status, a finding seen again): each record has
 * versions, each with its time and the time it becomes visible (indexed), and the vendor lists a record's
 * latest visible version. Every version is one event a complete drain delivers.
 */
export interface Version<X = object> {
  t: number;
  vis: number;
  extra: X;
}

export interface VersionedRecord<X = object> {
  seq: number;
  versions: Array<Version<X>>;
}

export class VersionedRecords<X = object> {
  readonly records: Array<VersionedRecord<X>> = [];
  private readonly roundTo: number;

  /** `roundTo`: times are rounded down to it (1000: the vendor prints whole seconds). */
  constructor(roundTo = 1) {
    this.roundTo = roundTo;
  }

  /** A new record, first seen at `t`, visible from `vis`. */
  add(t: number, vis: number, extra: X): VersionedRecord<X> {
    const r = { seq: this.records.length, versions: [{ t: this.round(t), vis, extra }] };
    this.records.push(r);
    return r;
  }

  /** `n` records (or, with `seq`, `n` new versions of that record) spaced as SpacedEvents says; returns them. */
  spaced(
    n: number,
    now: number,
    spacingMs: number,
    o: SpacedEvents & { seq?: number },
    extra: X,
  ): Array<{ record: VersionedRecord<X>; version: number }> {
    return spacedEvents(n, now, spacingMs, o).map(([t, vis]) => {
      if (o.seq === undefined) return { record: this.add(t, vis, extra), version: 0 };
      const record = this.records[o.seq];
      record.versions.push({ t: this.round(t), vis, extra });
      return { record, version: record.versions.length - 1 };
    });
  }

  /** The version listed at `now`: the latest visible one. */
  current(r: VersionedRecord<X>, now: number): Version<X> | undefined {
    let v: Version<X> | undefined;
    for (const x of r.versions) if (x.vis <= now) v = x;
    return v;
  }

  /** Each record's version listed at `now`, with the record. */
  listed(now: number): Array<{ record: VersionedRecord<X>; v: Version<X> }> {
    const out: Array<{ record: VersionedRecord<X>; v: Version<X> }> = [];
    for (const record of this.records) {
      const v = this.current(record, now);
      if (v) out.push({ record, v });
    }
    return out;
  }

  private round(t: number): number {
    return Math.floor(t / this.roundTo) * this.roundTo;
  }
}

/** Pads a simulated record with a `padding` field to about `bytes` of JSON (huge-page checks). */
export function padRecord<T extends Record<string, unknown>>(r: T, bytes: number | undefined): T {
  if (!bytes) return r;
  const left = bytes - JSON.stringify(r).length;
  if (left > 0) (r as Record<string, unknown>).padding = 'x'.repeat(left);
  return r;
}

export interface VersionedListSimOptions<L extends string> {
  clock?: Clock;
  seed?: number | string;
  /** Records of each list generated up front, `spacingMs` apart, ending 5 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Lists the caller's credentials may not read (each vendor answers its own way). */
  forbidden?: L[];
}

/**
 * A simulated vendor API over lists of versioned records (Tenable's exports, Wiz's GraphQL lists): its
 * server (a SimHost), clock and seed; the lists filled up front; records added later and the ids a complete
 * drain delivers; and the credential and permission checks its routes make before serving. A subclass says
 * how its lists are served, how a record's event id reads and which lists change in place.
 */
export abstract class VersionedListSim<
  X,
  L extends string,
  O extends VersionedListSimOptions<L>,
> extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  protected readonly o: O & { spacingMs: number };
  protected readonly lists: Record<L, VersionedRecords<X>>;

  constructor(
    o: O,
    s: {
      name: string;
      lists: readonly L[];
      hooks: SimHooks;
      /** Records of each list when `o.records` is not given. */
      records: number;
      /** Each generated record's first version. */
      first: X;
      /** Times rounded down to this (1000: the vendor prints whole seconds). */
      roundTo?: number;
    },
  ) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({ name: s.name, clock: this.clock, hooks: s.hooks });
    this.lists = Object.fromEntries(s.lists.map((l) => [l, new VersionedRecords<X>(s.roundTo)])) as Record<
      L,
      VersionedRecords<X>
    >;
    const n = o.records ?? s.records;
    const start = this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const list of s.lists)
      for (let i = 0; i < n; i++) {
        const t = start + i * this.o.spacingMs;
        this.lists[list].add(t, t, s.first);
      }
  }

  /** Every event a complete drain of `list` delivers: each version of a record that changes in place. */
  expectedIds(list: L): string[] {
    return this.lists[list].records.flatMap((item) =>
      this.versioned(list)
        ? item.versions.map((_, i) => this.eventId(list, item, i))
        : [this.eventId(list, item, 0)],
    );
  }

  /** Whether the vendor lists each version of `list`'s records (they change in place). */
  protected abstract versioned(list: L): boolean;

  /** The event id the source gives version `v` of `item`. */
  protected abstract eventId(list: L, item: VersionedRecord<X>, v: number): string;

  /** Adds `n` records to `list` (with `o.seq`, `n` new versions of that record); returns their event ids. */
  protected addVersions(list: L, n: number, o: SpacedEvents & { seq?: number }, extra: X): string[] {
    return this.lists[list]
      .spaced(n, this.clock(), this.o.spacingMs, o, extra)
      .map(({ record, version }) => this.eventId(list, record, version));
  }

  /**
   * The checks before serving: the credentials (`authorized`, else the vendor's 401), then whether they may
   * read `list` (`forbidden`, else the vendor's 403).
   */
  protected guard(
    list: L,
    authorized: boolean,
    refuse: (status: 401 | 403) => SimReply,
    serve: () => SimReply,
  ): SimReply {
    if (!authorized) return refuse(401);
    if (this.forbids(list)) return refuse(403);
    return serve();
  }

  /** Whether the caller's credentials may not read `list`. */
  protected forbids(list: L): boolean {
    return this.o.forbidden?.includes(list) ?? false;
  }
}
