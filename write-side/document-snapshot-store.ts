import { type Document, type DocumentStore, WriteConditionFailedError } from "../document-store/port.js";
import { ERASED } from "../schemas/personal-data.js";
import type { LotSnapshotStore, StoredLotSnapshot } from "./lot-snapshots.js";
import type { ReservationRecord } from "./parking-lot/decider.js";

/** One document per lot: which snapshot is current (tiny; what `revisions` reads). */
export const LOT_SNAPSHOTS = "lot_snapshots";
/** The snapshots' parts, one document each, in two slots per lot (see DocumentLotSnapshotStore). */
export const LOT_SNAPSHOT_PARTS = "lot_snapshot_parts";
/** The ended reservations that snapshots leave out of their lots' states, one document each. */
export const ENDED_RESERVATIONS = "ended_reservations";

/** Ended reservations written per write: one write stays short, however many a snapshot leaves out. */
const ARCHIVE_BATCH = 1000;

interface EndedDocument extends Document {
  readonly parkingLotId: string;
  readonly reservationId: string;
  readonly record: ReservationRecord;
}

/** "/" is in no lot or reservation id (schemas/common.ts, Identifier): the pair maps to one id. */
const endedId = (parkingLotId: string, reservationId: string): string => `${parkingLotId}/${reservationId}`;

interface HeaderDocument extends Document {
  readonly revision: number;
  readonly eventId: string;
  readonly version: number;
  /** The slot whose parts 0..parts-1 are this snapshot's. */
  readonly slot: 0 | 1;
  readonly parts: number;
  readonly savedAt: string;
}

interface PartDocument extends Document {
  /** Revision and version of the snapshot it was written for: what a reader checks. */
  readonly revision: number;
  readonly version: number;
  readonly part: Record<string, unknown>;
}

const partId = (parkingLotId: string, slot: 0 | 1, index: number): string =>
  `${parkingLotId}:${slot}:${index}`;

/**
 * The lot snapshot store in the document store (the embedded one, or MongoDB), beside the read
 * models and the processors' checkpoints and leases: `lot_snapshots` holds one small header per
 * lot, `lot_snapshot_parts` the parts (a head and pages of at most SNAPSHOT_PAGE_SIZE
 * reservations, so no document comes near MongoDB's 16 MB limit).
 *
 * Each lot has two slots of parts. A save writes its parts into the slot the header does not name,
 * one part per write (so a large snapshot never holds a store's writer for long), then switches the
 * header to it with a compare-and-set on the header it started from: a reader following the
 * header never sees a slot being written, and of two concurrent savers only one switches the header
 * (the other stores nothing). Every part carries the revision and version it was written for; a
 * load that finds a part of another (a save overwrote the slot while it read) reads again once,
 * then reports no snapshot. Slots are overwritten, never left behind: storage stays two snapshots
 * per lot at most.
 *
 * `ended_reservations` keeps, one small document each, the ended reservations that snapshots
 * leave out of their lots' states (`archive`), for the rare command that names one (`archived`).
 */
export class DocumentLotSnapshotStore implements LotSnapshotStore {
  constructor(private readonly store: DocumentStore) {}

