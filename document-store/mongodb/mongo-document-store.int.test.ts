import { describe } from "vitest";
import { documentStoreContract } from "../../test-support/document-store-contract.js";
import { MongoDocumentStore } from "./mongo-document-store.js";

/**
 * Runs the contract against a real MongoDB (a replica set: writes are transactions) when
 * MONGODB_URL is set, e.g. MONGODB_URL="mongodb://localhost:27017/?replicaSet=rs0".
 * Tests use their own `t_*` collections in MONGODB_TEST_DATABASE (default "docstore_contract").
 */
const url = process.env.MONGODB_URL;
const database = process.env.MONGODB_TEST_DATABASE ?? "docstore_contract";

describe.skipIf(url === undefined || url === "")("MongoDocumentStore (MONGODB_URL)", () => {
  documentStoreContract("MongoDB", async () => {
    const store = await MongoDocumentStore.connect({ url: url ?? "", database });
    return { store, dispose: () => store.close() };
  });
});
