import { type SpacedEvents, spacedEvents } from './kit.ts';

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
