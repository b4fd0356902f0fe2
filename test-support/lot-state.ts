import { LotSummary } from "../schemas/lot-summary.js";
import { validate } from "../schemas/validation.js";
import { evolve } from "../write-side/parking-lot/evolve.js";
import {
  initialState,
  type OldLotPaymentFact,
  type ParkingLotEvent,
  type ParkingLotState,
} from "../write-side/parking-lot/state.js";
import { lotOfSummary, summaryOf } from "../write-side/parking-lot/summary.js";

/**
 * A lot's state as one plain JSON value and back, for comparing states in tests: its domain
 * summary (write-side/parking-lot/summary.ts: bookings ascending by id, so equal states give equal
 * values whatever order built them) with the lot's id.
 */
export type PlainLot = { readonly kind: "unregistered" } | (LotSummary & { readonly parkingLotId: string });

export function plainOf(state: ParkingLotState): PlainLot {
  if (state.kind === "unregistered") return { kind: "unregistered" };
  return { parkingLotId: state.parkingLotId, ...summaryOf(state) };
}

export function fromPlain(plain: PlainLot): ParkingLotState {
  if ("kind" in plain) return { kind: "unregistered" };
  const { parkingLotId, ...summary } = plain;
  return lotOfSummary(parkingLotId, summary);
}

/** The state as a period's opening carries it: its summary through JSON, validated, and back. */
export function throughSummary(state: ParkingLotState): ParkingLotState {
  if (state.kind === "unregistered") return state;
  const stored: unknown = JSON.parse(JSON.stringify(summaryOf(state)));
  return lotOfSummary(state.parkingLotId, validate(LotSummary, stored, "lot summary"));
}

/** The state these events leave the lot in (`evolve` over them), from `from` (none: unregistered). */
export const fold = (
  events: Iterable<ParkingLotEvent | OldLotPaymentFact>,
  from: ParkingLotState = initialState,
): ParkingLotState => {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
};
