import type { Document, DocumentStore } from "../document-store/port.js";
import { LOT_FACTS } from "../projections/read-models/lot-facts.js";

/**
 * The document store, recording every lot fact (its `at` order) the lot-facts documents it returns
 * hold: what a read of a lot's state read, to count that none is from before its period's opening.
 */
export function countingReads(inner: DocumentStore): { store: DocumentStore; read: number[] } {
  const read: number[] = [];
  const record = (doc: Document | null) => {
    if (!doc) return;
    for (const key of ["registered", "capacity", "rate", "customerLimit", "opened"]) {
      const fact = doc[key] as { revision?: number } | undefined;
      if (fact?.revision !== undefined) read.push(fact.revision);
    }
    for (const fact of (doc.facts as { revision: number }[] | undefined) ?? []) read.push(fact.revision);
  };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if ((property !== "find" && property !== "findById") || typeof value !== "function") return value;
      return async (collection: string, ...rest: unknown[]) => {
        const found = await value.call(target, collection, ...rest);
        if (collection.includes(LOT_FACTS)) for (const doc of [found].flat()) record(doc as Document | null);
        return found;
      };
    },
  });
  return { store, read };
}
