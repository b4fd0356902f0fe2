import { Map as ImmutableMap, Set as ImmutableSet, List } from "immutable";
import type {
  BeginClosure,
  CancelReservation,
  ChangeCapacity,
  CheckIn,
  CheckOut,
  CloseParkingLot,
  ParkingLotCommand,
  RecordNoShow,
  RegisterParkingLot,
  ReserveParking,
} from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";
import {
  closureProblem,
  isActive,
  openEndedStayPrice,
  overstayCharge,
  quote,
  type RecordedStatus,
  type ReservationStatus,
  type Span,
  statusAt as statusOfReservation,
  WINDOW_RULES,
  windowProblem,
} from "../../schemas/reservation-time.js";
import {
  addWindow,
  emptyOccupancy,
  isIndexed,
  type Occupancy,
  overlapping,
  peak,
  pruneEnded,
  removeWindow,
} from "./occupancy.js";
import { ReservationBook } from "./reservation-book.js";

/**
 * The parking-lot aggregate as a decider: pure functions, no I/O.
 * One lot's whole life is one stream, so this state is the consistency boundary for capacity.
 *
 * What holds a spot when (the time rules themselves live in schemas/reservation-time.ts, shared
 * with the views):
 * - a window holds [startsAt, endsAt), in the `occupancy` index (see occupancy.ts), from which
 *   ended windows are pruned as time passes;
 * - an open-ended booking still RESERVED holds a spot from when it was made until the first
 *   closure that begins after it (`mustLeaveBy`), or for ever while no closure is ahead;
 * - a car in the lot (`inLot`) holds its spot until it checks out, however long past its window:
 *   an overstaying car counts at every instant from its endsAt on.
 */

export type ParkingLotEvent =
  | EventOfType<"ParkingLotRegistered">
  | EventOfType<"ParkingReserved">
  | EventOfType<"ReservationCanceled">
  | EventOfType<"ReservationCheckedIn">
  | EventOfType<"ReservationCheckedOut">
  | EventOfType<"ReservationNoShow">
  | EventOfType<"ParkingLotClosed">
  | EventOfType<"ParkingLotClosureBegan">
  | EventOfType<"ParkingLotCapacityChanged">;

export type { ReservationStatus };

export interface ReservationRecord {
  readonly customerId: string;
  readonly carNumber: string;
  readonly amount: number;
  readonly startsAt?: string;
  readonly endsAt?: string;
  /** As recorded by events; the status at an instant is `statusAt` (the clock adds the rest). */
  readonly status: RecordedStatus;
}

/** A car in the lot: when its window ends (Infinity for an open-ended booking) and when it came in. */
export interface CarInLot {
  readonly endsAt: number;
  readonly checkedInAt: number;
}

/** A closure the lot knows: until it has begun, and then until it has ended. */
export interface Closure {
  readonly closureId: string;
  readonly from: number;
  readonly until: number;
  /** Whether its begin was recorded (ParkingLotClosureBegan). */
  readonly began: boolean;
}

export const DEFAULT_MAX_ACTIVE_PER_CUSTOMER = 4;

export type ParkingLotState =
  | { readonly kind: "unregistered" }
  | {
      readonly kind: "registered";
      readonly parkingLotId: string;
      readonly name: string;
      readonly capacity: number;
      readonly hourlyRate?: number;
      readonly maxActivePerCustomer: number;
      /** Informational (no decision reads it): reservations holding or going to hold a spot. */
      readonly activeReservations: number;
      /**
       * The reservation records a command may name, with what each asked for, so that an ended id
       * still answers (cancel → 409, a retried Idempotency-Key → the same answer). Ended ones are
       * taken out by `forgetEnded` and kept outside (see docs/domain.md, "Ended reservations").
       */
      readonly reservations: ReservationBook;
      /** Active open-ended reservations (reserved or in the lot), with when each was made. */
      readonly openEnded: ImmutableMap<string, number>;
      /** Windowed reservations that may still hold a spot, by the hour they start. */
      readonly occupancy: Occupancy;
      /** Cars in the lot (checked in, not yet out): each holds its spot until it checks out. */
      readonly inLot: ImmutableMap<string, CarInLot>;
      /** Per customer, their reservations that may still be active (bounded by the limit + pruning lag). */
      readonly byCustomer: ImmutableMap<string, ImmutableSet<string>>;
      /**
       * Closures not yet begun, and those begun that have not ended more than the skew ago (the
       * rest is dropped at the next closure). At most WINDOW_RULES.maxPendingClosures not ended.
       */
      readonly closures: List<Closure>;
      /**
       * How many ended reservations this state has left out (`forgetEnded`): their records are
       * kept outside the state (the lot snapshot store's archive), and looked up there when a
       * command names one. 0: the state holds every reservation the lot ever accepted.
       */
      readonly archived: number;
    };

export type RegisteredLot = Extract<ParkingLotState, { kind: "registered" }>;

export const initialState: ParkingLotState = { kind: "unregistered" };

