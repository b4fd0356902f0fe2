import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import type { LotSummary } from "../../schemas/lot-summary.js";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import { fold, plainOf, throughSummary } from "../../test-support/lot-state.js";
import { PAYMENT_EVENT_TYPES } from "../payment/payment.js";
import {
  type DecideContext,
  type Decision,
  decide,
  initialState,
  PARKING_LOT_EVENT_TYPES,
  type ParkingLotEvent,
  type ParkingLotState,
} from "./decider.js";
import { forgetEnded } from "./ended.js";
import { emptyOccupancy, isIndexed } from "./occupancy.js";
import { lotOfSummary, summaryOf } from "./summary.js";

/*
 * Issue 68: the lot's summary (what a period's opening carries) never decides anything the events
 * would not: for random command sequences on one lot (windows, open-ended reservations, prices,
 * check-in/out, closures, capacity changes, payments, drive-ups, with the clock moving on so that
 * windows end and get pruned), the state after ANY event as its summary, through JSON and the
 * summary's schema, back to a state and folded on with the events after it, gives the same state as
 * folding every event, and the same decision on every later command. Also through a chain (a
 * summary of a lot that was itself loaded from one, as period after period opens).
 */

const NUM_RUNS = 150;
const COVERAGE_RUNS = 3 * NUM_RUNS;
const MINUTE = 60_000;
const START = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();

const POOL = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"] as const;
const CUSTOMERS = ["CUST1", "CUST2", "CUST3"] as const;

/** A command without its clock: the clock is the sequence's, moving on before each step. */
type Spec = (now: number) => ParkingLotCommand;

const registerArb: fc.Arbitrary<Spec> = fc
  .record({
    capacity: fc.integer({ min: 1, max: 5 }),
    hourlyRate: fc.option(fc.constantFrom(1000, 3000), { freq: 2 }),
    maxActivePerCustomer: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 2 }),
  })
  .map(({ capacity, hourlyRate, maxActivePerCustomer }) => (now) => ({
    type: "RegisterParkingLot",
    parkingLotId: LOT,
    name: "강남 1주차장",
    capacity,
    ...(hourlyRate !== null ? { hourlyRate } : {}),
    ...(maxActivePerCustomer !== null ? { maxActivePerCustomer } : {}),
    now: iso(now),
  }));

/** Reserve one of the pool's ids: mostly with the id's own customer and plate (a repeat is a retry). */
const reserveOf = (reservationId: string): fc.Arbitrary<Spec> =>
  fc
    .record({
      other: fc.option(
        fc.record({
          customerId: fc.constantFrom(...CUSTOMERS),
          carNumber: fc.constantFrom("10더8612", "AB-123-CD"),
        }),
        { freq: 6 },
      ),
      /** None: the lot's quote, or AmountRequired without a rate. */
      amount: fc.option(fc.constantFrom(3000, 5000), { freq: 4 }),
      /**
       * Start (minutes from now: soon, so that it can be checked in, or later; a little in the past
       * is within the skew) and length (over 24 hours is refused); none: open-ended.
       */
      window: fc.option(
        fc.record({
          startIn: fc.oneof(
            { weight: 2, arbitrary: fc.integer({ min: -3, max: 10 }) },
            { weight: 1, arbitrary: fc.integer({ min: 10, max: 48 * 60 }) },
          ),
          length: fc.integer({ min: 15, max: 26 * 60 }),
        }),
        { freq: 3 },
      ),
    })
    .map(({ other, amount, window }) => (now) => ({
      type: "ReserveParking",
      reservationId,
      parkingLotId: LOT,
      customerId: other?.customerId ?? CUSTOMERS[reservationId.length % CUSTOMERS.length] ?? "CUST1",
      carNumber: other?.carNumber ?? "10더8612",
      ...(amount !== null ? { amount } : {}),
      ...(window
        ? {
            startsAt: iso(now + window.startIn * MINUTE),
            endsAt: iso(now + (window.startIn + window.length) * MINUTE),
          }
        : {}),
      now: iso(now),
    }));
