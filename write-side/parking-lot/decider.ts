import { Map as ImmutableMap, Set as ImmutableSet, List } from "immutable";
import type {
  CancelReservation,
  ChangeCapacity,
  CheckIn,
  CheckOut,
  CloseParkingLot,
  ParkingLotCommand,
  RegisterParkingLot,
  ReserveParking,
} from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";
import { quote } from "../../schemas/pricing.js";
import {
  addWindow,
  emptyOccupancy,
  type Interval,
  isIndexed,
  type Occupancy,
  overlapping,
  peak,
  pruneEnded,
  removeWindow,
  WINDOW_RULES,
} from "./occupancy.js";
import { ReservationBook } from "./reservation-book.js";

/**
 * The parking-lot aggregate as a decider: pure functions, no I/O.
 * One lot's whole life is one stream, so this state is the consistency boundary for capacity.
 *
 * Capacity at every instant: open-ended reservations hold a spot from when they were made until
 * canceled or checked out, so each active one counts at every future instant; windowed ones hold
 * [startsAt, endsAt) and live in the `occupancy` index (see occupancy.ts), from which ended windows
 * are pruned as time passes.
 */

export type ParkingLotEvent =
  | EventOfType<"ParkingLotRegistered">
  | EventOfType<"ParkingReserved">
  | EventOfType<"ReservationCanceled">
  | EventOfType<"ReservationCheckedIn">
  | EventOfType<"ReservationCheckedOut">
  | EventOfType<"ParkingLotClosed">
  | EventOfType<"ParkingLotCapacityChanged">;

export type ReservationStatus = "RESERVED" | "CHECKED_IN" | "COMPLETED" | "CANCELED";

