import type { ReservationRecord } from "./parking-lot/decider.js";
import type { SnapshotParts } from "./parking-lot/snapshot.js";

/**
 * The port of the lot snapshot store: where a lot's folded state is kept as of a revision of its
 * stream, so that loading a lot with a long history reads the snapshot and only the events after
 * it. Snapshots are a cache of the fold, never a source of truth: the command handler uses one
 * only if it can decode it (its version, its shape) and the stream still holds, at the snapshot's
 * revision, the very event the snapshot was folded up to; otherwise it folds the whole stream.
 * Written off the command path, by the lot snapshotter (lot-snapshotter.ts).
 */

export interface StoredLotSnapshot {
  readonly parkingLotId: string;
  /** Revision of the last event of the lot's stream that the snapshot covers. */
  readonly revision: number;
  /** That event's id: the snapshot belongs to the stream only while this event is at `revision`. */
  readonly eventId: string;
  /** SNAPSHOT_VERSION of the code that wrote it: what its parts mean. */
  readonly version: number;
  /** The encoded state (encodeSnapshot): plain JSON objects, stored as they are. */
  readonly parts: SnapshotParts;
}

export interface LotSnapshotStore {
  /** The lot's snapshot, or null when it has none (or it cannot be read whole). */
  load(parkingLotId: string): Promise<StoredLotSnapshot | null>;
  /**
   * Stores the snapshot, replacing the lot's previous one, unless the store holds one of the same
   * or a later revision already (then nothing changes). Resolves whether it stored it.
   */
  save(snapshot: StoredLotSnapshot): Promise<boolean>;
  /** The revision of each of these lots' snapshots (lots without one are left out), without their parts. */
  revisions(parkingLotIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Keeps the records of ended reservations that a snapshot leaves out of the lot's state (see
   * `forgetEnded` in decider.ts). The snapshotter calls it before it saves the snapshot that leaves
   * them out, so every reservation a state loaded from a snapshot lacks is here. Keeping a record
   * twice is harmless (no command changes an ended reservation).
   */
  archive(parkingLotId: string, records: readonly (readonly [string, ReservationRecord])[]): Promise<void>;
  /** The archived records of these reservations of the lot; ids it has not archived are left out. */
  archived(parkingLotId: string, reservationIds: readonly string[]): Promise<Map<string, ReservationRecord>>;
}
