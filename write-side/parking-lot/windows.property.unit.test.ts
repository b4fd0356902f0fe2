import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chargeMinimum } from "../../schemas/charge-minimums.js";
import type { ParkingLotCommand, ReserveParking } from "../../schemas/commands.js";
import { DEFAULT_PAYMENT_TERMS, type PaymentTerms } from "../../schemas/common.js";
import { quote } from "../../schemas/pricing.js";
import { openEndedStayPrice, type ReservationStatus, WINDOW_RULES } from "../../schemas/reservation-time.js";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import { fold, fromPlain, plainOf, throughSummary } from "../../test-support/lot-state.js";
import {
  DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
  type DecideContext,
  type Decision,
  decide,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
  type Rejection,
  reservationStatus,
} from "./decider.js";
import type { Occupancy } from "./occupancy.js";

/** How many windows the occupancy index holds. */
const windowCount = (occupancy: Occupancy): number =>
  occupancy.buckets.reduce((sum, bucket) => sum + bucket.size, 0);

/*
 * Time windows, property by property, against a dead-simple reference model of occupancy over time.
 *
 * Random command sequences on one lot run through decide + evolve the way the command handler
 * does, with a clock that moves on before each command (by nothing, minutes, quarter hours, hours
 * or days, so windows start, end and get pruned): windowed reservations on a quarter-hour grid
 * over a few days plus every documented bound (length 24 h exactly and just over, lead 90 days
 * exactly and just over, a start 5 minutes in the past and just over), open-ended reservations,
 * retries of earlier reservations, cancels, check-ins, check-outs, closures and capacity changes;
 * and, with payments on in a third of the scenarios (issue 38), bookings that wait for their payment
 * (PENDING_PAYMENT, holding their spot as RESERVED ones do) until the provider authorizes
 * (AuthorizePayment) or declines them (FailPayment) or their hold runs out (ExpirePaymentHold),
 * a paid booking's end deciding its settlement in the same append.
 *
 * The model (`Model` below) keeps a plain list of reservations and the interval each holds a spot
 * over: a window [startsAt, endsAt) cut short at its check-out; an open-ended one from when it was
 * made until its check-out or cancel; a canceled window holds nothing (canceling gives the spot
 * back; only a check-out "frees the spot from that moment"). It decides by counting intervals at
 * instants (the count is piecewise constant, so the interval starts are enough): no index, no
 * pruning, nothing clever. Where the decider knowingly departs from that picture (only over the
 * minutes before `now` that a window starting within the skew covers), the model follows it and
 * says why: see KNOWN GAP below.
 */

/** Runs per property; FC_NUM_RUNS=5000 for a longer hunt. */
const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);
/** A failure's report replays with FC_SEED=<seed> FC_PATH=<path> (both printed by fast-check). */
const REPLAY = process.env.FC_SEED
  ? { seed: Number(process.env.FC_SEED), ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) }
  : {};

/** The seed of the generator's coverage check (see there). */
const COVERAGE_SEED = 20261127;

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();
const ms = (timestamp: string) => Date.parse(timestamp);
const SKEW = WINDOW_RULES.maxSkewMs;

const CUSTOMERS = ["CUST1", "CUST2", "CUST3"] as const;
/** Issue 38: a third of the scenarios run with payments on (a booking with something to pay waits for it). */
const HOLD_SECONDS = 900;
const PAYMENTS_ON: DecideContext = { payments: { on: true, holdSeconds: HOLD_SECONDS } };
/** What the scenario being run tells the decider (set by `execute`; fast-check runs one at a time). */
let context: DecideContext = {};
const RATES = [1000, 3000] as const;

/* ---------- the generator: steps that become commands once the clock is known ---------- */

interface Context {
  readonly now: number;
  /** Every ReserveParking sent so far, so that a step can retry one. */
  readonly sent: readonly ReserveParking[];
  /** The ids of the reservations booked so far, in order. */
  readonly booked: readonly string[];
  /** The ids of the closures created so far, in order. */
  readonly closures: readonly string[];
}
/** A command without its clock; undefined when it has nothing to act on (skipped). */
type Spec = (context: Context) => ParkingLotCommand | undefined;
interface Step {
  /** How far the clock moves on before this step. */
  readonly advance: number;
  readonly spec: Spec;
}

const advanceArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }).map((m) => m * MINUTE) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }).map((q) => q * QUARTER) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 12 }).map((h) => h * HOUR) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }).map((d) => d * DAY + 7 * MINUTE) },
);

/** Where a window starts, relative to the clock: mostly on the grid, sometimes on a bound. */
type StartSpec = (now: number) => number;
const onGrid = (now: number) => Math.floor(now / QUARTER) * QUARTER;
const startArb: fc.Arbitrary<StartSpec> = fc.oneof(
  // The current quarter hour (which may be within the skew, or further back) and the next ones.
  {
    weight: 6,
    arbitrary: fc.integer({ min: 0, max: 12 }).map((k) => (now: number) => onGrid(now) + k * QUARTER),
  },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 12, max: 3 * 96 }).map((k) => (now: number) => onGrid(now) + k * QUARTER),
  },
  { weight: 1, arbitrary: fc.constant((now: number) => onGrid(now) - QUARTER) },
  // Within the skew: minutes ago, or exactly its bound.
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((m) => (now: number) => now - m * MINUTE) },
  { weight: 1, arbitrary: fc.constant((now: number) => now - SKEW) },
  { weight: 1, arbitrary: fc.constant((now: number) => now - SKEW - 1) },
  { weight: 1, arbitrary: fc.constant((now: number) => now + WINDOW_RULES.maxLeadMs) },
  { weight: 1, arbitrary: fc.constant((now: number) => onGrid(now + WINDOW_RULES.maxLeadMs) + QUARTER) },
);
/** How long a window is: mostly quarter hours up to a day, sometimes a bound or worse. */
const lengthArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 12 }).map((q) => q * QUARTER) },
  { weight: 1, arbitrary: fc.constantFrom(WINDOW_RULES.minLengthMs - 1, 1) },
  { weight: 6, arbitrary: fc.integer({ min: 12, max: 96 }).map((q) => q * QUARTER) },
  { weight: 1, arbitrary: fc.constant(WINDOW_RULES.maxLengthMs) },
  { weight: 1, arbitrary: fc.constant(WINDOW_RULES.maxLengthMs + QUARTER) },
  { weight: 1, arbitrary: fc.constantFrom(0, -QUARTER) },
);

/** No amount, the lot's quote (at 1000/h without a rate), another amount, or none at all. */
type AmountSpec = "none" | "quote" | 5000 | 0;
const amountArb: fc.Arbitrary<AmountSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<AmountSpec>("none") },
  { weight: 5, arbitrary: fc.constant<AmountSpec>("quote") },
  { weight: 3, arbitrary: fc.constant<AmountSpec>(5000) },
  { weight: 1, arbitrary: fc.constant<AmountSpec>(0) },
);

