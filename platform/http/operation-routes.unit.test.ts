import { Type } from "@sinclair/typebox";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { errorHandler } from "./middleware.js";
import { headerParameter, type Operation, pathParameter } from "./operation.js";
import { bodyOf, operationRouter, queryOf } from "./operation-routes.js";
import { ProblemError } from "./problem.js";

const Id = Type.String({ pattern: "^[a-z]+$", description: "Lowercase letters." });
const Query = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
);
const Body = Type.Object({ name: Type.String() }, { additionalProperties: false });
const OperatorBody = Type.Object(
  { name: Type.String(), reason: Type.String() },
  { additionalProperties: false },
);

const row = (operation: Partial<Operation> & Pick<Operation, "method" | "path" | "operationId">) =>
  ({
    side: "app",
    tag: "operations",
    summary: "",
    allow: "anonymous",
    responses: {},
    ...operation,
  }) as Operation & {
    operationId: typeof operation.operationId;
  };

const things = row({
  method: "post",
  path: "/things/{thingId}",
  operationId: "postThing",
  parameters: [pathParameter("thingId", Id, "abc"), headerParameter("X-Key", Id, "A key.", "abc")],
  authorize: (req, { thingId }) => {
    if (thingId === "secret" && req.get("x-role") !== "operator") throw new ProblemError("forbidden");
  },
  query: Query,
  body: { schema: Body, required: true, byRole: { customer: Body, operator: OperatorBody } },
});
const listing = row({ method: "get", path: "/things", operationId: "listThings", query: Query });

function app() {
  const server = express();
  server.use(express.json());
  server.use(
    operationRouter(
      [things, listing],
      {
        postThing: (req, res, _next, { path }) => {
          const body = bodyOf(req, Body, OperatorBody);
          res.json({ ...path, limit: queryOf(req, Query).limit, body });
        },
        // A handler reading the query with another schema than its row's is a bug, said at once.
        listThings: (req, res) => {
          res.json(queryOf(req, Body));
        },
      },
      { roleOf: (req) => req.get("x-role") },
    ),
  );
  server.use(errorHandler(pino({ level: "silent" })));
  return server;
}

const fields = (body: { errors?: { field: string }[] }) => body.errors?.map((e) => e.field);

describe("routes generated from a table of operations", () => {
  it("serves each row with its handler, what was validated NFC-normalized and its integers read", async () => {
    const response = await request(app()).post("/things/abc?limit=3").send({ name: "강남" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ thingId: "abc", limit: 3, body: { name: "강남" } });
  });

  it("checks the path, then authorize, then the headers, the query and the body, each a 400 naming the field", async () => {
    const bad = { name: 1 };
    const answer = (path: string, headers: Record<string, string> = {}) =>
      request(app()).post(path).set(headers).send(bad);
    expect(fields((await answer("/things/ABC?limit=0", { "X-Key": "K" })).body)).toEqual(["path.thingId"]);
    expect((await answer("/things/secret?limit=0", { "X-Key": "K" })).status).toBe(403);
    expect(fields((await answer("/things/abc?limit=0", { "X-Key": "K" })).body)).toEqual(["header.X-Key"]);
    expect(fields((await answer("/things/abc?limit=0")).body)).toEqual(["query.limit"]);
    expect(fields((await answer("/things/abc")).body)).toEqual(["body.name"]);
    const problem = await answer("/things/abc");
    expect(problem.status).toBe(400);
    expect(problem.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });

  it("validates the body with the caller's role's schema when the roles' bodies differ", async () => {
    const operator = await request(app()).post("/things/abc").set("X-Role", "operator").send({ name: "a" });
    expect(fields(operator.body)).toEqual(["body.reason"]);
    const customer = await request(app()).post("/things/abc").set("X-Role", "customer").send({ name: "a" });
    expect(customer.status).toBe(200);
  });

  it("refuses a handler that reads its input with another schema than its row's", async () => {
    const response = await request(app()).get("/things");
    expect(response.status).toBe(500);
  });

  it("wraps every handler of the table in `around`, after the request's checks", async () => {
    const server = express();
    const seen: string[] = [];
    server.use(
      operationRouter(
        [listing],
        { listThings: (_req, res) => void res.json({ listed: true }) },
        {
          around: (handler) => (req, res, next) => {
            seen.push(req.path);
            return handler(req, res, next);
          },
        },
      ),
    );
    expect((await request(server).get("/things")).body).toEqual({ listed: true });
    expect((await request(server).get("/things?limit=0")).status).toBe(400);
    expect(seen).toEqual(["/things"]);
  });

  it("hands each handler its validated path, query and body, through `around`", async () => {
    const server = express();
    server.use(express.json());
    server.use(
      operationRouter(
        [things],
        { postThing: (_req, res, _next, input) => void res.json(input) },
        { around: (handler) => (req, res, next) => handler(req, res, next) },
      ),
    );
    const response = await request(server).post("/things/abc?limit=3").send({ name: "강남" });
    expect(response.body).toEqual({ path: { thingId: "abc" }, query: { limit: 3 }, body: { name: "강남" } });
  });

  it("refuses at start-up a row without a handler and a handler without a row", () => {
    const handler = () => {};
    expect(() => operationRouter([things, listing], { postThing: handler } as never)).toThrow(
      /listThings has no handler/,
    );
    expect(() => operationRouter([listing], { listThings: handler, postThing: handler } as never)).toThrow(
      /Handlers without an operation: postThing/,
    );
  });
});
