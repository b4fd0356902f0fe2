import { Map as ImmutableMap } from "immutable";
import type { PaymentTerms } from "../../schemas/common.js";
import { stampOf } from "../../schemas/event-stamps.js";
import type { EventOfType } from "../../schemas/events.js";
import type { LotPlace } from "../../schemas/place.js";
import { isBooked, WINDOW_RULES } from "../../schemas/reservation-time.js";
import { addWindow, emptyOccupancy, isIndexed, pruneEnded, removeWindow } from "./occupancy.js";
import { openedState } from "./periods.js";
import { amended, bookedRecord, holderKeyOf, plateKeyOf } from "./reservation-book.js";
import { definedOf, ms } from "./rules.js";
import {
  DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
  type OldLotPaymentFact,
  type ParkingLotEvent,
  type ParkingLotState,
  type PaymentAsked,
  type RegisteredLot,
  type ReservationRecord,
} from "./state.js";
import { lotOfSummary, NO_BOOKINGS } from "./summary.js";
import { paymentTermsOf } from "./terms.js";

/** What each event makes of the lot's state (shared by every command and every load). */

/** Forgets the windows that have ended by `now` from the index and the per-customer sets. */
export function advance(lot: RegisteredLot, now: number): RegisteredLot {
  const { occupancy, ended } = pruneEnded(lot.occupancy, now);
  if (occupancy === lot.occupancy) return lot;
  let holders: Holders = lot;
  let activeReservations = lot.activeReservations;
  for (const id of ended) {
    const record = lot.reservations.get(id);
    // A car still in the lot stays active (and its customer's) until it checks out.
    if (!record || lot.inLot.has(id)) continue;
    holders = forget(holders, id, record);
    if (isBooked(record.status)) activeReservations--;
  }
  return { ...lot, occupancy, byCustomer: holders.byCustomer, byPlate: holders.byPlate, activeReservations };
}

/** The indexes of a lot's reservations that may still be active: by customer, and by plate. */
type Holders = Pick<RegisteredLot, "byCustomer" | "byPlate">;

/** The holder indexes without reservation `id` (its record says under which keys, unopened: reservation-book.ts). */
export const forget = (holders: Holders, id: string, record: ReservationRecord): Holders => ({
  byCustomer: holders.byCustomer.remove(holderKeyOf(record), id),
  byPlate: holders.byPlate.remove(plateKeyOf(record), id),
});

/**
 * A reservation stops holding its spot at `at` (canceled, checked out): out of every holder set.
 * A window a car used keeps, in the index, the part it used ([startsAt, min(endsAt, at))), so a
 * window starting within the skew in the past stays honest; an unused one leaves the index.
 */
export function release(
  lot: RegisteredLot,
  id: string,
  record: ReservationRecord,
  at: number,
): RegisteredLot {
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
    checkOutRates: lot.checkOutRates.delete(id),
    inLot: lot.inLot.delete(id),
    ...forget(lot, id, record),
    activeReservations: lot.activeReservations - (wasActive ? 1 : 0),
  };
}

/** What a newly registered lot's state is: its terms, and nothing else yet. */
export function registered({ data }: EventOfType<"ParkingLotRegistered">): RegisteredLot {
  const { name, capacity, hourlyRate, couponRule } = data;
  return lotOfSummary(data.parkingLotId, {
    terms: {
      name,
      capacity,
      ...definedOf({ hourlyRate, couponRule }),
      maxActivePerCustomer: data.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
      ...placeOf(data),
    },
    ...NO_BOOKINGS,
    closures: [],
    heldFromHour: emptyOccupancy(ms(data.registeredAt)).prunedBefore,
    activeReservations: 0,
    forgotten: 0,
    registeredAt: ms(data.registeredAt),
    canceled: 0,
  });
}

/** The place an event states, nothing when it states none. */
function placeOf(data: LotPlace): { place?: LotPlace } {
  const place = definedOf({ location: data.location, address: data.address, timeZone: data.timeZone });
  return Object.keys(place).length > 0 ? { place } : {};
}

