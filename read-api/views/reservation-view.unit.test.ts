import { describe, expect, it } from "vitest";
import type { PaymentView } from "../../schemas/payment-views.js";
import { withClientSecret } from "./reservation-view.js";

const failed = (step: "capture" | "overstay", intentId: string) => ({
  settlementId: "s-1",
  step,
  code: "authentication_required",
  message: "the card asks for its customer",
  at: "2026-11-29T10:00:00.000Z",
  amount: 2000,
  intentId,
});

const payment = {
  state: "captured",
  amount: 6000,
  currency: "KRW",
  holdUntil: "2026-11-20T10:00:00.000Z",
  failures: [failed("capture", "pi_capture"), failed("overstay", "pi_overstay")],
} as unknown as PaymentView;

/** Issue 71: the booking's customer pays each refused charge on session with that intent's own client secret. */
describe("a payment as its customer sees it", () => {
  it("gives each refused charge the secret of its own intent", () => {
    const seen = withClientSecret(payment, {
      clientSecret: "pi_overstay_secret_b",
      clientSecrets: ["pi_capture_secret_a", "pi_overstay_secret_b"],
    });
    expect(seen.failures.map((f) => f.clientSecret)).toEqual(["pi_capture_secret_a", "pi_overstay_secret_b"]);
    expect(seen.clientSecret).toBeUndefined();
  });

  it("with the latest secret only (kept by an older version), gives it to its own intent's charge alone", () => {
    const seen = withClientSecret(payment, { clientSecret: "pi_overstay_secret_b" });
    expect(seen.failures.map((f) => f.clientSecret)).toEqual([undefined, "pi_overstay_secret_b"]);
  });

  it("while the payment waits for its customer, gives the latest on the payment", () => {
    const pending = { ...payment, state: "pending", failures: [] } as PaymentView;
    expect(withClientSecret(pending, { clientSecret: "pi_x_secret_c", clientSecrets: [] }).clientSecret).toBe(
      "pi_x_secret_c",
    );
  });
});
