import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../../event-store/port.js";
import { systemActor } from "../../schemas/actor.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { decodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import { commandContext, paidLotHandler } from "../../test-support/paid-lot.js";
import { tempDataDir } from "../../test-support/service.js";
import type { ParkingLotCommandHandler } from "../command-handler.js";
import { parkingLotStream } from "../parking-lot/decider.js";
import { bookingAskOf, bookingEndOf } from "./lot-booking.js";
import { paymentStream } from "./payment.js";
import { type PaymentCommandHandler, paymentCommandHandler } from "./payment-handler.js";

/*
 * The money of one paid booking under concurrency and retries, over GENERATED races: two writers
 * (a lot command handler each, on its own connection to one store file, as two services sharing a
 * DATA_DIR), every store call delayed a little at random so that their awaits interleave. On a
 * booking with a saved card whose intent is recorded, at once: the provider's authorization
 * (delivered once or twice, on either writer, or by a writer that dies right after the payment's
 * fact, before the lot hears it), a decline, the scheduler's expiry of the hold, and the booking's
 * end (a customer's cancel inside the fee period, an operator's cancel, a check-in and check-out,
 * the scheduler's no-show). Then what recovers (the payments process manager's end plans for each
 * end event on the lot, the webhook delivered again), on either writer.
 *
 * The oracle reads only the final facts of the two streams and the settlement table of
 * docs/domain.md ("a booking canceled while still pending has no money to settle"; an
 * authorization that comes after the lot ended the booking "is settled at once as a cancel that
 * costs nothing"; "a window that ends while it still waits is a NO_SHOW"):
 *  - the lot confirmed the booking only if its payment was authorized, and never after its window
 *    ended unused (an authorization landing then is refused, and released);
 *  - an authorized payment whose booking ended is settled exactly once (nothing stays held);
 *  - the capture is what the end owes a CONFIRMED booking (check-out: the price; a customer's cancel
 *    in the fee period: the fee; a no-show: the no-show fee; an operator's cancel: 0), and 0 for one
 *    the lot never confirmed;
 *  - nothing is settled for a payment never authorized.
 * PAYLINEAR_RUNS raises the runs (default 25).
 */

const AT = Date.parse("2026-11-27T01:00:00.000Z");
const MINUTE = 60_000;
const at = (minutes: number) => new Date(AT + minutes * MINUTE).toISOString();
const RATE = 6000;
const TERMS = {
  currency: "KRW",
  deposit: 10_000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 3000,
};
const START = 180;
const END = 240;
const RUNS = Number(process.env.PAYLINEAR_RUNS ?? 25);

const data = tempDataDir("payment-races-");
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  data.remove();
});

/** A store whose calls each wait a little (the generated jitter) before going through. */
function jittered(store: EventStore, jitter: () => number): EventStore {
  const wait = () => sleep(jitter());
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "appendToStream")
        return async (...args: unknown[]) => {
          await wait();
          return value.apply(target, args);
        };
      if (prop === "readStream")
        return (...args: unknown[]) => ({
          async *[Symbol.asyncIterator]() {
            await wait();
            yield* value.apply(target, args) as AsyncIterable<unknown>;
          },
        });
      return value.bind(target);
    },
  });
}

const writers: { handler: ParkingLotCommandHandler; payments: PaymentCommandHandler; store: EventStore }[] =
  [];
let raw: SqliteEventStore;
let jitterOf: { next: () => number } = { next: () => 0 };

function open() {
  if (writers.length > 0) return;
  const file = join(data.dir, "events.sqlite");
  for (let i = 0; i < 2; i++) {
    const s = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    stores.push(s);
    const store = jittered(s, () => jitterOf.next());
    writers.push({
      handler: paidLotHandler(store, 16),
      payments: paymentCommandHandler(store, 5),
      store,
    });
  }
  raw = stores[0] as SqliteEventStore;
}

