import { createHash } from 'node:crypto';
import type { Destination } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import {
  eachLimited,
  MAX_KEY_BYTES,
  type ObjectLayout,
  type PlannedObject,
  PROBE_BODY,
  planObjects,
  probeKey,
} from './objects.ts';

export interface ObjectStoreOptions extends ObjectLayout {
  concurrency: number;
}

/**
 * An object-store destination (objects.ts): plans a batch's objects and writes them with the store's
 * own `put`, which resolves only once the store has committed the object (S3 PutObject 200, Azure
 * Put Blob 201, GCS upload 200). `send` resolves when every object of the batch is written; if any
 * fails it rejects and the runtime re-sends the batch, whose objects then overwrite the same names.
 */
export abstract class ObjectStoreDestination implements Destination {
  abstract readonly kind: string;
  readonly name: string;
  protected readonly layout: ObjectStoreOptions;

  constructor(name: string, layout: ObjectStoreOptions) {
    this.name = name;
    this.layout = layout;
  }

  /** Writes one object durably, or throws a TributaryError (config or transient). */
  protected abstract put(object: PlannedObject, signal: AbortSignal): Promise<void>;

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    if (!events.length) return;
    const objects = await planObjects(events, this.layout);
    for (const o of objects) {
      if (Buffer.byteLength(o.key) > MAX_KEY_BYTES)
        throw configError(
          'object_key_too_long',
          `Destination ${this.name}: an object name would be ${Buffer.byteLength(o.key)} bytes; object stores allow ${MAX_KEY_BYTES}.`,
          `Shorten the prefix or keyTemplate of destination ${this.name}.`,
        );
    }
    await eachLimited(objects, this.layout.concurrency, (o) => this.put(o, signal));
  }

  /**
   * Test Connection: writes (and at every test overwrites) one small object under the prefix, which
   * proves the credentials and the permission to create objects (the only one Tributary needs).
   */
  async test(signal: AbortSignal): Promise<void> {
    await this.put(
      {
        key: probeKey(this.layout.prefix),
        body: PROBE_BODY,
        contentType: 'text/plain',
        events: 0,
        md5: createHash('md5').update(PROBE_BODY).digest('base64'),
      },
      signal,
    );
  }

  async close(): Promise<void> {}
}
