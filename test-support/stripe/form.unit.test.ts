import { describe, expect, it } from "vitest";
import { encodeForm, parseForm } from "./form.js";

describe("Stripe's form encoding", () => {
  it("parses nested metadata keys, indexed and appended arrays", () => {
    const body =
      "amount=1200&currency=krw&metadata[reservationId]=r-1&metadata[parkingLotId]=lot%201" +
      "&expand[0]=latest_charge&expand[1]=customer&payment_method_types[]=card&payment_method_options[card][capture_method]=manual";
    expect(parseForm(body)).toEqual({
      amount: "1200",
      currency: "krw",
      metadata: { reservationId: "r-1", parkingLotId: "lot 1" },
      expand: ["latest_charge", "customer"],
      payment_method_types: ["card"],
      payment_method_options: { card: { capture_method: "manual" } },
    });
  });

  it("keeps an empty value (Stripe's way to unset a field) and round-trips its own encoding", () => {
    expect(parseForm("description=&metadata=")).toEqual({ description: "", metadata: "" });
    const params = { amount: 5, metadata: { a: "x&y=z", b: "ü" }, confirm: true };
    expect(parseForm(encodeForm(params))).toEqual({
      amount: "5",
      metadata: { a: "x&y=z", b: "ü" },
      confirm: "true",
    });
  });
});
