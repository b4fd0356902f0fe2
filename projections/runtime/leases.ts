import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import {
  type Document,
  type DocumentStore,
  DocumentStoreError,
  DocumentStoreUnavailableError,
  type WriteOp,
} from "../../document-store/port.js";

/**
 * Processor leases: per processor, the process holding its lease (a document in the read models'
 * store) works and the others stand by.
 * - Taking (missing, released or expired) and renewing are compare-and-set writes on (owner,
 *   epoch); each take increments the epoch: a fencing token.
 * - Every batch a holder commits carries that condition in its atomic write, so a holder paused
 *   past its expiry that lost the lease commits nothing afterwards.
 * - A graceful stop releases it at once; after a crash it is taken within ttl + renew interval (at
 *   once when the dead holder was a process of this host).
 * Expiry compares clocks (NTP): only liveness depends on it, the fencing token alone on effects.
 */
export const LEASES = "processor_leases";

export interface LeaseDocument extends Document {
  readonly owner: string | null;
  readonly epoch: number;
  /** Milliseconds since 1970; 0 once released. */
  readonly expiresAt: number;
  readonly renewedAt: string;
  /** When the current owner took it. */
  readonly acquiredAt?: string;
}

export interface LeaseOptions {
  /** Who this process is (unique per process). */
  readonly owner: string;
  /** How long a lease lasts without renewal. */
  readonly ttlMs: number;
  /** How often holders renew and standbys try to take a lease. */
  readonly renewMs: number;
}

/** A unique owner name for this process: host, pid and a random suffix (pids repeat across containers). */
export const processOwner = (): string => `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

/**
 * Whether an owner is a process of this host that no longer exists (e.g. the service restarted
 * after a crash on the same machine): its lease need not be waited out. Only a certain "no such
 * process" counts; fencing keeps this safe even if a pid were misjudged.
 */
function isDeadLocalOwner(owner: string): boolean {
  const [host, pid] = owner.split("/");
  if (host !== hostname() || !pid || !/^[0-9]+$/.test(pid) || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    // It answers signals, but a killed process whose parent has not reaped it yet (a zombie: in a
    // container whose first process reaps late, for a while) is dead all the same.
    return isZombie(Number(pid));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Whether Linux says the process has exited and only waits to be reaped (state Z or X); false elsewhere. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the command name, which is in parentheses and may itself hold any character.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return false;
  }
}

export class Leases {
  constructor(
    private readonly store: DocumentStore,
    readonly options: LeaseOptions,
  ) {}

  /**
   * Renews the lease when `held` is this process's epoch, else takes it if free or expired: the
   * epoch now held, or null. Throws DocumentStoreUnavailableError on an outage.
   */
  async attempt(processor: string, held: number | null): Promise<number | null> {
    const now = Date.now();
    const { owner, ttlMs } = this.options;
    const stamp = { expiresAt: now + ttlMs, renewedAt: new Date(now).toISOString() };
    if (held !== null) {
      const renewed = await this.compareAndSet(processor, { owner, epoch: held }, { $set: stamp }, false);
      return renewed ? held : null;
    }
    const current = await this.store.findById<LeaseDocument>(LEASES, processor);
    const live = current && current.owner !== null && current.owner !== owner && current.expiresAt > now;
    if (live && !isDeadLocalOwner(current.owner as string)) return null;
    const epoch = (current?.epoch ?? 0) + 1;
    const taken = await this.compareAndSet(
      processor,
      { epoch: current?.epoch ?? 0 },
      { $set: { owner, epoch, acquiredAt: stamp.renewedAt, ...stamp } },
      true,
    );
    return taken ? epoch : null;
  }

  /** Gives the lease up at once (graceful stop), if still held with `epoch`. */
  async release(processor: string, epoch: number): Promise<void> {
    await this.compareAndSet(
      processor,
      { owner: this.options.owner, epoch },
      { $set: { owner: null, expiresAt: 0, renewedAt: new Date().toISOString() } },
      false,
    );
  }

  /** The fencing condition a holder's batch carries: it commits only while `epoch` is still its own. */
  fence(processor: string, epoch: number): WriteOp {
    return {
      op: "update",
      collection: LEASES,
      id: processor,
      if: { owner: this.options.owner, epoch },
      update: { $set: { committedAt: new Date().toISOString() } },
    };
  }

  private async compareAndSet(
    processor: string,
    expected: Record<string, unknown>,
    update: Record<string, unknown>,
    /** Only taking a lease may create its document; renewing or releasing a missing one fails. */
    create: boolean,
  ): Promise<boolean> {
    try {
      await this.store.write([
        { op: "update", collection: LEASES, id: processor, upsert: create, if: expected, update },
      ]);
      return true;
    } catch (error) {
      if (error instanceof DocumentStoreUnavailableError) throw error;
      // Condition failed, or (MongoDB) a concurrent insert of the same lease won: not ours.
      if (error instanceof DocumentStoreError) return false;
      throw error;
    }
  }
}

/** Every lease (for the control center): processor → holder and expiry. */
export async function readLeases(store: DocumentStore): Promise<Map<string, LeaseDocument>> {
  // In `_id` order: the `_id` index serves it (MongoDB with notablescan refuses a collection scan).
  const docs = await store.find<LeaseDocument>(LEASES, {}, { sort: { _id: 1 } });
  return new Map(docs.map((d) => [d._id, d]));
}
