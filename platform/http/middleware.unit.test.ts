import { Type } from "@sinclair/typebox";
import express, { type Express } from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it, vi } from "vitest";
// The service's own errors (a store down, a lost race) as the composition root maps them.
import { SERVICE_PROBLEMS } from "../../app/problems.js";
import { EventStoreUnavailableError } from "../../event-store/errors.js";
import { ReservationId } from "../../schemas/common.js";
import { ConcurrencyConflictError } from "../../write-side/command-handler.js";
import { ajv, SchemaValidationError } from "../validation.js";
import {
  assignCorrelationId,
  boundedBodyDepth,
  errorHandler,
  MAX_BODY_DEPTH,
  nestedDeeperThan,
  refuseIllFormedCorrelationId,
  requireJsonBody,
  toProblem,
  validInput,
} from "./middleware.js";
import { ProblemError, problemDocument } from "./problem.js";

/** An error shaped like the ones body-parser (express.json) raises. */
function parserError(type: string, status: number, message = `body-parser: ${type}`): Error {
  return Object.assign(new Error(message), { type, status, expose: true });
}

describe("toProblem: every error becomes a problem with a stable type", () => {
  it.each([
    ["entity.parse.failed", 400, "malformed-json", 400],
    ["entity.too.large", 413, "payload-too-large", 413],
    ["charset.unsupported", 415, "unsupported-media-type", 415],
    ["encoding.unsupported", 415, "unsupported-media-type", 415],
  ])("body-parser %s (%i) → %s %i", (type, parserStatus, problem, status) => {
    const mapped = toProblem(parserError(type, parserStatus));
    expect(mapped).toBeInstanceOf(ProblemError);
    expect(mapped.problem).toBe(problem);
    expect(mapped.status).toBe(status);
    expect(problemDocument(mapped).type).toBe(`/problems/${problem}`);
  });

  it("another client-side body-parser error (4xx) stays a 400, never a 500", () => {
    const mapped = toProblem(parserError("request.aborted", 400, "request aborted"));
    expect(mapped.status).toBe(400);
    expect(mapped.problem).toBe("validation");
  });

  it("SchemaValidationError → 400 validation, listing each wrong field", () => {
    const errors = [{ field: "capacity", message: "must be >= 0" }];
    const mapped = toProblem(new SchemaValidationError(errors, "RegisterParkingLot"));
    expect(mapped.status).toBe(400);
    expect(mapped.problem).toBe("validation");
    expect(problemDocument(mapped)).toMatchObject({
      type: "/problems/validation",
      status: 400,
      errors,
    });
    // The command's internal name stays out of what the caller reads.
    expect(problemDocument(mapped).detail).not.toContain("RegisterParkingLot");
  });

  it("an event the service built that breaks its schema is a 500, its internal name not shown", () => {
    const mapped = toProblem(
      new SchemaValidationError([{ field: "amount", message: "must be > 0" }], "ParkingReserved event"),
    );
    expect(mapped.status).toBe(500);
    expect(JSON.stringify(problemDocument(mapped))).not.toContain("ParkingReserved");
  });

  it("a ProblemError is passed through as is", () => {
    const original = new ProblemError("parking-lot-full", "All 5 spots are taken.", { capacity: 5 });
    expect(toProblem(original)).toBe(original);
  });

  it.each([
    ["an Error", new Error("SQLITE_CORRUPT at /var/lib/secret/events.sqlite")],
    ["a TypeError", new TypeError("Cannot read properties of undefined (reading 'secret')")],
    ["a string", "secret string thrown"],
    ["null", null],
    ["undefined", undefined],
    ["an object with a 5xx status", Object.assign(new Error("secret upstream"), { status: 502 })],
  ])("%s → 500 internal, without leaking its message", (_name, error) => {
    const mapped = toProblem(error);
    expect(mapped.status).toBe(500);
    expect(mapped.problem).toBe("internal");
    const document = problemDocument(mapped);
    expect(document).toEqual({ type: "/problems/internal", title: "Internal error", status: 500 });
    expect(JSON.stringify(document)).not.toMatch(/secret/i);
  });
});