/** A new id mostly; sometimes one already used (a conflict, or a retry if it asks the same). */
const reserveArb = (hourlyRate: number | undefined): fc.Arbitrary<Spec> =>
  fc
    .record({
      reservationId: fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: earlierIdArb },
      ),
      customerId: fc.option(fc.constantFrom(...CUSTOMERS), { freq: 3 }),
      carNumber: fc.constantFrom("10더8612", "AB-123-CD"),
      amount: amountArb,
      window: fc.option(fc.record({ start: startArb, length: lengthArb }), { freq: 4, nil: undefined }),
    })
    .map(
      ({ reservationId, customerId, carNumber, amount, window }): Spec =>
        ({ now, sent, booked }) => {
          const id = reservationId?.(booked) ?? `r${sent.length}`;
          const start = window?.start(now);
          const end = window && start !== undefined ? start + window.length : undefined;
          const offered =
            amount === "none"
              ? undefined
              : typeof amount === "number"
                ? amount
                : start !== undefined && end !== undefined && end > start
                  ? quote(hourlyRate ?? 1000, start, end)
                  : 5000;
          return {
            type: "ReserveParking",
            reservationId: id,
            parkingLotId: LOT,
            customerId: customerId ?? CUSTOMERS[sent.length % CUSTOMERS.length] ?? "CUST1",
            carNumber,
            ...(offered !== undefined ? { amount: offered } : {}),
            ...(start !== undefined && end !== undefined ? { startsAt: iso(start), endsAt: iso(end) } : {}),
            now: iso(now),
          };
        },
    );

/**
 * Which reservation a step is about, once the ids sent so far are known: mostly a recent one (so
 * that a check-in follows a booking, a check-out a check-in), sometimes any, rarely a stranger.
 */
type IdSpec = (booked: readonly string[]) => string;
const earlierIdArb: fc.Arbitrary<IdSpec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.nat().map((pick) => (booked: readonly string[]) => {
      const recent = Math.min(booked.length, 4);
      return booked[booked.length - 1 - (pick % Math.max(1, recent))] ?? "ghost";
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .nat()
      .map((pick) => (booked: readonly string[]) => booked[pick % Math.max(1, booked.length)] ?? "ghost"),
  },
  { weight: 1, arbitrary: fc.constant(() => "ghost") },
);

/** The very same reservation again, later (a client retrying its Idempotency-Key). */
const retryArb: fc.Arbitrary<Spec> = fc.nat().map(
  (pick): Spec =>
    ({ now, sent }) => {
      const earlier = sent[pick % Math.max(1, sent.length)];
      return earlier && { ...earlier, now: iso(now) };
    },
);

const onReservationArb = (type: "CancelReservation" | "CheckIn" | "CheckOut"): fc.Arbitrary<Spec> =>
  fc
    .record({
      reservationId: earlierIdArb,
      // Mostly an operator (anyone's); sometimes a customer: the booking's own, or any of them
      // (someone else's booking is refused). Without the owner's turn a customer's cancel of their
      // own checked-in car came up about 5 times in 1,200 runs, and none in about 1 run of 150.
      requestedBy: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant("owner" as const) },
        { weight: 1, arbitrary: fc.constantFrom(...CUSTOMERS) },
      ),
    })
    .map(
      ({ reservationId, requestedBy }): Spec =>
        ({ now, booked, sent }) => {
          const id = reservationId(booked);
          const customer =
            requestedBy === "owner"
              ? // Its first ReserveParking booked it: a later one with its id is a retry or a conflict.
                sent.find((reserve) => reserve.reservationId === id)?.customerId
              : requestedBy;
          return {
            type,
            reservationId: id,
            parkingLotId: LOT,
            ...(customer !== undefined ? { requestedBy: customer } : {}),
            ...(type === "CancelReservation" ? { reason: "plans changed" } : {}),
            now: iso(now),
          } as ParkingLotCommand;
        },
    );

const closeArb: fc.Arbitrary<Spec> = fc
  .record({
    from: fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .integer({ min: -8, max: 3 * 96 })
          .map((k) => (now: number) => onGrid(now) + k * QUARTER),
      },
      { weight: 1, arbitrary: fc.constant((now: number) => now + WINDOW_RULES.maxLeadMs) },
      { weight: 1, arbitrary: fc.constant((now: number) => onGrid(now + WINDOW_RULES.maxLeadMs) + QUARTER) },
      { weight: 1, arbitrary: fc.constant((now: number) => onGrid(now) - 2 * DAY) },
    ),
    length: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 24 }).map((q) => q * QUARTER) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }).map((d) => d * DAY) },
      { weight: 1, arbitrary: fc.constant(WINDOW_RULES.maxClosureMs) },
      { weight: 1, arbitrary: fc.constant(WINDOW_RULES.maxClosureMs + QUARTER) },
      { weight: 1, arbitrary: fc.constant(0) },
    ),
  })
  .map(
    ({ from, length }): Spec =>
      ({ now, closures }) => ({
        type: "CloseParkingLot",
        closureId: `c${closures.length}`,
        parkingLotId: LOT,
        from: iso(from(now)),
        until: iso(from(now) + length),
        reason: "repaving",
        now: iso(now),
      }),
  );

/** The scheduler: a window's no-show, once it may be due (sometimes early, or twice). */
const noShowArb: fc.Arbitrary<Spec> = earlierIdArb.map(
  (reservationId): Spec =>
    ({ now, booked }) => ({
      type: "RecordNoShow",
      reservationId: reservationId(booked),
      parkingLotId: LOT,
      now: iso(now),
    }),
);

/** The scheduler: a closure's beginning (sometimes before it is due, or again). */
const beginArb: fc.Arbitrary<Spec> = earlierIdArb.map(
  (closureId): Spec =>
    ({ now, closures }) => ({
      type: "BeginClosure",
      closureId: closureId(closures),
      parkingLotId: LOT,
      now: iso(now),
    }),
);

const capacityArb: fc.Arbitrary<Spec> = fc.integer({ min: 0, max: 5 }).map(
  (capacity): Spec =>
    ({ now }) => ({ type: "ChangeCapacity", parkingLotId: LOT, capacity, now: iso(now) }),
);

const rateArb: fc.Arbitrary<Spec> = fc.constantFrom(...RATES).map(
  (hourlyRate): Spec =>
    ({ now }) => ({ type: "ChangeRate", parkingLotId: LOT, hourlyRate, now: iso(now) }),
);

const customerLimitArb: fc.Arbitrary<Spec> = fc.integer({ min: 1, max: 3 }).map(
  (maxActivePerCustomer): Spec =>
    ({ now }) => ({ type: "ChangeCustomerLimit", parkingLotId: LOT, maxActivePerCustomer, now: iso(now) }),
);

/** Payment terms change nothing a booking holds while payments are off: the model only keeps them. */
const paymentTermsArb: fc.Arbitrary<Spec> = fc
  .record({ deposit: fc.constantFrom(0, 5000), noShowFee: fc.constantFrom(0, 3000) })
  .map(
    ({ deposit, noShowFee }): Spec =>
      ({ now }) => ({
        type: "ChangePaymentTerms",
        parkingLotId: LOT,
        terms: {
          currency: "KRW",
          deposit,
          cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
          noShowFee,
        },
        now: iso(now),
      }),
  );

