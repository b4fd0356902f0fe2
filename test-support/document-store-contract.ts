/**
 * The contract every DocumentStore adapter passes: one vitest suite, run by the embedded store's
 * tests and (when MONGODB_URL is set) by the MongoDB store's. Each test uses its own collections
 * (`t_<label>_<random>`) and drops them afterwards, so it can run against a shared server.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe } from "vitest";
import type { DocumentStore, WriteOp } from "../document-store/port.js";
import { boundsContract } from "./document-store-contract/bounds.js";
import {
  type OpenedDocumentStore,
  RESERVATION_INDEXES,
  type Reservation,
  reservation,
} from "./document-store-contract/fixtures.js";
import { geoContract } from "./document-store-contract/geo.js";
import { indexesContract } from "./document-store-contract/indexes.js";
import { modelContract } from "./document-store-contract/model.js";
import { queriesContract } from "./document-store-contract/queries.js";
import { writesContract } from "./document-store-contract/writes.js";

export {
  COUPON_INDEXES,
  type OpenedDocumentStore,
  RESERVATION_INDEXES,
} from "./document-store-contract/fixtures.js";

/**
 * `refusesUnbounded`: the adapter refuses a request's query past its bound (the embedded store,
 * document-store/bounds.ts); MongoDB refuses on the server (notablescan), and the in-memory store
 * (a fold's throwaway) only charges the budget.
 */
export function documentStoreContract(
  name: string,
  open: () => Promise<OpenedDocumentStore>,
  options: { readonly refusesUnbounded?: boolean } = {},
): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let opened: OpenedDocumentStore | undefined;
    const created: string[] = [];
    const store = (): DocumentStore => {
      if (opened === undefined) throw new Error("store not open");
      return opened.store;
    };
    /** A fresh collection name for this test, dropped after it. */
    const collection = (label: string): string => {
      const c = `t_${label}_${randomBytes(5).toString("hex")}`;
      created.push(c);
      return c;
    };
    const upsert = (c: string, id: string, update: Record<string, unknown>): WriteOp => ({
      op: "update",
      collection: c,
      id,
      update,
      upsert: true,
    });
    const seedReservations = async (c: string, n: number): Promise<Reservation[]> => {
      await store().ensureIndexes(c, RESERVATION_INDEXES);
      const docs = Array.from({ length: n }, (_, k) => reservation(k + 1));
      await store().write(
        docs.map(({ _id, ...rest }) => ({ op: "replace", collection: c, id: _id, document: rest }) as const),
      );
      return docs;
    };

    beforeEach(async () => {
      opened = await open();
    });

    afterEach(async () => {
      const current = opened;
      opened = undefined;
      if (current === undefined) return;
      for (const c of created.splice(0)) await current.store.dropCollection(c).catch(() => undefined);
      await current.dispose();
    });

    const t = { store, collection, upsert, seedReservations };
    writesContract(t);
    queriesContract(t);
    indexesContract(t);
    modelContract(t);
    geoContract(t);
    boundsContract(t, options.refusesUnbounded ?? false);
  });
}