/** Why a command was refused. Expected outcomes, so they are values, not exceptions. */
export type Rejection =
  | { readonly code: "LotNotFound"; readonly parkingLotId: string }
  | { readonly code: "LotAlreadyRegistered"; readonly parkingLotId: string }
  | { readonly code: "LotFull"; readonly parkingLotId: string; readonly capacity: number }
  | { readonly code: "ReservationNotFound"; readonly parkingLotId: string; readonly reservationId: string }
  | { readonly code: "ReservationIdConflict"; readonly parkingLotId: string; readonly reservationId: string }
  | {
      readonly code: "ReservationNotActive";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly status: ReservationStatus;
    }
  | { readonly code: "NotCheckedIn"; readonly parkingLotId: string; readonly reservationId: string }
  | {
      /** A customer cannot cancel once the car is in: checking out ends the stay. */
      readonly code: "CheckedIn";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly status: ReservationStatus;
    }
  | {
      readonly code: "CheckInTooEarly";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly startsAt: string;
    }
  | {
      readonly code: "InvalidWindow";
      readonly parkingLotId?: string;
      readonly field: string;
      readonly detail: string;
    }
  | { readonly code: "AmountRequired"; readonly parkingLotId: string }
  | { readonly code: "AmountNotPositive"; readonly parkingLotId: string }
  | {
      /** A lot with a rate prices an open-ended stay itself, at check-out. */
      readonly code: "AmountNotAccepted";
      readonly parkingLotId: string;
      readonly hourlyRate: number;
      readonly offered: number;
    }
  | {
      readonly code: "PriceChanged";
      readonly parkingLotId: string;
      readonly quote: number;
      readonly offered: number;
    }
  | { readonly code: "TooManyActiveReservations"; readonly parkingLotId: string; readonly limit: number }
  | {
      readonly code: "LotClosed";
      readonly parkingLotId: string;
      readonly from: string;
      readonly until: string;
    }
  | { readonly code: "TooManyClosures"; readonly parkingLotId: string; readonly limit: number }
  | { readonly code: "ClosureNotFound"; readonly parkingLotId: string; readonly closureId: string }
  | {
      /** A time-driven fact asked for before it falls due. */
      readonly code: "NotDue";
      readonly parkingLotId: string;
      readonly at: string;
    }
  | {
      readonly code: "CapacityTooLow";
      readonly parkingLotId: string;
      readonly at: string;
      readonly held: number;
    };

export type Decision =
  | { readonly ok: true; readonly events: readonly ParkingLotEvent[] }
  | { readonly ok: false; readonly rejection: Rejection };

const accept = (...events: ParkingLotEvent[]): Decision => ({ ok: true, events });
const reject = (rejection: Rejection): Decision => ({ ok: false, rejection });

const ms = (timestamp: string): number => Date.parse(timestamp);

/** The window of a reservation, for the events that end it (projections tell windows apart by it). */
const windowOf = (record: ReservationRecord | undefined) =>
  record?.startsAt && record.endsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {};
const iso = (epochMs: number): string => new Date(epochMs).toISOString();

export { quote };

/**
 * When an open-ended booking made at `madeAt` and still RESERVED must leave: the start of the
 * earliest closure not yet begun that starts after it was made (its beginning cancels the booking).
 * Undefined while no closure is ahead of it.
 */
function leaveAt(lot: RegisteredLot, madeAt: number): number | undefined {
  let at: number | undefined;
  for (const c of lot.closures)
    if (!c.began && c.from >= madeAt && (at === undefined || c.from < at)) at = c.from;
  return at;
}

/**
 * A reservation's status at an instant (schemas/reservation-time.ts): a window over without a
 * check-in is NO_SHOW, a car past its window OVERSTAYING, an open-ended booking still RESERVED
 * when its lot's next closure begins CANCELED (`madeAt`: when it was made).
 */
export function statusAt(
  record: ReservationRecord,
  now: number,
  lot?: RegisteredLot,
  madeAt?: number,
): ReservationStatus {
  if (
    record.status !== "RESERVED" ||
    record.endsAt !== undefined ||
    lot === undefined ||
    madeAt === undefined
  )
    return statusOfReservation(record, now);
  const at = leaveAt(lot, madeAt);
  return statusOfReservation({ ...record, ...(at !== undefined ? { mustLeaveBy: iso(at) } : {}) }, now);
}

/** The status of reservation `id` of the lot at `now`. */
const statusIn = (lot: RegisteredLot, id: string, record: ReservationRecord, now: number) =>
  statusAt(record, now, lot, lot.openEnded.get(id));

export function decide(command: ParkingLotCommand, state: ParkingLotState): Decision {
  switch (command.type) {
    case "RegisterParkingLot":
      return register(command, state);
    case "ReserveParking":
      return reserve(command, state);
    case "CancelReservation":
      return cancel(command, state);
    case "CheckIn":
      return checkIn(command, state);
    case "CheckOut":
      return checkOut(command, state);
    case "CloseParkingLot":
      return close(command, state);
    case "ChangeCapacity":
      return changeCapacity(command, state);
    case "RecordNoShow":
      return recordNoShow(command, state);
    case "BeginClosure":
      return beginClosure(command, state);
  }
}