/** The provider's answer about a booking (issue 38): its intent authorized (or another one), or a decline. */
const authorizeArb: fc.Arbitrary<Spec> = fc.record({ reservationId: earlierIdArb, other: fc.boolean() }).map(
  ({ reservationId, other }): Spec =>
    ({ now, booked }) => {
      const id = reservationId(booked);
      return {
        type: "AuthorizePayment",
        parkingLotId: LOT,
        reservationId: id,
        intentId: other ? "pi_other" : `pi_${id}`,
        // Issue 47: an authorization covers the booking's amount (the model does not price bookings).
        amount: 100_000_000,
        currency: "KRW",
        now: iso(now),
      };
    },
);
const failArb: fc.Arbitrary<Spec> = earlierIdArb.map(
  (reservationId): Spec =>
    ({ now, booked }) => ({
      type: "FailPayment",
      parkingLotId: LOT,
      reservationId: reservationId(booked),
      code: "card_declined",
      now: iso(now),
    }),
);
/** The scheduler's at `holdUntil`; sent at any time here, so that NotDue happens too. */
const expireArb: fc.Arbitrary<Spec> = earlierIdArb.map(
  (reservationId): Spec =>
    ({ now, booked }) => ({
      type: "ExpirePaymentHold",
      parkingLotId: LOT,
      reservationId: reservationId(booked),
      now: iso(now),
    }),
);

interface Registration {
  readonly capacity: number;
  readonly hourlyRate?: number;
  readonly maxActivePerCustomer?: number;
}
const registrationArb: fc.Arbitrary<Registration> = fc
  .record({
    capacity: fc.integer({ min: 1, max: 4 }),
    hourlyRate: fc.option(fc.constantFrom(...RATES), { freq: 2, nil: undefined }),
    maxActivePerCustomer: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 2, nil: undefined }),
  })
  .map(({ capacity, hourlyRate, maxActivePerCustomer }) => ({
    capacity,
    ...(hourlyRate !== undefined ? { hourlyRate } : {}),
    ...(maxActivePerCustomer !== undefined ? { maxActivePerCustomer } : {}),
  }));
const registerSpec =
  (registration: Registration): Spec =>
  ({ now }) => ({
    type: "RegisterParkingLot",
    parkingLotId: LOT,
    name: "강남 1주차장",
    ...registration,
    now: iso(now),
  });

/** A spec that prints as its name in a counterexample (the failure's transcript has the details). */
const named =
  (name: string) =>
  (spec: Spec): Spec =>
    Object.assign((context: Context) => spec(context), { [fc.toStringMethod]: () => name });

/** The provider's answers, in a scenario with payments on (none otherwise: they would change nothing). */
const paymentStepArbs = [
  { weight: 3, arbitrary: authorizeArb.map(named("authorize payment")) },
  { weight: 1, arbitrary: failArb.map(named("decline payment")) },
  { weight: 1, arbitrary: expireArb.map(named("expire payment hold")) },
];

const stepArb = (registration: Registration, payments: boolean): fc.Arbitrary<Step> =>
  fc.record({
    advance: advanceArb,
    spec: fc.oneof(
      ...(payments ? paymentStepArbs : []),
      { weight: 10, arbitrary: reserveArb(registration.hourlyRate).map(named("reserve")) },
      { weight: 2, arbitrary: retryArb.map(named("retry")) },
      { weight: 3, arbitrary: onReservationArb("CancelReservation").map(named("cancel")) },
      { weight: 3, arbitrary: onReservationArb("CheckIn").map(named("check-in")) },
      { weight: 3, arbitrary: onReservationArb("CheckOut").map(named("check-out")) },
      { weight: 1, arbitrary: closeArb.map(named("close")) },
      { weight: 2, arbitrary: noShowArb.map(named("no-show")) },
      { weight: 2, arbitrary: beginArb.map(named("begin closure")) },
      { weight: 1, arbitrary: capacityArb.map(named("change capacity")) },
      { weight: 1, arbitrary: rateArb.map(named("change rate")) },
      { weight: 1, arbitrary: customerLimitArb.map(named("change customer limit")) },
      { weight: 1, arbitrary: paymentTermsArb.map(named("change payment terms")) },
      // The same registration again (a retry), or another one (an id taken).
      {
        weight: 1,
        arbitrary: fc
          .oneof(fc.constant(registerSpec(registration)), registrationArb.map(registerSpec))
          .map(named("register")),
      },
    ),
  });

/** Steps, and whether payments are on (PAYMENTS=stripe) while they run. */
type Scenario = readonly Step[] & { readonly payments: boolean };

/** Usually the lot is registered first; sometimes not, so commands against no lot happen too. */
const scenarioArb: fc.Arbitrary<Scenario> = fc
  .tuple(
    registrationArb,
    // Payments on in a third of them: pending bookings check in later, and check-ins stay common.
    fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
  )
  .chain(([registration, payments]) =>
    fc
      .tuple(
        fc.option(fc.constant(registerSpec(registration)).map(named("register")), {
          freq: 12,
          nil: undefined,
        }),
        fc.array(stepArb(registration, payments), { minLength: 1, maxLength: 60, size: "max" }),
      )
      .map(([register, rest]) =>
        Object.assign(register ? [{ advance: 0, spec: register }, ...rest] : rest, { payments }),
      ),
  );

/* ---------- running a scenario through the decider ---------- */

interface Transition {
  readonly now: number;
  readonly before: ParkingLotState;
  readonly command: ParkingLotCommand;
  readonly decision: Decision;
  readonly after: ParkingLotState;
  /** Every event accepted so far, this step's included. */
  readonly emitted: readonly ParkingLotEvent[];
  /** The command that booked each reservation so far, this step's included. */
  readonly reserves: ReadonlyMap<string, ReserveParking>;
}

function execute(steps: Scenario): Transition[] {
  context = steps.payments ? PAYMENTS_ON : {};
  const transitions: Transition[] = [];
  let now = START;
  let state = initialState;
  let emitted: readonly ParkingLotEvent[] = [];
  const sent: ReserveParking[] = [];
  const booked: string[] = [];
  const closures: string[] = [];
  const reserves = new Map<string, ReserveParking>();
  for (const { advance, spec } of steps) {
    now += advance;
    const command = spec({ now, sent, booked, closures });
    if (!command) continue;
    if (command.type === "ReserveParking") sent.push(command);
    const decision = decide(command, state, context);
    const after = decision.ok ? fold(decision.events, state) : state;
    if (decision.ok) emitted = [...emitted, ...decision.events];
    if (decision.ok && command.type === "ReserveParking" && decision.events.length) {
      booked.push(command.reservationId);
      reserves.set(command.reservationId, command);
    }
    if (decision.ok && command.type === "CloseParkingLot") closures.push(command.closureId);
    transitions.push({ now, before: state, command, decision, after, emitted, reserves: new Map(reserves) });
    state = after;
  }
  return transitions;
}

/* ---------- the reference model ---------- */

interface Interval {
  readonly start: number;
  readonly end: number;
}
type Status = "RESERVED" | "CHECKED_IN" | "COMPLETED" | "NO_SHOW" | "CANCELED";
interface Booking {
  readonly customerId: string;
  readonly carNumber: string;
  /** What it costs: an open-ended stay on a lot with a rate is priced at its check-out (then set). */
  amount: number;
  /** The rate an open-ended booking on a lot with one is priced at, at check-out (the rate when booked). */
  readonly pricedAt?: number;
  checkedInAt?: number;
  readonly window?: Interval;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly madeAt: number;
  status: Status;
  /** Whether its car came in. */
  checkedIn: boolean;
  /** When it was checked out or canceled. */
  endedAt?: number;
  /**
   * Issue 38, payments on: asked to pay, and until when it holds its spot unpaid. While `pending`
   * (and `status` RESERVED) it is PENDING_PAYMENT: it holds its spot as a RESERVED one does.
   */
  readonly holdUntil?: number;
  pending: boolean;
  /** Authorized (with `intentId`), and whether its settlement was decided since. */
  intentId?: string;
  settled: boolean;
}
interface ModelClosure {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  began: boolean;
}

