import { describe, expect, it } from "vitest";
import { Bank, emptyBank } from "./bank.js";
import { findOperation, TRIMMED, validateEvent } from "./contract.js";
import { parseForm } from "./form.js";
import { eventObject } from "./objects.js";

describe("the trimmed Stripe OpenAPI document", () => {
  it("records where it came from", () => {
    const source = TRIMMED.info["x-source"] as Record<string, string>;
    expect(source.repository).toBe("https://github.com/stripe/openapi");
    expect(source.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(TRIMMED.info.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("coerces form values to the schema's types and refuses unknown parameters", () => {
    const create = findOperation("POST", "/v1/payment_intents")?.operation;
    if (!create) throw new Error("no create operation");
    const params = parseForm(
      "amount=1200&currency=krw&confirm=true&capture_method=manual&metadata[reservationId]=r",
    );
    expect(create.validateParams(params)).toBe(true);
    expect(params).toMatchObject({ amount: 1200, confirm: true, metadata: { reservationId: "r" } });
    expect(create.validateParams(parseForm("amount=1200&currency=krw&amount_to_capture=5"))).toBe(false);
    expect(create.validateParams(parseForm("amount=twelve&currency=krw"))).toBe(false);
    expect(create.validateParams(parseForm("currency=krw"))).toBe(false);
  });

  it("accepts the server's objects (nullable fields as null) and refuses a wrong type", () => {
    const bank = new Bank(emptyBank(), () => {});
    const intent = bank.createIntent({ amount: 1000, currency: "krw", capture_method: "manual" });
    const retrieve = findOperation("GET", `/v1/payment_intents/${String(intent.id)}`);
    expect(retrieve?.ids).toEqual([intent.id]);
    const ok = retrieve?.operation.validateOk;
    expect(ok?.(intent)).toBe(true);
    expect(ok?.({ ...intent, amount: "100" })).toBe(false);
    expect(ok?.({ ...intent, status: "authorized" })).toBe(false);
    expect(ok?.({ ...intent, canceled_at: null, description: null })).toBe(true);
  });

  it("checks event envelopes and the object each carries", () => {
    const bank = new Bank(emptyBank(), () => {});
    const intent = bank.createIntent({ amount: 1000, currency: "krw" });
    const event = eventObject(
      "payment_intent.created",
      intent,
      { id: null, idempotencyKey: null },
      "2023-08-16",
    );
    expect(validateEvent(event)).toEqual([]);
    expect(validateEvent({ ...event, created: "now" })).not.toEqual([]);
    expect(validateEvent({ ...event, data: { object: { ...intent, amount: "100" } } })).not.toEqual([]);
    expect(validateEvent({ ...event, data: { object: { id: "x", object: "charm" } } })).not.toEqual([]);
  });
});
