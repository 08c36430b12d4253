import { z } from 'zod';
import { type AccountKind, defineAccountKind, defineSource, type SourceDef } from '../../src/core/source.ts';
import type { ObjectFormat } from '../../src/engine/object-decode.ts';
import {
  type ObjectReaderDef,
  type ObjectRef,
  type QueueMessage,
  readObjects,
} from '../../src/engine/object-notification.ts';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';

/**
 * A TEST source (not shipped) on the object-notification reader, the way an AWS S3 + SQS source would
 * declare it: the vendor facts are how an S3 event notification names objects, and the format by file
 * name. Its three streams read the same simulated bucket by notification, by listing and as growing
 * (append) objects.
 */

/** The S3 event notification's objects (Amazon S3 User Guide, "Event message structure"). */
export function s3NotificationObjects(m: QueueMessage): ObjectRef[] {
  const body = JSON.parse(m.body) as { Event?: string; Records?: unknown };
  if (body.Event === 's3:TestEvent') return [];
  if (!Array.isArray(body.Records)) throw new Error('expected Records, an array of S3 events');
  return body.Records.map((r: any) => ({
    bucket: r.s3.bucket.name,
    // keys are URL-encoded, spaces as '+'
    key: decodeURIComponent(String(r.s3.object.key).replace(/\+/g, ' ')),
    etag: r.s3.object.eTag,
    version: r.s3.object.versionId ?? undefined,
    size: r.s3.object.size,
  }));
}

/** The format by the key's extension (.gz ignored: gzip is detected from the bytes). */
export function formatByName(ref: ObjectRef): ObjectFormat {
  const name = ref.key.replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.log')) return 'lines';
  if (name.endsWith('.array.json')) return 'json-array';
  if (name.endsWith('.json')) return 'records';
  return 'ndjson';
}

export const noneAccount: AccountKind = defineAccountKind({
  id: 'none',
  title: 'None',
  fields: z.object({}),
  authorize: async () => {},
});

export function objectTestSource(sim: ObjectStoreSim, over: Partial<ObjectReaderDef> = {}): SourceDef {
  const base = {
    open: () => ({ objects: sim.objects, queue: sim.queue }),
    format: formatByName,
    // CloudTrail records carry eventID; NDJSON test records an id; CSV rows and lines have none.
    eventId: (r: unknown) => {
      const o = r as Record<string, unknown> | null;
      const id = o && typeof o === 'object' ? (o.eventID ?? o.id) : undefined;
      return typeof id === 'string' ? id : undefined;
    },
    eventTime: (r: unknown) =>
      r && typeof r === 'object' ? (r as Record<string, unknown>).eventTime : undefined,
    maxEvents: 50,
    ...over,
  };
  return defineSource({
    id: 'object-test',
    title: 'Object test',
    account: 'none',
    stability: 'early-access',
    family: 'object-storage',
    description: 'test only',
    setupGuide: '',
    settings: z.object({}),
    test: async () => {},
    streams: {
      notifications: {
        title: 'By notification',
        read: readObjects({ ...base, mode: 'notifications', objectsOf: s3NotificationObjects }),
      },
      listing: {
        title: 'By listing',
        read: readObjects({ ...base, mode: 'listing', prefix: () => 'AWSLogs/' }),
      },
      append: {
        title: 'Growing objects',
        read: readObjects({ ...base, mode: 'append', prefix: () => 'append/' }),
      },
    },
  });
}