/** A rejection but for its human-readable detail. */
type Refusal = Rejection extends infer R ? (R extends unknown ? Omit<R, "detail"> : never) : never;
/** What a decision comes to, comparable between the decider and the model. */
type Outcome =
  | { readonly ok: true; readonly events: readonly string[] }
  | { readonly ok: false; readonly rejection: Refusal };

const outcomeOf = (decision: Decision): Outcome => {
  if (!decision.ok) {
    const { detail: _detail, ...rejection } = decision.rejection as Rejection & { detail?: string };
    return { ok: false, rejection };
  }
  return {
    ok: true,
    events: decision.events.map((event) => {
      const id = "reservationId" in event.data ? ` ${event.data.reservationId}` : "";
      const amount = event.type === "ParkingReserved" ? ` ${event.data.amount}` : "";
      return `${event.type}${id}${amount}`;
    }),
  };
};

/*
 * KNOWN GAP, copied by the model on purpose. A window may start up to 5 minutes before `now`
 * (client clock skew). Over those minutes [startsAt, now) the decider counts windows as they were
 * (the index keeps what a checked-out window used, and closures that ended within the skew), but
 * open-ended reservations and the capacity as they stand at `now`:
 *  - an open-ended one made within those minutes counts over all of them: a refusal the literal
 *    reading would not make, on the safe side;
 *  - one canceled or checked out within them does not count, though it held its spot until then,
 *    so the new window may hold one spot too many over a few minutes that are already over;
 *  - a capacity raised within them counts over all of them;
 *  - a car that overstayed its window and checked out within them counts only up to its window's
 *    end (the index keeps the window it booked, cut at the check-out, not the overstay).
 * Those minutes are past when the window is booked: its car cannot have used them, so no two cars
 * ever shared a spot; only a report of occupancy over time could show them over capacity. Being
 * exact would take each open-ended reservation's start and end (and the capacity's history) in the
 * lot state and its snapshot format for 5 minutes after it changes; the state keeps only the set
 * of active open-ended ids, which is what keeps deciding cheap. Decisions about `now` and later are
 * exact either way. WINDOWS_MODEL=literal makes the model count open-ended reservations as they
 * were at each instant, which shows the gap (the capacity's history is not modelled).
 */
const OPEN_ENDED_AS_OF_NOW = process.env.WINDOWS_MODEL !== "literal";

/**
 * What holds a spot when, plainly: a window over [startsAt, endsAt) (a no-show too), cut at its
 * check-out or an operator's cancel once its car came in, nothing once canceled unused; a car in
 * the lot past its window's end from then on for ever (it holds its spot until it leaves); an
 * open-ended booking from when it was made until it is checked out or canceled, or, while only
 * booked, until the first closure that begins after it was made (which cancels it).
 */
class Model {
  lot: { name: string; capacity: number; hourlyRate?: number; maxActive: number; terms?: string } | undefined;

  constructor(private readonly payments: boolean) {}

  /**
   * A paid booking's end: issue 48, its settlement is decided on its payment's own stream (the
   * payments process manager follows the lot's end event), never in the lot's append.
   */
  settles(booking: Booking, _id: string): string[] {
    booking.settled = true;
    return [];
  }

  /** Canceled, with its settlement when it was paid. */
  canceled(booking: Booking, id: string, at: number): string[] {
    booking.status = "CANCELED";
    booking.endedAt = at;
    return [`ReservationCanceled ${id}`, ...this.settles(booking, id)];
  }

  /** Waiting for its payment (its record says PENDING_PAYMENT). */
  static waiting(booking: Booking | undefined): booking is Booking {
    return booking?.pending === true && booking.status === "RESERVED";
  }
  readonly bookings = new Map<string, Booking>();
  closures: ModelClosure[] = [];

  /** When an open-ended booking still only booked must leave: the first closure not begun after it was made. */
  leaveAt(booking: Booking): number | undefined {
    const starts = this.closures.filter((c) => !c.began && c.start >= booking.madeAt).map((c) => c.start);
    return starts.length ? Math.min(...starts) : undefined;
  }

  statusAt(booking: Booking, now: number): ReservationStatus {
    const { status, window } = booking;
    if (status === "RESERVED") {
      // Waiting for its payment, it follows the clock exactly as a booked one does.
      const booked = booking.pending ? "PENDING_PAYMENT" : "RESERVED";
      if (window) return window.end <= now ? "NO_SHOW" : booked;
      const leave = this.leaveAt(booking);
      return leave !== undefined && leave <= now ? "CANCELED" : booked;
    }
    if (status === "CHECKED_IN") return window && window.end <= now ? "OVERSTAYING" : "CHECKED_IN";
    return status;
  }

  /** The interval a booking holds a spot over, as a decision at `now` sees it. */
  held(booking: Booking, now: number): Interval | undefined {
    const { window, status, endedAt, madeAt, checkedIn } = booking;
    let interval: Interval;
    if (window) {
      if (status === "RESERVED" || status === "NO_SHOW") interval = window;
      else if (status === "CHECKED_IN")
        interval = { start: window.start, end: window.end <= now ? Number.POSITIVE_INFINITY : window.end };
      else if (!checkedIn)
        return undefined; // canceled unused: the spot was given back
      else interval = { start: window.start, end: Math.min(window.end, endedAt ?? window.end) };
    } else if (status === "RESERVED") {
      interval = { start: madeAt, end: this.leaveAt(booking) ?? Number.POSITIVE_INFINITY };
    } else if (status === "CHECKED_IN") {
      interval = { start: madeAt, end: Number.POSITIVE_INFINITY };
    } else {
      interval = { start: madeAt, end: endedAt ?? Number.POSITIVE_INFINITY };
    }
    return interval.end > interval.start ? interval : undefined;
  }

  /**
   * The most spots held at one instant of [from, until), and the first instant that many are held.
   * Open-ended reservations are counted as of `now` even at the instants of [from, now) that a
   * window starting within the skew covers (see KNOWN GAP).
   */
  busiest(from: number, until: number, now: number): { held: number; at: number } {
    const holdings = [...this.bookings.values()].flatMap((booking) => {
      const interval = this.held(booking, now);
      return interval ? [{ interval, openEnded: !booking.window }] : [];
    });
    const holds = ({ interval, openEnded }: (typeof holdings)[number], t: number) => {
      const at = openEnded && OPEN_ENDED_AS_OF_NOW ? Math.max(t, now) : t;
      return interval.start <= at && at < interval.end;
    };
    const instants = [from, ...holdings.map((h) => h.interval.start).filter((t) => t > from && t < until)];
    instants.sort((a, b) => a - b);
    let best = { held: 0, at: from };
    for (const t of instants) {
      const held = holdings.filter((h) => holds(h, t)).length;
      if (held > best.held) best = { held, at: t };
    }
    return best;
  }

