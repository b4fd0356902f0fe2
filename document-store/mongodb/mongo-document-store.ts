/**
 * The MongoDB document store: the port over the official driver. Each write batch is one
 * multi-document transaction (majority write concern), which needs a replica set or mongos;
 * the docker compose file runs a single-node replica set.
 */
import type {
  Db,
  IndexDescription,
  Filter as MongoFilter,
  FindOptions as MongoFindOptions,
  Sort,
} from "mongodb";
import { MongoClient, WriteConcern } from "mongodb";
import { chargeWork } from "../../platform/work-budget.js";
import { bulkLoadThrough } from "../bulk-load.js";
import type {
  AnyIndexSpec,
  BulkLoad,
  CountByOptions,
  Document,
  DocumentStore,
  Filter,
  FindOptions,
  Near,
  NearQuery,
  QueryPlan,
  Scalar,
  WriteOp,
} from "../port.js";
import { DocumentStoreError, isGeoIndex, WriteConditionFailedError } from "../port.js";
import { checkArgs, type NormalizedFindOptions } from "../validation.js";
import { type NearRow, nearPage } from "./mongo-near.js";
import {
  groupConsecutiveOps,
  interpretMongoExplain,
  type StoredDocument,
  toDocumentStoreError,
} from "./mongo-support.js";

export interface MongoDocumentStoreOptions {
  /** A MongoDB connection string, e.g. `mongodb://mongo:27017/?replicaSet=rs0`. */
  readonly url: string;
  readonly database: string;
}

const NAMESPACE_EXISTS = 48;

export class MongoDocumentStore implements DocumentStore {
  private closed = false;