/** What a booking asked of its payment: its ParkingReserved's hold (not its saved method), and the terms. */
export const askedOf = (
  { amount, currency, holdUntil }: NonNullable<EventOfType<"ParkingReserved">["data"]["payment"]>,
  terms: PaymentTerms,
): PaymentAsked => ({ amount, currency, holdUntil, terms });

export function reserved(state: RegisteredLot, event: EventOfType<"ParkingReserved">): RegisteredLot {
  if (state.reservations.has(event.data.reservationId)) return state;
  const { reservationId, customerId, carNumber, amount, startsAt, endsAt, reservedAt, hourlyRate, payment } =
    event.data;
  const lot = advance(state, ms(reservedAt));
  const window = startsAt && endsAt ? { start: ms(startsAt), end: ms(endsAt) } : undefined;
  // Read sealed (lot-loader.ts), its customer and car stay so until read (reservation-book.ts).
  const record = bookedRecord(customerId, carNumber, {
    amount,
    ...(startsAt && endsAt ? { startsAt, endsAt } : {}),
    // A booking asked to pay holds its spot while it waits for its payment.
    status: payment ? "PENDING_PAYMENT" : "RESERVED",
  });
  return {
    ...lot,
    activeReservations: lot.activeReservations + 1,
    reservations: lot.reservations.set(reservationId, record),
    openEnded: window ? lot.openEnded : lot.openEnded.set(reservationId, ms(reservedAt)),
    checkOutRates:
      hourlyRate === undefined || window
        ? lot.checkOutRates
        : lot.checkOutRates.set(reservationId, hourlyRate),
    occupancy: window ? addWindow(lot.occupancy, reservationId, window) : lot.occupancy,
    byCustomer: lot.byCustomer.add(holderKeyOf(record), reservationId),
    byPlate: lot.byPlate.add(plateKeyOf(record), reservationId),
    paymentAsked: payment
      ? lot.paymentAsked.set(reservationId, askedOf(payment, paymentTermsOf(lot)))
      : lot.paymentAsked,
  };
}

/** The booking's payment was authorized (ReservationConfirmed): a booking waiting for it is RESERVED. */
function confirmed(lot: RegisteredLot, reservationId: string): RegisteredLot {
  const record = lot.reservations.get(reservationId);
  if (record?.status !== "PENDING_PAYMENT") return lot;
  const authorized = amended(record, { status: "RESERVED", paid: true });
  return { ...lot, reservations: lot.reservations.set(reservationId, authorized) };
}

/** A booking or a stay was canceled: its spot is free from then on. */
function canceled(
  state: RegisteredLot,
  { reservationId, canceledAt }: { reservationId: string; canceledAt: string },
): RegisteredLot {
  const record = state.reservations.get(reservationId);
  if (!record || !(isBooked(record.status) || record.status === "CHECKED_IN")) return state;
  const lot = release(state, reservationId, record, ms(canceledAt));
  const counted =
    lot.canceledReservations === undefined ? {} : { canceledReservations: lot.canceledReservations + 1 };
  return {
    ...lot,
    ...counted,
    reservations: lot.reservations.set(reservationId, amended(record, { status: "CANCELED" })),
  };
}

/** A car left: its spot is free from then on, and what the check-out priced and charged stays with the record. */
function checkedOut(state: RegisteredLot, event: EventOfType<"ReservationCheckedOut">): RegisteredLot {
  const record = state.reservations.get(event.data.reservationId);
  if (record?.status !== "CHECKED_IN") return state;
  const { reservationId, checkedOutAt, amount, overstayCharge } = event.data;
  const lot = release(state, reservationId, record, ms(checkedOutAt));
  // A retried check-out answers what the first recorded.
  const completed = amended(record, {
    status: "COMPLETED",
    ...(amount !== undefined ? { amount } : {}),
    ...(overstayCharge !== undefined && overstayCharge > 0 ? { overstayCharge } : {}),
  });
  return { ...lot, reservations: lot.reservations.set(reservationId, completed) };
}