const reserveArb: fc.Arbitrary<Spec> = fc.constantFrom(...POOL).chain(reserveOf);

const onReservationArb = (
  type: "CancelReservation" | "CheckIn" | "CheckOut",
  id: fc.Arbitrary<string> = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...POOL) },
    { weight: 1, arbitrary: fc.constant("ghost") },
  ),
): fc.Arbitrary<Spec> =>
  fc
    .record({
      reservationId: id,
      /** Mostly an operator (anyone's); sometimes a customer (their own only). */
      requestedBy: fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom(...CUSTOMERS) },
      ),
    })
    .map(
      ({ reservationId, requestedBy }) =>
        (now) =>
          ({
            type,
            reservationId,
            parkingLotId: LOT,
            ...(requestedBy !== null ? { requestedBy } : {}),
            ...(type === "CancelReservation" ? { reason: "plans changed" } : {}),
            now: iso(now),
          }) as ParkingLotCommand,
    );

const closeArb: fc.Arbitrary<Spec> = fc
  .record({
    closureId: fc.constantFrom("c1", "c2", "c3"),
    fromIn: fc.integer({ min: -60, max: 24 * 60 }),
    length: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 30, max: 6 * 60 }) },
      { weight: 1, arbitrary: fc.integer({ min: 6 * 60, max: 3 * 24 * 60 }) },
    ),
  })
  .map(({ closureId, fromIn, length }) => (now) => ({
    type: "CloseParkingLot",
    closureId,
    parkingLotId: LOT,
    from: iso(now + fromIn * MINUTE),
    until: iso(now + (fromIn + length) * MINUTE),
    reason: "maintenance",
    now: iso(now),
  }));

/** The scheduler's time-driven facts: a window's no-show, a closure's beginning (due or not). */
const noShowArb: fc.Arbitrary<Spec> = fc.constantFrom(...POOL).map((reservationId) => (now) => ({
  type: "RecordNoShow",
  reservationId,
  parkingLotId: LOT,
  now: iso(now),
}));
const beginArb: fc.Arbitrary<Spec> = fc
  .constantFrom("c1", "c2", "c3")
  .map((closureId) => (now) => ({ type: "BeginClosure", closureId, parkingLotId: LOT, now: iso(now) }));

const capacityArb: fc.Arbitrary<Spec> = fc
  .integer({ min: 0, max: 6 })
  .map((capacity) => (now) => ({ type: "ChangeCapacity", parkingLotId: LOT, capacity, now: iso(now) }));

/** A new rate: open-ended bookings made before keep theirs (the state's `checkOutRates`). */
const rateArb: fc.Arbitrary<Spec> = fc
  .constantFrom(1000, 2500)
  .map((hourlyRate) => (now) => ({ type: "ChangeRate", parkingLotId: LOT, hourlyRate, now: iso(now) }));

const customerLimitArb: fc.Arbitrary<Spec> = fc
  .integer({ min: 1, max: 3 })
  .map((maxActivePerCustomer) => (now) => ({
    type: "ChangeCustomerLimit",
    parkingLotId: LOT,
    maxActivePerCustomer,
    now: iso(now),
  }));

/** The lot's place and time zone (issue 49), which a snapshot keeps: with and without an address. */
const placeArb: fc.Arbitrary<Spec> = fc
  .record({ north: fc.constantFrom(0, 0.01), address: fc.constantFrom(undefined, "강남대로 396") })
  .map(({ north, address }) => (now) => ({
    type: "ChangePlace",
    parkingLotId: LOT,
    location: { latitude: 37.4979 + north, longitude: 127.0276 },
    ...(address === undefined ? {} : { address }),
    timeZone: north === 0 ? "Asia/Seoul" : "UTC",
    now: iso(now),
  }));

/** The lot's payment terms (issue 38), which a snapshot keeps. */
const paymentTermsArb: fc.Arbitrary<Spec> = fc.constantFrom(0, 5000).map((deposit) => (now) => ({
  type: "ChangePaymentTerms",
  parkingLotId: LOT,
  terms: {
    currency: "KRW",
    deposit,
    cancellation: { freeUntilMinutesBefore: 30, feePercent: 20 },
    noShowFee: 1000,
  },
  now: iso(now),
}));

