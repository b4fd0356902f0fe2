import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { RESERVATION_STATUSES, windowProblem } from "../../schemas/reservation-time.js";
import { foldedLots } from "../../test-support/folded-lots.js";
import {
  availableSpots,
  type DecideContext,
  decide,
  evolve,
  initialState,
  type ParkingLotState,
  type RegisteredLot,
  reservationStatus,
} from "../../write-side/parking-lot/decider.js";
import { busiest } from "../../write-side/parking-lot/rules.js";
import { FoldState } from "../time-travel/fold-state.js";
import { readViews, type Views } from "./views.js";

/*
 * Issue 33's differential test: what the service shows is what it decides. Random histories of one
 * lot (windows and open-ended bookings, check-ins, check-outs, cancels, capacity changes, closures
 * in the past, present and future, the scheduler's facts, the clock moving) are decided by the lot's
 * decider, and the events it appends are applied, in order, by the very projections the service runs
 * (into an in-memory store with the store's own update semantics), read by the very views the routes call.
 * After every step, at that instant:
 * - the quote of random windows refuses (a closure, a bound) or prices exactly what a booking of the
 *   window would be decided, and shows a free spot exactly when the booking would be accepted;
 * - the timeline's `held` over random steps is the decider's count at the busiest instant of each
 *   (what a booking of the step is decided by), and free-now is the decider's available spots;
 * - each reservation reads the status its lot's decider gives it, every item listed under
 *   `?status=X` reads X, and every reservation that reads X is listed (through pages).
 */

const NUM_RUNS = 1_000;
const LOT = "lot-1";
const T0 = Date.parse("2024-05-01T09:00:00.000Z");
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const IDS = ["a", "b", "c", "d"] as const;

type Step =
  | { kind: "window"; id: string; startMin: number; lengthMin: number }
  | { kind: "open"; id: string }
  | { kind: "checkIn" | "checkOut" | "cancel"; id: string }
  // Issue 38: the provider's answer for a pending booking (payments on).
  | { kind: "pay" | "decline"; id: string }
  | { kind: "capacity"; capacity: number }
  | { kind: "close"; fromMin: number; lengthMin: number }
  | { kind: "clock"; minutes: number }
  | { kind: "scheduler" };

const id = fc.constantFrom(...IDS);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("window" as const),
      id,
      // Mostly windows starting about now (so cars can check in), some later.
      startMin: fc.oneof(fc.integer({ min: -10, max: 10 }), fc.integer({ min: -10, max: 8 * 60 })),
      lengthMin: fc.constantFrom(10, 15, 15, 30, 60, 120, 300, 24 * 60),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("open" as const), id }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("checkIn" as const), id }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("checkOut" as const), id }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), id }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("pay" as const), id }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("decline" as const), id }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("capacity" as const),
      capacity: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      fromMin: fc.integer({ min: -180, max: 6 * 60 }),
      lengthMin: fc.constantFrom(30, 120, 600),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("clock" as const),
      minutes: fc.constantFrom(1, 10, 45, 120, 400),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "scheduler" as const }) },
);

/** A window to quote and a range of timeline steps, relative to the step's now. */
const probeArb = fc.record({
  quotes: fc.array(
    fc.record({
      startMin: fc.integer({ min: -8, max: 9 * 60 }),
      lengthMin: fc.constantFrom(10, 15, 20, 60, 180, 24 * 60, 25 * 60),
    }),
    { minLength: 2, maxLength: 2 },
  ),
  timelineFromMin: fc.integer({ min: -5, max: 6 * 60 }),
  stepMinutes: fc.constantFrom(5, 15, 60),
});

const historyArb = fc.record({
  capacity: fc.integer({ min: 1, max: 3 }),
  hourlyRate: fc.option(fc.constantFrom(1000, 3000), { nil: undefined }),
  /** Payments on (bookings start PENDING_PAYMENT, a 15-minute hold) in about half the histories. */
  payments: fc.boolean(),
  steps: fc.array(fc.tuple(stepArb, probeArb), { minLength: 1, maxLength: 10 }),
});

/** What the runs reached (the generator is not vacuous): quote outcomes and statuses read. */
const reached = new Set<string>();

/** One lot's history run the way the service runs it: decided, appended, projected, queried. */
class Harness {
  state: ParkingLotState = initialState;
  context: DecideContext = {};
  now = T0;
  private revision = -1;
  private closures = 0;
  private readonly fold = new FoldState(PROJECTIONS);
  /** The lot's state as the views load it: every event appended, folded (test-support/folded-lots.ts). */
  private readonly lots = foldedLots();
  readonly queries: Views;

  constructor() {
    this.fold.materialize(null);
    const store = this.fold.materialize(null);
    this.queries = readViews(store, {
      readYourWritesTimeoutMs: 0,
      now: () => this.now,
      lots: this.lots.lots,
    });
  }

