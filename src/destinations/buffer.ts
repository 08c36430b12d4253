import { z } from 'zod';

/**
 * The `buffer` setting every destination kind takes (docs/destinations.md, "Buffering"): absent, the
 * destination has no buffer and a destination that is down makes its collectors wait; present, batches
 * it does not take go to a bounded, durable buffer on disk under the data directory
 * (engine/destination-buffer.ts).
 */
export const destinationBufferSchema = z
  .object({
    maxBytes: z
      .number({ error: 'expected the buffer’s size cap in bytes, e.g. 268435456 for 256 MiB' })
      .int('expected a whole number of bytes')
      .min(65_536, 'expected at least 65536 bytes (64 KiB)')
      .max(2 ** 50, 'expected at most 2^50 bytes')
      .meta({ title: 'Size cap (bytes)' })
      .describe(
        'Size cap of the buffer on disk, in bytes. When it is reached, collectors using the destination wait (nothing is dropped)',
      ),
    spillAfterMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(5000)
      .meta({ title: 'Buffer deliveries slower than (ms)' })
      .describe(
        'How long a delivery may take before its batch goes to the buffer instead (ms, default 5000); a failed delivery goes at once',
      ),
    backoffBaseMs: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .meta({ title: 'Buffer retry: first wait (ms)' })
      .describe(
        'First wait before the buffer offers a batch again after a failure (ms, doubling, default 1000)',
      ),
    backoffMaxMs: z
      .number()
      .int()
      .min(1)
      .default(60_000)
      .meta({ title: 'Buffer retry: longest wait (ms)' })
      .describe('Longest wait between the buffer’s attempts (ms, default 60000)'),
  })
  .strict()
  .refine((b) => b.backoffMaxMs >= b.backoffBaseMs, {
    message: 'backoffMaxMs must be at least backoffBaseMs',
    path: ['backoffMaxMs'],
  })
  .meta({ title: 'Buffer' })
  .describe(
    'Durable buffer under the data directory for batches this destination does not take at once, so the other destinations of a collector keep receiving (off when absent)',
  );

export type DestinationBufferConfig = z.infer<typeof destinationBufferSchema>;

/** A kind's settings schema with the `buffer` setting added (its checks and description kept). */
export function withBuffer<S extends z.ZodRawShape, C extends z.core.$ZodObjectConfig>(
  schema: z.ZodObject<S, C>,
): z.ZodObject<S & { buffer: z.ZodOptional<typeof destinationBufferSchema> }, C> {
  // One instance per kind (the registry and the config union hold the same schema). safeExtend keeps
  // the kind's refinements (extend refuses a refined schema); its typing cannot follow a generic
  // shape, hence the cast.
  let done = extendedSchemas.get(schema);
  if (!done) {
    const extended = (schema as unknown as z.ZodObject).safeExtend({
      buffer: destinationBufferSchema.optional(),
    });
    done = schema.description ? extended.describe(schema.description) : extended;
    extendedSchemas.set(schema, done);
  }
  return done as never;
}

const extendedSchemas = new WeakMap<object, z.ZodType>();
