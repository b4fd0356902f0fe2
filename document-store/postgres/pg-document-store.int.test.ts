import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { documentStoreContract } from "../../test-support/document-store-contract.js";
import { type PostgresCluster, startPostgres } from "../../test-support/postgres/cluster.js";
import { freePort } from "../../test-support/process.js";
import { DocumentStoreUnavailableError, WriteConditionFailedError } from "../port.js";
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

/**
 * What the contract cannot show on one connection: replicas of the service write through pools of
 * their own, so a batch's compare-and-set (leases, fencing) and its read-modify-write ($inc) must
 * hold against another writer's transaction, and two writers inserting one new document must not
 * fail a batch that applied one after the other would pass.
 */
describe("PostgresDocumentStore: concurrent writers and the server's errors", () => {
  const opened: PostgresDocumentStore[] = [];
  const open = async () => {
    const store = await PostgresDocumentStore.open({ url, maxConnections: 4 });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it("loses no update and lets one compare-and-set win, between two stores writing at once", async () => {
    const [a, b] = [await open(), await open()];
    const c = `t_race_${randomBytes(4).toString("hex")}`;
    await a.ensureIndexes(c, []);
    // Every connection of both pools open, so that the transactions below overlap.
    await Promise.all(Array.from({ length: 16 }, (_, k) => (k % 2 === 0 ? a : b).count(c, {})));
    const increments = Array.from({ length: 40 }, (_, k) =>
      (k % 2 === 0 ? a : b).write([
        { op: "update", collection: c, id: "counter", update: { $inc: { n: 1 } }, upsert: true },
      ]),
    );
    await Promise.all(increments);
    expect(await a.findById(c, "counter")).toEqual({ _id: "counter", n: 40 });

    const claims = await Promise.allSettled(
      Array.from({ length: 10 }, (_, k) =>
        (k % 2 === 0 ? a : b).write([
          {
            op: "update",
            collection: c,
            id: "lease",
            update: { $set: { owner: `p${k}` }, $inc: { epoch: 1 } },
            upsert: true,
            if: { epoch: { $exists: false } },
          },
        ]),
      ),
    );
    expect(claims.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of claims)
      if (r.status === "rejected") expect(r.reason).toBeInstanceOf(WriteConditionFailedError);
    expect(await b.findById(c, "lease")).toMatchObject({ epoch: 1 });
    await a.dropCollection(c);
  });

  it("sees another store's schema changes on its next call: a dropped collection, a new index", async () => {
    const [a, b] = [await open(), await open()];
    const c = `t_schema_${randomBytes(4).toString("hex")}`;
    await a.write([{ op: "replace", collection: c, id: "x", document: { n: 1 } }]);
    expect(await a.findById(c, "x")).toEqual({ _id: "x", n: 1 });
    await b.dropCollection(c);
    expect(await a.findById(c, "x")).toBeNull();
    expect(await a.find(c, { n: 1 })).toEqual([]);
    await b.ensureIndexes(c, [{ name: "n_1", keys: { n: 1 } }]);
    await b.write([{ op: "replace", collection: c, id: "y", document: { n: 2 } }]);
    const plan = await a.explain(c, { n: 2 }, { limit: 1 });
    expect(plan.indexed, plan.detail).toBe(true);
    expect(await a.find(c, { n: { $gte: 2 } })).toEqual([{ _id: "y", n: 2 }]);
    await a.write([{ op: "update", collection: c, id: "y", update: { $set: { n: [1, 2] } } }]).then(
      () => expect.fail("an array at an indexed path is refused"),
      (error: unknown) => expect(String(error)).toMatch(/indexes only scalar values/),
    );
    await a.dropCollection(c);
  });

  it("answers a read in one statement (the schema's version read in it), and still sees another store's changes", async () => {
    const [a, b] = [await open(), await open()];
    const c = `t_one_${randomBytes(4).toString("hex")}`;
    const fresh = `t_fresh_${randomBytes(4).toString("hex")}`;
    await a.ensureIndexes(c, [{ name: "n_1", keys: { n: 1 } }]);
    await a.write(
      [1, 2, 3].map((n) => ({ op: "replace", collection: c, id: `d${n}`, document: { n } }) as const),
    );
    expect(await a.findById(c, "d1")).toEqual({ _id: "d1", n: 1 }); // the schema known from here
    const statements = async <R>(read: () => Promise<R>): Promise<{ answer: R; sent: number }> => {
      const query = pg.Client.prototype.query;
      let sent = 0;
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        sent++;
        return (query as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof query;
      try {
        return { answer: await read(), sent };
      } finally {
        pg.Client.prototype.query = query;
      }
    };
    // Before: two statements each (the version, on a second connection, beside the query).
    expect(await statements(() => a.findById(c, "d2"))).toEqual({ answer: { _id: "d2", n: 2 }, sent: 1 });
    expect(await statements(() => a.findById(c, "none"))).toEqual({ answer: null, sent: 1 });
    expect(await statements(() => a.find(c, { n: { $gte: 2 } }, { sort: { n: -1 } }))).toEqual({
      answer: [
        { _id: "d3", n: 3 },
        { _id: "d2", n: 2 },
      ],
      sent: 1,
    });
    expect(await statements(() => a.count(c, { n: { $lte: 2 } }))).toEqual({ answer: 2, sent: 1 });
    expect(await statements(() => a.countBy(c, {}, "n"))).toEqual({
      answer: new Map([
        [1, 1],
        [2, 1],
        [3, 1],
      ]),
      sent: 1,
    });
    // A collection this store knows missing: the version alone; created by another store, it is seen.
    expect(await statements(() => a.findById(fresh, "z"))).toEqual({ answer: null, sent: 1 });
    await b.write([{ op: "replace", collection: fresh, id: "z", document: { n: 1 } }]);
    expect(await a.findById(fresh, "z")).toEqual({ _id: "z", n: 1 });
    expect(await a.find(fresh, {})).toEqual([{ _id: "z", n: 1 }]);
    await a.dropCollection(c);
    await a.dropCollection(fresh);
  });

  it("names the unique index a duplicate breaks, and reports a server it cannot reach as unavailable", async () => {
    const store = await open();
    const c = `t_dup_${randomBytes(4).toString("hex")}`;
    await store.ensureIndexes(c, [{ name: "email_1", keys: { email: 1 }, unique: true }]);
    await store.write([{ op: "replace", collection: c, id: "a", document: { email: "x@example.com" } }]);
    await expect(
      store.write([{ op: "replace", collection: c, id: "b", document: { email: "x@example.com" } }]),
    ).rejects.toThrow(`duplicate key: unique index ${c}.email_1`);
    await store.dropCollection(c);
    // A server that goes away under an open store: every call is unavailable, not a store fault.
    const doomed = await startPostgres();
    try {
      const orphan = await PostgresDocumentStore.open({ url: doomed.url });
      opened.push(orphan);
      await orphan.write([{ op: "replace", collection: "lost", id: "a", document: { n: 1 } }]);
      await doomed.stop("immediate");
      await expect(orphan.findById("lost", "a")).rejects.toBeInstanceOf(DocumentStoreUnavailableError);
      await expect(
        orphan.write([{ op: "replace", collection: "lost", id: "b", document: { n: 2 } }]),
      ).rejects.toBeInstanceOf(DocumentStoreUnavailableError);
    } finally {
      await doomed.stop();
    }
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
    await expect(PostgresDocumentStore.open({ url: nowhere })).rejects.toBeInstanceOf(
      DocumentStoreUnavailableError,
    );
  });
});
