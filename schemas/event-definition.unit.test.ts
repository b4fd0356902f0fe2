import { Type } from "@sinclair/typebox";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbitraryOf, type Schema } from "../test-support/json-schema-arbitrary.js";
import { CustomerId, Identifier, Personal, Timestamp } from "./common.js";
import { byType, defineEvent, EVENT_STREAMS } from "./event-definition.js";
import { stampOf } from "./event-stamps.js";
import {
  EVENT_DEFINITIONS,
  EVENT_TYPES,
  EventDataSchemas,
  type EventOfType,
  type EventType,
  eventTypesOfStream,
} from "./events.js";
import { PERSONAL_FIELDS } from "./personal-data.js";
import { validateEvent } from "./validation.js";

/**
 * One definition per event type (issue 48, item 4): a definition missing a piece does not compile
 * (the `@ts-expect-error` lines fail `npx tsc` if it ever does), and one whose pieces do not fit its
 * schema throws when its module loads. Everything else is derived from the registry.
 */

const ThingDone = Type.Object(
  { thingId: Identifier, customerId: Personal(CustomerId), label: Identifier, doneAt: Timestamp },
  { additionalProperties: false, $id: "ThingDone" },
);
const WhenOptional = Type.Object(
  { thingId: Identifier, doneAt: Type.Optional(Timestamp) },
  { additionalProperties: false, $id: "WhenOptional" },
);
const isValid = (type: string, data: unknown): boolean => {
  try {
    validateEvent(type, data);
    return true;
  } catch {
    return false;
  }
};

const whole = {
  type: "ThingDone",
  schema: ThingDone,
  stream: "lot",
  recordTime: "doneAt",
  audit: (d: { thingId: string }, by: string) => `${by} did ${d.thingId}`,
} as const;

describe("a definition", () => {
  it("is whole with a type, a schema named by it, a stream, a record time and an audit sentence", () => {
    const definition = defineEvent(whole);
    const data = { thingId: "t1", customerId: "c", label: "l", doneAt: "2026-11-26T12:00:00Z" };
    expect(definition.audit(data, "ops-1", undefined)).toBe("ops-1 did t1");
    expect(Object.isFrozen(definition)).toBe(true);
  });

  it("without an audit sentence does not compile, and throws at load", () => {
    const { audit: _, ...rest } = whole;
    // @ts-expect-error: `audit` is required
    expect(() => defineEvent(rest)).toThrow("ThingDone: it has no audit sentence");
  });

  it("without a record time does not compile, and throws at load", () => {
    const { recordTime: _, ...rest } = whole;
    // @ts-expect-error: `recordTime` is required
    expect(() => defineEvent(rest)).toThrow("its record time undefined is no required timestamp");
  });

  it("whose record time is not a required text field of its payload does not compile", () => {
    // @ts-expect-error: no such field
    expect(() => defineEvent({ ...whole, recordTime: "doneWhen" })).toThrow("doneWhen");
    const optional = { ...whole, type: "WhenOptional", schema: WhenOptional, audit: () => "" } as const;
    // @ts-expect-error: an optional field cannot be every event's time
    expect(() => defineEvent(optional)).toThrow("record time doneAt is no required timestamp");
  });

  it("whose record time is a text field but not a timestamp throws at load", () => {
    expect(() => defineEvent({ ...whole, recordTime: "label" })).toThrow(
      "record time label is no required timestamp",
    );
  });

  it("on a stream no aggregate has does not compile, and throws at load", () => {
    // @ts-expect-error: not an EventStream
    expect(() => defineEvent({ ...whole, stream: "parking" })).toThrow("its stream parking is none of");
  });

  it("whose schema is named otherwise than its type throws at load (the API document names it so)", () => {
    expect(() => defineEvent({ ...whole, type: "ThingMade" })).toThrow("its schema's $id is ThingDone");
  });

  it("given twice to the registry throws", () => {
    const definition = defineEvent(whole);
    expect(() => byType(definition, definition)).toThrow("event type ThingDone defined twice");
  });
});