function register(command: RegisterParkingLot, state: ParkingLotState): Decision {
  const maxActivePerCustomer = command.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER;
  if (state.kind === "registered") {
    // Re-sending the very same registration is a harmless retry; anything else takes a used id.
    const same =
      state.name === command.name &&
      state.capacity === command.capacity &&
      state.hourlyRate === command.hourlyRate &&
      state.maxActivePerCustomer === maxActivePerCustomer;
    return same ? accept() : reject({ code: "LotAlreadyRegistered", parkingLotId: command.parkingLotId });
  }
  return accept({
    type: "ParkingLotRegistered",
    data: {
      parkingLotId: command.parkingLotId,
      name: command.name,
      capacity: command.capacity,
      registeredAt: command.now,
      ...(command.hourlyRate !== undefined ? { hourlyRate: command.hourlyRate } : {}),
      ...(command.maxActivePerCustomer !== undefined
        ? { maxActivePerCustomer: command.maxActivePerCustomer }
        : {}),
    },
  });
}

/**
 * The spots held at the busiest instant of [from, until), decided at `now`:
 * - the windows of the index overlapping the range, each as it holds its spot (a canceled one is
 *   taken out; a checked-out one is kept cut short at its check-out, since it held the spot until
 *   then, which matters to a window starting up to the skew in the past);
 * - each overstaying car (in the lot past its window's end) from that end on, for ever: it holds
 *   its spot until it checks out, whenever that is;
 * - the open-ended bookings: those in the lot for ever, those still RESERVED until the next
 *   closure begins (which cancels them).
 * O(h log n + k log k) for the k windows found, plus the cars in the lot (at most the capacity).
 */
function busiest(lot: RegisteredLot, from: number, until: number, now: number) {
  const spans: Span[] = overlapping(lot.occupancy, from, until).map(([, interval]) => interval);
  let openEndedInLot = 0;
  for (const car of lot.inLot.values()) {
    if (car.endsAt === Number.POSITIVE_INFINITY) openEndedInLot++;
    else if (car.endsAt <= now) spans.push({ start: car.endsAt, end: Number.POSITIVE_INFINITY });
  }
  const reserved = lot.openEnded.size - openEndedInLot;
  const closing = reserved === 0 ? undefined : leaveAt(lot, Number.NEGATIVE_INFINITY);
  if (closing === undefined || closing >= until) {
    // The open-ended bookings hold a spot at every instant of the range: one number.
    const top = peak(spans, from, until);
    return { held: top.held + lot.openEnded.size, at: top.at };
  }
  // A closure begins within the range: each booking still RESERVED holds its spot until the first
  // closure after it was made (all the same one, but while the scheduler is behind).
  // One whose closure is due already (not yet recorded) holds nothing from now on: counted as of
  // now, like every open-ended booking (docs/domain.md, "the skew minutes").
  for (const [id, madeAt] of lot.openEnded) {
    const end = lot.inLot.has(id) ? now : (leaveAt(lot, madeAt) ?? Number.POSITIVE_INFINITY);
    if (end > now) spans.push({ start: Number.NEGATIVE_INFINITY, end });
  }
  const top = peak(spans, from, until);
  return { held: top.held + openEndedInLot, at: top.at };
}

function activeCount(lot: RegisteredLot, customerId: string, now: number): number {
  let count = 0;
  for (const id of lot.byCustomer.get(customerId) ?? []) {
    const record = lot.reservations.get(id);
    if (record && isActive(statusIn(lot, id, record, now))) count++;
  }
  return count;
}

/** The price of a new booking, or why it cannot be booked at the amount offered. */
function priceOf(
  lot: RegisteredLot,
  command: ReserveParking,
  window: Span | undefined,
): { amount: number; atCheckOut: boolean } | Rejection {
  const { parkingLotId, amount: offered } = command;
  if (lot.hourlyRate !== undefined) {
    if (!window) {
      // Priced at check-out, from check-in on: nothing to agree on now.
      if (offered !== undefined)
        return { code: "AmountNotAccepted", parkingLotId, hourlyRate: lot.hourlyRate, offered };
      return { amount: 0, atCheckOut: true };
    }
    const amount = quote(lot.hourlyRate, window.start, window.end);
    if (offered !== undefined && offered !== amount)
      return { code: "PriceChanged", parkingLotId, quote: amount, offered };
    return { amount, atCheckOut: false };
  }
  if (offered === undefined) return { code: "AmountRequired", parkingLotId };
  if (offered <= 0) return { code: "AmountNotPositive", parkingLotId };
  return { amount: offered, atCheckOut: false };
}