describe("validInput", () => {
  it("compiles a schema built afresh for every request only once (ajv keeps each compiled schema)", () => {
    const compile = vi.spyOn(ajv, "compile");
    try {
      const params = () => Type.Object({ reservationId: ReservationId, extra: Type.Optional(Type.String()) });
      for (let i = 0; i < 20; i++)
        expect(validInput(params(), { reservationId: `r-${i}` }, "path")).toBeTruthy();
      expect(compile.mock.calls.length).toBeLessThanOrEqual(1);
      // Same shape, same verdict: the canonical schema validates exactly as the one passed would.
      expect(() => validInput(params(), { reservationId: "$gt" }, "path")).toThrow(ProblemError);
      expect(() => validInput(params(), { reservationId: "r", other: 1 }, "path")).not.toThrow();
    } finally {
      compile.mockRestore();
    }
  });

  const Body = Type.Object({ name: Type.String({ maxLength: 10 }), reason: Type.Optional(Type.String()) });
  const problemOf = (run: () => unknown): ProblemError => {
    try {
      run();
    } catch (error) {
      if (error instanceof ProblemError) return error;
      throw error;
    }
    throw new Error("no problem raised");
  };

  it("names a refused field's keyword and bound, for a page to word it in its own language (issue 69)", () => {
    const Capacity = Type.Object({ capacity: Type.Integer({ maximum: 100_000 }) });
    const problem = problemOf(() => validInput(Capacity, { capacity: 200_000 }, "body"));
    expect(problem.extra.errors).toEqual([
      { field: "body.capacity", code: "maximum", limit: 100_000, message: "must be at most 100000" },
    ]);
  });

  it("normalizes text to NFC before validating it: decomposed Hangul is the same name", () => {
    const decomposed = "\u1100\u1161\u11BC\u1102\u1161\u11B7"; // 강남 as jamo
    expect(decomposed).toHaveLength(6);
    expect(validInput(Body, { name: decomposed }, "body").name).toBe("강남");
  });

  it.each([
    ["a bidirectional override", "주차장\u202Egnp.exe"],
    ["a zero-width space", "A\u200BB"],
    ["a control character", "A\u0007B"],
    ["an unpaired surrogate", "A\uD800B"],
  ])("refuses %s in free text, naming the field", (_what, text) => {
    const problem = problemOf(() => validInput(Body, { name: "ok", reason: text }, "body"));
    expect(problem.problem).toBe("validation");
    expect(problem.extra.errors).toEqual([
      { field: "body.reason", message: expect.stringMatching(/control, format .* unpaired surrogate/) },
    ]);
  });

  it("normalizes nested text by copy on write: the input is never modified, text already NFC is not copied", () => {
    const Nested = Type.Object({
      items: Type.Array(Type.Object({ name: Type.String(), tags: Type.Array(Type.String()) })),
      count: Type.Integer(),
    });
    const decomposed = "\u1100\u1161\u11BC";
    const input = JSON.parse(
      JSON.stringify({
        items: [
          { name: "a", tags: ["x"] },
          { name: decomposed, tags: ["y", decomposed] },
        ],
        count: 2,
      }),
    );
    const snapshot = structuredClone(input);
    const output = validInput(Nested, input, "body");
    expect(output).toEqual({
      items: [
        { name: "a", tags: ["x"] },
        { name: "강", tags: ["y", "강"] },
      ],
      count: 2,
    });
    expect(input).toEqual(snapshot);
    expect(output.items[0]).toBe(input.items[0]);
    const unchanged = { items: [{ name: "강", tags: [] }], count: 1 };
    expect(validInput(Nested, unchanged, "body")).toBe(unchanged);
  });

  it("names a nested field's forbidden character by its path, and keeps a body's own __proto__ key a plain field", () => {
    const problem = problemOf(() =>
      validInput(
        Type.Object({ items: Type.Array(Type.Object({ name: Type.String() })) }),
        {
          items: [{ name: "ok" }, { name: "A\u200BB" }],
        },
        "body",
      ),
    );
    expect(problem.extra.errors).toEqual([{ field: "body.items[1].name", message: expect.any(String) }]);
    const hostile = JSON.parse('{"name":"x","__proto__":{"polluted":"\u1100\u1161"}}');
    const output = validInput(Type.Object({ name: Type.String() }), hostile, "body") as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(output, "__proto__")?.value).toEqual({ polluted: "가" });
  });

  it("lists at most 20 field errors, and says so", () => {
    const Many = Type.Object(
      Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, Type.Integer()])),
      { additionalProperties: false },
    );
    const problem = problemOf(() =>
      validInput(Many, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, "x"])), "body"),
    );
    expect(problem.extra.errors).toHaveLength(20);
    expect(problem.detail).toContain("the first 20 problems are listed");
  });
});

