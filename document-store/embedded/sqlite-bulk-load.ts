import { Worker } from "node:worker_threads";
import { workerSource } from "../../platform/worker-source.js";
import {
  type BulkLoad,
  type CountByOptions,
  type Document,
  DocumentStoreError,
  DocumentStoreUnavailableError,
  type Filter,
  type FindOptions,
  type AnyIndexSpec as IndexSpec,
  type Near,
  type NearQuery,
  type QueryPlan,
  type Scalar,
  WriteConditionFailedError,
  type WriteOp,
} from "../port.js";

/** A call to the bulk-load thread. */
export interface BulkRequest {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** Its answer. */
export type BulkReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { name: string; message: string; collection?: string; id?: string };
    };

/**
 * Batches handed over and not yet stored, at most: the caller reads and folds the next batch while
 * the thread stores this one, and never gets further ahead (memory stays two batches deep).
 */
export const BULK_WRITES_IN_FLIGHT = 2;

/** The error a failed call of the thread reports, as the port's own type. */
function errorOf(error: { name: string; message: string; collection?: string; id?: string }): Error {
  if (error.name === "WriteConditionFailedError")
    return new WriteConditionFailedError(error.collection ?? "?", error.id ?? "?");
  if (error.name === "DocumentStoreUnavailableError") return new DocumentStoreUnavailableError(error.message);
  const e = new DocumentStoreError(error.message);
  if (error.name !== "DocumentStoreError") e.name = error.name;
  return e;
}

/**
 * A bulk load of the embedded store, written by a thread of its own with its own connection to
 * the file (SQLite's one writer; WAL lets this process's other connection keep reading the live
 * generation). write() returns as soon as the batch is handed over, unless BULK_WRITES_IN_FLIGHT
 * batches are already waiting: the caller reads and folds the next batch meanwhile. Every other
 * call goes through the same ordered queue, so it answers after the writes before it.
 */
export class SqliteBulkLoad implements BulkLoad {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly writes = new Set<Promise<unknown>>();
  private failure: Error | undefined;
  private closed = false;
  private closing = false;

  private constructor(file: string) {
    const source = workerSource("./bulk-load-worker.ts", import.meta.url);
    this.worker = new Worker(source.code, { eval: source.eval, workerData: { file } });
    this.worker.on("message", (reply: BulkReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(errorOf(reply.error));
    });
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => {
      if (!this.closing)
        this.fail(new DocumentStoreUnavailableError(`the bulk-load thread exited (${code})`));
    });
  }

  /** Starts the thread on `file` (an on-disk SQLite file: the thread opens its own connection). */
  static start(file: string): SqliteBulkLoad {
    return new SqliteBulkLoad(file);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new DocumentStoreError("the bulk load is closed"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies BulkRequest);
    });
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    while (this.writes.size >= BULK_WRITES_IN_FLIGHT) await Promise.race(this.writes).catch(() => undefined);
    if (this.failure) throw this.failure;
    const stored = this.call<void>("write", ops);
    this.writes.add(stored);
    stored.then(
      () => this.writes.delete(stored),
      (error: Error) => {
        this.writes.delete(stored);
        this.failure ??= error;
      },
    );
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes]);
    if (this.failure) throw this.failure;
  }

  failed(): Error | undefined {
    return this.failure;
  }

  ensureIndexes(collection: string, indexes: readonly IndexSpec[]): Promise<void> {
    return this.call("ensureIndexes", collection, indexes);
  }

  prepareIndexes(collection: string, indexes: readonly IndexSpec[]): Promise<void> {
    return this.call("prepareIndexes", collection, indexes);
  }

  findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    return this.call("findById", collection, id);
  }

  find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options?: FindOptions,
  ): Promise<T[]> {
    return this.call("find", collection, filter, options);
  }

  count(collection: string, filter: Filter): Promise<number> {
    return this.call("count", collection, filter);
  }

  findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]> {
    return this.call("findNear", collection, query);
  }

  countBy(
    collection: string,
    filter: Filter,
    field: string,
    options?: CountByOptions,
  ): Promise<Map<Scalar, number>> {
    return this.call("countBy", collection, filter, field, options);
  }

  explain(collection: string, filter: Filter, options?: FindOptions): Promise<QueryPlan> {
    return this.call("explain", collection, filter, options);
  }

  listCollections(): Promise<string[]> {
    return this.call("listCollections");
  }

  dropCollection(collection: string): Promise<void> {
    return this.call("dropCollection", collection);
  }

  /** Waits for the writes handed over (whatever their outcome), then stops the thread. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    await Promise.allSettled([...this.writes]);
    this.closing = true;
    if (!this.failure) await this.call("close").catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}
