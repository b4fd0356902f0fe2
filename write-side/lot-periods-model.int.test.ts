import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { WriteOp } from "../document-store/port.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import { checkpointOp, physicalCollection } from "../projections/runtime/checkpoints.js";
import { readViews } from "../read-api/views/views.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { decodeEvent } from "../schemas/event-codec.js";
import { fold, plainOf } from "../test-support/lot-state.js";
import { withProjectionIndexes } from "../test-support/projected-log.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { viewAfter } from "./lot-command-view.js";
import { type Decision, decide, initialState, type ParkingLotState } from "./parking-lot/decider.js";
import { forgetEnded } from "./parking-lot/ended.js";
import { heldTimeline } from "./parking-lot/held-timeline.js";
import { lotPeriodOfStream } from "./parking-lot/periods.js";
import { PAYMENT_EVENT_TYPES } from "./payment/payment.js";
import { isPaymentProcessCommand } from "./payment/payment-process.js";

/*
 * Issue 48 periods: random command sequences on one lot through the real command handler
 * with a tiny period bound; each decision compared with the decider on the full fold of every
 * event (no periods: the oracle), and after each step the handler's state, a fresh handler's, and
 * the read side's compared with the oracle's (ended reservations left out on both sides).
 */

const MINUTE = 60_000;
const START = Date.parse("2026-11-22T09:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const POOL = Array.from({ length: 24 }, (_, i) => `r${i}`);
const CUSTOMERS = ["CUST1", "CUST2", "CUST3", "CUST4"] as const;

type Spec = (now: number, lot: string) => ParkingLotCommand;

const registerArb: fc.Arbitrary<Spec> = fc
  .record({
    capacity: fc.integer({ min: 2, max: 8 }),
    hourlyRate: fc.option(fc.constantFrom(1000, 3000), { freq: 2 }),
    maxActivePerCustomer: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 2 }),
  })
  .map(({ capacity, hourlyRate, maxActivePerCustomer }) => (now, lot) => ({
    type: "RegisterParkingLot",
    parkingLotId: lot,
    name: "강남 1주차장",
    capacity,
    ...(hourlyRate !== null ? { hourlyRate } : {}),
    ...(maxActivePerCustomer !== null ? { maxActivePerCustomer } : {}),
    now: iso(now),
  }));

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
      amount: fc.option(fc.constantFrom(3000, 5000), { freq: 4 }),
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
    .map(({ other, amount, window }) => (now, lot) => ({
      type: "ReserveParking",
      reservationId,
      parkingLotId: lot,
      customerId:
        other?.customerId ?? CUSTOMERS[Number(reservationId.slice(1)) % CUSTOMERS.length] ?? "CUST1",
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
      requestedBy: fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom(...CUSTOMERS) },
      ),
    })
    .map(
      ({ reservationId, requestedBy }) =>
        (now, lot) =>
          ({
            type,
            reservationId,
            parkingLotId: lot,
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
  .map(({ closureId, fromIn, length }) => (now, lot) => ({
    type: "CloseParkingLot",
    closureId,
    parkingLotId: lot,
    from: iso(now + fromIn * MINUTE),
    until: iso(now + (fromIn + length) * MINUTE),
    reason: "maintenance",
    now: iso(now),
  }));
const noShowArb: fc.Arbitrary<Spec> = fc.constantFrom(...POOL).map((reservationId) => (now, lot) => ({
  type: "RecordNoShow",
  reservationId,
  parkingLotId: lot,
  now: iso(now),
}));
const beginArb: fc.Arbitrary<Spec> = fc
  .constantFrom("c1", "c2", "c3")
  .map((closureId) => (now, lot) => ({ type: "BeginClosure", closureId, parkingLotId: lot, now: iso(now) }));
const capacityArb: fc.Arbitrary<Spec> = fc
  .integer({ min: 0, max: 8 })
  .map((capacity) => (now, lot) => ({ type: "ChangeCapacity", parkingLotId: lot, capacity, now: iso(now) }));
const rateArb: fc.Arbitrary<Spec> = fc
  .constantFrom(1000, 2500)
  .map((hourlyRate) => (now, lot) => ({ type: "ChangeRate", parkingLotId: lot, hourlyRate, now: iso(now) }));
const customerLimitArb: fc.Arbitrary<Spec> = fc
  .integer({ min: 1, max: 3 })
  .map((maxActivePerCustomer) => (now, lot) => ({
    type: "ChangeCustomerLimit",
    parkingLotId: lot,
    maxActivePerCustomer,
    now: iso(now),
  }));
const couponRuleArb: fc.Arbitrary<Spec> = fc.constantFrom(0, 15).map((minStayMinutes) => (now, lot) => ({
  type: "ChangeCouponRule",
  parkingLotId: lot,
  couponRule: { minStayMinutes, discount: { percent: 10 } },
  now: iso(now),
}));
const placeArb: fc.Arbitrary<Spec> = fc
  .record({ north: fc.constantFrom(0, 0.01), address: fc.constantFrom(undefined, "강남대로 396") })
  .map(({ north, address }) => (now, lot) => ({
    type: "ChangePlace",
    parkingLotId: lot,
    location: { latitude: 37.4979 + north, longitude: 127.0276 },
    ...(address === undefined ? {} : { address }),
    timeZone: north === 0 ? "Asia/Seoul" : "UTC",
    now: iso(now),
  }));
const driveUpArb: fc.Arbitrary<Spec> = fc
  .tuple(fc.constantFrom(...POOL), fc.constantFrom("34나2222", "AB-123-CD"))
  .map(([reservationId, carNumber]) => (now, lot) => ({
    type: "AdmitDriveUp",
    parkingLotId: lot,
    reservationId,
    carNumber,
    gateId: "north",
    now: iso(now),
  }));

const authorizeArb: fc.Arbitrary<Spec> = fc
  .tuple(fc.constantFrom(...POOL), fc.constantFrom(3000, 5000))
  .map(([reservationId, amount]) => (now, lot) => ({
    type: "AuthorizePayment",
    parkingLotId: lot,
    reservationId,
    intentId: `pi_${reservationId}`,
    amount,
    currency: "KRW",
    now: iso(now),
  }));
const failPaymentArb: fc.Arbitrary<Spec> = fc.constantFrom(...POOL).map((reservationId) => (now, lot) => ({
  type: "FailPayment",
  parkingLotId: lot,
  reservationId,
  code: "card_declined",
  now: iso(now),
}));
const expireArb: fc.Arbitrary<Spec> = fc.constantFrom(...POOL).map((reservationId) => (now, lot) => ({
  type: "ExpirePaymentHold",
  parkingLotId: lot,
  reservationId,
  now: iso(now),
}));

const advanceArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 120 }) },
  { weight: 2, arbitrary: fc.integer({ min: 120, max: 24 * 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 24 * 60, max: 4 * 24 * 60 }) },
);