/** The lot's coupon rule (issue 47: its stay minimum and discount), which a snapshot keeps. */
const couponRuleArb: fc.Arbitrary<Spec> = fc.constantFrom(0, 15).map((minStayMinutes) => (now) => ({
  type: "ChangeCouponRule",
  parkingLotId: LOT,
  couponRule: { minStayMinutes, discount: { percent: 10 } },
  now: iso(now),
}));

/* Payments (issue 38): the provider's answers, the hold running out, settlement outcomes, refunds. */
const paidIdArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...POOL) },
  { weight: 1, arbitrary: fc.constant("ghost") },
);
const authorizeOf = (id: fc.Arbitrary<string>): fc.Arbitrary<Spec> =>
  fc.tuple(id, fc.constantFrom("a", "b")).map(([reservationId, intent]) => (now) => ({
    type: "AuthorizePayment",
    parkingLotId: LOT,
    reservationId,
    intentId: `pi_${reservationId}_${intent}`,
    amount: 5000,
    currency: "KRW",
    now: iso(now),
  }));
const failArb: fc.Arbitrary<Spec> = paidIdArb.map((reservationId) => (now) => ({
  type: "FailPayment",
  parkingLotId: LOT,
  reservationId,
  code: "card_declined",
  now: iso(now),
}));
const expireArb: fc.Arbitrary<Spec> = paidIdArb.map((reservationId) => (now) => ({
  type: "ExpirePaymentHold",
  parkingLotId: LOT,
  reservationId,
  now: iso(now),
}));
const outcomeOf = (id: fc.Arbitrary<string>): fc.Arbitrary<Spec> =>
  fc
    .record({
      reservationId: id,
      settlementId: fc.constantFrom("s1", "s2", "s3"),
      step: fc.constantFrom("capture", "release", "refund", "overstay"),
      ok: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
      amount: fc.constantFrom(0, 1000, 5000),
    })
    .map(({ reservationId, settlementId, step, ok, amount }) => (now) => ({
      type: "RecordPaymentOutcome",
      parkingLotId: LOT,
      reservationId,
      settlementId,
      step: step as "capture",
      outcome: ok
        ? {
            ok: true,
            intentId: `pi_${reservationId}_a`,
            amount,
            ...(step === "refund" ? { refundId: "re_1" } : {}),
          }
        : { ok: false, code: "card_declined", message: "Your card was declined." },
      now: iso(now),
    }));
/* Issue 47: the intent a pending booking records before it is confirmed, and an intent released. */
const recordIntentArb: fc.Arbitrary<Spec> = fc
  .tuple(paidIdArb, fc.constantFrom("a", "b"))
  .map(([reservationId, intent]) => (now) => ({
    type: "RecordPaymentIntent",
    parkingLotId: LOT,
    reservationId,
    intentId: `pi_${reservationId}_${intent}`,
    amount: 5000,
    currency: "KRW",
    now: iso(now),
  }));
const intentReleasedArb: fc.Arbitrary<Spec> = fc
  .tuple(paidIdArb, fc.constantFrom("a", "b"))
  .map(([reservationId, intent]) => (now) => ({
    type: "RecordIntentReleased",
    parkingLotId: LOT,
    reservationId,
    intentId: `pi_${reservationId}_${intent}`,
    amount: 0,
    because: "booking-ended",
    now: iso(now),
  }));
const refundArb: fc.Arbitrary<Spec> = fc
  .tuple(paidIdArb, fc.constantFrom(500, 1000, 5000))
  .map(([reservationId, amount]) => (now) => ({
    type: "RefundPayment",
    parkingLotId: LOT,
    reservationId,
    amount,
    reason: "goodwill",
    now: iso(now),
  }));