function reserve(command: ReserveParking, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const parkingLotId = command.parkingLotId;
  const existing = state.reservations.get(command.reservationId);
  if (existing) {
    // Same id again: an idempotent retry if it asks for the same thing, a conflict if not —
    // whatever has happened to it since (even ended, the retry gets the same answer).
    const same =
      existing.customerId === command.customerId &&
      existing.carNumber === command.carNumber &&
      existing.startsAt === command.startsAt &&
      existing.endsAt === command.endsAt &&
      (command.amount === undefined || existing.amount === command.amount);
    return same
      ? accept()
      : reject({ code: "ReservationIdConflict", parkingLotId, reservationId: command.reservationId });
  }
  const now = ms(command.now);
  let window: Span | undefined;
  if (command.startsAt !== undefined || command.endsAt !== undefined) {
    if (command.startsAt === undefined)
      return reject({ code: "InvalidWindow", field: "startsAt", detail: "is required with endsAt" });
    if (command.endsAt === undefined)
      return reject({ code: "InvalidWindow", field: "endsAt", detail: "is required with startsAt" });
    const start = ms(command.startsAt);
    const end = ms(command.endsAt);
    const problem = windowProblem(start, end, now);
    if (problem) return reject({ code: "InvalidWindow", ...problem });
    window = { start, end };
  }
  const price = priceOf(state, command, window);
  if ("code" in price) return reject(price);
  // A window holds its spot over itself; an open-ended booking from now until it is ended, or
  // until the lot's next closure begins (which cancels it: it is told when, `mustLeaveBy`).
  const from = window ? window.start : now;
  const closure = window
    ? // A window may start up to the skew in the past, so a closure that ended in those minutes
      // still refuses it (the state keeps closures that long).
      state.closures.find((c) => c.from < window.end && c.until > window.start)
    : state.closures.find((c) => c.from <= now && c.until > now);
  if (closure)
    return reject({ code: "LotClosed", parkingLotId, from: iso(closure.from), until: iso(closure.until) });
  const mustLeaveBy = window ? undefined : nextClosureAfter(state, now);
  const until = window ? window.end : (mustLeaveBy ?? Number.POSITIVE_INFINITY);
  if (activeCount(state, command.customerId, now) >= state.maxActivePerCustomer)
    return reject({ code: "TooManyActiveReservations", parkingLotId, limit: state.maxActivePerCustomer });
  if (busiest(state, from, until, now).held >= state.capacity)
    return reject({ code: "LotFull", parkingLotId, capacity: state.capacity });
  return accept({
    type: "ParkingReserved",
    data: {
      reservationId: command.reservationId,
      parkingLotId,
      customerId: command.customerId,
      carNumber: command.carNumber,
      amount: price.amount,
      reservedAt: command.now,
      ...(window ? { startsAt: iso(window.start), endsAt: iso(window.end) } : {}),
      ...(mustLeaveBy !== undefined ? { mustLeaveBy: iso(mustLeaveBy) } : {}),
      ...(price.atCheckOut && state.hourlyRate !== undefined ? { hourlyRate: state.hourlyRate } : {}),
    },
  });
}

/** The start of the earliest closure beginning after `now`. */
function nextClosureAfter(lot: RegisteredLot, now: number): number | undefined {
  let next: number | undefined;
  for (const c of lot.closures) if (c.from > now && (next === undefined || c.from < next)) next = c.from;
  return next;
}

function cancel(command: CancelReservation, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  const reservation = state.reservations.get(reservationId);
  // Someone else's reservation is answered exactly like a missing one: existence is not revealed.
  if (!reservation || (command.requestedBy !== undefined && reservation.customerId !== command.requestedBy)) {
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  }
  const status = statusIn(state, reservationId, reservation, ms(command.now));
  if (status === "CANCELED") return accept(); // canceling twice changes nothing
  if (status === "COMPLETED" || status === "NO_SHOW")
    return reject({ code: "ReservationNotActive", parkingLotId, reservationId, status });
  // The car is in the lot: its customer checks out; an operator may cancel it, which frees the spot.
  if (reservation.status === "CHECKED_IN" && command.requestedBy !== undefined)
    return reject({ code: "CheckedIn", parkingLotId, reservationId, status });
  return accept({
    type: "ReservationCanceled",
    data: {
      reservationId,
      parkingLotId,
      customerId: reservation.customerId,
      reason: command.reason,
      canceledAt: command.now,
      ...windowOf(reservation),
    },
  });
}

/** The reservation a check-in/out is about, as its requester may see it (someone else's is not found). */
function ownReservation(command: CheckIn | CheckOut, lot: RegisteredLot): ReservationRecord | Rejection {
  const record = lot.reservations.get(command.reservationId);
  if (!record || (command.requestedBy !== undefined && command.requestedBy !== record.customerId))
    return {
      code: "ReservationNotFound",
      parkingLotId: command.parkingLotId,
      reservationId: command.reservationId,
    };
  return record;
}

