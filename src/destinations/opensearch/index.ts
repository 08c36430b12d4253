import { BulkDestination } from '../elasticsearch/bulk-destination.ts';
import { opensearchConfigSchema } from '../elasticsearch/index.ts';
import { defineDestinationKind } from '../kind.ts';

export { type OpensearchDestinationConfig, opensearchConfigSchema } from '../elasticsearch/index.ts';

/** OpenSearch speaks Elasticsearch's `_bulk` (elasticsearch/bulk-destination.ts serves both). */
export const opensearchKind = defineDestinationKind({
  kind: 'opensearch',
  title: 'OpenSearch',
  description:
    'Creates one document per event with _bulk (the event id as _id: a re-delivery is a no-op). Created or already there acknowledges; mapping errors are dead-lettered.',
  schema: opensearchConfigSchema,
  create: (name, config) => {
    const { kind, ...o } = config;
    return new BulkDestination(kind, name, o);
  },
});