type End = "customer-cancel" | "operator-cancel" | "check-out" | "no-show" | "none";
const opArb = fc.record({
  writer: fc.integer({ min: 0, max: 1 }),
  delay: fc.integer({ min: 0, max: 5 }),
});
const raceArb = fc.record({
  /** The authorization: none, once, twice (the webhook and the saga), or by a writer that dies after the payment's fact. */
  authorize: fc.constantFrom("none", "once", "twice", "crash", "crash", "once"),
  /** The provider's answer lands after the window ended unused (the scheduler's no-show not yet recorded). */
  late: fc.constantFrom(false, false, true),
  decline: fc.constantFrom(false, false, true),
  expire: fc.constantFrom(false, false, true),
  /** The booking's ends, racing one another when two (a cancel and a check-out, a check-out and the no-show). */
  ends: fc.uniqueArray(
    fc.constantFrom<End>(
      "customer-cancel",
      "customer-cancel",
      "operator-cancel",
      "check-out",
      "no-show",
      "none",
    ),
    { minLength: 1, maxLength: 2 },
  ),
  ops: fc.array(opArb, { minLength: 8, maxLength: 8 }),
  jitter: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 16, maxLength: 16 }),
  recover: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 3, maxLength: 3 }),
  /** After the settlement: its outcomes (each once or twice) racing operators' refunds, on either writer. */
  refunds: fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 3 }),
  outcomeTwice: fc.boolean(),
  refundFails: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
});
type Race = typeof raceArb extends fc.Arbitrary<infer T> ? T : never;

let lots = 0;

async function factsOf(streamId: string): Promise<StoredDomainEvent[]> {
  const facts: StoredDomainEvent[] = [];
  for await (const recorded of raw.readStream(streamId)) facts.push(decodeEvent(recorded));
  return facts;
}

