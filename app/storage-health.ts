import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type DocumentStore, DocumentStoreStorageError } from "../document-store/port.js";
import { EventStoreStorageError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import type { ReadinessCheck } from "../platform/auth/provider.js";
import { DataKeysStorageError } from "../platform/data-keys/port.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { type StorageFailure, storageFailureText } from "../platform/storage-failure.js";

type StoreName = "event-store" | "document-store" | "data-keys";

interface Failing {
  readonly store: StoreName;
  readonly reason: StorageFailure;
  readonly since: string;
  readonly message: string;
}

/** A probe's size: a few SQLite pages, what an append or a checkpoint needs at least. */
const PROBE_BYTES = 64 * 1024;

/**
 * Whether the embedded stores of this process can write: a full or read-only DATA_DIR is met by
 * a write (the stores say so with their storage errors), said once in the log (error), kept in the
 * metric `parking_storage_unavailable` and in /readyz until the disk takes writes again. Then
 * (a write succeeds, or /readyz's probe of DATA_DIR does) it is said once more (info) and cleared:
 * the service recovers without a restart, since every write is tried again by its caller (the
 * command's client after Retry-After, the processors after their backoff).
 */
export class StorageHealth {
  /** Each store whose last write failed for lack of space or a read-only disk (several can, at once). */
  private readonly failing = new Map<StoreName, Failing>();

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** A write failed: if for lack of space or a read-only disk, this is the news. */
  failed(store: StoreName, error: unknown): void {
    const reason =
      error instanceof EventStoreStorageError ||
      error instanceof DocumentStoreStorageError ||
      error instanceof DataKeysStorageError
        ? error.storage
        : undefined;
    if (reason === undefined) return;
    this.metrics.storageFailures.inc({ store, reason });
    const was = this.failing.get(store);
    if (was?.reason === reason) return;
    // Each store keeps its own gauge: a second store meeting the full disk does not hide the first.
    if (was) this.metrics.storageUnavailable.set({ store, reason: was.reason }, 0);
    this.failing.set(store, {
      store,
      reason,
      since: new Date().toISOString(),
      message: (error as Error).message,
    });
    this.metrics.storageUnavailable.set({ store, reason }, 1);
    this.logger.error(
      { store, reason, dataDir: this.dataDir, err: error },
      `storage unavailable: ${storageFailureText(reason, this.dataDir)}; writes are refused (503 storage-unavailable) until it takes them again`,
    );
  }

  /** How a write of the data keys went (their store reports each one: platform/data-keys/). */
  readonly dataKeysWrite = (failure?: DataKeysStorageError): void =>
    failure ? this.failed("data-keys", failure) : this.succeeded();

  /** A write succeeded: the disk (one DATA_DIR under every embedded store) takes writes again. */
  succeeded(): void {
    if (this.failing.size === 0) return;
    const was = [...this.failing.values()];
    this.failing.clear();
    for (const { store, reason } of was) this.metrics.storageUnavailable.set({ store, reason }, 0);
    const since = was.map((f) => f.since).sort()[0];
    this.logger.info(
      { stores: was.map((f) => f.store), reasons: was.map((f) => f.reason), since, dataDir: this.dataDir },
      "storage available again: writes resume",
    );
  }

  /** For /readyz: ok, or what fails since when (after a probe of DATA_DIR, which clears it if it writes). */
  check(): ReadinessCheck {
    if (this.failing.size === 0) return { ok: true };
    if (this.probe()) {
      this.succeeded();
      return { ok: true };
    }
    const detail = [...this.failing.values()]
      .map(
        ({ store, reason, since }) =>
          `${store}: ${storageFailureText(reason, this.dataDir)} (since ${since})`,
      )
      .join("; ");
    return { ok: false, detail };
  }

  /** Whether DATA_DIR takes a small synced write now (the file is removed at once). */
  private probe(): boolean {
    const file = join(this.dataDir, ".storage-probe");
    try {
      const fd = openSync(file, "w", 0o600);
      try {
        writeSync(fd, Buffer.alloc(PROBE_BYTES));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch {
      return false;
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** `store` with its appends observed (everything else passes through, `instanceof` included). */
  observeEventStore<T extends EventStore>(store: T): T {
    return observed(store, "appendToStream", (outcome) =>
      outcome.ok ? this.succeeded() : this.failed("event-store", outcome.error),
    );
  }

  /** `store` with its writes observed. */
  observeDocumentStore<T extends DocumentStore>(store: T): T {
    return observed(store, "write", (outcome) =>
      outcome.ok ? this.succeeded() : this.failed("document-store", outcome.error),
    );
  }
}

type Outcome = { ok: true } | { ok: false; error: unknown };

/** A proxy of `target` whose async method `method` reports each outcome to `report`. */
function observed<T extends object>(target: T, method: string, report: (outcome: Outcome) => void): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== "function") return value;
      if (property !== method) return value.bind(object);
      return async (...args: unknown[]) => {
        try {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
          report({ ok: true });
          return result;
        } catch (error) {
          report({ ok: false, error });
          throw error;
        }
      };
    },
  });
}