interface Step {
  readonly advance: number;
  readonly spec: Spec;
  /** Decided by a fresh handler (cold load) instead of the running one. */
  readonly cold: boolean;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  advance: advanceArb,
  cold: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  spec: fc.oneof(
    { weight: 1, arbitrary: registerArb },
    { weight: 8, arbitrary: reserveArb },
    { weight: 3, arbitrary: onReservationArb("CancelReservation") },
    { weight: 3, arbitrary: onReservationArb("CheckIn") },
    { weight: 3, arbitrary: onReservationArb("CheckOut") },
    { weight: 1, arbitrary: closeArb },
    { weight: 3, arbitrary: noShowArb },
    { weight: 2, arbitrary: beginArb },
    { weight: 1, arbitrary: capacityArb },
    { weight: 1, arbitrary: rateArb },
    { weight: 1, arbitrary: customerLimitArb },
    { weight: 1, arbitrary: couponRuleArb },
    { weight: 1, arbitrary: placeArb },
    { weight: 2, arbitrary: driveUpArb },
    { weight: 3, arbitrary: authorizeArb },
    { weight: 1, arbitrary: failPaymentArb },
    { weight: 2, arbitrary: expireArb },
  ),
});

const scenarioArb = fc.record({
  register: registerArb,
  steps: fc.array(stepArb, { minLength: 60, maxLength: 200 }),
  bound: fc.integer({ min: 5, max: 20 }),
  /** Per append of a close or an opening: 0 the process dies before it, 1 right after it, else none. */
  paid: fc.boolean(),
  crashes: fc.option(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 40, maxLength: 40 }), { freq: 2 }),
});

