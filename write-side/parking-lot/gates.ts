import { plateForm } from "../../schemas/plates.js";
import { decide } from "./decide.js";
import type { ParkingLotEvent, ParkingLotState, RegisteredLot } from "./state.js";
import { gateConfidenceOf } from "./terms.js";

/**
 * What a gate does when its camera reads a plate: this only finds the reservation a read concerns
 * (`byPlate`, O(log n)); the lot's own check-in and check-out decide, so a gate restates no rule.
 */

/** What a camera reports at a barrier. */
export interface GateRead {
  readonly parkingLotId: string;
  readonly direction: "entry" | "exit";
  readonly plate: string;
  /** The camera's confidence in its read, 0..1. */
  readonly confidence: number;
  /** When the car was at the barrier (the check-in/out time). */
  readonly at: string;
  /** The gate that read it (named by a drive-up's admission). */
  readonly gateId?: string;
  /** A drive-up's id, derived from the read so a retry books nothing twice; without it none is let in. */
  readonly driveUpId?: string;
}

export type GateOutcome =
  | {
      readonly decision: "open";
      /** DriveUp: no booking of the plate could check in now; an open-ended stay was started. */
      readonly reason: "CheckedIn" | "CheckedOut" | "DriveUp";
      readonly reservationId: string;
      /** The lot's events for the step (none when the step was already taken: a retry). */
      readonly events: readonly ParkingLotEvent[];
      /** On exit: what the stay cost (its booked amount, or its open-ended price) plus any overstay. */
      readonly price?: number;
    }
  | { readonly decision: "deny"; readonly reason: "LotNotFound" | "NoBooking" | string }
  | {
      readonly decision: "review";
      readonly reason: "LowConfidence" | "SeveralBookings" | "NoStay";
      readonly reservationIds: readonly string[];
    };

/** The lot's active reservations of a plate, compared in its normalized form. */
export function reservationsOfPlate(state: ParkingLotState, plate: string): readonly string[] {
  if (state.kind !== "registered") return [];
  // And those loaded sealed, held under their key's name and plate's place (reservation-book.ts).
  const form = plateForm(plate);
  return [form, ...state.reservations.sealedPlateKeys(form)]
    .flatMap((key) => [...(state.byPlate.get(key) ?? [])])
    .sort();
}

export function decideGate(read: GateRead, state: ParkingLotState): GateOutcome {
  if (state.kind !== "registered") return { decision: "deny", reason: "LotNotFound" };
  const candidates = reservationsOfPlate(state, read.plate);
  if (read.confidence < gateConfidenceOf(state))
    return { decision: "review", reason: "LowConfidence", reservationIds: candidates };
  return read.direction === "entry" ? entry(read, state, candidates) : exit(read, state, candidates);
}

/** Entry: the one booking of the plate the lot lets check in now opens the barrier. */
function entry(read: GateRead, state: ParkingLotState, candidates: readonly string[]): GateOutcome {
  const admitted: { reservationId: string; events: readonly ParkingLotEvent[] }[] = [];
  let refusal: string | undefined;
  for (const reservationId of candidates) {
    const decision = decide(
      { type: "CheckIn", parkingLotId: read.parkingLotId, reservationId, now: read.at },
      state,
    );
    // An accepted check-in with no event: the car is already in (the camera read it twice).
    if (decision.ok) admitted.push({ reservationId, events: decision.events });
    else refusal = decision.rejection.code;
  }
  const [first] = admitted;
  if (admitted.length > 1)
    return {
      decision: "review",
      reason: "SeveralBookings",
      reservationIds: admitted.map((a) => a.reservationId),
    };
  if (first) return { decision: "open", reason: "CheckedIn", ...first };
  return driveUp(read, state) ?? { decision: "deny", reason: refusal ?? "NoBooking" };
}

/**
 * No booking of the plate may check in now: the lot's decision on a drive-up (drive-ups.ts), its
 * refusal the gate's reason (`NoHourlyRate` for a lot that prices nothing itself).
 */
function driveUp(read: GateRead, state: ParkingLotState): GateOutcome | undefined {
  const { parkingLotId, driveUpId: reservationId, plate: carNumber, gateId, at: now } = read;
  if (reservationId === undefined || gateId === undefined) return undefined;
  const decision = decide(
    { type: "AdmitDriveUp", parkingLotId, reservationId, carNumber, gateId, now },
    state,
  );
  if (decision.ok) return { decision: "open", reason: "DriveUp", reservationId, events: decision.events };
  const code = decision.rejection.code;
  return { decision: "deny", reason: code === "AmountRequired" ? "NoHourlyRate" : code };
}

/** Exit: the plate's one stay in the lot is checked out, at the price the lot's check-out states. */
function exit(read: GateRead, state: RegisteredLot, candidates: readonly string[]): GateOutcome {
  const staying = candidates.filter((id) => state.inLot.has(id));
  const [reservationId] = staying;
  if (staying.length > 1) return { decision: "review", reason: "SeveralBookings", reservationIds: staying };
  if (reservationId === undefined) return { decision: "review", reason: "NoStay", reservationIds: [] };
  const decision = decide(
    { type: "CheckOut", parkingLotId: read.parkingLotId, reservationId, now: read.at },
    state,
  );
  if (!decision.ok) return { decision: "deny", reason: decision.rejection.code };
  const price = priceOf(decision.events, state.reservations.get(reservationId)?.amount ?? 0);
  return {
    decision: "open",
    reason: "CheckedOut",
    reservationId,
    events: decision.events,
    ...(price !== undefined ? { price } : {}),
  };
}

/** What a check-out's events say the stay cost: its open-ended price or booked amount, plus any overstay. */
export function priceOf(events: readonly { readonly type: string }[], booked: number): number | undefined {
  const out = events.find((e): e is CheckedOut => e.type === "ReservationCheckedOut");
  return out ? (out.data.amount ?? booked) + (out.data.overstayCharge ?? 0) : undefined;
}

type CheckedOut = Extract<ParkingLotEvent, { readonly type: "ReservationCheckedOut" }>;
