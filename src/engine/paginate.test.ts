import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpResponse } from '../core/source.ts';
import { graphqlVariable, paginate } from './paginate.ts';

describe('graphqlVariable', () => {
  const first = {
    url: 'https://api.example/graphql',
    body: JSON.stringify({ query: 'query Q { x }', variables: { first: 2 } }),
  };
  const place = graphqlVariable('after');

  it('reads and writes one variable of a {query, variables} body, keeping the rest', () => {
    assert.equal(place.get(first), undefined);
    const next = place.set(first, 'c1');
    assert.equal(place.get(next), 'c1');
    assert.deepEqual(JSON.parse(next.body!), {
      query: 'query Q { x }',
      variables: { first: 2, after: 'c1' },
    });
    assert.equal(
      first.body,
      JSON.stringify({ query: 'query Q { x }', variables: { first: 2 } }),
      'the request is not changed',
    );
  });

  it('pages a Relay connection with the cursor paginator until hasNextPage is false', () => {
    const p = paginate.cursor({
      place,
      from: (b) => b.data.items.pageInfo.endCursor,
      hasMore: (b) => b.data.items.pageInfo.hasNextPage === true,
    });
    const answer = (hasNextPage: boolean, endCursor: string | null) => ({
      data: { items: { nodes: [], pageInfo: { hasNextPage, endCursor } } },
    });
    const response = {} as HttpResponse;
    const next = p.next({ request: first, response, body: answer(true, 'c9'), records: [] });
    assert.equal(next && place.get(next), 'c9');
    assert.equal(p.next({ request: first, response, body: answer(false, 'c10'), records: [] }), undefined);
  });
});
