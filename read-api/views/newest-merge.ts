import type { Document, DocumentStore } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { PageOf, ReadContext } from "./read-context.js";
import { strip } from "./rules.js";

/** A document with the position of the event that created it, the order every list pages by. */
export type Sequenced = { readonly seq: number };

/** The newest `n` documents matching `filter` strictly below `below` (all when undefined), newest first. */
export type NewestBelow<D extends Sequenced> = (
  filter: Record<string, unknown>,
  below: number | undefined,
  n: number,
) => Promise<D[]>;

/**
 * The newest `want` documents matching any of `filters` (disjoint) below `cursor`: each part is read
 * lazily, in growing batches while the merge takes from it, so the work is about the page plus one
 * small read per part, never a page per part.
 */
export async function newestMerged<D extends Sequenced>(
  filters: readonly Record<string, unknown>[],
  read: NewestBelow<D>,
  cursor: number | undefined,
  want: number,
): Promise<D[]> {
  const first = Math.max(1, Math.ceil(want / Math.max(1, filters.length)));
  const parts = await Promise.all(
    filters.map(async (filter) => {
      const docs = await read(filter, cursor, first);
      return { filter, docs, at: 0, size: first, done: docs.length < first };
    }),
  );
  const out: D[] = [];
  while (out.length < want) {
    const empty = parts.filter((p) => p.at === p.docs.length && !p.done);
    await Promise.all(
      empty.map(async (p) => {
        p.size = Math.min(2 * p.size, want);
        p.docs = await read(p.filter, p.docs.at(-1)?.seq ?? cursor, p.size);
        p.at = 0;
        p.done = p.docs.length < p.size;
      }),
    );
    let best: (typeof parts)[number] | undefined;
    for (const p of parts) {
      const head = p.docs[p.at];
      if (head && (!best || head.seq > (best.docs[best.at]?.seq ?? 0))) best = p;
    }
    const next = best?.docs[best.at];
    if (!best || !next) break;
    out.push(next);
    best.at++;
  }
  return out;
}

/** The newest `n` documents of `collection` matching a filter below a position, by `seq`: an index range. */
export const newestBelow =
  (store: DocumentStore, collection: string): NewestBelow<Document & Sequenced> =>
  (filter, below, n) => {
    const where = below === undefined ? filter : { ...filter, seq: { $lt: below } };
    return store.find<Document & Sequenced>(collection, where, { sort: { seq: -1 }, limit: n });
  };

/** A page of `logical` matching any of `filters` (disjoint), newest first by `seq`: an index range. */
export async function newestPage<T>(
  ctx: ReadContext,
  logical: string,
  filters: readonly Record<string, unknown>[],
  options: { cursor?: string; limit: number; minPosition?: Position | null },
): Promise<PageOf<T>> {
  await ctx.awaitPosition(logical, options.minPosition ?? null);
  const collection = await ctx.collection(logical);
  const below = options.cursor ? Number(options.cursor) : undefined;
  const docs = await newestMerged(filters, newestBelow(ctx.store, collection), below, options.limit + 1);
  const page = docs.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map((d) => strip<T>(d) as T),
    nextCursor: docs.length > options.limit && last ? String(last.seq) : null,
  };
}
