import type { BulkLoad, DocumentStore } from "./port.js";

/**
 * A bulk load that writes through `store` itself, each write answered once stored: for stores
 * whose own writes need no second thread (MongoDB is a server: it applies them on its own cores),
 * or that no second connection can share (an in-memory SQLite file). Indexes are still built once,
 * when the caller asks for them after the load. close() leaves `store` open.
 */
export function bulkLoadThrough(store: DocumentStore): BulkLoad {
  return {
    ensureIndexes: (collection, indexes) => store.ensureIndexes(collection, indexes),
    prepareIndexes: (collection, indexes) => store.prepareIndexes(collection, indexes),
    findById: (collection, id) => store.findById(collection, id),
    find: (collection, filter, options) => store.find(collection, filter, options),
    count: (collection, filter) => store.count(collection, filter),
    findNear: (collection, query) => store.findNear(collection, query),
    countBy: (collection, filter, field, options) => store.countBy(collection, filter, field, options),
    write: (ops) => store.write(ops),
    explain: (collection, filter, options) => store.explain(collection, filter, options),
    listCollections: () => store.listCollections(),
    dropCollection: (collection) => store.dropCollection(collection),
    flush: async () => undefined,
    failed: () => undefined,
    close: async () => undefined,
  };
}