  /**
   * A closure begins: the cars in the lot are listed, every open-ended booking still only reserved
   * is canceled then (one made after its start was made before the closure was announced); one
   * made once the closure had ended is not (its beginning recorded late reaches nothing after it).
   */
  begin(closure: ModelClosure): string[] {
    closure.began = true;
    const leaving = [...this.bookings.entries()]
      .filter(([, b]) => !b.window && b.status === "RESERVED" && b.madeAt < closure.end)
      .map(([id]) => id)
      .sort();
    const events = leaving.flatMap((id) => {
      const booking = this.bookings.get(id) as Booking;
      const canceled = this.canceled(booking, id, Math.max(closure.start, booking.madeAt));
      return canceled;
    });
    return ["ParkingLotClosureBegan", ...events];
  }

  decide(command: ParkingLotCommand): Outcome {
    const parkingLotId = LOT;
    const refuse = (rejection: Refusal): Outcome => ({ ok: false, rejection });
    const accepted = (...events: string[]): Outcome => ({ ok: true, events });
    const now = ms(command.now);
    if (command.type === "RegisterParkingLot") {
      const maxActive = command.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER;
      if (this.lot) {
        const same =
          this.lot.name === command.name &&
          this.lot.capacity === command.capacity &&
          this.lot.hourlyRate === command.hourlyRate &&
          this.lot.maxActive === maxActive;
        return same ? accepted() : refuse({ code: "LotAlreadyRegistered", parkingLotId });
      }
      this.lot = {
        name: command.name,
        capacity: command.capacity,
        ...(command.hourlyRate !== undefined ? { hourlyRate: command.hourlyRate } : {}),
        maxActive,
      };
      return accepted("ParkingLotRegistered");
    }
    const lot = this.lot;
    if (!lot) return refuse({ code: "LotNotFound", parkingLotId });

    switch (command.type) {
      case "ReserveParking": {
        const { reservationId } = command;
        const existing = this.bookings.get(reservationId);
        if (existing) {
          const same =
            existing.customerId === command.customerId &&
            existing.carNumber === command.carNumber &&
            existing.startsAt === command.startsAt &&
            existing.endsAt === command.endsAt &&
            (command.amount === undefined || command.amount === existing.amount);
          return same ? accepted() : refuse({ code: "ReservationIdConflict", parkingLotId, reservationId });
        }
        let window: Interval | undefined;
        if (command.startsAt !== undefined && command.endsAt !== undefined) {
          const start = ms(command.startsAt);
          const end = ms(command.endsAt);
          const invalid = (field: string) => refuse({ code: "InvalidWindow", field });
          if (start < now - SKEW) return invalid("startsAt");
          if (start > now + WINDOW_RULES.maxLeadMs) return invalid("startsAt");
          if (end <= start) return invalid("endsAt");
          if (end - start < WINDOW_RULES.minLengthMs) return invalid("endsAt");
          if (end < now + WINDOW_RULES.minLengthMs) return invalid("endsAt");
          if (end - start > WINDOW_RULES.maxLengthMs) return invalid("endsAt");
          window = { start, end };
        }
        let amount: number;
        const offered = command.amount;
        if (lot.hourlyRate !== undefined && !window) {
          if (offered !== undefined)
            return refuse({ code: "AmountNotAccepted", parkingLotId, hourlyRate: lot.hourlyRate, offered });
          amount = 0;
        } else if (lot.hourlyRate !== undefined && window) {
          amount = quote(lot.hourlyRate, window.start, window.end);
          if (offered !== undefined && offered !== amount)
            return refuse({ code: "PriceChanged", parkingLotId, quote: amount, offered });
        } else {
          if (offered === undefined) return refuse({ code: "AmountRequired", parkingLotId });
          if (offered <= 0) return refuse({ code: "AmountNotPositive", parkingLotId });
          amount = offered;
        }
        const closure = window
          ? this.closures.find((c) => c.start < window.end && c.end > window.start)
          : this.closures.find((c) => c.start <= now && c.end > now);
        if (closure)
          return refuse({
            code: "LotClosed",
            parkingLotId,
            from: iso(closure.start),
            until: iso(closure.end),
          });
        const ahead = this.closures.filter((c) => c.start > now).map((c) => c.start);
        const wanted = window ?? {
          start: now,
          end: ahead.length ? Math.min(...ahead) : Number.POSITIVE_INFINITY,
        };
        const active = [...this.bookings.values()].filter(
          (b) =>
            b.customerId === command.customerId &&
            ["RESERVED", "PENDING_PAYMENT", "CHECKED_IN", "OVERSTAYING"].includes(this.statusAt(b, now)),
        ).length;
        if (active >= lot.maxActive)
          return refuse({ code: "TooManyActiveReservations", parkingLotId, limit: lot.maxActive });
        const top = this.busiest(wanted.start, wanted.end, now);
        if (top.held >= lot.capacity)
          return refuse({ code: "LotFull", parkingLotId, capacity: lot.capacity, at: iso(top.at) });
        // Payments on: a window's quote, an open-ended booking's deposit is authorized first.
        const terms: PaymentTerms = lot.terms ? JSON.parse(lot.terms) : DEFAULT_PAYMENT_TERMS;
        const ask = window ? amount : terms.deposit;
        const asked = this.payments && ask > 0;
        // Issue 71: below the provider's smallest card payment, refused at once.
        const minimum = chargeMinimum(terms.currency);
        if (asked && ask < minimum)
          return refuse({
            code: "AmountBelowMinimum",
            parkingLotId,
            amount: ask,
            minimum,
            currency: terms.currency,
          });
        this.bookings.set(reservationId, {
          ...(asked ? { holdUntil: now + HOLD_SECONDS * 1000 } : {}),
          pending: asked,
          settled: false,
          customerId: command.customerId,
          carNumber: command.carNumber,
          amount,
          ...(window ? { window, startsAt: iso(window.start), endsAt: iso(window.end) } : {}),
          ...(!window && lot.hourlyRate !== undefined ? { pricedAt: lot.hourlyRate } : {}),
          madeAt: now,
          status: "RESERVED",
          checkedIn: false,
        });
        return accepted(`ParkingReserved ${reservationId} ${amount}`);
      }
      case "CancelReservation":
      case "CheckIn":
      case "CheckOut": {
        const { reservationId } = command;
        const booking = this.bookings.get(reservationId);
        if (!booking || (command.requestedBy !== undefined && command.requestedBy !== booking.customerId))
          return refuse({ code: "ReservationNotFound", parkingLotId, reservationId });
        const status = this.statusAt(booking, now);
        if (command.type === "CancelReservation") {
          if (status === "CANCELED") return accepted();
          if (status === "COMPLETED" || status === "NO_SHOW")
            return refuse({ code: "ReservationNotActive", parkingLotId, reservationId, status });
          if (booking.status === "CHECKED_IN" && command.requestedBy !== undefined)
            return refuse({ code: "CheckedIn", parkingLotId, reservationId, status });
          return accepted(...this.canceled(booking, reservationId, now));
        }
        if (command.type === "CheckIn") {
          if (status === "CHECKED_IN" || status === "OVERSTAYING") return accepted();
          if (status === "PENDING_PAYMENT")
            return refuse({
              code: "PaymentPending",
              parkingLotId,
              reservationId,
              holdUntil: iso(booking.holdUntil ?? now),
            });
          if (status !== "RESERVED")
            return refuse({ code: "ReservationNotActive", parkingLotId, reservationId, status });
          if (booking.window && now < booking.window.start - SKEW)
            return refuse({
              code: "CheckInTooEarly",
              parkingLotId,
              reservationId,
              startsAt: iso(booking.window.start),
              opensAt: iso(booking.window.start - SKEW),
            });
          booking.status = "CHECKED_IN";
          booking.checkedIn = true;
          booking.checkedInAt = now;
          return accepted(`ReservationCheckedIn ${reservationId}`);
        }
        // A checked-in car may leave after its window ended: still a check-out.
        if (booking.status === "CHECKED_IN") {
          booking.status = "COMPLETED";
          booking.endedAt = now;
          // The check-out prices an open-ended stay, and the record carries the price from then on.
          if (booking.pricedAt !== undefined)
            booking.amount = openEndedStayPrice(booking.pricedAt, booking.checkedInAt ?? now, now);
          return accepted(`ReservationCheckedOut ${reservationId}`, ...this.settles(booking, reservationId));
        }
        if (booking.status === "COMPLETED") return accepted();
        if (status === "RESERVED" || status === "PENDING_PAYMENT")
          return refuse({ code: "NotCheckedIn", parkingLotId, reservationId });
        return refuse({ code: "ReservationNotActive", parkingLotId, reservationId, status });
      }
      case "RecordNoShow": {
        const { reservationId } = command;
        const booking = this.bookings.get(reservationId);
        if (!booking) return refuse({ code: "ReservationNotFound", parkingLotId, reservationId });
        // One still waiting for its payment is a no-show too when its window ends first (it cannot
        // check in while it waits).
        if (booking.status !== "RESERVED" || !booking.window) return accepted();
        if (booking.window.end > now)
          return refuse({ code: "NotDue", parkingLotId, at: iso(booking.window.end) });
        booking.status = "NO_SHOW";
        return accepted(`ReservationNoShow ${reservationId}`, ...this.settles(booking, reservationId));
      }
      case "BeginClosure": {
        const { closureId } = command;
        const closure = this.closures.find((c) => c.id === closureId);
        if (!closure) return refuse({ code: "ClosureNotFound", parkingLotId, closureId });
        if (closure.began) return accepted();
        if (closure.start > now) return refuse({ code: "NotDue", parkingLotId, at: iso(closure.start) });
        return accepted(...this.begin(closure));
      }
      case "CloseParkingLot": {
        const from = ms(command.from);
        const until = ms(command.until);
        const invalid = (field: string) => refuse({ code: "InvalidWindow", field });
        if (until <= from) return invalid("until");
        if (until <= now) return invalid("until");
        if (until - from > WINDOW_RULES.maxClosureMs) return invalid("until");
        if (from > now + WINDOW_RULES.maxLeadMs) return invalid("from");
        if (this.closures.filter((c) => c.end > now).length >= WINDOW_RULES.maxPendingClosures)
          return refuse({ code: "TooManyClosures", parkingLotId, limit: WINDOW_RULES.maxPendingClosures });
        // Only windows still booked are canceled now; open-ended bookings when it begins.
        const hit = [...this.bookings.entries()]
          .filter(
            ([, b]) =>
              b.window !== undefined &&
              ["RESERVED", "PENDING_PAYMENT"].includes(this.statusAt(b, now)) &&
              b.window.start < until &&
              b.window.end > Math.max(from, now),
          )
          .map(([id]) => id)
          .sort();
        const canceled = hit.flatMap((id) => this.canceled(this.bookings.get(id) as Booking, id, now));
        // Closures that began and ended beyond the skew's reach are forgotten.
        this.closures = this.closures.filter((c) => !c.began || c.end > now - SKEW);
        const closure: ModelClosure = { id: command.closureId, start: from, end: until, began: false };
        this.closures.push(closure);
        const begins = from <= now ? this.begin(closure) : [];
        return accepted("ParkingLotClosed", ...canceled, ...begins);
      }
      case "ChangeCapacity": {
        if (command.capacity === lot.capacity) return accepted();
        if (command.capacity < lot.capacity) {
          const top = this.busiest(now, Number.POSITIVE_INFINITY, now);
          if (top.held > command.capacity)
            return refuse({ code: "CapacityTooLow", parkingLotId, at: iso(top.at), held: top.held });
        }
        lot.capacity = command.capacity;
        return accepted("ParkingLotCapacityChanged");
      }
      case "ChangeRate": {
        if (command.hourlyRate === lot.hourlyRate) return accepted();
        lot.hourlyRate = command.hourlyRate;
        return accepted("ParkingLotRateChanged");
      }
      case "ChangeCustomerLimit": {
        if (command.maxActivePerCustomer === lot.maxActive) return accepted();
        lot.maxActive = command.maxActivePerCustomer;
        return accepted("ParkingLotCustomerLimitChanged");
      }
      case "ChangePaymentTerms": {
        const terms = JSON.stringify(command.terms);
        if (terms === lot.terms) return accepted();
        lot.terms = terms;
        return accepted("ParkingLotPaymentTermsChanged");
      }
      case "AuthorizePayment": {
        const { reservationId, intentId } = command;
        const booking = this.bookings.get(reservationId);
        if (!booking) return refuse({ code: "ReservationNotFound", parkingLotId, reservationId });
        // Issue 48: which intent may authorize is the payment stream's to say; the lot only confirms.
        if (booking.intentId !== undefined) return accepted(); // confirmed already
        if (!Model.waiting(booking))
          return refuse({ code: "PaymentNotPending", parkingLotId, reservationId });
        booking.pending = false;
        booking.intentId = intentId;
        return accepted(`ReservationConfirmed ${reservationId}`);
      }
      case "FailPayment":
      case "ExpirePaymentHold": {
        const { reservationId } = command;
        const booking = this.bookings.get(reservationId);
        if (!booking && command.type === "FailPayment")
          return refuse({ code: "ReservationNotFound", parkingLotId, reservationId });
        if (!Model.waiting(booking)) return accepted(); // paid, failed or canceled already
        const holdUntil = booking.holdUntil ?? now;
        if (command.type === "ExpirePaymentHold" && holdUntil > now)
          return refuse({ code: "NotDue", parkingLotId, at: iso(holdUntil) });
        // Ended by the clock first: its window over unused (a no-show), its closure begun.
        if (this.statusAt(booking, now) !== "PENDING_PAYMENT") return accepted();
        // The compensation: the booking is canceled and frees its spot.
        // Issue 48: PaymentFailed is on the payment's own stream, decided there first.
        return accepted(...this.canceled(booking, reservationId, now));
      }
      default:
        throw new Error(`the model does not send ${command.type}`);
    }
  }
}