  run(command: ParkingLotCommand): void {
    const decision = decide(command, this.state, this.context);
    if (!decision.ok) return;
    for (const event of decision.events) {
      this.revision++;
      this.state = evolve(this.state, event);
      const stored = {
        event,
        id: `e-${this.revision}`,
        streamId: `parkingLot-${LOT}`,
        revision: this.revision,
        position: { commit: this.revision + 1, prepare: this.revision + 1 },
        metadata: { correlationId: "c", causationId: "c", schemaVersion: 1 },
        createdAt: new Date(this.now),
      } as unknown as StoredDomainEvent;
      this.fold.apply(stored);
      this.lots.add(event);
    }
    this.fold.materialize({ commit: this.revision + 1, prepare: this.revision + 1 });
  }

  step(step: Step): void {
    if (step.kind === "clock") this.now += step.minutes * MIN;
    else if (step.kind === "scheduler") this.scheduler();
    else this.run(this.commandOf(step));
  }

  /** What the scheduler sends once due: every closure's beginning and every no-show. */
  private scheduler(): void {
    const lot = this.state as RegisteredLot;
    const base = { parkingLotId: LOT, now: iso(this.now) };
    for (const closure of lot.closures)
      if (!closure.began && closure.from <= this.now)
        this.run({ type: "BeginClosure", ...base, closureId: closure.closureId });
    for (const [rid] of lot.reservations.entries()) {
      this.run({ type: "RecordNoShow", ...base, reservationId: rid });
      this.run({ type: "ExpirePaymentHold", ...base, reservationId: rid });
    }
  }

  private commandOf(step: Exclude<Step, { kind: "clock" | "scheduler" }>): ParkingLotCommand {
    const base = { parkingLotId: LOT, now: iso(this.now) };
    const lot = this.state as RegisteredLot;
    const booking = {
      type: "ReserveParking" as const,
      ...base,
      customerId: "",
      carNumber: "10더8612",
      ...(lot.hourlyRate === undefined ? { amount: 500 } : {}),
    };
    switch (step.kind) {
      case "window": {
        const start = this.now + step.startMin * MIN;
        const window = { startsAt: iso(start), endsAt: iso(start + step.lengthMin * MIN) };
        return { ...booking, reservationId: step.id, customerId: `C-${step.id}`, ...window };
      }
      case "open":
        return { ...booking, reservationId: step.id, customerId: `C-${step.id}` };
      case "checkIn":
        return { type: "CheckIn", ...base, reservationId: step.id };
      case "checkOut":
        return { type: "CheckOut", ...base, reservationId: step.id };
      case "cancel":
        return { type: "CancelReservation", ...base, reservationId: step.id, reason: "operator" };
      case "pay": {
        const amount = lot.paymentAsked.get(step.id)?.amount ?? 1;
        const intent = { intentId: `pi_${step.id}`, amount, currency: "KRW" };
        return { type: "AuthorizePayment", ...base, reservationId: step.id, ...intent };
      }
      case "decline":
        return { type: "FailPayment", ...base, reservationId: step.id, code: "card_declined" };
      case "capacity":
        return { type: "ChangeCapacity", ...base, capacity: step.capacity };
      case "close": {
        const from = this.now + step.fromMin * MIN;
        const range = { from: iso(from), until: iso(from + step.lengthMin * MIN) };
        return {
          type: "CloseParkingLot",
          ...base,
          closureId: `cl-${this.closures++}`,
          ...range,
          reason: "works",
        };
      }
    }
  }
}

async function checkQuote(h: Harness, lot: RegisteredLot, from: number, until: number): Promise<void> {
  const decision = decide(
    {
      type: "ReserveParking",
      parkingLotId: LOT,
      reservationId: "probe",
      customerId: "probe",
      carNumber: "probe",
      startsAt: iso(from),
      endsAt: iso(until),
      ...(lot.hourlyRate === undefined ? { amount: 1 } : {}),
      now: iso(h.now),
    },
    lot,
  );
  reached.add(`quote:${decision.ok ? "accepted" : decision.rejection.code}`);
  // The route refuses a window out of bounds before it reads anything, as the booking does.
  if (windowProblem(from, until, h.now)) {
    expect(decision).toMatchObject({ ok: false, rejection: { code: "InvalidWindow" } });
    return;
  }
  const view = await h.queries.lots.availability(LOT, from, until);
  const where = { from: iso(from), until: iso(until), now: iso(h.now) };
  if (!decision.ok) {
    const { rejection } = decision;
    if (rejection.code === "LotClosed")
      expect({ ...where, view }).toEqual({
        ...where,
        view: { closed: { from: rejection.from, until: rejection.until } },
      });
    else
      expect({ ...where, code: rejection.code, view }).toMatchObject({
        ...where,
        code: "LotFull",
        view: { availableSpots: 0 },
      });
    return;
  }
  const amount =
    lot.hourlyRate === undefined
      ? null
      : (decision.events[0]?.data as { amount?: number } | undefined)?.amount;
  expect({ ...where, view, free: view && "availableSpots" in view && view.availableSpots > 0 }).toMatchObject(
    {
      ...where,
      view: { amount },
      free: true,
    },
  );
}

