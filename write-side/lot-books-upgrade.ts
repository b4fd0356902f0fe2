import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import { LotStateSource } from "./lot-state-source.js";
import { currentPeriodLength } from "./lot-streams.js";
import { parkingLotOfStream } from "./parking-lot/periods.js";
import { UPGRADES } from "./payment/payment-upgrade.js";

/** The record that the lots' books are closed at the bound it names (in UPGRADES). */
export const LOT_BOOKS_CLOSED = "lot-books-closed-48";

export interface LotBooksProgress {
  readonly lotsDone: number;
  readonly lotsTotal: number;
  /** Lots whose books this run closed. */
  readonly closed: number;
}

export interface LotBooksResult extends LotBooksProgress {
  /** Whether the record said it was done at this bound (or a lower one), and nothing was read. */
  readonly doneBefore: boolean;
}

export interface LotBooksUpgradeOptions {
  readonly eventStore: EventStore;
  /** The bound on a period's events (LOT_PERIOD_EVENTS). */
  readonly bound: number;
  readonly now: () => Date;
  readonly onProgress?: (progress: LotBooksProgress) => void;
  readonly logger?: Logger;
}

/**
 * Every period is bounded, period 0 too, but a lot written before periods (or while the bound was
 * higher) may be over it: this closes, as after an append (LotStateSource.closeIfOver), the books of
 * every lot (found by its registration: one filtered read of the log) whose current period is at or
 * over the bound; idempotent. A lot under the bound costs a few one-event reads.
 */
export async function closeLotBooks(options: LotBooksUpgradeOptions): Promise<LotBooksResult> {
  const { eventStore, bound, logger } = options;
  const source = new LotStateSource(eventStore, { periodEvents: bound, logger });
  const lots = new Set<string>();
  for await (const recorded of eventStore.readAll({ filter: { eventTypes: ["ParkingLotRegistered"] } })) {
    const parkingLotId = parkingLotOfStream(recorded.streamId);
    if (parkingLotId !== undefined) lots.add(parkingLotId);
  }
  const lotsTotal = lots.size;
  let closed = 0;
  let lotsDone = 0;
  for (const parkingLotId of lots) {
    const length = await currentPeriodLength(eventStore, parkingLotId);
    const closedHere = length >= bound && (await source.closeIfOver(parkingLotId));
    if (closedHere) closed++;
    lotsDone++;
    options.onProgress?.({ lotsDone, lotsTotal, closed });
    // A line per lot closed; the others only at debug (the progress line counts them).
    logger?.[closedHere ? "info" : "debug"](
      { parkingLotId, events: length, bound, lotsDone, lotsTotal, closed },
      "lot books upgrade: lot done",
    );
  }
  return { lotsDone, lotsTotal, closed, doneBefore: false };
}

/**
 * closeLotBooks, then its record at this bound: a start reads only that once done at this bound or
 * a lower one; `again` (`replay upgrade`) runs it whatever the record says.
 */
export async function upgradeLotBooks(
  documents: DocumentStore,
  options: LotBooksUpgradeOptions,
  again = false,
): Promise<LotBooksResult> {
  const { bound } = options;
  const marker = await documents.findById(UPGRADES, LOT_BOOKS_CLOSED);
  if (!again && marker && typeof marker.bound === "number" && marker.bound <= bound)
    return { lotsDone: 0, lotsTotal: 0, closed: 0, doneBefore: true };
  const result = await closeLotBooks(options);
  const { lotsTotal: lots, closed } = result;
  const document = { doneAt: options.now().toISOString(), bound, lots, closed };
  await documents.write([{ op: "replace", collection: UPGRADES, id: LOT_BOOKS_CLOSED, document }]);
  options.logger?.info({ ...result, bound }, "lot books upgrade: done");
  return result;
}