/* ---------- what the emitted events say, independently of both ---------- */

/**
 * The intervals the emitted events say are booked: a window over itself (a no-show too), cut at
 * its check-out or at an operator's cancel once its car came in, nothing once canceled unused; an
 * open-ended booking from when it was made until its check-out or cancel, or until the first
 * closure that begins after it was made (its `mustLeaveBy`), its car in the lot or not. A car past
 * its window, or still in when its closure begins, overstays, and an overstay is not a booking:
 * decisions count it (no new booking may rely on its spot) but it may meet bookings accepted
 * before it.
 */
function heldByEvents(events: readonly ParkingLotEvent[]): Interval[] {
  const held = new Map<string, { start: number; end: number; windowed: boolean; in?: number }>();
  const closureStarts: number[] = [];
  for (const event of events) {
    const interval = "reservationId" in event.data ? held.get(event.data.reservationId) : undefined;
    if (event.type === "ParkingReserved") {
      const { startsAt, endsAt, reservedAt } = event.data;
      held.set(
        event.data.reservationId,
        startsAt && endsAt
          ? { start: ms(startsAt), end: ms(endsAt), windowed: true }
          : { start: ms(reservedAt), end: Number.POSITIVE_INFINITY, windowed: false },
      );
    } else if (event.type === "ParkingLotClosed") {
      closureStarts.push(ms(event.data.from));
    } else if (event.type === "ReservationCheckedIn" && interval) {
      interval.in = ms(event.data.checkedInAt);
    } else if (event.type === "ReservationCanceled" && interval) {
      if (interval.windowed && interval.in === undefined) held.delete(event.data.reservationId);
      else interval.end = Math.min(interval.end, ms(event.data.canceledAt));
    } else if (event.type === "ReservationCheckedOut" && interval) {
      interval.end = Math.min(interval.end, ms(event.data.checkedOutAt));
    }
  }
  for (const interval of held.values()) {
    if (interval.windowed) continue;
    const closing = closureStarts.filter((from) => from >= interval.start);
    const leave = closing.length ? Math.min(...closing) : Number.POSITIVE_INFINITY;
    // In the lot or not, the booking ends there: a car still in when the closure begins is listed
    // for operators, the same kind of overstay as a window's car past its end.
    interval.end = Math.min(interval.end, leave);
  }
  return [...held.values()].filter((i) => i.end > i.start);
}