export interface ReservationRecord {
  readonly customerId: string;
  readonly carNumber: string;
  readonly amount: number;
  readonly startsAt?: string;
  readonly endsAt?: string;
  /** As recorded by events; a window that has ended reads COMPLETED through `statusAt`. */
  readonly status: ReservationStatus;
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
      /** Reservations holding or going to hold a spot (open-ended active + windowed not yet pruned). */
      readonly activeReservations: number;
      /**
       * Every reservation id the lot ever accepted with what it asked for, so that an ended id still
       * answers (cancel → 409, a retried Idempotency-Key → the same answer). This is the one part
       * that grows with history: a small record per id (see docs/domain.md, "Ended reservations").
       */
      readonly reservations: ReservationBook;
      /** Active open-ended reservations: each holds a spot at every instant from now on. */
      readonly openEnded: ImmutableSet<string>;
      /** Windowed reservations that may still hold a spot, by the hour they start. */
      readonly occupancy: Occupancy;
      /** Per customer, their reservations that may still be active (bounded by the limit + pruning lag). */
      readonly byCustomer: ImmutableMap<string, ImmutableSet<string>>;
      /** Closures that have not ended more than the skew ago (the rest is dropped at the next closure). */
      readonly closures: List<{ readonly from: number; readonly until: number }>;
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
  | { readonly code: "PriceChanged"; readonly parkingLotId: string; readonly quote: number }
  | { readonly code: "TooManyActiveReservations"; readonly parkingLotId: string; readonly limit: number }
  | {
      readonly code: "LotClosed";
      readonly parkingLotId: string;
      readonly from: string;
      readonly until: string;
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

export { quote } from "../../schemas/pricing.js";

/** A reservation's status at an instant: a window that has ended is COMPLETED. */
export function statusAt(record: ReservationRecord, now: number): ReservationStatus {
  if (
    (record.status === "RESERVED" || record.status === "CHECKED_IN") &&
    record.endsAt &&
    ms(record.endsAt) <= now
  )
    return "COMPLETED";
  return record.status;
}

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

/** Checks a window against the documented bounds; undefined when it is fine. */
function windowProblem(startsAt: number, endsAt: number, now: number): Rejection | undefined {
  const invalid = (field: string, detail: string): Rejection => ({ code: "InvalidWindow", field, detail });
  if (Number.isNaN(startsAt)) return invalid("startsAt", "is not a valid instant");
  if (Number.isNaN(endsAt)) return invalid("endsAt", "is not a valid instant");
  if (startsAt < now - WINDOW_RULES.maxSkewMs) return invalid("startsAt", "is in the past");
  if (startsAt > now + WINDOW_RULES.maxLeadMs) return invalid("startsAt", "is more than 90 days ahead");
  if (endsAt <= startsAt) return invalid("endsAt", "must be after startsAt");
  if (endsAt - startsAt > WINDOW_RULES.maxLengthMs)
    return invalid("endsAt", "makes the window longer than 24 hours");
  return undefined;
}

/**
 * The spots held at the busiest instant of [from, until), open-ended ones included. Every window
 * in the index holds its spot over its interval: a canceled one is taken out (`release`), and a
 * checked-out one is kept cut short at its check-out, since it held the spot until then (which
 * matters to a window starting up to the skew in the past). So the windows found are counted as
 * they are, without looking up each one's record.
 */
function busiest(lot: RegisteredLot, from: number, until: number) {
  const windows = overlapping(lot.occupancy, from, until).map(([, interval]) => interval);
  const top = peak(windows, from, until);
  return { held: top.held + lot.openEnded.size, at: top.at };
}

function activeCount(lot: RegisteredLot, customerId: string, now: number): number {
  let count = 0;
  for (const id of lot.byCustomer.get(customerId) ?? []) {
    const record = lot.reservations.get(id);
    const status = record && statusAt(record, now);
    if (status === "RESERVED" || status === "CHECKED_IN") count++;
  }
  return count;
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
  let window: Interval | undefined;
  if (command.startsAt !== undefined || command.endsAt !== undefined) {
    if (command.startsAt === undefined)
      return reject({ code: "InvalidWindow", field: "startsAt", detail: "is required with endsAt" });
    if (command.endsAt === undefined)
      return reject({ code: "InvalidWindow", field: "endsAt", detail: "is required with startsAt" });
    const start = ms(command.startsAt);
    const end = ms(command.endsAt);
    const problem = windowProblem(start, end, now);
    if (problem) return reject(problem);
    window = { start, end };
  }
  let amount: number;
  if (state.hourlyRate !== undefined && window) {
    amount = quote(state.hourlyRate, window.start, window.end);
    if (command.amount !== undefined && command.amount !== amount)
      return reject({ code: "PriceChanged", parkingLotId, quote: amount });
  } else {
    if (command.amount === undefined) return reject({ code: "AmountRequired", parkingLotId });
    amount = command.amount;
  }
  if (amount <= 0) return reject({ code: "AmountNotPositive", parkingLotId });
  // An open-ended reservation holds a spot from now on, forever until ended.
  const from = window ? window.start : now;
  const until = window ? window.end : Number.POSITIVE_INFINITY;
  // Every closure that may overlap: a window may start up to the skew in the past, so a closure
  // that ended in those minutes still refuses it (the state keeps closures that long).
  const closure = state.closures.find((c) => c.from < until && c.until > from);
  if (closure)
    return reject({ code: "LotClosed", parkingLotId, from: iso(closure.from), until: iso(closure.until) });
  if (activeCount(state, command.customerId, now) >= state.maxActivePerCustomer)
    return reject({ code: "TooManyActiveReservations", parkingLotId, limit: state.maxActivePerCustomer });
  if (busiest(state, from, until).held >= state.capacity)
    return reject({ code: "LotFull", parkingLotId, capacity: state.capacity });
  return accept({
    type: "ParkingReserved",
    data: {
      reservationId: command.reservationId,
      parkingLotId,
      customerId: command.customerId,
      carNumber: command.carNumber,
      amount,
      reservedAt: command.now,
      ...(window ? { startsAt: iso(window.start), endsAt: iso(window.end) } : {}),
    },
  });
}

function cancel(command: CancelReservation, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const reservation = state.reservations.get(command.reservationId);
  // Someone else's reservation is answered exactly like a missing one: existence is not revealed.
  if (!reservation || (command.requestedBy !== undefined && reservation.customerId !== command.requestedBy)) {
    return reject({
      code: "ReservationNotFound",
      parkingLotId: command.parkingLotId,
      reservationId: command.reservationId,
    });
  }
  const status = statusAt(reservation, ms(command.now));
  if (status === "CANCELED") return accept(); // canceling twice changes nothing
  if (status === "COMPLETED")
    return reject({
      code: "ReservationNotActive",
      parkingLotId: command.parkingLotId,
      reservationId: command.reservationId,
      status,
    });
  return accept({
    type: "ReservationCanceled",
    data: {
      reservationId: command.reservationId,
      parkingLotId: command.parkingLotId,
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
  const status = statusAt(record, now);
  const { parkingLotId, reservationId } = command;
  if (status === "CHECKED_IN") return accept(); // checking in twice changes nothing
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
  // A checked-in car may leave after its window ended (it overstayed): that is still a check-out.
  if (record.status === "CHECKED_IN")
    return accept({
      type: "ReservationCheckedOut",
      data: {
        reservationId,
        parkingLotId,
        customerId: record.customerId,
        checkedOutAt: command.now,
        ...windowOf(record),
      },
    });
  if (record.status === "COMPLETED") return accept(); // checking out twice changes nothing
  if (record.status === "RESERVED" && statusAt(record, ms(command.now)) === "RESERVED")
    return reject({ code: "NotCheckedIn", parkingLotId, reservationId });
  return reject({
    code: "ReservationNotActive",
    parkingLotId,
    reservationId,
    status: statusAt(record, ms(command.now)),
  });
}

function close(command: CloseParkingLot, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const now = ms(command.now);
  const from = ms(command.from);
  const until = ms(command.until);
  if (Number.isNaN(from))
    return reject({ code: "InvalidWindow", field: "from", detail: "is not a valid instant" });
  if (Number.isNaN(until))
    return reject({ code: "InvalidWindow", field: "until", detail: "is not a valid instant" });
  if (until <= from) return reject({ code: "InvalidWindow", field: "until", detail: "must be after from" });
  if (until <= now) return reject({ code: "InvalidWindow", field: "until", detail: "is in the past" });
  if (until - from > WINDOW_RULES.maxClosureMs)
    return reject({ code: "InvalidWindow", field: "until", detail: "makes the closure longer than 31 days" });
  if (from > now + WINDOW_RULES.maxLeadMs)
    return reject({ code: "InvalidWindow", field: "from", detail: "is more than 90 days ahead" });
  // Reservations that overlap the closure and have not started being used: canceled in the same
  // append. A car already checked in is not canceled out of the lot (docs/domain.md).
  const hit = [
    ...overlapping(state.occupancy, Math.max(from, now), until).map(([id]) => id),
    ...state.openEnded, // open-ended ones hold a spot at every future instant
  ].filter((id) => {
    const record = state.reservations.get(id);
    return record !== undefined && statusAt(record, now) === "RESERVED";
  });
  hit.sort();
  return accept(
    {
      type: "ParkingLotClosed",
      data: {
        closureId: command.closureId,
        parkingLotId: command.parkingLotId,
        from: iso(from),
        until: iso(until),
        reason: command.reason,
        closedAt: command.now,
      },
    },
    ...hit.map(
      (reservationId): ParkingLotEvent => ({
        type: "ReservationCanceled",
        data: {
          reservationId,
          parkingLotId: command.parkingLotId,
          customerId: state.reservations.get(reservationId)?.customerId ?? "",
          reason: "lot-closed",
          canceledAt: command.now,
          ...windowOf(state.reservations.get(reservationId)),
        },
      }),
    ),
  );
}

function changeCapacity(command: ChangeCapacity, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  if (command.capacity === state.capacity) return accept();
  if (command.capacity < state.capacity) {
    const now = ms(command.now);
    const top = busiest(state, now, Number.POSITIVE_INFINITY);
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
    if (!record) continue;
    byCustomer = forget(byCustomer, record.customerId, id);
    if (record.status === "RESERVED" || record.status === "CHECKED_IN") activeReservations--;
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

/** A reservation stops holding its spot (canceled, checked out): out of the index from `at` on. */
function release(lot: RegisteredLot, id: string, record: ReservationRecord, at: number): RegisteredLot {
  let occupancy = lot.occupancy;
  if (record.startsAt && record.endsAt) {
    const start = ms(record.startsAt);
    // A car checking out long after its window: the window was pruned when it ended, and it was
    // counted out then. Releasing it again would count it out twice.
    if (!isIndexed(occupancy, id, start)) return lot;
    occupancy = removeWindow(occupancy, id, start);
    // It held its spot until now: keep that part, so a window overlapping the past stays honest.
    const end = Math.min(ms(record.endsAt), at);
    if (end > start && record.status === "CHECKED_IN") occupancy = addWindow(occupancy, id, { start, end });
  }
  return {
    ...lot,
    occupancy,
    openEnded: lot.openEnded.delete(id),
    byCustomer: forget(lot.byCustomer, record.customerId, id),
    activeReservations: lot.activeReservations - 1,
  };
}

export function evolve(state: ParkingLotState, event: ParkingLotEvent): ParkingLotState {
  if (event.type === "ParkingLotRegistered") {
    if (state.kind === "registered") return state; // a lot is registered once; its history stays
    return {
      kind: "registered",
      parkingLotId: event.data.parkingLotId,
      name: event.data.name,
      capacity: event.data.capacity,
      ...(event.data.hourlyRate !== undefined ? { hourlyRate: event.data.hourlyRate } : {}),
      maxActivePerCustomer: event.data.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
      activeReservations: 0,
      reservations: ReservationBook.empty(),
      openEnded: ImmutableSet(),
      occupancy: emptyOccupancy(ms(event.data.registeredAt)),
      byCustomer: ImmutableMap(),
      closures: List(),
      archived: 0,
    };
  }
  if (state.kind !== "registered") return state;
  switch (event.type) {
    case "ParkingReserved": {
      if (state.reservations.has(event.data.reservationId)) return state;
      const { reservationId, customerId, carNumber, amount, startsAt, endsAt } = event.data;
      const lot = advance(state, ms(event.data.reservedAt));
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
        openEnded: startsAt && endsAt ? lot.openEnded : lot.openEnded.add(reservationId),
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
    case "ReservationCanceled": {
      const record = state.reservations.get(event.data.reservationId);
      if (!record || record.status === "CANCELED" || record.status === "COMPLETED") return state;
      const lot = release(
        state,
        event.data.reservationId,
        { ...record, status: "RESERVED" },
        ms(event.data.canceledAt),
      );
      return {
        ...lot,
        reservations: lot.reservations.set(event.data.reservationId, { ...record, status: "CANCELED" }),
      };
    }
    case "ReservationCheckedIn": {
      const record = state.reservations.get(event.data.reservationId);
      if (record?.status !== "RESERVED") return state;
      return {
        ...state,
        reservations: state.reservations.set(event.data.reservationId, { ...record, status: "CHECKED_IN" }),
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
    case "ParkingLotClosed": {
      const now = ms(event.data.closedAt);
      const lot = advance(state, now);
      return {
        ...lot,
        // Ended closures go, but not before a window starting within the skew can no longer reach them.
        closures: lot.closures
          .filter((c) => c.until > now - WINDOW_RULES.maxSkewMs)
          .push({ from: ms(event.data.from), until: ms(event.data.until) }),
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
 * The lot without its ended reservations: those canceled, checked out or whose window is over,
 * once they have left every index a decision reads (the hour index drops a window a day after its
 * hour; a checked-out window stays there, cut short, until then). No command can change such a
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
  if (record.status === "CHECKED_IN") return false; // in the lot until checked out, however late
  if (lot.openEnded.has(id)) return false;
  if (record.startsAt && isIndexed(lot.occupancy, id, ms(record.startsAt))) return false;
  // Open-ended and not holding: canceled or checked out. A window out of the index: canceled,
  // or over (checked out or not) a day ago and more.
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
      return state.reservations.has(command.reservationId) ? [] : [command.reservationId];
    default:
      return [];
  }
}

/** Spots not held by any reservation right now (open-ended ones and windows covering `now`). */
export const availableSpots = (state: RegisteredLot, now: number = Date.now()): number =>
  state.capacity - busiest(state, now, now + 1).held;

/** The status of one reservation of the lot at `now`, if the lot knows it. */
export function reservationStatus(
  state: ParkingLotState,
  reservationId: string,
  now: number,
): ReservationStatus | undefined {
  if (state.kind !== "registered") return undefined;
  const record = state.reservations.get(reservationId);
  return record && statusAt(record, now);
}

/** Derived from the decider's own event union, so a new event type cannot be forgotten here. */
const LOT_EVENT_TYPES: Record<ParkingLotEvent["type"], true> = {
  ParkingLotRegistered: true,
  ParkingReserved: true,
  ReservationCanceled: true,
  ReservationCheckedIn: true,
  ReservationCheckedOut: true,
  ParkingLotClosed: true,
  ParkingLotCapacityChanged: true,
};
export const PARKING_LOT_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(LOT_EVENT_TYPES));

const LOT_STREAM_PREFIX = "parkingLot-";
export const parkingLotStream = (parkingLotId: string): string => `${LOT_STREAM_PREFIX}${parkingLotId}`;
/** The lot whose stream this is, or undefined for any other stream. */
export const parkingLotOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(LOT_STREAM_PREFIX) ? streamId.slice(LOT_STREAM_PREFIX.length) : undefined;