async function play(race: Race): Promise<void> {
  open();
  const lot = `races-${++lots}`;
  const id = `${lot}-r`;
  const ids = { parkingLotId: lot, reservationId: id };
  let tick = 0;
  jitterOf = { next: () => race.jitter[tick++ % race.jitter.length] ?? 0 };
  const first = writers[0] as (typeof writers)[number];
  const ok = async (command: ParkingLotCommand) => {
    const outcome = await first.handler.handle(command, commandContext("operator"));
    if (!outcome.ok) throw new Error(`${command.type}: ${JSON.stringify(outcome.rejection)}`);
  };
  await ok({
    type: "RegisterParkingLot",
    parkingLotId: lot,
    name: "Races",
    capacity: 5,
    hourlyRate: RATE,
    now: at(0),
  });
  await ok({ type: "ChangePaymentTerms", parkingLotId: lot, terms: TERMS, now: at(0) });
  await ok({
    type: "ReserveParking",
    ...ids,
    customerId: "customer-1",
    carNumber: "12가3456",
    startsAt: at(START),
    endsAt: at(END),
    paymentMethod: "pm_card_visa",
    now: at(0),
  });
  const intent = { ...ids, intentId: `pi_${id}`, amount: RATE, currency: "KRW" };
  await ok({ type: "RecordPaymentIntent", ...intent, now: at(1) });

  // The racers, each on its writer after its delay.
  const racers: ((w: (typeof writers)[number]) => Promise<unknown>)[] = [];
  const send =
    (command: ParkingLotCommand, role: "operator" | "customer" | "system" = "system") =>
    (w: (typeof writers)[number]) =>
      w.handler.handle(command, commandContext(role));
  const authorize: ParkingLotCommand = {
    type: "AuthorizePayment",
    ...intent,
    now: at(race.late ? END + 5 : 2),
  };
  // A late answer's crash is its refusal (nothing appended): sent whole instead.
  const how = race.authorize === "crash" && race.late ? "once" : race.authorize;
  if (how === "once" || how === "twice") racers.push(send(authorize));
  if (how === "twice") racers.push(send(authorize));
  if (how === "crash")
    // A writer that appended the payment's fact and died before telling the lot.
    racers.push(async (w) =>
      w.payments.handle(
        {
          type: "AuthorizePayment",
          reservationId: id,
          command: authorize as Extract<ParkingLotCommand, { type: "AuthorizePayment" }>,
          ask: bookingAskOf(await w.handler.stateOf(lot), id),
        },
        commandContext(),
      ),
    );
  if (race.decline) racers.push(send({ type: "FailPayment", ...ids, intentId: intent.intentId, now: at(3) }));
  if (race.expire) racers.push(send({ type: "ExpirePaymentHold", ...ids, now: at(11) }));
  for (const end of race.ends)
    switch (end) {
      case "customer-cancel":
        racers.push(
          send(
            { type: "CancelReservation", ...ids, reason: "plans", requestedBy: "customer-1", now: at(150) },
            "customer",
          ),
        );
        break;
      case "operator-cancel":
        racers.push(send({ type: "CancelReservation", ...ids, reason: "plans", now: at(150) }, "operator"));
        break;
      case "check-out":
        racers.push(async (w) => {
          await send({ type: "CheckIn", ...ids, now: at(START) })(w);
          return send({ type: "CheckOut", ...ids, now: at(END) })(w);
        });
        break;
      case "no-show":
        racers.push(send({ type: "RecordNoShow", ...ids, now: at(END + 1) }));
        break;
    }
  await Promise.all(
    racers.map(async (racer, i) => {
      const op = race.ops[i % race.ops.length] ?? { writer: 0, delay: 0 };
      await sleep(op.delay);
      return racer(writers[op.writer] as (typeof writers)[number]).catch(() => undefined);
    }),
  );

  // What recovers: the saga's end plan for each end on the lot, the webhook delivered again.
  jitterOf = { next: () => 0 };
  const recovering = (k: number) => writers[race.recover[k] ?? 0] as (typeof writers)[number];
  if (race.authorize !== "none") await send(authorize)(recovering(0));
  for (const stored of await factsOf(parkingLotStream(lot))) {
    const end = bookingEndOfStored(stored);
    if (!end || (stored.event.data as { reservationId?: string }).reservationId !== id) continue;
    // Two replicas of the payments process manager carrying out the same end plan at once.
    await Promise.all(
      [1, 2].map((k) =>
        recovering(k).handler.handle(
          { type: "SettleBooking", ...ids, end, now: at(400) },
          { correlationId: "c", commandId: `end-${k}-${Math.random()}`, actor: systemActor("payments") },
        ),
      ),
    );
  }
  await moneyPhase(race, ids);

  // The oracle, on the final facts.
  const lotFacts = (await factsOf(parkingLotStream(lot))).filter(
    (e) => (e.event.data as { reservationId?: string }).reservationId === id,
  );
  const payFacts = await factsOf(paymentStream(id));
  const lotTypes = lotFacts.map((e) => e.event.type);
  const payTypes = payFacts.map((e) => e.event.type);
  const story = `lot: ${lotTypes.join(",")} | payment: ${payTypes.join(",")}`;
  const confirmed = lotTypes.includes("ReservationConfirmed");
  const authorized = payTypes.includes("PaymentAuthorized");
  const endFacts = lotFacts.filter(
    (e) => bookingEndOfStored(e) !== undefined || e.event.type === "ReservationCanceled",
  );
  expect(endFacts.length, `the booking ended more than once: ${story}`).toBeLessThanOrEqual(1);
  const endFact = endFacts[0];
  const settlements = payFacts.flatMap((e) =>
    e.event.type === "PaymentSettlementDecided" && e.event.data.capture + e.event.data.release > 0
      ? [e.event.data]
      : [],
  );
  expect(confirmed && !authorized, `confirmed without an authorization: ${story}`).toBe(false);
  // A window that ends while its booking still waits is a no-show: never confirmed after it.
  for (const e of lotFacts)
    if (e.event.type === "ReservationConfirmed")
      expect(Date.parse(e.event.data.confirmedAt), `confirmed after its window: ${story}`).toBeLessThan(
        Date.parse(at(END)),
      );
  if (!authorized) expect(settlements, `settled without an authorization: ${story}`).toEqual([]);
  if (authorized && endFact)
    expect(settlements.length, `an ended booking's hold settled once: ${story}`).toBe(1);
  if (authorized && !endFact) expect(settlements.length, `a live booking settled: ${story}`).toBe(0);
  const settled = settlements[0];
  if (!settled) return;
  const end = endFact ? bookingEndOfStored(endFact) : undefined;
  const owed = !confirmed
    ? 0
    : end?.because === "check-out"
      ? RATE
      : end?.because === "customer-cancel"
        ? Math.floor((RATE * TERMS.cancellation.feePercent) / 100)
        : end?.because === "no-show"
          ? TERMS.noShowFee
          : 0;
  expect(
    settled.capture,
    `captured for ${end?.because ?? "no end"} (confirmed: ${confirmed}): ${story}`,
  ).toBe(owed);
  expect(settled.capture + settled.release, story).toBe(RATE);
}

/**
 * The settlement carried out: each step's outcome recorded (once, or twice at once on both writers)
 * while operators refund at once on either writer; then the refunds decided carried out (some
 * declined), each outcome twice at once. The oracle: the capture recorded once and as decided;
 * never more refunds decided, nor refunded, than captured; each refund step recorded once.
 */