/* ---------- pruning: the same state with every ended window still in the index ---------- */

/**
 * What the state would be had the decider never pruned: every window that still holds its spot
 * by its record's status (ended or not) back in the hour index, and its id back in its customer's
 * set; a checked-out window cut at its check-out, as `release` leaves it.
 */
function unpruned(state: ParkingLotState, emitted: readonly ParkingLotEvent[]): ParkingLotState {
  if (state.kind !== "registered") return state;
  // When each window's car left (checked out, or canceled by an operator once in), if it came in.
  const checkedIn = new Set<string>();
  const leftAt = new Map<string, number>();
  for (const event of emitted) {
    if (event.type === "ReservationCheckedIn") checkedIn.add(event.data.reservationId);
    if (event.type === "ReservationCheckedOut")
      leftAt.set(event.data.reservationId, ms(event.data.checkedOutAt));
    if (event.type === "ReservationCanceled" && checkedIn.has(event.data.reservationId))
      leftAt.set(event.data.reservationId, ms(event.data.canceledAt));
  }
  const plain = plainOf(state);
  if ("kind" in plain) return state;
  const windows = new Map<string, Interval>();
  const counted = new Set<string>();
  for (const [id, record] of state.reservations.entries()) {
    const holding =
      record.status === "RESERVED" || record.status === "PENDING_PAYMENT" || record.status === "CHECKED_IN";
    if (holding) counted.add(id);
    if (!record.startsAt || !record.endsAt) continue;
    if (record.status === "CANCELED" && !checkedIn.has(id)) continue;
    const start = ms(record.startsAt);
    const left = leftAt.get(id);
    const end = left !== undefined ? Math.min(ms(record.endsAt), left) : ms(record.endsAt);
    if (end <= start) continue;
    windows.set(id, { start, end });
  }
  const { ids } = plain.bookings;
  return fromPlain({
    ...plain,
    holds: ids.flatMap((id): [string, number, number][] => {
      const span = windows.get(id);
      return span ? [[id, span.start, span.end]] : [];
    }),
    bookings: { ...plain.bookings, counts: ids.map((id) => (counted.has(id) ? "1" : "0")).join("") },
  });
}

/* ---------- the properties ---------- */

/** One line per step, for a failure's report (the steps themselves print as closures). */
const transcript = (transitions: readonly Transition[]): string =>
  transitions
    .map(({ command, decision }) => {
      const {
        type,
        now,
        parkingLotId: _lot,
        ...rest
      } = command as ParkingLotCommand & Record<string, unknown>;
      const outcome = decision.ok
        ? decision.events.map((event) => event.type).join(", ") || "nothing"
        : JSON.stringify(decision.rejection);
      return `${now} ${type} ${JSON.stringify(rest)} -> ${outcome}`;
    })
    .join("\n");

const property = (check: (transitions: Transition[]) => void): void =>
  fc.assert(
    fc.property(scenarioArb, (steps) => {
      const transitions = execute(steps);
      try {
        check(transitions);
      } catch (error) {
        // The assertion's own diff is lost in fast-check's report: say what differed here.
        const { message, actual, expected } = error as Error & { actual?: unknown; expected?: unknown };
        const diff =
          actual === undefined
            ? ""
            : `\n  got:      ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(expected)}`;
        throw new Error(
          `${message}${diff}\n--- the steps, as the decider saw them:\n${transcript(transitions)}`,
        );
      }
    }),
    { numRuns: NUM_RUNS, ...REPLAY },
  );

