import { afterAll, beforeAll } from "vitest";
import { documentStoreContract } from "../../test-support/document-store-contract.js";
import { type PostgresCluster, startPostgres } from "../../test-support/postgres/cluster.js";
import { PostgresDocumentStore } from "./pg-document-store.js";

/**
 * The contract on a real PostgreSQL server (Debian's, started for this file in a temporary folder):
 * every test opens a store on one database and drops its own collections after it.
 */
let cluster: PostgresCluster | undefined;
let url = "";

beforeAll(async () => {
  cluster = await startPostgres();
  url = await cluster.createDatabase("docstore_contract");
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

documentStoreContract(
  "PostgreSQL (jsonb)",
  async () => {
    const store = await PostgresDocumentStore.open({ url });
    return { store, dispose: () => store.close() };
  },
  { refusesUnbounded: true },
);
