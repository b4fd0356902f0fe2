import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import {
  AppendTooLargeError,
  EventStoreClosedError,
  EventStoreError,
  EventStoreStorageError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from "../event-store/errors.js";
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision } from "../event-store/port.js";
import type { StorageFailure } from "../platform/storage-failure.js";

/**
 * One writer per embedded event store file in a process. SQLite lets one connection write at a
 * time, and better-sqlite3 waits for the lock synchronously: when the processors thread appended
 * (coupon policy) through its own connection, the request thread's appends stalled its event loop
 * behind it. So the processors thread sends its appends to the request thread, whose connection
 * is the only one that writes; reads and subscriptions stay on the thread's own connection.
 */

/**
 * The request thread committed events: the processors thread's subscriptions read them at once
 * (instead of at their next poll of the file's head). The head itself travels through the shared
 * CommitSignal, so that a busy processors thread gets one notice per turn, not one per commit.
 */
export interface CommitNotice {
  readonly type: "committed";
}

/**
 * What both threads share about the request thread's commits: the last committed head, and
 * whether a notice is on its way (set by the request thread when it posts one, cleared by the
 * processors thread when it takes it; commits meanwhile only move the head).
 */
export class CommitSignal {
  private readonly head: BigInt64Array;
  private readonly pending: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(16)) {
    this.head = new BigInt64Array(buffer, 0, 1);
    this.pending = new Int32Array(buffer, 8, 1);
  }

  /** The request thread committed up to `head`: true when a notice must be posted. */
  committed(head: number): boolean {
    Atomics.store(this.head, 0, BigInt(head));
    return Atomics.compareExchange(this.pending, 0, 0, 1) === 0;
  }

  /** The processors thread took the notice: the head to read up to (commits after it notify again). */
  take(): number {
    Atomics.store(this.pending, 0, 0);
    return Number(Atomics.load(this.head, 0));
  }
}

/**
 * The request thread's side: after each commit of `store` (the embedded store only: EventStoreDB
 * pushes appends to every client itself), moves the signal's head and posts a notice unless one is
 * already on its way. Returns the stop.
 */
export function relayCommits(
  store: EventStore,
  signal: CommitSignal,
  send: (notice: CommitNotice) => void,
): () => void {
  if (!(store instanceof SqliteEventStore)) return () => undefined;
  const unsubscribe = store.onCommit((head) => {
    if (signal.committed(head)) send({ type: "committed" });
  });
  return () => {
    unsubscribe();
  };
}

/** The processors thread's side, on a notice: wakes `store`'s live subscriptions. */
export function observeCommit(store: EventStore | undefined, signal: CommitSignal): void {
  const head = signal.take();
  if (store instanceof SqliteEventStore) store.observeCommit(head);
}

/** An append the processors thread asks the request thread to make. */
export interface AppendRequest {
  readonly type: "append";
  readonly id: number;
  readonly streamId: string;
  readonly events: readonly EventToAppend[];
  readonly expectedRevision: ExpectedRevision;
}

/** Its outcome: the result, or the store's error as plain data (errors do not cross threads whole). */
export type AppendReply =
  | { readonly type: "appended"; readonly id: number; readonly result: AppendResult }
  | { readonly type: "append-failed"; readonly id: number; readonly error: SerializedStoreError };

interface SerializedStoreError {
  readonly name: string;
  readonly message: string;
  readonly streamId?: string;
  readonly expected?: ExpectedRevision;
  readonly actual?: number | "no_stream";
  readonly storage?: StorageFailure;
}

const serialize = (error: unknown): SerializedStoreError =>
  error instanceof WrongExpectedRevisionError
    ? {
        name: error.name,
        message: error.message,
        streamId: error.streamId,
        expected: error.expected,
        ...(error.actual === undefined ? {} : { actual: error.actual }),
      }
    : {
        name: error instanceof Error ? error.name : "Error",
        message: error instanceof Error ? error.message : String(error),
        ...(error instanceof EventStoreStorageError ? { storage: error.storage } : {}),
      };

/** The same error type on this side, so that callers (retries, conflict handling) see the port's errors. */
function revive(error: SerializedStoreError): Error {
  switch (error.name) {
    case "WrongExpectedRevisionError":
      return new WrongExpectedRevisionError(error.streamId ?? "", error.expected ?? "any", error.actual);
    case "EventStoreUnavailableError":
      return new EventStoreUnavailableError(error.message);
    // A full or read-only disk stays an outage on this side: the processors back off, never stop.
    case "EventStoreStorageError":
      return new EventStoreStorageError(error.message, error.storage ?? "full");
    case "EventStoreClosedError":
      return new EventStoreClosedError(error.message);
    case "AppendTooLargeError":
      return new AppendTooLargeError(error.message);
    default:
      return new EventStoreError(error.message);
  }
}

/** The request thread's side: appends what the processors thread asks for, through `store`. */
export async function serveAppend(store: EventStore, request: AppendRequest): Promise<AppendReply> {
  try {
    const result = await store.appendToStream(request.streamId, request.events, {
      expectedRevision: request.expectedRevision,
    });
    return { type: "appended", id: request.id, result };
  } catch (error) {
    return { type: "append-failed", id: request.id, error: serialize(error) };
  }
}

/**
 * The processors thread's side: `store` for everything but appends, which go to the request
 * thread through `send`; `receive` must be given every AppendReply that comes back.
 */
export function relayingAppends(
  store: EventStore,
  send: (request: AppendRequest) => void,
): { readonly store: EventStore; readonly receive: (reply: AppendReply) => void } {
  const pending = new Map<number, { resolve: (r: AppendResult) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let closed = false;
  const relayed: EventStore = {
    ...(store.maxAppendBytes !== undefined ? { maxAppendBytes: store.maxAppendBytes } : {}),
    appendToStream: (streamId, events, { expectedRevision }) => {
      if (closed) return Promise.reject(new EventStoreClosedError("the event store is closed"));
      const id = nextId++;
      return new Promise<AppendResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ type: "append", id, streamId, events, expectedRevision });
      });
    },
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    followAll: (options) => store.followAll(options),
    headPosition: () => store.headPosition(),
    close: async () => {
      closed = true;
      for (const { reject } of pending.values())
        reject(new EventStoreUnavailableError("the request thread stopped before the append was answered"));
      pending.clear();
      await store.close();
    },
  };
  return {
    store: relayed,
    receive: (reply) => {
      const waiting = pending.get(reply.id);
      if (!waiting) return;
      pending.delete(reply.id);
      if (reply.type === "appended") waiting.resolve(reply.result);
      else waiting.reject(revive(reply.error));
    },
  };
}