describe("X-Correlation-Id: the caller's if well-formed, an ill-formed one refused with 400", () => {
  const app = () => {
    const a = express();
    a.use(assignCorrelationId);
    a.use(refuseIllFormedCorrelationId);
    a.get("/ok", (_req, res) => {
      res.json({});
    });
    a.use(errorHandler(pino({ level: "silent" })));
    return a;
  };

  it("echoes a well-formed id and makes one when none is sent", async () => {
    expect(
      (await request(app()).get("/ok").set("x-correlation-id", "checkout-7f3a")).headers["x-correlation-id"],
    ).toBe("checkout-7f3a");
    expect((await request(app()).get("/ok")).headers["x-correlation-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([["-leading-dash"], ["has space"], ["x".repeat(65)], ["semi;colon"], [""]])(
    "refuses %j, naming the header and its pattern, and answers with a fresh id",
    async (value) => {
      const res = await request(app()).get("/ok").set("x-correlation-id", value);
      expect(res.status).toBe(400);
      expect(res.headers["x-correlation-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.parse(res.text)).toMatchObject({
        type: "/problems/validation",
        errors: [
          { field: "header.X-Correlation-Id", message: expect.stringContaining("must match ^[A-Za-z0-9]") },
        ],
      });
    },
  );
});

describe("nestedDeeperThan: the body's depth, found without recursion", () => {
  const arrays = (n: number) => JSON.parse(`${"[".repeat(n)}${"]".repeat(n)}`);
  const objects = (n: number) => JSON.parse(`${'{"a":'.repeat(n)}1${"}".repeat(n)}`);

  it("counts arrays and objects alike, scalars as no level", () => {
    expect(nestedDeeperThan("text", 0)).toBe(false);
    expect(nestedDeeperThan({ a: 1 }, 1)).toBe(false);
    expect(nestedDeeperThan({ a: [1] }, 1)).toBe(true);
    expect(nestedDeeperThan(arrays(MAX_BODY_DEPTH), MAX_BODY_DEPTH)).toBe(false);
    expect(nestedDeeperThan(arrays(MAX_BODY_DEPTH + 1), MAX_BODY_DEPTH)).toBe(true);
    expect(nestedDeeperThan(objects(MAX_BODY_DEPTH + 1), MAX_BODY_DEPTH)).toBe(true);
    expect(nestedDeeperThan({ wide: [{}, {}, { deep: [[[]]] }] }, 4)).toBe(true);
  });

  it("walks a million levels without overflowing the stack", () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(nestedDeeperThan(deep, MAX_BODY_DEPTH)).toBe(true);
  });
});

describe("errorHandler over HTTP: real body-parser errors and thrown errors become problem+json", () => {
  // What the handler logs, captured instead of written to the test output.
  const logged: string[] = [];
  const capture = pino({ level: "warn" }, { write: (line: string) => void logged.push(line) });

  function app(): Express {
    const a = express();
    a.use(assignCorrelationId);
    a.use(express.json({ limit: "16kb", strict: true, type: ["application/json", "application/*+json"] }));
    a.use(boundedBodyDepth);
    a.post("/echo", (req, res) => {
      res.json(req.body);
    });
    a.get("/boom", () => {
      throw new Error("secret: connection string mongodb://root:hunter2@db");
    });
    a.get("/store-down", async () => {
      throw new EventStoreUnavailableError("esdb down: hunter2");
    });
    a.get("/conflict", async () => {
      throw new ConcurrencyConflictError("parkingLot-1", 21);
    });
    a.get("/not-reached", async () => {
      throw new ProblemError("position-not-reached", "reservations is at 41, not yet at 42", {
        retryAfterSeconds: 1,
      });
    });
    a.use(errorHandler(capture, SERVICE_PROBLEMS));
    return a;
  }

  it("malformed JSON → 400 /problems/malformed-json", async () => {
    const res = await request(app())
      .post("/echo")
      .set("content-type", "application/json")
      .send('{"name": "강남", ');
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).toMatchObject({
      type: "/problems/malformed-json",
      status: 400,
      instance: "/echo",
    });
  });

  it.each(["0", "true", "null", '"text"'])(
    "valid JSON that is not an object (%s) → 400 naming the body",
    async (body) => {
      const res = await request(app()).post("/echo").set("content-type", "application/json").send(body);
      expect(res.status).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text)).toMatchObject({
        type: "/problems/validation",
        detail: "The body must be a JSON object.",
        errors: [{ field: "body", message: "must be a JSON object" }],
      });
    },
  );

  it("a body nested 4,000 levels deep → 400 naming the rule, nothing logged", async () => {
    logged.length = 0;
    for (const body of [
      `${"[".repeat(4000)}${"]".repeat(4000)}`,
      `${'{"":'.repeat(2700)}1${"}".repeat(2700)}`,
    ]) {
      const res = await request(app()).post("/echo").set("content-type", "application/json").send(body);
      expect(res.status).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text)).toMatchObject({
        type: "/problems/validation",
        detail: expect.stringContaining(`nested deeper than ${MAX_BODY_DEPTH} levels`),
        errors: [{ field: "body", message: `must not be nested deeper than ${MAX_BODY_DEPTH} levels` }],
      });
    }
    expect(logged).toEqual([]);
  });

  it("a body over the limit → 413 /problems/payload-too-large", async () => {
    const res = await request(app())
      .post("/echo")
      .set("content-type", "application/json")
      .send(JSON.stringify({ name: "x".repeat(20_000) }));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ type: "/problems/payload-too-large", status: 413 });
  });

  it("an unsupported charset → 415 /problems/unsupported-media-type", async () => {
    const res = await request(app())
      .post("/echo")
      .set("content-type", "application/json; charset=koi8-r")
      .send('{"a":1}');
    expect(res.status).toBe(415);
    expect(JSON.parse(res.text)).toMatchObject({ type: "/problems/unsupported-media-type", status: 415 });
  });

  it("an unexpected error → 500 /problems/internal; the message is logged, not sent", async () => {
    logged.length = 0;
    const res = await request(app()).get("/boom").set("x-correlation-id", "corr-500");
    expect(res.status).toBe(500);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.headers["x-correlation-id"]).toBe("corr-500");
    expect(JSON.parse(res.text)).toEqual({
      type: "/problems/internal",
      title: "Internal error",
      status: 500,
      instance: "/boom",
    });
    expect(res.text).not.toContain("hunter2");
    expect(logged.join("\n")).toContain("hunter2");
  });

  it("a store outage → 503 with Retry-After; a conflict → 503 with Retry-After", async () => {
    const down = await request(app()).get("/store-down");
    expect(down.status).toBe(503);
    expect(Number(down.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.parse(down.text).type).toBe("/problems/store-unavailable");
    expect(down.text).not.toContain("hunter2");
    const conflict = await request(app()).get("/conflict");
    expect(conflict.status).toBe(503);
    expect(Number(conflict.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.parse(conflict.text).type).toBe("/problems/concurrency-conflict");
  });

  it("an expected refusal (a read-your-writes wait that ran out) is one warn line, no error and no stack", async () => {
    logged.length = 0;
    const res = await request(app()).get("/not-reached").set("x-correlation-id", "corr-503");
    expect(res.status).toBe(503);
    expect(logged).toHaveLength(1);
    const line = JSON.parse(logged[0] ?? "{}");
    expect(line).toMatchObject({
      level: 40,
      msg: "request refused",
      problem: "position-not-reached",
      correlationId: "corr-503",
    });
    expect(logged[0]).not.toContain("stack");
  });

  it("a store outage is logged as an error with its cause, for someone to look at", async () => {
    logged.length = 0;
    await request(app()).get("/store-down");
    expect(JSON.parse(logged[0] ?? "{}")).toMatchObject({ level: 50, msg: "request failed" });
    expect(logged[0]).toContain("esdb down");
  });
});

describe("requireJsonBody: a body that is not JSON is a 415 before parsing", () => {
  const verdict = (headers: Record<string, string>) => {
    const req = Object.assign(Object.create(express.request), { headers });
    let passed: unknown = "not called";
    requireJsonBody(req, {} as express.Response, (error?: unknown) => {
      passed = error;
    });
    return passed instanceof ProblemError ? passed.problem : passed;
  };

  it.each([
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON;charset=UTF-8",
    // A JSON type with another charset or parameter passes here: the body parser answers its charset.
    "application/json; charset=latin1",
    "application/json ; charset=utf-8",
  ])("lets %s through", (type) => {
    expect(verdict({ "content-type": type, "content-length": "2" })).toBeUndefined();
  });

  it.each([
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/jsonx",
    "application/merge-patch+json",
  ])("refuses %s", (type) =>
    expect(verdict({ "content-type": type, "content-length": "2" })).toBe("unsupported-media-type"),
  );

  it("refuses a body without a Content-Type, and lets a request without a body through", () => {
    expect(verdict({ "content-length": "2" })).toBe("unsupported-media-type");
    expect(verdict({ "content-type": "text/plain" })).toBeUndefined();
  });
});