export function evolve(state: ParkingLotState, event: ParkingLotEvent | OldLotPaymentFact): ParkingLotState {
  // An authorization an older lot stream recorded (no ReservationConfirmed follows it) confirms
  // the booking as the lot's own fact does.
  if (event.type === "PaymentAuthorized")
    return state.kind === "registered" ? confirmed(state, event.data.reservationId) : state;
  if (event.type === "ParkingLotRegistered")
    return state.kind === "registered"
      ? state
      : { ...registered(event), periodOpenedAt: ms(event.data.registeredAt) }; // registered once; its history stays
  if (event.type === "LotPeriodOpened") return openedState(event.data); // a period starts from its opening
  if (state.kind !== "registered") return state;
  return evolveLot(state, event);
}

/** A booked car came in: it holds its spot from now until it leaves, however long past its window. */
function checkedIn(
  state: RegisteredLot,
  { reservationId, checkedInAt }: { reservationId: string; checkedInAt: string },
): RegisteredLot {
  const record = state.reservations.get(reservationId);
  if (record?.status !== "RESERVED") return state;
  return {
    ...state,
    reservations: state.reservations.set(reservationId, amended(record, { status: "CHECKED_IN" })),
    inLot: state.inLot.set(reservationId, {
      endsAt: record.endsAt ? ms(record.endsAt) : Number.POSITIVE_INFINITY,
      checkedInAt: ms(checkedInAt),
    }),
  };
}

/** When a reservation ended (canceled, checked out, a no-show): what the next period's opening keeps. */
function notedEnded(
  lot: RegisteredLot,
  event: EventOfType<"ReservationCanceled" | "ReservationCheckedOut" | "ReservationNoShow">,
): RegisteredLot {
  const endedAt = lot.endedAt ?? ImmutableMap<string, number>();
  const id = event.data.reservationId;
  if (endedAt.has(id) || !lot.reservations.has(id)) return lot;
  return { ...lot, endedAt: endedAt.set(id, ms(stampOf(event))) };
}

/** A booked window went unused: it held its spot all the same (it stays in the index until pruned). */
function noShow(state: RegisteredLot, reservationId: string): RegisteredLot {
  const record = state.reservations.get(reservationId);
  if (!record || !isBooked(record.status) || !record.startsAt) return state;
  // It no longer counts against its customer; a window pruned before this was counted out then.
  const indexed = isIndexed(state.occupancy, reservationId, ms(record.startsAt));
  return {
    ...state,
    reservations: state.reservations.set(reservationId, amended(record, { status: "NO_SHOW" })),
    ...forget(state, reservationId, record),
    activeReservations: state.activeReservations - (indexed ? 1 : 0),
  };
}

function evolveLot(state: RegisteredLot, event: ParkingLotEvent): ParkingLotState {
  switch (event.type) {
    case "ParkingLotRegistered":
    case "LotPeriodOpened":
    case "LotBooksClosed": // the state the next period opens with is this one's
      return state;
    case "ParkingReserved":
      return reserved(state, event);
    case "ReservationCanceled":
      return notedEnded(canceled(state, event.data), event);
    case "ReservationCheckedIn":
      return checkedIn(state, event.data);
    case "ReservationCheckedOut":
      return notedEnded(checkedOut(state, event), event);
    case "ReservationNoShow":
      return notedEnded(noShow(state, event.data.reservationId), event);
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
    case "ParkingLotRateChanged":
      return { ...state, hourlyRate: event.data.hourlyRate };
    case "ParkingLotCustomerLimitChanged":
      return { ...state, maxActivePerCustomer: event.data.maxActivePerCustomer };
    case "ParkingLotPaymentTermsChanged":
      return { ...state, paymentTerms: event.data.terms };
    case "ParkingLotPlaceChanged": {
      // The whole place: what the event leaves out, the lot no longer has.
      const { place: _old, ...rest } = state;
      return { ...rest, ...placeOf(event.data) };
    }
    case "ParkingLotCouponRuleChanged":
      return { ...state, couponRule: event.data.couponRule };
    case "ReservationConfirmed":
      return confirmed(state, event.data.reservationId);
    case "ParkingLotGateConfidenceChanged":
      return { ...state, gateConfidenceThreshold: event.data.gateConfidenceThreshold };
    case "DriveUpAdmitted":
      return state; // the ParkingReserved and ReservationCheckedIn appended with it are the stay
    default: {
      // Every lot event has its case: a new one without one fails to compile here.
      const _: never = event;
      return state;
    }
  }
}
