import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { inSequence, routeTable } from "./route-table.js";

/** An app serving a small table, with what Express would give a route to look at in the answer. */
function app() {
  const server = express();
  server.use(
    routeTable([
      {
        method: "get",
        path: "/lots/:lotId",
        handlers: [
          (req, res) => {
            res.json({ params: req.params, route: (req.route as { path: string }).path, method: req.method });
          },
        ],
      },
      {
        method: "post",
        path: "/lots/:lotId/steps",
        handlers: [
          (_req, res, next) => {
            res.setHeader("X-First", "ran");
            next();
          },
          (_req, res) => {
            res.status(201).json({ ok: true });
          },
        ],
      },
      { method: "get", path: "/lots/special", handlers: [(_req, res) => void res.json({ special: true })] },
      {
        method: "delete",
        path: "/lots/:lotId",
        handlers: [
          async (req) => {
            await Promise.resolve();
            throw new Error(`async refusal of ${req.params.lotId}`);
          },
        ],
      },
      {
        method: "put",
        path: "/lots/:lotId",
        handlers: [
          () => {
            throw new Error("sync refusal");
          },
        ],
      },
    ]),
  );
  server.use((_req, res) => {
    res.status(404).json({ fellThrough: true });
  });
  const errors: ErrorRequestHandler = (error: Error & { status?: number }, _req, res, _next) => {
    res.status(error.status ?? 500).json({ error: error.message });
  };
  server.use(errors);
  return server;
}

describe("routeTable: a table of routes served by one lookup, as Express's router would", () => {
  it("decodes the path's parameters and says which route answered", async () => {
    const r = await request(app()).get("/lots/%EC%A3%BC%EC%B0%A8").expect(200);
    expect(r.body).toEqual({ params: { lotId: "주차" }, route: "/lots/:lotId", method: "GET" });
  });

  it("matches as Express does: any case, a trailing slash, HEAD by the GET route", async () => {
    expect((await request(app()).get("/LOTS/a/").expect(200)).body.params).toEqual({ lotId: "a" });
    await request(app()).head("/lots/a").expect(200);
  });

  it("takes the first route that matches, and runs its handlers in order", async () => {
    // "/lots/special" stands after "/lots/:lotId": the parameter route answers, as in Express.
    expect((await request(app()).get("/lots/special").expect(200)).body.params).toEqual({ lotId: "special" });
    const r = await request(app()).post("/lots/a/steps").expect(201);
    expect(r.headers["x-first"]).toBe("ran");
  });

  it("passes on what no route takes: another path, another method", async () => {
    expect((await request(app()).get("/elsewhere").expect(404)).body).toEqual({ fellThrough: true });
    expect((await request(app()).patch("/lots/a").expect(404)).body).toEqual({ fellThrough: true });
  });

  it("hands errors to the error handler: thrown, rejected, or a malformed escape (400)", async () => {
    expect((await request(app()).put("/lots/a").expect(500)).body).toEqual({ error: "sync refusal" });
    expect((await request(app()).delete("/lots/b").expect(500)).body).toEqual({
      error: "async refusal of b",
    });
    expect((await request(app()).get("/lots/%E0%A4%A").expect(400)).body).toEqual({
      error: "Failed to decode param '%E0%A4%A'",
    });
  });
});

/** An app with `steps` as one layer (inSequence), then a layer that says which steps ran. */
function sequenceApp(steps: readonly RequestHandler[]) {
  const server = express();
  server.use((_req, res, next) => {
    res.locals.ran = [];
    next();
  });
  server.use(inSequence(steps));
  server.use((_req, res) => {
    res.json({ ran: res.locals.ran, after: true });
  });
  const errors: ErrorRequestHandler = (error: Error, _req, res, _next) => {
    res.status(500).json({ ran: res.locals.ran, error: error.message });
  };
  server.use(errors);
  return server;
}

/** A step that notes its name and goes on with `next(...args)`. */
const step =
  (name: string, ...args: unknown[]): RequestHandler =>
  (_req, res, next) => {
    (res.locals.ran as string[]).push(name);
    (next as (...a: unknown[]) => void)(...args);
  };

describe("inSequence: middleware run one after the other as one layer, as Express's router runs them", () => {
  it("runs each in order, then goes on to the next layer; next('route') goes on too", async () => {
    const r = await request(sequenceApp([step("a"), step("b", "route"), step("c")]))
      .get("/x")
      .expect(200);
    expect(r.body).toEqual({ ran: ["a", "b", "c"], after: true });
  });

  it("stops at an answer: what follows does not run", async () => {
    const answer: RequestHandler = (_req, res) => void res.status(204).end();
    await request(sequenceApp([step("a"), answer, step("c")]))
      .get("/x")
      .expect(204);
  });

  it("hands an error to the error handler at once, skipping the rest: passed, thrown, or rejected", async () => {
    const passed = await request(sequenceApp([step("a", new Error("passed")), step("b")])).get("/x");
    expect(passed.body).toEqual({ ran: ["a"], error: "passed" });
    const thrower: RequestHandler = () => {
      throw new Error("thrown");
    };
    const thrown = await request(sequenceApp([step("a"), thrower, step("c")])).get("/x");
    expect(thrown.body).toEqual({ ran: ["a"], error: "thrown" });
    const rejecter: RequestHandler = async () => {
      await Promise.resolve();
      throw new Error("rejected");
    };
    const rejected = await request(sequenceApp([rejecter, step("b")])).get("/x");
    expect(rejected.body).toEqual({ ran: [], error: "rejected" });
  });

  it("leaves the router on next('router'), and treats a falsy value as no error, as Express does", async () => {
    const left = await request(sequenceApp([step("a", "router"), step("b")]))
      .get("/x")
      .expect(404);
    expect(left.text).toContain("Cannot GET /x");
    const falsy = await request(sequenceApp([step("a", false), step("b")]))
      .get("/x")
      .expect(200);
    expect(falsy.body).toEqual({ ran: ["a", "b"], after: true });
  });

  it("lists what it runs as a router lists its layers, so the routes inside are seen", () => {
    const table = routeTable([{ method: "get", path: "/lots/:lotId", handlers: [step("a")] }]);
    const sequence = inSequence([step("a"), table]) as unknown as { stack: { handle: unknown }[] };
    expect(sequence.stack.map((layer) => layer.handle)).toEqual([expect.any(Function), table]);
    expect((table as unknown as { stack: unknown[] }).stack).toHaveLength(1);
  });
});