function checkIn(command: CheckIn, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const record = ownReservation(command, state);
  if ("code" in record) return reject(record);
  const now = ms(command.now);
  const { parkingLotId, reservationId } = command;
  const status = statusIn(state, reservationId, record, now);
  if (status === "CHECKED_IN" || status === "OVERSTAYING") return accept(); // checking in twice changes nothing
  if (status !== "RESERVED")
    return reject({ code: "ReservationNotActive", parkingLotId, reservationId, status });
  if (record.startsAt && now < ms(record.startsAt) - WINDOW_RULES.maxSkewMs)
    return reject({ code: "CheckInTooEarly", parkingLotId, reservationId, startsAt: record.startsAt });
  return accept({
    type: "ReservationCheckedIn",
    data: { reservationId, parkingLotId, customerId: record.customerId, checkedInAt: command.now },
  });
}

function checkOut(command: CheckOut, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const record = ownReservation(command, state);
  if ("code" in record) return reject(record);
  const { parkingLotId, reservationId } = command;
  const now = ms(command.now);
  if (record.status === "CHECKED_IN") {
    // A car may leave long after its window ended (it overstayed): that is still a check-out, and
    // the minutes past its window are charged at the lot's rate.
    const car = state.inLot.get(reservationId);
    const overstay = record.endsAt ? overstayCharge(state.hourlyRate, ms(record.endsAt), now) : 0;
    const pricedNow = !record.endsAt && state.hourlyRate !== undefined && record.amount === 0;
    return accept({
      type: "ReservationCheckedOut",
      data: {
        reservationId,
        parkingLotId,
        customerId: record.customerId,
        checkedOutAt: command.now,
        ...windowOf(record),
        ...(pricedNow && state.hourlyRate !== undefined
          ? { amount: openEndedStayPrice(state.hourlyRate, car?.checkedInAt ?? now, now) }
          : {}),
        ...(overstay > 0 ? { overstayCharge: overstay } : {}),
      },
    });
  }
  if (record.status === "COMPLETED") return accept(); // checking out twice changes nothing
  const status = statusIn(state, reservationId, record, now);
  if (status === "RESERVED") return reject({ code: "NotCheckedIn", parkingLotId, reservationId });
  return reject({ code: "ReservationNotActive", parkingLotId, reservationId, status });
}

function close(command: CloseParkingLot, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const now = ms(command.now);
  const from = ms(command.from);
  const until = ms(command.until);
  const problem = closureProblem(from, until, now);
  if (problem) return reject({ code: "InvalidWindow", ...problem });
  const pending = state.closures.filter((c) => c.until > now).size;
  if (pending >= WINDOW_RULES.maxPendingClosures)
    return reject({
      code: "TooManyClosures",
      parkingLotId: command.parkingLotId,
      limit: WINDOW_RULES.maxPendingClosures,
    });
  // The windows that overlap the closure and are still only booked: canceled in the same append.
  // Open-ended bookings are canceled when it begins (below, or by the scheduler later); a car in
  // the lot is never canceled out of it (docs/domain.md).
  const hit = overlapping(state.occupancy, Math.max(from, now), until)
    .map(([id]) => id)
    .filter((id) => {
      const record = state.reservations.get(id);
      return record !== undefined && statusIn(state, id, record, now) === "RESERVED";
    });
  hit.sort();
  const closed: ParkingLotEvent = {
    type: "ParkingLotClosed",
    data: {
      closureId: command.closureId,
      parkingLotId: command.parkingLotId,
      from: iso(from),
      until: iso(until),
      reason: command.reason,
      closedAt: command.now,
    },
  };
  const canceled = hit.map((id) => canceledByClosure(state, id, command.now));
  if (from > now) return accept(closed, ...canceled);
  // In force already: it begins in the same append.
  const closure: Closure = { closureId: command.closureId, from, until, began: false };
  return accept(closed, ...canceled, ...closureBegins(state, closure, command.now, new Set(hit)));
}

const canceledByClosure = (lot: RegisteredLot, reservationId: string, at: string): ParkingLotEvent => {
  const record = lot.reservations.get(reservationId);
  return {
    type: "ReservationCanceled",
    data: {
      reservationId,
      parkingLotId: lot.parkingLotId,
      customerId: record?.customerId ?? "",
      reason: "lot-closed",
      canceledAt: at,
      ...windowOf(record),
    },
  };
};

/**
 * What a closure's beginning appends: the fact, with the cars in the lot then (listed for
 * operators, never canceled), and the cancellation of every open-ended booking still RESERVED
 * then, as of its `from` (or of when it was made, if later: reason `lot-closed`).
 */
function closureBegins(
  lot: RegisteredLot,
  closure: Closure,
  recordedAt: string,
  skip: ReadonlySet<string> = new Set(),
): ParkingLotEvent[] {
  const carsInLot = [...lot.inLot.keys()].filter((id) => !skip.has(id)).sort();
  // Every open-ended booking still RESERVED goes: one made after `from` was made before the closure
  // existed (a closure in force refuses bookings), when the operator closed the lot as of the past.
  const leaving = [...lot.openEnded]
    .filter(([id]) => !lot.inLot.has(id) && !skip.has(id))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    {
      type: "ParkingLotClosureBegan",
      data: {
        closureId: closure.closureId,
        parkingLotId: lot.parkingLotId,
        from: iso(closure.from),
        until: iso(closure.until),
        carsInLot,
        recordedAt,
      },
    },
    ...leaving.map(([id, madeAt]) => canceledByClosure(lot, id, iso(Math.max(closure.from, madeAt)))),
  ];
}