/** A car without a booking at a gate (issue 49): booked and checked in at once, an id of the pool. */
const driveUpArb: fc.Arbitrary<Spec> = fc
  .tuple(fc.constantFrom(...POOL), fc.constantFrom("34나2222", "AB-123-CD"))
  .map(([reservationId, carNumber]) => (now) => ({
    type: "AdmitDriveUp",
    parkingLotId: LOT,
    reservationId,
    carNumber,
    gateId: "north",
    now: iso(now),
  }));

/** The lot's gate confidence threshold (issue 49). */
const gateConfidenceArb: fc.Arbitrary<Spec> = fc
  .constantFrom(0.5, 0.8, 0.9)
  .map((gateConfidenceThreshold) => (now) => ({
    type: "ChangeGateConfidence",
    parkingLotId: LOT,
    gateConfidenceThreshold,
    now: iso(now),
  }));

/** Minutes the clock moves on before a step: often not at all, sometimes past every window. */
const advanceArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 120 }) },
  { weight: 2, arbitrary: fc.integer({ min: 120, max: 24 * 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 24 * 60, max: 4 * 24 * 60 }) },
);

type Step = { readonly advance: number; readonly spec: Spec };

const stepArb: fc.Arbitrary<Step> = fc.record({
  advance: advanceArb,
  spec: fc.oneof(
    { weight: 1, arbitrary: registerArb },
    { weight: 6, arbitrary: reserveArb },
    { weight: 3, arbitrary: onReservationArb("CancelReservation") },
    { weight: 2, arbitrary: onReservationArb("CheckIn") },
    { weight: 2, arbitrary: onReservationArb("CheckOut") },
    { weight: 1, arbitrary: closeArb },
    { weight: 4, arbitrary: noShowArb },
    { weight: 2, arbitrary: beginArb },
    { weight: 1, arbitrary: capacityArb },
    { weight: 1, arbitrary: rateArb },
    { weight: 1, arbitrary: customerLimitArb },
    { weight: 1, arbitrary: paymentTermsArb },
    { weight: 1, arbitrary: placeArb },
    { weight: 1, arbitrary: couponRuleArb },
    { weight: 4, arbitrary: authorizeOf(paidIdArb) },
    { weight: 3, arbitrary: failArb },
    { weight: 4, arbitrary: recordIntentArb },
    { weight: 1, arbitrary: intentReleasedArb },
    { weight: 3, arbitrary: expireArb },
    { weight: 2, arbitrary: outcomeOf(paidIdArb) },
    { weight: 1, arbitrary: refundArb },
    { weight: 2, arbitrary: driveUpArb },
    { weight: 1, arbitrary: gateConfidenceArb },
  ),
});

/** A stay: reserve an id, check it in a little later, and (mostly) check it out after a while. */
const visitArb: fc.Arbitrary<Step[]> = fc.constantFrom(...POOL).chain((id) =>
  fc
    .tuple(
      reserveOf(id),
      fc.option(authorizeOf(fc.constant(id)), { freq: 4 }),
      fc.integer({ min: 0, max: 30 }),
      onReservationArb("CheckIn", fc.constant(id)),
      fc.option(
        fc.tuple(
          fc.integer({ min: 0, max: 6 * 60 }),
          onReservationArb("CheckOut", fc.constant(id)),
          fc.array(outcomeOf(fc.constant(id)), { maxLength: 3 }),
        ),
        {
          freq: 4,
        },
      ),
    )
    .map(([reserve, authorize, wait, checkIn, out]) => [
      { advance: 0, spec: reserve },
      ...(authorize ? [{ advance: 0, spec: authorize }] : []),
      { advance: wait, spec: checkIn },
      ...(out ? [{ advance: out[0], spec: out[1] }, ...out[2].map((spec) => ({ advance: 0, spec }))] : []),
    ]),
);

/** Payments on (bookings wait for their payment, PAYMENT_HOLD_SECONDS 900) in most runs, off in some. */
const PAYMENTS_ON: DecideContext = { payments: { on: true, holdSeconds: 900 } };

