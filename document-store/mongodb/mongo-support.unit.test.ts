import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from "mongodb";
import { describe, expect, it } from "vitest";
import { DocumentStoreError, DocumentStoreUnavailableError } from "../port.js";
import {
  groupConsecutiveOps,
  interpretMongoExplain,
  REPLICA_SET_REQUIRED_MESSAGE,
  toDocumentStoreError,
} from "./mongo-support.js";

describe("interpretMongoExplain", () => {
  it("classic plans: FETCH over IXSCAN is indexed, COLLSCAN is not", () => {
    const indexed = interpretMongoExplain({
      queryPlanner: {
        winningPlan: {
          stage: "LIMIT",
          inputStage: { stage: "FETCH", inputStage: { stage: "IXSCAN", indexName: "parkingLotId_1_seq_-1" } },
        },
        rejectedPlans: [{ stage: "COLLSCAN" }],
      },
    });
    expect(indexed).toEqual({ indexed: true, detail: "LIMIT > FETCH > IXSCAN(parkingLotId_1_seq_-1)" });
    expect(interpretMongoExplain({ queryPlanner: { winningPlan: { stage: "COLLSCAN" } } }).indexed).toBe(
      false,
    );
    expect(
      interpretMongoExplain({
        queryPlanner: { winningPlan: { stage: "SORT", inputStage: { stage: "COLLSCAN" } } },
      }),
    ).toEqual({ indexed: false, detail: "SORT > COLLSCAN" });
  });

  it("slot-based (queryPlan), express and _id plans", () => {
    expect(
      interpretMongoExplain({
        queryPlanner: {
          winningPlan: {
            queryPlan: { stage: "FETCH", inputStage: { stage: "IXSCAN", indexName: "status_1_seq_-1" } },
            slotBasedPlan: { slots: "…", stages: "[2] nlj … COLLSCAN-like text" },
          },
        },
      }).indexed,
    ).toBe(true);
    expect(
      interpretMongoExplain({ queryPlanner: { winningPlan: { stage: "EXPRESS_IXSCAN" } } }).indexed,
    ).toBe(true);
    expect(interpretMongoExplain({ queryPlanner: { winningPlan: { stage: "IDHACK" } } }).indexed).toBe(true);
  });

  it("sharded plans are indexed only if every shard's plan is", () => {
    const sharded = (second: string) => ({
      queryPlanner: {
        winningPlan: {
          stage: "SHARD_MERGE",
          shards: [
            { shardName: "a", winningPlan: { stage: "FETCH", inputStage: { stage: "IXSCAN" } } },
            { shardName: "b", winningPlan: { stage: second } },
          ],
        },
      },
    });
    expect(interpretMongoExplain(sharded("IXSCAN")).indexed).toBe(true);
    expect(interpretMongoExplain(sharded("COLLSCAN")).indexed).toBe(false);
  });

  it("output without a winning plan is not indexed", () => {
    expect(interpretMongoExplain({}).indexed).toBe(false);
    expect(interpretMongoExplain(null).indexed).toBe(false);
    expect(interpretMongoExplain({ queryPlanner: { winningPlan: { stage: "EOF" } } }).indexed).toBe(false);
  });
});

describe("toDocumentStoreError", () => {
  it("explains that MongoDB must run as a replica set", () => {
    const error = new MongoServerError({
      message: "Transaction numbers are only allowed on a replica set member or mongos",
      code: 20,
      codeName: "IllegalOperation",
    });
    const mapped = toDocumentStoreError(error, "write");
    expect(mapped).toBeInstanceOf(DocumentStoreError);
    expect(mapped).not.toBeInstanceOf(DocumentStoreUnavailableError);
    expect(mapped.message).toBe(REPLICA_SET_REQUIRED_MESSAGE);
    expect(mapped.message).toMatch(/replica set/);
    expect(mapped.cause).toBe(error);
  });

  it("maps connection and server-selection failures to DocumentStoreUnavailableError", () => {
    expect(toDocumentStoreError(new MongoNetworkError("connection reset"), "find")).toBeInstanceOf(
      DocumentStoreUnavailableError,
    );
    const selection = Object.create(MongoServerSelectionError.prototype) as MongoServerSelectionError;
    expect(toDocumentStoreError(selection, "connect")).toBeInstanceOf(DocumentStoreUnavailableError);
    const notPrimary = new MongoServerError({ message: "not primary", code: 10107 });
    expect(toDocumentStoreError(notPrimary, "write")).toBeInstanceOf(DocumentStoreUnavailableError);
    const transient = new MongoServerError({ message: "write conflict", code: 112 });
    transient.addErrorLabel("TransientTransactionError");
    expect(toDocumentStoreError(transient, "write")).toBeInstanceOf(DocumentStoreUnavailableError);
  });

  it("maps duplicate keys and other server errors to DocumentStoreError", () => {
    const duplicate = toDocumentStoreError(
      new MongoServerError({ message: "E11000 duplicate key", code: 11000 }),
      "write",
    );
    expect(duplicate).not.toBeInstanceOf(DocumentStoreUnavailableError);
    expect(duplicate.message).toMatch(/duplicate key/);
    const typeMismatch = toDocumentStoreError(
      new MongoServerError({ message: "Cannot apply $inc to a value of non-numeric type string", code: 14 }),
      "write",
    );
    expect(typeMismatch).toBeInstanceOf(DocumentStoreError);
    expect(typeMismatch).not.toBeInstanceOf(DocumentStoreUnavailableError);
    const own = new DocumentStoreError("mine");
    expect(toDocumentStoreError(own, "x")).toBe(own);
  });
});

describe("groupConsecutiveOps", () => {
  it("batches consecutive ops on one collection into ordered bulk writes addressed by _id", () => {
    const groups = groupConsecutiveOps([
      { op: "update", collection: "lots", id: "L1", update: { $inc: { n: 1 } }, upsert: true },
      { op: "update", collection: "lots", id: "L1", update: { $inc: { n: 1 } } },
      { op: "replace", collection: "reservations", id: "r1", document: { _id: "r1", status: "RESERVED" } },
      { op: "delete", collection: "reservations", id: "r2" },
      { op: "update", collection: "lots", id: "L2", update: { $set: { x: 1 } }, upsert: true },
    ]);
    expect(groups).toEqual([
      {
        collection: "lots",
        operations: [
          { updateOne: { filter: { _id: "L1" }, update: { $inc: { n: 1 } }, upsert: true } },
          { updateOne: { filter: { _id: "L1" }, update: { $inc: { n: 1 } }, upsert: false } },
        ],
      },
      {
        collection: "reservations",
        operations: [
          { replaceOne: { filter: { _id: "r1" }, replacement: { status: "RESERVED" }, upsert: true } },
          { deleteOne: { filter: { _id: "r2" } } },
        ],
      },
      {
        collection: "lots",
        operations: [{ updateOne: { filter: { _id: "L2" }, update: { $set: { x: 1 } }, upsert: true } }],
      },
    ]);
  });
});