  private constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
  ) {}

  /** Connects (the driver's server selection decides how long to wait); fails with DocumentStoreUnavailableError. */
  static async connect(options: MongoDocumentStoreOptions): Promise<MongoDocumentStore> {
    if (typeof options.database !== "string" || !/^[A-Za-z0-9_-]{1,63}$/.test(options.database)) {
      throw new DocumentStoreError(`invalid MongoDB database name ${JSON.stringify(options.database)}`);
    }
    let client: MongoClient;
    try {
      client = new MongoClient(options.url, { appName: "parking-reservations" });
    } catch (error) {
      throw new DocumentStoreError(
        `invalid MongoDB URL: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw toDocumentStoreError(error, "connect");
    }
    return new MongoDocumentStore(client, client.db(options.database));
  }

  async ensureIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void> {
    checkArgs.indexes(collection, indexes);
    await this.call(`ensureIndexes(${collection})`, async () => {
      if (indexes.length === 0) {
        try {
          await this.db.createCollection(collection);
        } catch (error) {
          if (Number((error as { code?: unknown }).code) !== NAMESPACE_EXISTS) throw error;
        }
        return;
      }
      const descriptions: IndexDescription[] = indexes.map((index) =>
        isGeoIndex(index)
          ? { name: index.name, key: { [index.geo]: "2dsphere" } }
          : { name: index.name, key: { ...index.keys }, ...(index.unique === true ? { unique: true } : {}) },
      );
      await this.db.collection<StoredDocument>(collection).createIndexes(descriptions);
    });
  }

  /** MongoDB has nothing to prepare: the collection is created, ensureIndexes builds the indexes. */
  async prepareIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void> {
    checkArgs.indexes(collection, indexes);
    await this.ensureIndexes(collection, []);
  }

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    checkArgs.findById(collection, id);
    return this.call(`findById(${collection})`, async () => {
      const doc = await this.db.collection<StoredDocument>(collection).findOne({ _id: id });
      if (doc !== null) chargeWork("documents", 1);
      return doc as T | null;
    });
  }

  async find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options?: FindOptions,
  ): Promise<T[]> {
    const findOptions = toFindOptions(checkArgs.find(collection, filter, options));
    return this.call(`find(${collection})`, async () => {
      const docs = await this.db
        .collection<StoredDocument>(collection)
        .find(filter as MongoFilter<StoredDocument>, findOptions)
        .toArray();
      // What MongoDB examined stays on the server (mongod runs with notablescan, so no query scans
      // a collection); what this process parses is charged to the request (platform/work-budget.ts).
      chargeWork("documents", docs.length);
      return docs as unknown as T[];
    });
  }

  /** A page by `$geoNear`, ties at one distance in `_id` order (mongo-near.ts). */
  async findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]> {
    checkArgs.near(collection, query);
    const docs = this.db.collection<StoredDocument>(collection);
    return this.call(`findNear(${collection})`, () =>
      nearPage<T>((pipeline) => docs.aggregate<NearRow>([...pipeline]).toArray(), query),
    );
  }

  async count(collection: string, filter: Filter): Promise<number> {
    checkArgs.query(collection, filter);
    return this.call(`count(${collection})`, () =>
      this.db.collection<StoredDocument>(collection).countDocuments(filter as MongoFilter<StoredDocument>),
    );
  }

  async countBy(
    collection: string,
    filter: Filter,
    field: string,
    options?: CountByOptions,
  ): Promise<Map<Scalar, number>> {
    const limit = checkArgs.countBy(collection, filter, field, options);
    return this.call(`countBy(${collection})`, async () => {
      const rows = await this.db
        .collection<StoredDocument>(collection)
        .aggregate<{ _id: unknown; n: number }>([
          { $match: filter },
          ...(limit > 0 ? [{ $limit: limit }] : []),
          { $group: { _id: `$${field}`, n: { $sum: 1 } } },
        ])
        .toArray();
      const counts = new Map<Scalar, number>();
      for (const row of rows) {
        const value = row._id ?? null;
        if (typeof value === "object" && value !== null) {
          throw new DocumentStoreError(
            `countBy: ${field} holds an array or an embedded document, not a scalar`,
          );
        }
        counts.set(value as Scalar, (counts.get(value as Scalar) ?? 0) + row.n);
      }
      return counts;
    });
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    checkArgs.write(ops);
    if (ops.length === 0) return;
    const groups = groupConsecutiveOps(ops);
    await this.call("write", async () => {
      const session = this.client.startSession();
      try {
        await session.withTransaction(
          async (s) => {
            for (const group of groups) {
              const collection = this.db.collection<StoredDocument>(group.collection);
              if (group.condition) {
                // Read in the transaction (this batch's earlier writes visible); the op then writes
                // the same document, so a concurrent transaction that changed it conflicts and
                // one of the two is retried or fails: a compare-and-set.
                const { id, filter, upsert } = group.condition;
                const existing = await collection.findOne(
                  { _id: id },
                  { session: s, projection: { _id: 1 } },
                );
                const matches =
                  existing === null
                    ? upsert
                    : (await collection.findOne(
                        { $and: [{ _id: id }, filter as MongoFilter<StoredDocument>] },
                        { session: s, projection: { _id: 1 } },
                      )) !== null;
                if (!matches) throw new WriteConditionFailedError(group.collection, id);
              }
              await collection.bulkWrite(group.operations, { session: s, ordered: true });
            }
          },
          { writeConcern: new WriteConcern("majority"), readPreference: "primary" },
        );
      } finally {
        await session.endSession();
      }
    });
  }

  async explain(collection: string, filter: Filter, options?: FindOptions): Promise<QueryPlan> {
    const findOptions = toFindOptions(checkArgs.find(collection, filter, options));
    return this.call(`explain(${collection})`, async () => {
      const explained = await this.db
        .collection<StoredDocument>(collection)
        .find(filter as MongoFilter<StoredDocument>, findOptions)
        .explain("queryPlanner");
      return interpretMongoExplain(explained);
    });
  }

  async listCollections(): Promise<string[]> {
    return this.call("listCollections", async () => {
      const infos = await this.db.listCollections({}, { nameOnly: true }).toArray();
      return infos
        .map((i) => i.name)
        .filter((name) => !name.startsWith("system."))
        .sort();
    });
  }

  async dropCollection(collection: string): Promise<void> {
    checkArgs.collection(collection);
    await this.call(`dropCollection(${collection})`, async () => {
      await this.db.dropCollection(collection);
    });
  }

  /**
   * The server applies the writes on its own cores, so a bulk load writes through this store; the
   * collections are created by prepareIndexes without their indexes, which the caller's
   * ensureIndexes builds once the documents are in.
   */
  async openBulkLoad(): Promise<BulkLoad> {
    return bulkLoadThrough(this);
  }

  /**
   * Nothing to do from here: what MongoDB keeps of an overwritten document (WiredTiger's freed
   * blocks, its journal, the oplog) is its storage engine's, bounded by its own checkpoints and the
   * oplog's window (docs/operations.md, issue 36).
   */
  async compact(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  private async call<R>(action: string, body: () => Promise<R>): Promise<R> {
    if (this.closed) throw new DocumentStoreError("the document store is closed");
    try {
      return await body();
    } catch (error) {
      throw toDocumentStoreError(error, action);
    }
  }
}

function toFindOptions({ sort, skip, limit }: NormalizedFindOptions): MongoFindOptions {
  const out: MongoFindOptions = {};
  if (sort !== undefined) out.sort = { ...sort } as Sort;
  if (skip > 0) out.skip = skip;
  if (limit > 0) out.limit = limit;
  return out;
}
