import { transientError } from '../core/errors.ts';
import type { Batch, RawEvent, ReadContext } from '../core/source.ts';
import { LoopGuard } from './http.ts';
import { type PageRequest, type Paginator, pageKey } from './paginate.ts';

/**
 * A list of lists (docs/architecture.md, "Context records"): every child list of every parent, each
 * paged (Okta's group members: `/groups`, then `/groups/{id}/users` per group). One batch per child
 * page; the checkpoint is the parents' page being worked through, the parent's place on it and the
 * child list's next page, so a crash resumes at the child page that was not committed (the parents'
 * page is asked again: vendors whose pages are links to a stable cursor answer it alike).
 */
export interface NestedListDef<S, A> {
  /** The first page of parents. */
  parents: (ctx: ReadContext<S, A>) => PageRequest;
  parentRecords: (body: any) => unknown[];
  parentPages: Paginator;
  /** The first page of a parent's children. */
  children: (ctx: ReadContext<S, A>, parent: any) => PageRequest;
  childRecords: (body: any) => unknown[];
  childPages: Paginator;
  /** The record delivered for a child of a parent, with its id. */
  record: (parent: any, child: any) => RawEvent;
}

export interface NestedListCheckpoint {
  parents: PageRequest;
  /** The parent being read on that page. */
  index: number;
  /** The next page of that parent's children (absent: its first). */
  child?: PageRequest;
}

export async function* readNestedList<S, A>(
  def: NestedListDef<S, A>,
  ctx: ReadContext<S, A>,
): AsyncGenerator<Batch<NestedListCheckpoint>> {
  const saved = ctx.checkpoint as NestedListCheckpoint | undefined;
  let parents: PageRequest | undefined = saved?.parents ?? def.parents(ctx);
  let index = saved?.index ?? 0;
  let child = saved?.child;
  const parentGuard = new LoopGuard();
  parentGuard.check(pageKey(parents), ctx.stream);
  while (parents) {
    ctx.signal.throwIfAborted();
    const { body, response } = await ctx.http.getJson(parents.url, parents.query);
    const list = def.parentRecords(body);
    if (!Array.isArray(list)) throw unexpected(ctx.stream);
    const nextParents = def.parentPages.next({ request: parents, response, body, records: list });
    // A repeated cursor is a loop; an empty page may point at the same place a few times.
    if (nextParents) parentGuard.check(pageKey(nextParents), ctx.stream, list.length === 0);
    for (; index < list.length; index++) {
      const parent = list[index];
      let request: PageRequest | undefined = child ?? def.children(ctx, parent);
      child = undefined;
      const guard = new LoopGuard();
      guard.check(pageKey(request), ctx.stream);
      while (request) {
        ctx.signal.throwIfAborted();
        const page = await ctx.http.getJson(request.url, request.query);
        const children = def.childRecords(page.body);
        if (!Array.isArray(children)) throw unexpected(ctx.stream);
        const next = def.childPages.next({
          request,
          response: page.response,
          body: page.body,
          records: children,
        });
        if (next) guard.check(pageKey(next), ctx.stream, children.length === 0);
        const checkpoint: NestedListCheckpoint = next
          ? { parents, index, child: next }
          : nextParentCheckpoint(parents, index, list.length, nextParents);
        yield { events: children.map((c) => def.record(parent, c)), checkpoint, pages: 1 };
        request = next;
      }
    }
    // A page of parents without children still moves the position.
    if (list.length === 0 && nextParents)
      yield { events: [], checkpoint: { parents: nextParents, index: 0 } };
    parents = nextParents;
    index = 0;
  }
}

/** After the last child page of `index`: the next parent on the page, or the first of the next page. */
function nextParentCheckpoint(
  parents: PageRequest,
  index: number,
  count: number,
  nextParents: PageRequest | undefined,
): NestedListCheckpoint {
  if (index + 1 < count || !nextParents) return { parents, index: index + 1 };
  return { parents: nextParents, index: 0 };
}

function unexpected(stream: string) {
  return transientError(
    'unexpected_response',
    `The vendor's response had no list of records where ${stream} expects one.`,
    'Check the base URL points at the vendor API; Tributary retries on the next run.',
  );
}
