import { documentStoreContract } from "../../test-support/document-store-contract.js";
import { MemoryDocumentStore } from "./memory-document-store.js";

/** The in-memory store (what time travel folds into) passes the contract every adapter passes. */
documentStoreContract("in memory", async () => {
  const store = new MemoryDocumentStore();
  return { store, dispose: () => store.close() };
});
