import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { SchemaValidationError, validate } from "./validation.js";

/** What a person reads when a request is refused: one error per field, saying what to do. */
const errorsOf = (schema: Parameters<typeof validate>[0], value: unknown) => {
  try {
    validate(schema, value);
  } catch (error) {
    if (error instanceof SchemaValidationError) return error.errors;
    throw error;
  }
  throw new Error("expected a validation error");
};

const Instant = Type.String({ format: "date-time", pattern: "(Z|z|[+-][0-9]{2}:[0-9]{2})$" });
const Reason = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: "^[^\\p{Cc}]+$",
  description: "plain text",
});
const Status = Type.Union(["RESERVED", "CANCELED", "COMPLETED"].map((s) => Type.Literal(s)));
const Body = Type.Object(
  { from: Instant, reason: Reason, status: Type.Optional(Status) },
  { additionalProperties: false },
);

describe("validation errors a person can act on", () => {
  it("an instant without an offset says to add one", () => {
    expect(errorsOf(Body, { from: "2026-11-23T10:00:00", reason: "x" })).toEqual([
      {
        field: "from",
        message: "has no offset: add an offset such as +09:00 (or Z for UTC)",
        code: "format",
      },
    ]);
    expect(errorsOf(Body, { from: "tomorrow", reason: "x" })).toEqual([
      {
        field: "from",
        message: "must be an RFC 3339 date and time with an offset, e.g. 2026-11-23T10:00:00+09:00",
        code: "format",
      },
    ]);
  });

  it("hints a person can act on: a + a query string turned into a space, a step's unit, a plate's length", () => {
    // `?from=2026-11-23T10:00:00+09:00` unescaped reaches the service as a space before 09:00.
    expect(errorsOf(Body, { from: "2026-11-23T10:00:00 09:00", reason: "x" })).toEqual([
      {
        field: "from",
        message:
          "has a space where its offset's + should be: in a query string write + as %2B (2026-11-23T10:00:00%2B09:00)",
        code: "format",
      },
    ]);
    const Query = Type.Object({
      step: Type.Optional(Type.Integer({ minimum: 5, maximum: 60, description: "Minutes per step, 5–60" })),
      carNumber: Type.Optional(Type.String({ minLength: 2 })),
    });
    expect(errorsOf(Query, { step: 1 })).toEqual([
      { field: "step", message: "must be at least 5. Minutes per step, 5–60", code: "minimum", limit: 5 },
    ]);
    expect(errorsOf(Query, { step: 90 })).toEqual([
      { field: "step", message: "must be at most 60. Minutes per step, 5–60", code: "maximum", limit: 60 },
    ]);
    expect(errorsOf(Query, { carNumber: "8" })).toEqual([
      {
        field: "carNumber",
        message: "is too short: it needs at least 2 characters",
        code: "minLength",
        limit: 2,
      },
    ]);
  });

  it("an empty reason gets one error, not two", () => {
    expect(errorsOf(Body, { from: "2026-11-23T10:00:00Z", reason: "" })).toEqual([
      { field: "reason", message: "must not be empty", code: "minLength", limit: 1 },
    ]);
  });

  it("an unknown status lists the allowed ones, once", () => {
    expect(errorsOf(Body, { from: "2026-11-23T10:00:00Z", reason: "x", status: "DONE" })).toEqual([
      { field: "status", message: "must be one of RESERVED, CANCELED, COMPLETED", code: "anyOf" },
    ]);
  });

  it("lists each wrong field once, in the order found", () => {
    expect(errorsOf(Body, { from: "2026-11-23T10:00", reason: "", extra: 1 }).map((e) => e.field)).toEqual([
      "extra",
      "from",
      "reason",
    ]);
  });
});
