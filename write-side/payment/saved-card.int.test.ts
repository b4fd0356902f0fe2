import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import {
  commandContext,
  KRW_TERMS,
  paidLotHandler,
  paidLotIn,
  runAccepted,
} from "../../test-support/paid-lot.js";
import type { ParkingLotCommandHandler } from "../command-handler.js";

/**
 * Issue 71, the deadline race: a saved card's hold before the stay asked for its customer
 * (action-required); at the stay's start the process manager fails it (FailPayment) while the
 * customer completes 3-D Secure (the webhook's AuthorizePayment). Two processes on one store, each
 * its own handler and cache: the payment's stream (its expected revision) takes one first, and the
 * other is decided on it. Either the authorization stands (the booking RESERVED, nothing failed),
 * or the failure does (the booking canceled, the authorization refused): never both, never neither.
 */

const LOT = "race-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const DAY = 24 * 60;
const TERMS = KRW_TERMS;

let one: ParkingLotCommandHandler;
let two: ParkingLotCommandHandler;
let close: () => Promise<void>;

beforeAll(async () => {
  const lot = await paidLotIn("saved-card-race-", {
    parkingLotId: LOT,
    name: "Race",
    now: at(0),
    terms: TERMS,
  });
  ({ handler: one, close } = lot);
  two = paidLotHandler(lot.store);
});
afterAll(async () => close());

/** A booking ten days on, its card saved, its hold before the stay waiting for its customer. */
async function waitingForCustomer(reservationId: string) {
  const about = { parkingLotId: LOT, reservationId };
  const starts = at(10 * DAY);
  await runAccepted(one, {
    type: "ReserveParking",
    ...about,
    customerId: `customer-${reservationId}`,
    carNumber: "12가3456",
    startsAt: starts,
    endsAt: at(10 * DAY + 60),
    paymentMethod: "pm_card_authenticationRequired",
    now: at(0),
  });
  const money = { amount: 6000, currency: "KRW" };
  const authorizeAt = at(9 * DAY);
  await runAccepted(one, {
    type: "AuthorizePayment",
    ...about,
    intentId: "seti_1",
    ...money,
    authorizeAt,
    now: at(1),
  });
  await runAccepted(one, {
    type: "AuthorizePayment",
    ...about,
    intentId: `pi_${reservationId}`,
    ...money,
    actionDeadline: starts,
    now: authorizeAt,
  });
  expect(await one.paymentStateOf(LOT, reservationId)).toMatchObject({ status: "action-required" });
  const fail: ParkingLotCommand = {
    type: "FailPayment",
    ...about,
    code: "authentication_required",
    holdBeforeStay: true,
    now: starts,
  };
  const complete: ParkingLotCommand = {
    type: "AuthorizePayment",
    ...about,
    intentId: `pi_${reservationId}`,
    ...money,
    now: starts,
  };
  return { fail, complete };
}

describe("the deadline race of a hold waiting for its customer (issue 71)", () => {
  it("the payment's stream decides one: authorized and kept, or failed and canceled, whichever it records first", async () => {
    const orders = ["fail-first", "complete-first", "together", "together", "together", "together"] as const;
    for (const [round, order] of orders.entries()) {
      const id = `race-${round}`;
      const { fail, complete } = await waitingForCustomer(id);
      // Each from its own process (its own handler and cache): one after the other, or started together.
      const sendFail = () => one.handle(fail, commandContext());
      const sendComplete = () => two.handle(complete, commandContext());
      const [failed, completed] =
        order === "fail-first"
          ? [await sendFail(), await sendComplete()]
          : order === "complete-first"
            ? await sendComplete().then(async (c) => [await sendFail(), c] as const)
            : await Promise.all([sendFail(), sendComplete()]);
      const payment = await one.paymentStateOf(LOT, id);
      const lot = await one.stateOf(LOT);
      const booking = lot.kind === "registered" ? lot.reservations.get(id) : undefined;
      const events = (o: typeof failed) => (o.ok ? o.events.map((e) => e.type) : []);
      if (order !== "together")
        expect(payment, order).toMatchObject({ status: order === "fail-first" ? "failed" : "authorized" });
      if (payment.kind === "open" && payment.status === "authorized") {
        expect(booking?.status).toBe("RESERVED");
        expect(events(completed)).toContain("PaymentAuthorized");
        expect(events(failed)).toEqual([]);
      } else {
        expect(payment).toMatchObject({ status: "failed" });
        expect(booking?.status).toBe("CANCELED");
        expect(events(failed)).toContain("PaymentFailed");
        expect(events(completed)).not.toContain("PaymentAuthorized");
      }
    }
  });
});