  async load(parkingLotId: string): Promise<StoredLotSnapshot | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const header = await this.store.findById<HeaderDocument>(LOT_SNAPSHOTS, parkingLotId);
      if (!header) return null;
      const parts = await Promise.all(
        Array.from({ length: header.parts }, (_, i) =>
          this.store.findById<PartDocument>(LOT_SNAPSHOT_PARTS, partId(parkingLotId, header.slot, i)),
        ),
      );
      if (parts.every((p) => p !== null && p.revision === header.revision && p.version === header.version))
        return {
          parkingLotId,
          revision: header.revision,
          eventId: header.eventId,
          version: header.version,
          parts: parts.map((p) => (p as PartDocument).part),
        };
    }
    return null;
  }

  async save(snapshot: StoredLotSnapshot): Promise<boolean> {
    const { parkingLotId, revision, eventId, version, parts } = snapshot;
    const current = await this.store.findById<HeaderDocument>(LOT_SNAPSHOTS, parkingLotId);
    if (current && current.revision >= revision) return false;
    const slot: 0 | 1 = current?.slot === 0 ? 1 : 0;
    for (const [index, part] of parts.entries()) {
      await this.store.write([
        {
          op: "replace",
          collection: LOT_SNAPSHOT_PARTS,
          id: partId(parkingLotId, slot, index),
          document: { revision, version, part },
        },
      ]);
    }
    try {
      await this.store.write([
        {
          op: "update",
          collection: LOT_SNAPSHOTS,
          id: parkingLotId,
          upsert: true,
          update: {
            $set: {
              revision,
              eventId,
              version,
              slot,
              parts: parts.length,
              savedAt: new Date().toISOString(),
            },
          },
          // Compare-and-set: the header is still the one this save started from.
          if: current ? { revision: current.revision, slot: current.slot } : { revision: { $exists: false } },
        },
      ]);
    } catch (error) {
      if (error instanceof WriteConditionFailedError) return false;
      throw error;
    }
    return true;
  }

  async archive(
    parkingLotId: string,
    records: readonly (readonly [string, ReservationRecord])[],
  ): Promise<void> {
    for (let from = 0; from < records.length; from += ARCHIVE_BATCH) {
      await this.store.write(
        records.slice(from, from + ARCHIVE_BATCH).map(([reservationId, record]) => ({
          op: "replace" as const,
          collection: ENDED_RESERVATIONS,
          id: endedId(parkingLotId, reservationId),
          document: { parkingLotId, reservationId, record },
        })),
      );
    }
  }

  async archived(
    parkingLotId: string,
    reservationIds: readonly string[],
  ): Promise<Map<string, ReservationRecord>> {
    if (reservationIds.length === 0) return new Map();
    const docs = await this.store.find<EndedDocument>(ENDED_RESERVATIONS, {
      _id: { $in: reservationIds.map((id) => endedId(parkingLotId, id)) },
    });
    const found = new Map<string, ReservationRecord>();
    for (const doc of docs) if (doc.parkingLotId === parkingLotId) found.set(doc.reservationId, doc.record);
    return found;
  }

  async revisions(parkingLotIds: readonly string[]): Promise<Map<string, number>> {
    if (parkingLotIds.length === 0) return new Map();
    const headers = await this.store.find<HeaderDocument>(LOT_SNAPSHOTS, {
      _id: { $in: [...parkingLotIds] },
    });
    return new Map(headers.map((h) => [h._id, h.revision]));
  }

  /**
   * After an erasure (issue 36): the lots' snapshots are dropped (a lot is folded from its log
   * again, where the erased fields read `erased`, and the snapshotter writes the next one from
   * that) and the archived records of the reservations have their customer and plate erased.
   */
  async forget(parkingLotIds: readonly string[], reservationIds: readonly string[]): Promise<void> {
    for (const parkingLotId of parkingLotIds) {
      const parts = await this.store.find(LOT_SNAPSHOT_PARTS, {
        _id: { $gte: `${parkingLotId}:`, $lt: `${parkingLotId};` },
      });
      await this.store.write([
        { op: "delete", collection: LOT_SNAPSHOTS, id: parkingLotId },
        ...parts.map((part) => ({ op: "delete" as const, collection: LOT_SNAPSHOT_PARTS, id: part._id })),
      ]);
      for (let from = 0; from < reservationIds.length; from += ARCHIVE_BATCH) {
        await this.store.write(
          reservationIds.slice(from, from + ARCHIVE_BATCH).map((reservationId) => ({
            op: "update" as const,
            collection: ENDED_RESERVATIONS,
            id: endedId(parkingLotId, reservationId),
            update: { $set: { "record.customerId": ERASED, "record.carNumber": ERASED } },
          })),
        );
      }
    }
  }
}