async function moneyPhase(race: Race, ids: { parkingLotId: string; reservationId: string }): Promise<void> {
  const id = ids.reservationId;
  const decidedOf = async () =>
    (await factsOf(paymentStream(id))).flatMap((e) =>
      e.event.type === "PaymentSettlementDecided" ? [{ id: e.id, ...e.event.data }] : [],
    );
  const ending = (await decidedOf()).find((d) => d.capture + d.release > 0);
  if (!ending) return;
  jitterOf = { next: () => race.jitter[Math.floor(Math.random() * race.jitter.length)] ?? 0 };
  const writer = (i: number) =>
    writers[race.ops[i % race.ops.length]?.writer ?? 0] as (typeof writers)[number];
  const outcome = (step: "capture" | "release" | "refund", amount: number, settlementId: string, ok = true) =>
    ({
      type: "RecordPaymentOutcome",
      ...ids,
      settlementId,
      step,
      outcome: ok
        ? {
            ok: true,
            intentId: ending.intentId,
            amount,
            ...(step === "refund" ? { refundId: `re_${settlementId}` } : {}),
          }
        : { ok: false, code: "charge_disputed", message: "Disputed.", amount },
      now: at(450),
    }) as ParkingLotCommand;
  const copies = race.outcomeTwice ? [0, 1] : [0];
  const calls: Promise<unknown>[] = [];
  for (const c of copies) {
    if (ending.capture > 0)
      calls.push(
        writers[c]?.handler.handle(
          outcome("capture", ending.capture, ending.id),
          commandContext(),
        ) as Promise<unknown>,
      );
    if (ending.release > 0)
      calls.push(
        writers[1 - c]?.handler.handle(
          outcome("release", ending.release, ending.id),
          commandContext(),
        ) as Promise<unknown>,
      );
  }
  for (const [k, amount] of race.refunds.entries())
    calls.push(
      writer(k + 3).handler.handle(
        { type: "RefundPayment", ...ids, amount, reason: "goodwill", now: at(460) },
        commandContext("operator"),
      ),
    );
  await Promise.all(calls);
  const refundsDecided = (await decidedOf()).filter((d) => d.because === "refund");
  await Promise.all(
    refundsDecided.flatMap((d, k) =>
      [0, 1].map((w) =>
        writers[w]?.handler.handle(outcome("refund", d.refund, d.id, !race.refundFails[k]), commandContext()),
      ),
    ),
  );
  const facts = (await factsOf(paymentStream(id))).map((e) => e.event);
  const story = facts.map((e) => e.type).join(",");
  const sum = (type: string) =>
    facts
      .filter((e) => e.type === type)
      .reduce((total, e) => total + ((e.data as { amount?: number }).amount ?? 0), 0);
  expect(facts.filter((e) => e.type === "PaymentCaptured").length, `captured once: ${story}`).toBe(
    ending.capture > 0 ? 1 : 0,
  );
  const captured = sum("PaymentCaptured");
  expect(captured, story).toBe(ending.capture);
  const decidedBack = refundsDecided.reduce((total, d) => total + d.refund, 0);
  expect(decidedBack, `refunds decided beyond what was captured: ${story}`).toBeLessThanOrEqual(captured);
  expect(sum("PaymentRefunded"), `refunded beyond what was captured: ${story}`).toBeLessThanOrEqual(captured);
  const wantBack = refundsDecided.reduce((total, d, k) => total + (race.refundFails[k] ? 0 : d.refund), 0);
  expect(sum("PaymentRefunded"), `refunded as carried out: ${story}`).toBe(wantBack);
  const steps = facts.flatMap((e) =>
    "settlementId" in e.data && e.type !== "PaymentSettlementDecided"
      ? [`${(e.data as { settlementId: string }).settlementId}:${e.type}`]
      : [],
  );
  expect(new Set(steps).size, `a step recorded twice: ${story}`).toBe(steps.length);
}

const bookingEndOfStored = (stored: StoredDomainEvent) =>
  bookingEndOf(stored.event as never, stored.metadata.actor?.role);

describe("a paid booking's money under generated races of two writers", () => {
  it("settles once what the final facts owe: nothing for a booking the lot never confirmed", async () => {
    const quiet = {
      decline: false,
      expire: false,
      // The authorization first, then the end on the other writer.
      ops: Array.from({ length: 8 }, (_, i) => ({ writer: i % 2, delay: i === 0 ? 0 : 5 })),
      jitter: Array.from({ length: 16 }, () => 0),
      recover: [0, 1, 0],
      refunds: [],
      outcomeTwice: false,
      refundFails: [false, false, false],
    };
    // The two defects this hunt found, always tried first: a customer's cancel of a booking whose
    // authorization a dying writer recorded meanwhile (it was charged the cancellation fee), and an
    // authorization landing after the window ended unused (it was confirmed, then fined as a no-show).
    const examples: [Race][] = [
      [{ ...quiet, authorize: "crash", late: false, ends: ["customer-cancel"] }],
      [{ ...quiet, authorize: "once", late: true, ends: ["no-show"] }],
    ];
    await fc.assert(fc.asyncProperty(raceArb, play), { numRuns: RUNS, endOnFailure: true, examples });
  }, 60_000);
});