const stepsArb: fc.Arbitrary<{ steps: Step[]; context: DecideContext }> = fc
  .tuple(
    registerArb,
    fc.array(
      fc.oneof({ weight: 4, arbitrary: stepArb.map((step) => [step]) }, { weight: 1, arbitrary: visitArb }),
      { minLength: 12, maxLength: 40 },
    ),
    fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
  )
  .map(([register, rest, paid]) => ({
    steps: [{ advance: 0, spec: register }, ...rest.flat()],
    context: paid ? PAYMENTS_ON : {},
  }));

interface Run {
  readonly context: DecideContext;
  readonly commands: readonly ParkingLotCommand[];
  readonly decisions: readonly Decision[];
  /** Every event accepted, in order. */
  readonly events: readonly ParkingLotEvent[];
  /** Events accepted before step i. */
  readonly before: readonly number[];
}

/** Runs the steps the way the command handler does (decide, then apply what was accepted). */
function execute({ steps, context }: { steps: readonly Step[]; context: DecideContext }): Run {
  let now = START;
  let state = initialState;
  const commands: ParkingLotCommand[] = [];
  const decisions: Decision[] = [];
  const events: ParkingLotEvent[] = [];
  const before: number[] = [];
  for (const { advance, spec } of steps) {
    now += advance * MINUTE;
    const command = spec(now);
    const decision = decide(command, state, context);
    before.push(events.length);
    commands.push(command);
    decisions.push(decision);
    if (decision.ok) {
      state = fold(decision.events, state);
      events.push(...decision.events);
    }
  }
  return { context, commands, decisions, events, before };
}

/** The state after `upTo` events, loaded from its summary after `at` events and the events between. */
function fromSummaryAt(events: readonly ParkingLotEvent[], at: number, upTo: number): ParkingLotState {
  return fold(events.slice(at, upTo), throughSummary(fold(events.slice(0, at))));
}

const property = (check: (run: Run) => void): void =>
  fc.assert(
    fc.property(stepsArb, (steps) => check(execute(steps))),
    { numRuns: NUM_RUNS },
  );

describe("lot summaries: the summary at any revision plus the events after it is the full fold", {
  timeout: 120_000,
}, () => {
  it("the generated sequences exercise every kind of event and pruning (the property is not vacuous)", () => {
    const runsWith = new Map<string, number>();
    const count = (what: string) => runsWith.set(what, (runsWith.get(what) ?? 0) + 1);
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const run = execute(steps);
        for (const type of new Set(run.events.map((event) => event.type))) count(type);
        const last = fold(run.events);
        if (last.kind === "registered" && last.occupancy.prunedBefore > emptyOccupancy(START).prunedBefore)
          count("pruned");
      }),
      { numRuns: COVERAGE_RUNS },
    );
    // Each kind in at least 3 runs. The rarest, a no-show (a window that ends without its car,
    // then a scheduler's command), came in 6 to about 15 of 150 runs over 40 samples before
    // payments; with payments on in half the histories (a pending booking never no-shows) it came
    // in as few as 2 of 150, so this check alone runs three times the histories.
    // Issue 48: the lot decides no payment fact any more (they are on the payment's own stream);
    // an old lot stream's are still folded and snapshotted (payment-ends.unit.test.ts). A period's
    // close and opening are appended by the lot's state source, never decided on a command: the
    // decider's histories hold none (periods.unit.test.ts folds them).
    const decided = [...PARKING_LOT_EVENT_TYPES].filter(
      (type) => !PAYMENT_EVENT_TYPES.has(type) && type !== "LotBooksClosed" && type !== "LotPeriodOpened",
    );
    for (const what of [...decided, "pruned"])
      expect(runsWith.get(what) ?? 0, `runs with ${what}`).toBeGreaterThanOrEqual(3);
  });

  it("gives the same state (plainOf) for every revision the summary is taken at", () => {
    property(({ events }) => {
      const full = plainOf(fold(events));
      for (let at = 0; at <= events.length; at++)
        expect(plainOf(fromSummaryAt(events, at, events.length)), `summary after ${at} events`).toEqual(full);
    });
  });

  it("decides every later command as the full fold does", () => {
    property(({ context, commands, decisions, events, before }) => {
      commands.forEach((command, i) => {
        const upTo = before[i] as number;
        for (let at = 0; at <= upTo; at++)
          expect(
            decide(command, fromSummaryAt(events, at, upTo), context),
            `step ${i}, summary after ${at}`,
          ).toEqual(decisions[i]);
      });
    });
  });

  it("holds through a chain: the summary of a lot loaded from a summary", () => {
    property(({ context, commands, decisions, events, before }) => {
      const full = plainOf(fold(events));
      for (let first = 0; first <= events.length; first += 3) {
        for (let second = first; second <= events.length; second += 2) {
          const loaded = throughSummary(fromSummaryAt(events, first, second));
          expect(plainOf(fold(events.slice(second), loaded))).toEqual(full);
          const step = before.findIndex((b) => b >= second);
          if (step >= 0) {
            const at = fold(events.slice(second, before[step]), loaded);
            expect(decide(commands[step] as ParkingLotCommand, at, context)).toEqual(decisions[step]);
          }
        }
      }
    });
  });
});