function beginClosure(command: BeginClosure, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, closureId } = command;
  const closure = state.closures.find((c) => c.closureId === closureId);
  // A closure that began and ended more than the skew ago has been dropped: it began, nothing to do.
  if (!closure) return reject({ code: "ClosureNotFound", parkingLotId, closureId });
  if (closure.began) return accept(); // begun already: recorded exactly once
  if (closure.from > ms(command.now)) return reject({ code: "NotDue", parkingLotId, at: iso(closure.from) });
  return accept(...closureBegins(state, closure, command.now));
}

function recordNoShow(command: RecordNoShow, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  const record = state.reservations.get(reservationId);
  if (!record) return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  // Settled otherwise (checked in, canceled, checked out) or recorded already: nothing to do.
  if (record.status !== "RESERVED" || !record.startsAt || !record.endsAt) return accept();
  if (ms(record.endsAt) > ms(command.now)) return reject({ code: "NotDue", parkingLotId, at: record.endsAt });
  return accept({
    type: "ReservationNoShow",
    data: {
      reservationId,
      parkingLotId,
      customerId: record.customerId,
      startsAt: record.startsAt,
      endsAt: record.endsAt,
      recordedAt: command.now,
    },
  });
}

function changeCapacity(command: ChangeCapacity, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  if (command.capacity === state.capacity) return accept();
  if (command.capacity < state.capacity) {
    const now = ms(command.now);
    const top = busiest(state, now, Number.POSITIVE_INFINITY, now);
    if (top.held > command.capacity)
      return reject({
        code: "CapacityTooLow",
        parkingLotId: command.parkingLotId,
        at: iso(top.at),
        held: top.held,
      });
  }
  return accept({
    type: "ParkingLotCapacityChanged",
    data: {
      parkingLotId: command.parkingLotId,
      capacity: command.capacity,
      previousCapacity: state.capacity,
      changedAt: command.now,
    },
  });
}

/** Forgets the windows that have ended by `now` from the index and the per-customer sets. */
function advance(lot: RegisteredLot, now: number): RegisteredLot {
  const { occupancy, ended } = pruneEnded(lot.occupancy, now);
  if (occupancy === lot.occupancy) return lot;
  let byCustomer = lot.byCustomer;
  let activeReservations = lot.activeReservations;
  for (const id of ended) {
    const record = lot.reservations.get(id);
    // A car still in the lot stays active (and its customer's) until it checks out.
    if (!record || lot.inLot.has(id)) continue;
    byCustomer = forget(byCustomer, record.customerId, id);
    if (record.status === "RESERVED") activeReservations--;
  }
  return { ...lot, occupancy, byCustomer, activeReservations };
}

function forget(
  byCustomer: ImmutableMap<string, ImmutableSet<string>>,
  customerId: string,
  id: string,
): ImmutableMap<string, ImmutableSet<string>> {
  const ids = byCustomer.get(customerId)?.delete(id);
  return ids?.size ? byCustomer.set(customerId, ids) : byCustomer.delete(customerId);
}

/**
 * A reservation stops holding its spot at `at` (canceled, checked out): out of every holder set.
 * A window a car used keeps, in the index, the part it used ([startsAt, min(endsAt, at))), so a
 * window starting within the skew in the past stays honest; an unused one leaves the index.
 */
function release(lot: RegisteredLot, id: string, record: ReservationRecord, at: number): RegisteredLot {
  let occupancy = lot.occupancy;
  const indexed = record.startsAt !== undefined && isIndexed(occupancy, id, ms(record.startsAt));
  if (record.startsAt && record.endsAt && indexed) {
    const start = ms(record.startsAt);
    occupancy = removeWindow(occupancy, id, start);
    const end = Math.min(ms(record.endsAt), at);
    if (end > start && record.status === "CHECKED_IN") occupancy = addWindow(occupancy, id, { start, end });
  }
  // Counted active until now: open-ended, in the lot, or a window still in the index (a window
  // pruned while only booked was counted out then).
  const wasActive = lot.openEnded.has(id) || lot.inLot.has(id) || indexed;
  return {
    ...lot,
    occupancy,
    openEnded: lot.openEnded.delete(id),
    inLot: lot.inLot.delete(id),
    byCustomer: forget(lot.byCustomer, record.customerId, id),
    activeReservations: lot.activeReservations - (wasActive ? 1 : 0),
  };
}

/** What a newly registered lot's state is. */
function registered(event: EventOfType<"ParkingLotRegistered">): RegisteredLot {
  return {
    kind: "registered",
    parkingLotId: event.data.parkingLotId,
    name: event.data.name,
    capacity: event.data.capacity,
    ...(event.data.hourlyRate !== undefined ? { hourlyRate: event.data.hourlyRate } : {}),
    maxActivePerCustomer: event.data.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
    activeReservations: 0,
    reservations: ReservationBook.empty(),
    openEnded: ImmutableMap(),
    occupancy: emptyOccupancy(ms(event.data.registeredAt)),
    inLot: ImmutableMap(),
    byCustomer: ImmutableMap(),
    closures: List(),
    archived: 0,
  };
}

