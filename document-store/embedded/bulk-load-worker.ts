import { parentPort, workerData } from "node:worker_threads";
import type { DocumentStore } from "../port.js";
import type { BulkReply, BulkRequest } from "./sqlite-bulk-load.js";
import { SqliteDocumentStore } from "./sqlite-document-store.js";

/**
 * The thread that applies a bulk load's writes (see SqliteBulkLoad): its own connection to the
 * file, one request at a time in the order they were sent, so each batch is one transaction and
 * every read answers after the writes before it.
 */
const { file } = workerData as { file: string };
const store = SqliteDocumentStore.open({ file });
const port = parentPort;
if (!port) throw new Error("bulk-load-worker runs in a worker thread");

type Method = Exclude<keyof DocumentStore, "close" | "openBulkLoad">;

// One request at a time, in order (the store's calls are synchronous inside; this keeps it so).
let queue: Promise<void> = Promise.resolve();
port.on("message", (request: BulkRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle({ id, method, args }: BulkRequest): Promise<void> {
  if (method === "close") {
    await store.close();
    port?.postMessage({ id, ok: true, value: undefined } satisfies BulkReply);
    port?.close();
    return;
  }
  try {
    const call = store[method as Method] as (...a: unknown[]) => Promise<unknown>;
    const value = await call.apply(store, [...args]);
    port?.postMessage({ id, ok: true, value } satisfies BulkReply);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const fields = e as Error & { collection?: string; id?: string };
    port?.postMessage({
      id,
      ok: false,
      error: { name: e.name, message: e.message, collection: fields.collection, id: fields.id },
    } satisfies BulkReply);
  }
}