describe("the registry of definitions", () => {
  it("gives the codec each type's schema, in the order the API document lists them", () => {
    expect(Object.keys(EventDataSchemas)).toEqual(EVENT_TYPES);
    for (const type of EVENT_TYPES) expect(EventDataSchemas[type]).toBe(EVENT_DEFINITIONS[type].schema);
    expect(EVENT_TYPES.slice(0, 2)).toEqual(["ParkingLotRegistered", "ParkingReserved"]);
    expect(EVENT_TYPES.at(-1)).toBe("GateReviewResolved");
  });

  it("makes the union of the defined types only, each with its own payload", () => {
    // @ts-expect-error: no definition has this type
    const undefinedType: EventType = "ParkingLotDemolished";
    const closed: EventOfType<"ParkingLotClosed">["data"]["reason"] = "maintenance";
    expect([EVENT_TYPES.includes(undefinedType), closed]).toEqual([false, "maintenance"]);
  });

  it("splits every type into exactly one stream's set (the payment facts are the payment's, issue 48)", () => {
    const sets = EVENT_STREAMS.map((stream) => [...eventTypesOfStream(stream)]);
    expect(sets.flat().sort()).toEqual([...EVENT_TYPES].sort());
    expect([...eventTypesOfStream("payment")]).toEqual([
      "PaymentIntentCreated",
      "PaymentIntentReleased",
      "PaymentHoldLapsed",
      "PaymentAuthorized",
      "PaymentCardSaved",
      "PaymentActionRequired",
      "PaymentFailed",
      "PaymentAttemptFailed",
      "PaymentSettlementDecided",
      "PaymentVoidDecided",
      "PaymentCaptured",
      "PaymentReleased",
      "PaymentRefunded",
      "OverstayCharged",
      "PaymentStepFailed",
      "PaymentRequested",
      "PaymentCarriedOver",
    ]);
    expect([...eventTypesOfStream("coupon")]).toEqual([
      "CouponIssued",
      "CouponEarned",
      "CouponRevoked",
      "CouponRedeemed",
      "CouponReturned",
    ]);
    expect([...eventTypesOfStream("customer")]).toEqual(["CustomerErased"]);
    // Issue 48: the read side's view of a lot's period, on a side stream of its own (no lot's stream).
    expect([...eventTypesOfStream("lotView")]).toEqual(["LotPeriodViewRecorded"]);
  });

  it("derives the personal fields from each definition's schema", () => {
    expect(Object.keys(PERSONAL_FIELDS)).toEqual(EVENT_TYPES);
  });

  it("gives every valid payload of every type its record time and an audit sentence", () => {
    const now = Date.parse("2026-11-26T12:00:00Z");
    // A time zone is checked against the runtime's zones: a generated name seldom is one.
    const zones = ["Asia/Seoul", "UTC", "America/New_York"];
    const known = { timeZone: zones, previousTimeZone: zones };
    const anyEvent = fc.constantFrom(...EVENT_TYPES).chain((type) =>
      arbitraryOf(EventDataSchemas[type] as unknown as Schema, { now, known, maxStringLength: 12 })
        .filter((data) => isValid(type, data))
        .map((data) => ({ type, data })),
    );
    fc.assert(
      fc.property(anyEvent, (event) => {
        const definition = EVENT_DEFINITIONS[event.type];
        const stamp = stampOf(event as never);
        expect(stamp).toBe((event.data as Record<string, unknown>)[definition.recordTime]);
        expect(Number.isNaN(Date.parse(stamp))).toBe(false);
        const sentence = (definition.audit as (d: unknown, by: string, a: undefined) => string)(
          event.data,
          "ops-1 (operator)",
          undefined,
        );
        expect(sentence.startsWith("ops-1 (operator) ")).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