function reserved(state: RegisteredLot, event: EventOfType<"ParkingReserved">): RegisteredLot {
  if (state.reservations.has(event.data.reservationId)) return state;
  const { reservationId, customerId, carNumber, amount, startsAt, endsAt, reservedAt } = event.data;
  const lot = advance(state, ms(reservedAt));
  const record: ReservationRecord = {
    customerId,
    carNumber,
    amount,
    ...(startsAt && endsAt ? { startsAt, endsAt } : {}),
    status: "RESERVED",
  };
  return {
    ...lot,
    activeReservations: lot.activeReservations + 1,
    reservations: lot.reservations.set(reservationId, record),
    openEnded: startsAt && endsAt ? lot.openEnded : lot.openEnded.set(reservationId, ms(reservedAt)),
    occupancy:
      startsAt && endsAt
        ? addWindow(lot.occupancy, reservationId, { start: ms(startsAt), end: ms(endsAt) })
        : lot.occupancy,
    byCustomer: lot.byCustomer.set(
      customerId,
      (lot.byCustomer.get(customerId) ?? ImmutableSet<string>()).add(reservationId),
    ),
  };
}

export function evolve(state: ParkingLotState, event: ParkingLotEvent): ParkingLotState {
  if (event.type === "ParkingLotRegistered") return state.kind === "registered" ? state : registered(event); // registered once; its history stays
  if (state.kind !== "registered") return state;
  switch (event.type) {
    case "ParkingReserved":
      return reserved(state, event);
    case "ReservationCanceled": {
      const record = state.reservations.get(event.data.reservationId);
      if (record?.status !== "RESERVED" && record?.status !== "CHECKED_IN") return state;
      const lot = release(state, event.data.reservationId, record, ms(event.data.canceledAt));
      return {
        ...lot,
        reservations: lot.reservations.set(event.data.reservationId, { ...record, status: "CANCELED" }),
      };
    }
    case "ReservationCheckedIn": {
      const { reservationId, checkedInAt } = event.data;
      const record = state.reservations.get(reservationId);
      if (record?.status !== "RESERVED") return state;
      return {
        ...state,
        reservations: state.reservations.set(reservationId, { ...record, status: "CHECKED_IN" }),
        inLot: state.inLot.set(reservationId, {
          endsAt: record.endsAt ? ms(record.endsAt) : Number.POSITIVE_INFINITY,
          checkedInAt: ms(checkedInAt),
        }),
      };
    }
    case "ReservationCheckedOut": {
      const record = state.reservations.get(event.data.reservationId);
      if (record?.status !== "CHECKED_IN") return state;
      const lot = release(state, event.data.reservationId, record, ms(event.data.checkedOutAt));
      return {
        ...lot,
        reservations: lot.reservations.set(event.data.reservationId, { ...record, status: "COMPLETED" }),
      };
    }
    case "ReservationNoShow": {
      const { reservationId } = event.data;
      const record = state.reservations.get(reservationId);
      if (record?.status !== "RESERVED" || !record.startsAt) return state;
      // It held its spot over its window all the same (it stays in the index until pruned), but no
      // longer counts against its customer; a window pruned before this was counted out then.
      const indexed = isIndexed(state.occupancy, reservationId, ms(record.startsAt));
      return {
        ...state,
        reservations: state.reservations.set(reservationId, { ...record, status: "NO_SHOW" }),
        byCustomer: forget(state.byCustomer, record.customerId, reservationId),
        activeReservations: state.activeReservations - (indexed ? 1 : 0),
      };
    }
    case "ParkingLotClosed": {
      const now = ms(event.data.closedAt);
      const lot = advance(state, now);
      const { closureId, from, until } = event.data;
      return {
        ...lot,
        // Ended closures go once begun, but not before a window starting within the skew can no
        // longer reach them; one not begun stays until it is (its bookings must be canceled).
        closures: lot.closures
          .filter((c) => !c.began || c.until > now - WINDOW_RULES.maxSkewMs)
          .push({ closureId, from: ms(from), until: ms(until), began: false }),
      };
    }
    case "ParkingLotClosureBegan": {
      const { closureId } = event.data;
      return {
        ...state,
        closures: state.closures.map((c) => (c.closureId === closureId ? { ...c, began: true } : c)),
      };
    }
    case "ParkingLotCapacityChanged":
      return { ...state, capacity: event.data.capacity };
  }
}

export const fold = (
  events: Iterable<ParkingLotEvent>,
  from: ParkingLotState = initialState,
): ParkingLotState => {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
};

