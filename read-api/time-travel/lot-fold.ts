import type { StepTree } from "../../platform/step-tree.js";
import { lotFactOf, lotFactsProjection } from "../../projections/read-models/lot-facts.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { evolve, initialState, type ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { forgetEnded } from "../../write-side/parking-lot/ended.js";
import { windowSteps } from "../../write-side/parking-lot/held-timeline.js";
import { foldWithWindows } from "../views/lot-states.js";

/**
 * A lot's decider state and its windows' step tree, carried along a time-travel fold of the lot's
 * stream fact by fact (O(log n) per fact, as the live view carries them: lot-states.ts), so an
 * answer as of a moment starts the lot's views from the state at exactly that moment instead of
 * deriving it from the folded read models (a load of the lot's present: linear in its active
 * bookings). Persistent: a checkpoint keeps the value as it is, and the fold goes on from it
 * without copying. Pure, no I/O.
 *
 * The facts folded are the lot-facts projection's (`lotFactOf`: the same events, as it keeps
 * them), so the state is the one the live view folds from the same facts. A period's opening
 * (issue 48) replaces the state with the lot's live state, as the write side's evolve does, its
 * windows' tree built from it. Within a period, ended reservations
 * are left out now and then (`forgetEnded`: what the write side does before a snapshot), each time
 * the book has doubled since (and 64 more), so the state stays the size of the lot's present
 * (amortized O(log n) per fact); no view reads an ended reservation's record from the state.
 */
export interface LotFold {
  readonly state: ParkingLotState;
  readonly windows: StepTree;
  /** The revision of the lot's stream folded up to (-1: none). */
  readonly revision: number;
  /** The reservations the book held after the last `forgetEnded`. */
  readonly keptAfterForget: number;
}

export const emptyLotFold: LotFold = { state: initialState, windows: null, revision: -1, keptAfterForget: 0 };

/** Reservations left in the book before the first `forgetEnded` (and added each time before the next). */
const FORGET_SLACK = 64;

/** The event types the lot-facts projection keeps, which the lot's state is folded from (its erasures aside). */
const FOLDED: ReadonlySet<string> = new Set([
  ...[...lotFactsProjection.eventTypes].filter((type) => type !== "CustomerErased"),
  "LotPeriodOpened",
]);

/** `lot` after one event of its stream (unchanged for an event its state is not folded from). */
export function foldLotEvent(lot: LotFold, stored: StoredDomainEvent): LotFold {
  if (!FOLDED.has(stored.event.type)) return lot;
  if (stored.event.type === "LotPeriodOpened") {
    const state = evolve(lot.state, stored.event);
    const registered = state.kind === "registered";
    const windows = registered ? windowSteps(state.occupancy) : null;
    const keptAfterForget = registered ? state.reservations.size : 0;
    return { state, windows, revision: stored.revision, keptAfterForget };
  }
  let { state, windows } = foldWithWindows(lot, [lotFactOf(stored)]);
  let keptAfterForget = lot.keptAfterForget;
  if (state.kind === "registered" && state.reservations.size > 2 * keptAfterForget + FORGET_SLACK) {
    // What ended leaves the book and the per-customer sets only: no index, so the tree stands.
    state = withoutEnded(state);
    keptAfterForget = state.kind === "registered" ? state.reservations.size : 0;
  }
  return {
    state,
    windows: state.kind === "registered" ? windows : null,
    revision: stored.revision,
    keptAfterForget,
  };
}

/** The lot without its ended reservations (`forgetEnded`), and what they asked of payment. */
const withoutEnded = (lot: ParkingLotState): ParkingLotState => forgetEnded(lot).state;

/**
 * Bytes a lot state holds per entry counted by `lotFoldEntries` (a reservation's record, its window
 * in the hour index, its changes in the step tree, a car in the lot, a payment, what they keep of
 * their events' strings), measured by `node --expose-gc --import tsx bench/lot-state-bytes.ts`
 * (the heap 20,000 bookings hold, windowed and open-ended, a third in the lot: about 370 bytes an
 * entry on Node 20), with headroom: an estimate for the byte budget, an upper bound of what a
 * checkpoint holds alone (states share most of their nodes with the checkpoints before).
 */
export const LOT_STATE_ENTRY_BYTES = 448;

/** The entries `lot`'s state holds (each counted at LOT_STATE_ENTRY_BYTES). */
export function lotFoldEntries(lot: LotFold): number {
  const { state, windows } = lot;
  if (state.kind !== "registered") return 0;
  const counted = ENTRIES.get(lot);
  if (counted !== undefined) return counted;
  let windowed = 0;
  for (const bucket of state.occupancy.buckets.values()) windowed += bucket.size;
  const entries =
    1 +
    state.reservations.size +
    windowed +
    (windows?.size ?? 0) +
    state.byCustomer.size +
    state.inLot.size +
    state.openEnded.size +
    state.checkOutRates.size +
    state.paymentAsked.size +
    state.closures.size;
  ENTRIES.set(lot, entries);
  return entries;
}

/** Each lot fold's entries, counted once (a fold is never changed: the next fact makes a new one). */
const ENTRIES = new WeakMap<LotFold, number>();