/** A state as compared: what can still hold a spot or change (ended records out), `archived` aside. */
function norm(state: ParkingLotState) {
  const { state: live } = forgetEnded(state);
  const plain = plainOf(live);
  if ("kind" in plain) return plain;
  const { forgotten: _a, ...rest } = plain;
  return rest;
}

const outcomeOf = (outcome: Awaited<ReturnType<ParkingLotCommandHandler["handle"]>>): Decision =>
  // A lot command's outcome: the lot's events, the lot's refusals (issue 68).
  outcome.ok
    ? { ok: true, events: outcome.events as Extract<Decision, { ok: true }>["events"] }
    : { ok: false, rejection: outcome.rejection as Extract<Decision, { ok: false }>["rejection"] };

describe("periods against the full fold", { timeout: 600_000 }, () => {
  const data = tempDataDir("lot-periods-model-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  let run = 0;
  const ctx = (i: string) => ({
    correlationId: `corr-${i}`,
    commandId: `cmd-${i}`,
    actor: { sub: "ops-test", role: "operator" } as const,
  });

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: ":memory:" });
    await withProjectionIndexes(docs);
  });
  afterAll(async () => {
    await events?.close();
    await docs?.close();
    data.remove();
  });

  it("decides, loads and reads every step as the full fold does", async () => {
    let projected: RecordedEvent["position"] | undefined;
    let maxPeriod = 0;
    const stats = { crashes: 0, retriesOfEnded: 0, openings: 0 };
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ register, steps, bound, crashes, paid }) => {
        const context = paid ? { payments: { on: true, holdSeconds: 900 } } : {};
        const lot = `L${run++}`;
        let clock = START;
        let crashAt = 0;
        let crashed = false;
        let armed = false;
        const crashing: EventStore = Object.create(events);
        crashing.readStream = (streamId, options) => events.readStream(streamId, options);
        crashing.appendToStream = async (streamId, toAppend, options) => {
          const books = toAppend.some((e) => e.type === "LotBooksClosed" || e.type === "LotPeriodOpened");
          const plan = books && crashes && armed ? crashes[crashAt++ % crashes.length] : undefined;
          if (plan === 0) {
            crashed = true;
            stats.crashes++;
            throw new Error("the process died before this append");
          }
          const result = await events.appendToStream(streamId, toAppend, options);
          if (plan === 1) {
            crashed = true;
            stats.crashes++;
            throw new Error("the process died after this append");
          }
          return result;
        };
        const make = () =>
          new ParkingLotCommandHandler(crashing, {
            retryLimit: 5,
            cacheSize: 10,
            periodEvents: bound,
            // Openings as of the start: nothing ended is past the idempotency window, so the lot
            // forgets nothing the full fold holds (the window itself: periods.unit.test.ts).
            now: () => START,
            ...(paid ? { payments: { on: true, holdSeconds: 900 } } : {}),
          });
        let hot = make();
        const views = readViews(docs, { eventStore: events, readYourWritesTimeoutMs: 0, now: () => clock });
        let oracle: ParkingLotState = initialState;
        const all: Step[] = [{ advance: 0, spec: register, cold: false }, ...steps];
        for (const [i, step] of all.entries()) {
          clock += step.advance * MINUTE;
          const command = step.spec(clock, lot);
          const viaProcess = isPaymentProcessCommand(command);
          let expected = decide(command, oracle, context);
          let handler = step.cold ? make() : hot;
          armed = true;
          let got: Awaited<ReturnType<ParkingLotCommandHandler["handle"]>> | undefined;
          for (let attempt = 0; got === undefined; attempt++) {
            try {
              got = await handler.handle(command, ctx(`${lot}-${i}`));
            } catch (error) {
              // The process died in a load (its opening): the client retries on a new one.
              if (!crashed || attempt > 5) throw error;
              crashed = false;
              hot = make();
              handler = hot;
            }
          }
          await handler.lotSettled(lot);
          armed = false;
          const where = `${lot} step ${i} ${command.type} bound ${bound}`;
          // The lot's own facts (a paid booking's settlement is its payment stream's).
          const lotOnly = (d: Decision): Decision =>
            d.ok ? { ok: true, events: d.events.filter((e) => !PAYMENT_EVENT_TYPES.has(e.type)) } : d;
          // A payment's command runs through the payment process (its stream first): no oracle for
          // its decision, its lot facts are folded as they came.
          if (viaProcess) expected = lotOnly(outcomeOf(got));
          expect(lotOnly(outcomeOf(got)), where).toEqual(expected);
          if (
            expected.ok &&
            expected.events.length === 0 &&
            "reservationId" in command &&
            oracle.kind === "registered" &&
            forgetEnded(oracle).ended.some(([id]) => id === command.reservationId)
          )
            stats.retriesOfEnded++;
          if (expected.ok) oracle = fold(expected.events, oracle);
          if (got.ok && !viaProcess) expect(got.view, `${where}: view`).toEqual(viewAfter(command, oracle));
          if (step.cold) hot.forgetLots([lot]);
          // A crash in the close or opening: the process is gone, a new one takes the lot's next command.
          if (crashed) {
            crashed = false;
            hot = make();
          }

          // New events of the log: the read models.
          const fresh: RecordedEvent[] = [];
          for await (const e of events.readAll(projected ? { from: projected } : {})) {
            if (
              projected &&
              e.position.commit === projected.commit &&
              e.position.prepare === projected.prepare
            )
              continue;
            fresh.push(e);
          }
          if (fresh.length > 0) {
            projected = fresh.at(-1)?.position;
            for (const e of fresh) {
              const p = lotPeriodOfStream(e.streamId)?.period ?? 0;
              if (p > maxPeriod) maxPeriod = p;
              if (e.type === "LotPeriodOpened") stats.openings++;
            }
            const ops: WriteOp[] = [];
            const collection = (logical: string) => physicalCollection(logical, 1);
            const decoded = fresh.map((e) => decodeEvent(e));
            for (const projection of PROJECTIONS) {
              for (const stored of decoded)
                if (projection.eventTypes.has(stored.event.type))
                  ops.push(...projection.apply(stored, collection));
              const last = decoded.at(-1);
              if (last)
                ops.push(
                  checkpointOp(
                    projection.name,
                    1,
                    { position: last.position, state: "running" },
                    projection.version,
                  ),
                );
            }
            await docs.write(ops);
          }

          const want = norm(oracle);
          expect(norm(await hot.currentState(lot)), `${where}: running handler`).toEqual(want);
          expect(norm(await make().stateOf(lot)), `${where}: fresh handler`).toEqual(want);
          const read = await views.lots.states.state(lot);
          if (oracle.kind === "registered") {
            expect(read && norm(read), `${where}: read side`).toEqual(norm(oracle));
            const freshViews = readViews(docs, {
              eventStore: events,
              readYourWritesTimeoutMs: 0,
              now: () => clock,
            });
            const readFresh = await freshViews.lots.states.state(lot);
            expect(readFresh && norm(readFresh), `${where}: fresh read side`).toEqual(norm(oracle));
            for (const at of [clock, clock + 60 * MINUTE, clock + 6 * 60 * MINUTE]) {
              const t = await views.lots.states.timeline(lot, clock);
              expect(t?.timeline.heldAt(at), `${where}: held at +${(at - clock) / MINUTE}m`).toBe(
                heldTimeline(oracle, clock).heldAt(at),
              );
            }
          }
        }
      }),
      {
        numRuns: Number(process.env.LOT_PERIODS_RUNS ?? 15),
        seed: process.env.LOT_PERIODS_SEED ? Number(process.env.LOT_PERIODS_SEED) : undefined,
      },
    );
    console.log(JSON.stringify({ maxPeriod, ...stats }));
    expect(maxPeriod).toBeGreaterThan(2);
  });
});
