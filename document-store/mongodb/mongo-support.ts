/**
 * Pure helpers of the MongoDB adapter: reading explain output, mapping driver errors to the
 * port's errors, and turning write ops into ordered bulk writes. Kept apart to be unit-tested
 * without a server.
 */
import type { AnyBulkWriteOperation, Filter as MongoFilter, UpdateFilter } from "mongodb";
import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import type { Filter, QueryPlan, WriteOp } from "../port.js";
import { DocumentStoreError, DocumentStoreUnavailableError } from "../port.js";
import { isPlainObject } from "../validation.js";

/** How documents look to the driver: `_id` is always a string in this project. */
export type StoredDocument = { _id: string; [field: string]: unknown };

/** Winning-plan stages that read through an index (classic, SBE and MongoDB 8 express plans). */
export const INDEX_STAGES: ReadonlySet<string> = new Set([
  "IXSCAN",
  "IDHACK",
  "EXPRESS_IXSCAN",
  "EXPRESS_IDHACK",
  "EXPRESS_CLUSTERED_IXSCAN",
  "COUNT_SCAN",
  "DISTINCT_SCAN",
]);

interface Stage {
  readonly stage: string;
  readonly indexName: string | undefined;
}

function collectStages(node: unknown, out: Stage[]): void {
  if (Array.isArray(node)) {
    for (const child of node) collectStages(child, out);
    return;
  }
  if (!isPlainObject(node)) return;
  if (typeof node.stage === "string") {
    out.push({
      stage: node.stage,
      indexName: typeof node.indexName === "string" ? node.indexName : undefined,
    });
  }
  for (const [key, value] of Object.entries(node)) {
    // slotBasedPlan is SBE's textual program; rejectedPlans are not what runs.
    if (key === "slotBasedPlan" || key === "rejectedPlans") continue;
    if (typeof value === "object" && value !== null) collectStages(value, out);
  }
}

/**
 * `indexed` iff the winning plan (of every shard, for sharded output) reads through an index
 * and never scans the collection. `detail` lists the stages top-down, with index names.
 */
export function interpretMongoExplain(explain: unknown): QueryPlan {
  const planner = isPlainObject(explain) ? explain.queryPlanner : undefined;
  const winning = isPlainObject(planner) ? planner.winningPlan : undefined;
  if (winning === undefined)
    return { indexed: false, detail: "no queryPlanner.winningPlan in the explain output" };
  const stages: Stage[] = [];
  collectStages(winning, stages);
  const indexed =
    stages.some((s) => INDEX_STAGES.has(s.stage)) && !stages.some((s) => s.stage === "COLLSCAN");
  const detail = stages
    .map((s) => (s.indexName === undefined ? s.stage : `${s.stage}(${s.indexName})`))
    .join(" > ");
  return { indexed, detail: detail || "no stages in the winning plan" };
}

export const REPLICA_SET_REQUIRED_MESSAGE =
  "MongoDB must run as a replica set: the document store writes each batch in a transaction, and " +
  "MongoDB only allows transactions on a replica set member or mongos. Start mongod with " +
  "--replSet <name> and run rs.initiate() once (the docker compose file runs a single-node replica set).";

/** Server error codes that mean "not now, try again": the node is unreachable, stepping down or shutting down. */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed / WriteConcernTimeout
  89, // NetworkTimeout
  91, // ShutdownInProgress
  133, // FailedToSatisfyReadPreference
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

const DUPLICATE_KEY = 11000;
const ILLEGAL_OPERATION = 20;

function messages(error: unknown): string[] {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    out.push(current.message);
    if (current instanceof MongoServerError && typeof current.errmsg === "string") out.push(current.errmsg);
    current = current.cause;
  }
  return out;
}

export function isReplicaSetRequiredError(error: unknown): boolean {
  const text = messages(error).join("\n");
  if (/Transaction numbers are only allowed on a replica set member or mongos/i.test(text)) return true;
  return (
    error instanceof MongoServerError && Number(error.code) === ILLEGAL_OPERATION && /replica set/i.test(text)
  );
}

/** Maps a driver error to the port's errors; `action` names what was attempted, for the message. */
export function toDocumentStoreError(error: unknown, action: string): DocumentStoreError {
  if (error instanceof DocumentStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isReplicaSetRequiredError(error))
    return new DocumentStoreError(REPLICA_SET_REQUIRED_MESSAGE, { cause: error });
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError ||
    error instanceof MongoOperationTimeoutError
  ) {
    return new DocumentStoreUnavailableError(`MongoDB is unavailable (${action}): ${message}`, {
      cause: error,
    });
  }
  if (error instanceof MongoError) {
    const code = Number(error.code);
    if (code === DUPLICATE_KEY) {
      return new DocumentStoreError(`duplicate key (${action}): ${message}`, { cause: error });
    }
    if (
      UNAVAILABLE_CODES.has(code) ||
      error.hasErrorLabel("TransientTransactionError") ||
      error.hasErrorLabel("UnknownTransactionCommitResult") ||
      error.hasErrorLabel("RetryableWriteError")
    ) {
      return new DocumentStoreUnavailableError(`MongoDB is unavailable (${action}): ${message}`, {
        cause: error,
      });
    }
  }
  return new DocumentStoreError(`${action} failed: ${message}`, { cause: error });
}

export interface BulkGroup {
  readonly collection: string;
  readonly operations: AnyBulkWriteOperation<StoredDocument>[];
  /**
   * Checked (inside the transaction, before the group's writes) for a conditional op, which then
   * starts a group of its own: the document `id` must match `filter` (or be missing, if `upsert`).
   */
  readonly condition?: { readonly id: string; readonly filter: Filter; readonly upsert: boolean };
}

/** One bulk write model for one op, always addressed by `_id`. */
export function toBulkOperation(op: WriteOp): AnyBulkWriteOperation<StoredDocument> {
  switch (op.op) {
    case "update":
      return {
        updateOne: {
          filter: { _id: op.id },
          update: op.update as UpdateFilter<StoredDocument>,
          upsert: op.upsert === true,
        },
      };
    case "replace": {
      const { _id: _ignored, ...replacement } = op.document;
      return { replaceOne: { filter: { _id: op.id }, replacement, upsert: true } };
    }
    case "delete":
      return { deleteOne: { filter: { _id: op.id } } };
    case "deleteMany":
      return { deleteMany: { filter: op.filter as MongoFilter<StoredDocument> } };
  }
}

/** Consecutive ops on the same collection become one ordered bulk write; order across groups is kept. */
export function groupConsecutiveOps(ops: readonly WriteOp[]): BulkGroup[] {
  const groups: BulkGroup[] = [];
  for (const op of ops) {
    const last = groups[groups.length - 1];
    if (op.op === "update" && op.if !== undefined) {
      groups.push({
        collection: op.collection,
        operations: [toBulkOperation(op)],
        condition: { id: op.id, filter: op.if, upsert: op.upsert === true },
      });
    } else if (last !== undefined && last.collection === op.collection)
      last.operations.push(toBulkOperation(op));
    else groups.push({ collection: op.collection, operations: [toBulkOperation(op)] });
  }
  return groups;
}