/**
 * The lot without its ended reservations: those canceled, checked out, no-shows or whose window is
 * over, once they have left every index a decision reads (the hour index drops a window a day after
 * its hour; a checked-out window stays there, cut short, until then). No command can change such a
 * reservation any more, so all a decision needs of it is its record, to answer a command that names
 * it (a retried reservation, a cancel): the caller keeps `ended` elsewhere and hands the records
 * back with `recall` when a command names one. What is left is what can still hold a spot: the
 * state no longer grows with the lot's history. Pure; deciding on `recall(forgotten, records of
 * the ids a command names)` decides exactly like deciding on the whole state.
 */
export function forgetEnded(state: ParkingLotState): {
  readonly state: ParkingLotState;
  readonly ended: readonly (readonly [string, ReservationRecord])[];
} {
  if (state.kind !== "registered") return { state, ended: [] };
  const kept: [string, ReservationRecord][] = [];
  const ended: [string, ReservationRecord][] = [];
  for (const entry of state.reservations.entries()) {
    (hasEnded(state, entry[0], entry[1]) ? ended : kept).push(entry);
  }
  if (ended.length === 0) return { state, ended };
  let byCustomer = state.byCustomer;
  for (const [id, record] of ended) byCustomer = forget(byCustomer, record.customerId, id);
  return {
    state: {
      ...state,
      reservations: ReservationBook.of(kept),
      byCustomer,
      archived: state.archived + ended.length,
    },
    ended,
  };
}

/** Whether no command can change the reservation any more and no index holds it. */
function hasEnded(lot: RegisteredLot, id: string, record: ReservationRecord): boolean {
  if (record.status === "CHECKED_IN" || lot.inLot.has(id)) return false; // in the lot until checked out
  if (lot.openEnded.has(id)) return false;
  if (record.startsAt && isIndexed(lot.occupancy, id, ms(record.startsAt))) return false;
  // A window over unused is NO_SHOW, but until the scheduler records it (RecordNoShow) that command
  // can still change it: it stays until then.
  if (record.status === "RESERVED") return false;
  // Open-ended and not holding: canceled or checked out. A window out of the index: canceled,
  // checked out, or a recorded no-show, over a day ago and more.
  return true;
}

/**
 * The state with these records of ended reservations back in it (those it left out: see
 * `forgetEnded`), for deciding a command that names one of them. Records it holds already stay.
 */
export function recall(
  state: ParkingLotState,
  records: Iterable<readonly [string, ReservationRecord]>,
): ParkingLotState {
  if (state.kind !== "registered") return state;
  let reservations = state.reservations;
  for (const [id, record] of records) if (!reservations.has(id)) reservations = reservations.set(id, record);
  return reservations === state.reservations ? state : { ...state, reservations };
}

/** The reservation ids a command names that the state does not hold, if it has left some out. */
export function namedReservationsMissing(command: ParkingLotCommand, state: ParkingLotState): string[] {
  if (state.kind !== "registered" || state.archived === 0) return [];
  switch (command.type) {
    case "ReserveParking":
    case "CancelReservation":
    case "CheckIn":
    case "CheckOut":
    case "RecordNoShow":
      return state.reservations.has(command.reservationId) ? [] : [command.reservationId];
    default:
      return [];
  }
}

/** Spots not held by any reservation right now (open-ended ones, windows covering `now`, cars in the lot). */
export const availableSpots = (state: RegisteredLot, now: number = Date.now()): number =>
  state.capacity - busiest(state, now, now + 1, now).held;

/** The status of one reservation of the lot at `now`, if the lot knows it. */
export function reservationStatus(
  state: ParkingLotState,
  reservationId: string,
  now: number,
): ReservationStatus | undefined {
  if (state.kind !== "registered") return undefined;
  const record = state.reservations.get(reservationId);
  return record && statusIn(state, reservationId, record, now);
}

/** When an open-ended booking of the lot must leave (its next closure begins), if one is ahead. */
export function mustLeaveBy(state: ParkingLotState, reservationId: string): string | undefined {
  if (state.kind !== "registered") return undefined;
  const madeAt = state.openEnded.get(reservationId);
  if (madeAt === undefined || state.inLot.has(reservationId)) return undefined;
  const at = leaveAt(state, madeAt);
  return at === undefined ? undefined : iso(at);
}

/** Derived from the decider's own event union, so a new event type cannot be forgotten here. */
const LOT_EVENT_TYPES: Record<ParkingLotEvent["type"], true> = {
  ParkingLotRegistered: true,
  ParkingReserved: true,
  ReservationCanceled: true,
  ReservationCheckedIn: true,
  ReservationCheckedOut: true,
  ReservationNoShow: true,
  ParkingLotClosed: true,
  ParkingLotClosureBegan: true,
  ParkingLotCapacityChanged: true,
};
export const PARKING_LOT_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(LOT_EVENT_TYPES));

const LOT_STREAM_PREFIX = "parkingLot-";
export const parkingLotStream = (parkingLotId: string): string => `${LOT_STREAM_PREFIX}${parkingLotId}`;
/** The lot whose stream this is, or undefined for any other stream. */
export const parkingLotOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(LOT_STREAM_PREFIX) ? streamId.slice(LOT_STREAM_PREFIX.length) : undefined;
