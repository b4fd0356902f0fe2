import { describe, expect, it } from "vitest";
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
    expect(Object.keys(WebhookDataSchemas["payment.action_required"].properties).sort()).toEqual(
      Object.keys(data).sort(),
    );
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