describe("time windows, random command sequences over a moving clock", { timeout: 120_000 }, () => {
  it("accepts and refuses exactly as the reference model of occupancy over time", () => {
    property((transitions) => {
      const model = new Model(context === PAYMENTS_ON);
      for (const { command, decision } of transitions) {
        const expected = model.decide(command);
        expect({ command, outcome: outcomeOf(decision) }).toEqual({ command, outcome: expected });
      }
    });
  });

  it("never holds more spots than the capacity at any instant from now on, by the emitted events", () => {
    // After every step, at `now` and at every interval start after it (the count is piecewise
    // constant). Every instant is checked by each step before it passes; the minutes before `now`
    // that a window starting within the skew covers are the known gap (see KNOWN GAP).
    property((transitions) => {
      for (const { now, after, emitted } of transitions) {
        if (after.kind !== "registered") continue;
        const intervals = heldByEvents(emitted);
        for (const t of [now, ...intervals.map((i) => i.start).filter((start) => start > now)]) {
          const held = intervals.filter((i) => i.start <= t && t < i.end).length;
          expect({ at: iso(t), held }).toEqual({ at: iso(t), held: Math.min(held, after.capacity) });
        }
      }
    });
  });

  it("still answers for an ended reservation: a retry books nothing, a cancel is refused or a no-op", () => {
    property((transitions) => {
      for (const { now, after, reserves } of transitions) {
        for (const [reservationId, reserve] of reserves) {
          const status = reservationStatus(after, reservationId, now);
          if (status !== "CANCELED" && status !== "COMPLETED" && status !== "NO_SHOW") continue;
          const nothing = { ok: true, events: [] };
          const notActive = {
            ok: false,
            rejection: { code: "ReservationNotActive", parkingLotId: LOT, reservationId, status },
          };
          const about = { reservationId, parkingLotId: LOT, now: iso(now) };
          expect(decide({ ...reserve, now: iso(now) }, after, context)).toEqual(nothing);
          expect(decide({ type: "CancelReservation", reason: "again", ...about }, after, context)).toEqual(
            status === "CANCELED" ? nothing : notActive,
          );
          expect(decide({ type: "CheckIn", ...about }, after, context)).toEqual(notActive);
        }
      }
    });
  });

  it("decides the same on the state restored from its summary (as an opening stores it), and gets to the same state", () => {
    property((transitions) => {
      for (const { before, command, decision, after } of transitions) {
        for (const restored of [fromPlain(plainOf(before)), throughSummary(before)]) {
          const again = decide(command, restored, context);
          expect(again).toEqual(decision);
          if (again.ok) expect(plainOf(fold(again.events, restored))).toEqual(plainOf(after));
        }
      }
      // And a restart without an opening, folding the whole stream, gets there too.
      const last = transitions.at(-1);
      if (last) expect(plainOf(fold(last.emitted))).toEqual(plainOf(last.after));
    });
  });

  it("decides the same whether or not the ended windows have been pruned", () => {
    property((transitions) => {
      for (const { before, command, decision, emitted } of transitions) {
        const full = unpruned(
          before,
          emitted.slice(0, emitted.length - (decision.ok ? decision.events.length : 0)),
        );
        expect(decide(command, full, context)).toEqual(decision);
      }
    });
  });

  it("reaches every kind of outcome and every bound (the generator is not vacuous)", () => {
    const seen = new Map<string, number>();
    const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
    let pruned = 0;
    fc.assert(
      fc.property(scenarioArb, (steps) => {
        const transitions = execute(steps);
        for (const { now, before, command, decision } of transitions) {
          const events = decision.ok ? decision.events.map((e) => e.type).join("+") || "nothing" : "";
          count(`${command.type}:${decision.ok ? events : decision.rejection.code}`);
          if (
            command.type === "ReserveParking" &&
            command.startsAt &&
            command.endsAt &&
            events !== "nothing"
          ) {
            const start = ms(command.startsAt);
            const length = ms(command.endsAt) - start;
            const outcome = decision.ok ? "booked" : decision.rejection.code;
            count(`window ${outcome}`);
            if (start < now) count(`window starting before now ${outcome}`);
            if (start === now - SKEW) count(`window starting the skew before now ${outcome}`);
            if (start === now + WINDOW_RULES.maxLeadMs) count(`window starting 90 days ahead ${outcome}`);
            if (length === WINDOW_RULES.maxLengthMs) count(`window of 24 hours ${outcome}`);
          }
          if (
            command.type === "ReserveParking" &&
            !decision.ok &&
            decision.rejection.code === "LotFull" &&
            before.kind === "registered" &&
            [...before.reservations].some(([, r]) => r.status === "PENDING_PAYMENT")
          )
            count("LotFull while one is PENDING_PAYMENT");
          if (
            command.type === "ReserveParking" &&
            decision.ok &&
            decision.events[0]?.type === "ParkingReserved" &&
            decision.events[0].data.mustLeaveBy
          )
            count("open-ended booked before a closure (mustLeaveBy)");
          if (
            command.type === "CancelReservation" &&
            decision.ok &&
            decision.events.length &&
            before.kind === "registered" &&
            before.inLot.has(command.reservationId)
          )
            count("cancel of a car in the lot by an operator");
          if (
            before.kind === "registered" &&
            [...before.inLot.values()].some((car) => car.endsAt <= now) &&
            (command.type === "ReserveParking" || command.type === "ChangeCapacity")
          )
            count("decision with an overstaying car in the lot");
          if (
            command.type === "CheckOut" &&
            decision.ok &&
            decision.events.length &&
            before.kind === "registered"
          ) {
            const endsAt = before.reservations.get(command.reservationId)?.endsAt;
            if (endsAt && ms(endsAt) <= now) count("check-out after the window ended");
          }
        }
        const end = transitions.at(-1);
        for (const [id, reserve] of end?.reserves ?? []) {
          const status = end && reservationStatus(end.after, id, end.now);
          count(`ended ${status} ${reserve.startsAt ? "window" : "open-ended"}`);
        }
        const last = end?.after;
        if (last?.kind === "registered") {
          const indexed = [...last.reservations].filter(([, r]) => r.startsAt && r.status !== "CANCELED");
          if (windowCount(last.occupancy) < indexed.length) pruned++;
        }
      }),
      // Six times the runs: some outcomes (a customer's cancel of a car in the lot) are rare, the
      // more so as a pending booking checks in only once paid. The rarest came up 8 to 27 times in
      // 1,200 runs, so a fresh seed each run would still miss one now and then: this check of the
      // generator runs on a fixed seed (FC_SEED picks another), the properties above on fresh ones.
      { numRuns: NUM_RUNS * 6, seed: COVERAGE_SEED, ...REPLAY },
    );
    const expected = [
      "ReserveParking:ParkingReserved",
      "ReserveParking:nothing",
      "ReserveParking:LotFull",
      "ReserveParking:LotClosed",
      "ReserveParking:InvalidWindow",
      "ReserveParking:PriceChanged",
      "ReserveParking:AmountRequired",
      "ReserveParking:AmountNotAccepted",
      "ReserveParking:AmountNotPositive",
      "open-ended booked before a closure (mustLeaveBy)",
      "ReserveParking:TooManyActiveReservations",
      "ReserveParking:ReservationIdConflict",
      "window booked",
      "window LotFull",
      "window starting before now booked",
      "window starting before now LotFull",
      "window starting the skew before now booked",
      "window starting 90 days ahead booked",
      "window of 24 hours booked",
      "CancelReservation:ReservationCanceled",
      "CancelReservation:nothing",
      "CancelReservation:ReservationNotActive",
      "CancelReservation:CheckedIn",
      "cancel of a car in the lot by an operator",
      "RecordNoShow:ReservationNoShow",
      "RecordNoShow:NotDue",
      "RecordNoShow:nothing",
      "BeginClosure:ParkingLotClosureBegan",
      "BeginClosure:ParkingLotClosureBegan+ReservationCanceled",
      "BeginClosure:NotDue",
      "BeginClosure:nothing",
      "CloseParkingLot:ParkingLotClosed+ParkingLotClosureBegan",
      "decision with an overstaying car in the lot",
      "CheckIn:ReservationCheckedIn",
      "CheckIn:CheckInTooEarly",
      "CheckOut:ReservationCheckedOut",
      "CheckOut:NotCheckedIn",
      "check-out after the window ended",
      "CloseParkingLot:ParkingLotClosed",
      "CloseParkingLot:ParkingLotClosed+ReservationCanceled",
      "CloseParkingLot:InvalidWindow",
      "ChangeCapacity:CapacityTooLow",
      "ChangeCapacity:ParkingLotCapacityChanged",
      "ChangeRate:ParkingLotRateChanged",
      "ChangeCustomerLimit:ParkingLotCustomerLimitChanged",
      "ChangePaymentTerms:ParkingLotPaymentTermsChanged",
      "RegisterParkingLot:LotAlreadyRegistered",
      "ended CANCELED window",
      "ended CANCELED open-ended",
      "ended COMPLETED window",
      "ended COMPLETED open-ended",
      "ended NO_SHOW window",
      // Issue 38, payments on: PENDING_PAYMENT bookings holding their spot, then paid or released.
      "AuthorizePayment:ReservationConfirmed",
      "AuthorizePayment:nothing",
      "AuthorizePayment:PaymentNotPending",
      "FailPayment:ReservationCanceled",
      "FailPayment:nothing",
      "ExpirePaymentHold:ReservationCanceled",
      "CheckIn:PaymentPending",
      "LotFull while one is PENDING_PAYMENT",
    ];
    expect(expected.filter((key) => !seen.has(key))).toEqual([]);
    // Ended windows were pruned from the index by the end of a good share of the runs.
    expect(pruned).toBeGreaterThan((NUM_RUNS * 5) / 10);
  });
});
