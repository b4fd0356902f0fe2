import type { DocumentStore } from "../../document-store/port.js";
import type { Logger } from "../../platform/logger.js";
import { type Entry, startingPosition } from "./entry.js";
import type { Leases } from "./leases.js";

/**
 * One round of lease work over every entry: renew what is held, try to take what is not. Answers
 * whether what this process works on changed (the subscription must then start over).
 */
export async function leaseRound(
  entries: Iterable<Entry>,
  { leases, documentStore, logger }: { leases: Leases; documentStore: DocumentStore; logger: Logger },
  /** Whether the runtime is stopping: the round ends at once, taking nothing more. */
  stopping: () => boolean,
): Promise<boolean> {
  let changed = false;
  for (const entry of entries) {
    const name = entry.processor.name;
    let epoch: number | null;
    try {
      epoch = await leases.attempt(name, entry.epoch);
    } catch (error) {
      // The store is down: keep what we think we hold; the fence refuses our writes if it is gone.
      logger.warn({ err: error, processor: name }, "lease attempt failed");
      continue;
    }
    if (stopping()) return false;
    if (entry.epoch !== null && epoch === null) {
      logger.warn({ processor: name, epoch: entry.epoch }, "lease lost: standing by");
      entry.epoch = null;
      entry.caughtUp = false;
      changed = true;
    } else if (entry.epoch === null && epoch !== null) {
      // Another process may have worked on it: carry on from its stored checkpoint (or its resume).
      try {
        entry.position = await startingPosition(documentStore, entry.processor, entry.generation);
      } catch {
        // The store cannot be read now: hand the lease back, and try again at the next round.
        await leases.release(name, epoch).catch(() => undefined);
        continue;
      }
      entry.state = "running";
      delete entry.error;
      entry.caughtUp = false;
      entry.epoch = epoch;
      logger.info(
        { processor: name, epoch, position: entry.position?.commit ?? null },
        "lease taken: working",
      );
      changed = true;
    }
  }
  return changed;
}