async function checkTimeline(h: Harness, lot: RegisteredLot, fromMin: number, stepMinutes: number) {
  const from = h.now + fromMin * MIN;
  const until = from + 8 * stepMinutes * MIN;
  const timeline = await h.queries.lots.timeline(LOT, { from, until, stepMinutes });
  const shown = timeline?.slots.map((s) => [s.from, s.held]);
  const decided = timeline?.slots.map((s) => [
    s.from,
    busiest(lot, Date.parse(s.from), Date.parse(s.until), h.now).held,
  ]);
  expect({ now: iso(h.now), held: shown }).toEqual({ now: iso(h.now), held: decided });
  const detail = await h.queries.lots.parkingLotDetail(LOT);
  const closedNow = lot.closures.some((c) => c.from <= h.now && c.until > h.now);
  expect({ now: iso(h.now), freeNow: detail?.freeNow }).toEqual({
    now: iso(h.now),
    freeNow: closedNow ? 0 : Math.max(0, availableSpots(lot, h.now)),
  });
}

async function checkStatuses(h: Harness, lot: RegisteredLot) {
  const decided = new Map(
    [...lot.reservations.entries()].map(([rid]) => [rid, reservationStatus(lot, rid, h.now)]),
  );
  for (const status of decided.values()) reached.add(`status:${status}`);
  for (const [rid, status] of decided)
    expect({ rid, now: iso(h.now), status: (await h.queries.reservations.reservation(rid))?.status }).toEqual(
      {
        rid,
        now: iso(h.now),
        status,
      },
    );
  for (const status of RESERVATION_STATUSES) {
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.queries.reservations.reservations({
        parkingLotId: LOT,
        status,
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      for (const item of page.items) {
        expect({ listedUnder: status, reads: item.status }).toEqual({ listedUnder: status, reads: status });
        listed.push(item.reservationId);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const reading = [...decided].filter(([, s]) => s === status).map(([rid]) => rid);
    expect({ status, now: iso(h.now), listed: listed.sort() }).toEqual({
      status,
      now: iso(h.now),
      listed: reading.sort(),
    });
  }
}

/**
 * Histories that surely pass through the statuses random ones reach rarely (a stay checked out and
 * still known to the lot, a car past its window), run before the random ones: the coverage check
 * below then asserts that the checks ran on every status, not that the dice fell right this time.
 */
type History = typeof historyArb extends fc.Arbitrary<infer H> ? H : never;
type Probe = History["steps"][number][1];
const quiet: Probe = { quotes: [], timelineFromMin: 0, stepMinutes: 15 };
const path = (h: Omit<History, "steps"> & { steps: Step[] }): [History] => [
  { ...h, steps: h.steps.map((step): [Step, Probe] => [step, quiet]) },
];
const RARE_PATHS: [History][] = (
  [
    {
      capacity: 2,
      hourlyRate: 1000 as const,
      payments: true,
      steps: [
        { kind: "window", id: "a", startMin: 0, lengthMin: 60 },
        { kind: "pay", id: "a" },
        { kind: "checkIn", id: "a" },
        { kind: "checkOut", id: "a" },
      ],
    },
    {
      capacity: 2,
      hourlyRate: 1000 as const,
      payments: false,
      steps: [
        { kind: "window", id: "a", startMin: 0, lengthMin: 15 },
        { kind: "checkIn", id: "a" },
        { kind: "clock", minutes: 45 },
        { kind: "checkOut", id: "a" },
      ],
    },
    {
      // An open-ended booking canceled by a closure's beginning that no fact records yet, listed
      // CANCELED after the closure is over (seed 120304262: the lots closing were taken from the
      // closures not over, so the list lost it once the closure ended).
      capacity: 1,
      hourlyRate: undefined,
      payments: false,
      steps: [
        { kind: "close", fromMin: 1, lengthMin: 30 },
        { kind: "open", id: "a" },
        { kind: "clock", minutes: 120 },
      ],
    },
  ] satisfies (Omit<History, "steps"> & { steps: Step[] })[]
).map(path);

describe("what the service shows is what it decides (issue 33, differential)", () => {
  it(`agrees with the decider after every step of ${NUM_RUNS} random histories`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async ({ capacity, hourlyRate, payments, steps }) => {
        const h = new Harness();
        if (payments) h.context = { payments: { on: true, holdSeconds: 900 } };
        h.run({
          type: "RegisterParkingLot",
          parkingLotId: LOT,
          name: "lot",
          capacity,
          ...(hourlyRate === undefined ? {} : { hourlyRate }),
          now: iso(h.now),
        });
        for (const [step, probe] of steps) {
          h.step(step);
          const lot = h.state as RegisteredLot;
          for (const q of probe.quotes) {
            const from = h.now + q.startMin * MIN;
            await checkQuote(h, lot, from, from + q.lengthMin * MIN);
          }
          await checkTimeline(h, lot, probe.timelineFromMin, probe.stepMinutes);
          await checkStatuses(h, lot);
        }
      }),
      { numRuns: NUM_RUNS, examples: RARE_PATHS },
    );
    const wanted = [
      ...["accepted", "LotFull", "LotClosed", "InvalidWindow"].map((o) => `quote:${o}`),
      ...RESERVATION_STATUSES.map((s) => `status:${s}`),
    ];
    expect(wanted.filter((w) => !reached.has(w))).toEqual([]);
  }, 300_000);
});
