import express, { type ErrorRequestHandler } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { routeTable } from "./route-table.js";

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