describe("a summary out of order", () => {
  it("is refused, not loaded into a book that binary search would misread", () => {
    const now = iso(START);
    let lot: ParkingLotState = initialState;
    for (const command of [
      { type: "RegisterParkingLot", parkingLotId: LOT, name: "L", capacity: 5, now },
      ...["r1", "r2", "r3"].map((reservationId) => ({
        type: "ReserveParking",
        reservationId,
        parkingLotId: LOT,
        customerId: "CUST1",
        carNumber: "10더8612",
        amount: 3000,
        now,
      })),
    ] as ParkingLotCommand[]) {
      const decision = decide(command, lot);
      if (decision.ok) lot = fold(decision.events, lot);
    }
    if (lot.kind !== "registered") throw new Error("the lot is registered");
    const summary = summaryOf(lot);
    const { ids } = summary.bookings;
    expect(ids.length).toBeGreaterThan(1);
    const twice = { ...summary, bookings: { ...summary.bookings, ids: [ids[0], ...ids.slice(0, -1)] } };
    const reversed = { ...summary, bookings: { ...summary.bookings, ids: [...ids].reverse() } };
    for (const corrupt of [twice, reversed] as LotSummary[])
      expect(() => lotOfSummary(LOT, corrupt)).toThrow(/not strictly ascending/);
    const short = {
      ...summary,
      bookings: { ...summary.bookings, amounts: summary.bookings.amounts.slice(1) },
    };
    expect(() => lotOfSummary(LOT, short)).toThrow(/unequal lengths/);
    expect(lotOfSummary(LOT, summary).reservations.size).toBe(ids.length);
  });
});

describe("ended reservations: what an opening may leave out (forgetEnded)", {
  timeout: 120_000,
}, () => {
  it("leaves out only what no command can change and no index holds, and some runs do leave some out", () => {
    let runsWithEnded = 0;
    property(({ events }) => {
      for (let at = 0; at <= events.length; at++) {
        const full = fold(events.slice(0, at));
        const { state, ended } = forgetEnded(full);
        if (state.kind !== "registered" || full.kind !== "registered") continue;
        if (at === events.length && ended.length > 0) runsWithEnded++;
        expect(state.reservations.size + ended.length).toBe(full.reservations.size);
        expect(state.archived).toBe(ended.length);
        for (const [id, record] of ended) {
          expect(record.status, id).not.toBe("CHECKED_IN");
          expect(state.openEnded.has(id), id).toBe(false);
          if (record.startsAt)
            expect(isIndexed(state.occupancy, id, Date.parse(record.startsAt)), id).toBe(false);
        }
        for (const ids of state.byCustomer.values())
          for (const id of ids) expect(state.reservations.has(id)).toBe(true);
      }
    });
    expect(runsWithEnded).toBeGreaterThanOrEqual(NUM_RUNS / 10);
  });
});
