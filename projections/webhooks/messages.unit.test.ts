import { describe, expect, it } from "vitest";
import { ajv } from "../../platform/validation.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { WEBHOOK_EVENT_TYPES, WebhookDataSchemas } from "../../schemas/webhooks.js";
import { messagesOf } from "./messages.js";

/*
 * Issue 71: the customer's app is told when the hold before a far stay asks for them: the payment
 * fact PaymentActionRequired is sent as `payment.action_required`, derived from the log's schema as
 * every heard payment fact is, at its `actionRequiredAt`.
 */

const data = {
  reservationId: "r1",
  parkingLotId: "L1",
  intentId: "pi_2",
  amount: 5000,
  currency: "KRW",
  deadline: "2026-12-11T10:00:00.000Z",
  actionRequiredAt: "2026-12-10T10:00:00.000Z",
};
const stored = {
  event: { type: "PaymentActionRequired", data },
  id: "e1",
  streamId: "payment-r1",
  revision: 2,
  position: { commit: 1, prepare: 1 },
  metadata: { correlationId: "c1", causationId: "c1" },
  createdAt: new Date(data.actionRequiredAt),
} as unknown as StoredDomainEvent;

describe("payment.action_required", () => {
  it("is a webhook event type, its data the fact's own, sent at the fact's actionRequiredAt", () => {
    expect(WEBHOOK_EVENT_TYPES).toContain("payment.action_required");
    const [mapped, ...more] = messagesOf(stored);
    expect(more).toEqual([]);
    expect(mapped).toEqual({
      message: { type: "payment.action_required", timestamp: data.actionRequiredAt, data },
      orderKey: "r1",
      part: 0,
    });
    // The fact's fields, each required but the saving's `authorizeAt` (a hold before the stay has none).
    const schema = WebhookDataSchemas["payment.action_required"];
    expect(Object.keys(schema.properties).sort()).toEqual([...Object.keys(data), "authorizeAt"].sort());
    expect([...(schema.required ?? [])].sort()).toEqual(Object.keys(data).sort());
  });

  it("a hold that lapsed is told as payment.hold_lapsed, at its lapsedAt (issue 71)", () => {
    const lapsed = {
      reservationId: "r1",
      parkingLotId: "L1",
      intentId: "pi_1",
      amount: 5000,
      because: "provider",
      lapsedAt: "2026-12-08T10:00:00.000Z",
    };
    const fact = { ...stored, event: { type: "PaymentHoldLapsed", data: lapsed } } as StoredDomainEvent;
    expect(messagesOf(fact)).toEqual([
      {
        message: { type: "payment.hold_lapsed", timestamp: lapsed.lapsedAt, data: lapsed },
        orderKey: "r1",
        part: 0,
      },
    ]);
  });

  it("a charge at the booking's end that failed is told as payment.charge_failed: why, what is left to collect and in what (issue 71)", () => {
    const failed = {
      reservationId: "r1",
      parkingLotId: "L1",
      settlementId: "s1",
      step: "overstay",
      code: "authentication_required",
      message: "This transaction requires authentication.",
      amount: 3000,
      currency: "KRW",
      failedAt: "2026-12-08T10:00:00.000Z",
    };
    const fact = (d: object) =>
      ({ ...stored, event: { type: "PaymentStepFailed", data: d } }) as StoredDomainEvent;
    const [told, ...more] = messagesOf(fact(failed));
    expect(more).toEqual([]);
    expect(told?.message).toEqual({
      type: "payment.charge_failed",
      timestamp: failed.failedAt,
      data: { ...failed, reason: "authentication_required" },
    });
    expect(ajv.validate(WebhookDataSchemas["payment.charge_failed"], told?.message.data)).toBe(true);
    // A lapsed hold's capture charged off-session: the card's own decline says the customer must come back.
    const lapsed = {
      ...failed,
      step: "capture",
      code: "authorization_lapsed",
      declineCode: "authentication_required",
    };
    expect(messagesOf(fact(lapsed))[0]?.message.data).toMatchObject({ reason: "authentication_required" });
    const declined = { ...failed, code: "insufficient_funds" };
    expect(messagesOf(fact(declined))[0]?.message.data).toMatchObject({ reason: "declined", amount: 3000 });
    // A refund or a release that failed is no charge; a fact older than its currency is not told.
    expect(messagesOf(fact({ ...failed, step: "refund" }))).toEqual([]);
    const { currency: _older, ...old } = failed;
    expect(messagesOf(fact(old))).toEqual([]);
  });

  it("keeps the one-word facts' names: payment.authorized at authorizedAt", () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual(
      expect.arrayContaining([
        "payment.authorized",
        "payment.failed",
        "payment.captured",
        "payment.refunded",
      ]),
    );
  });
});

/*
 * The facts told as they are (their message's data is the fields its schema names, its timestamp
 * the fact's record time): what each says, and that fields the message does not name stay out.
 */
describe("facts told as they are", () => {
  const ids = { reservationId: "r1", parkingLotId: "L1", customerId: "C1" };
  const at = "2026-12-10T10:00:00.000Z";
  const window = { from: "2026-12-11T00:00:00.000Z", until: "2026-12-12T00:00:00.000Z" };
  const cases = [
    [
      "ReservationCheckedIn",
      "reservation.checked_in",
      { ...ids, checkedInAt: at, couponSpendableFrom: at },
      { ...ids, checkedInAt: at },
    ],
    [
      "ReservationNoShow",
      "reservation.no_show",
      { ...ids, startsAt: window.from, endsAt: window.until, recordedAt: at },
      { ...ids, startsAt: window.from, endsAt: window.until },
    ],
    [
      "CouponIssued",
      "coupon.issued",
      { ...ids, couponId: "cp1", issuedAt: at, untilEarned: true },
      { ...ids, couponId: "cp1", issuedAt: at },
    ],
    [
      "CouponRevoked",
      "coupon.revoked",
      { ...ids, couponId: "cp1", revokedAt: at },
      { ...ids, couponId: "cp1", revokedAt: at },
    ],
    [
      "ParkingLotClosed",
      "lot.closure_announced",
      { parkingLotId: "L1", closureId: "k1", ...window, reason: "repaving", closedAt: at },
      { parkingLotId: "L1", closureId: "k1", ...window, reason: "repaving" },
    ],
    [
      "ParkingLotClosureBegan",
      "lot.closure_began",
      { parkingLotId: "L1", closureId: "k1", ...window, carsInLot: ["r1"], recordedAt: at },
      { parkingLotId: "L1", closureId: "k1", ...window, carsInLot: ["r1"] },
    ],
  ] as const;
  it.each(cases)("%s is sent as %s", (type, messageType, data, told) => {
    const event = { ...stored, event: { type, data } } as unknown as StoredDomainEvent;
    const [mapped, ...more] = messagesOf(event);
    expect(more).toEqual([]);
    expect(mapped?.message).toEqual({ type: messageType, timestamp: at, data: told });
  });
});
