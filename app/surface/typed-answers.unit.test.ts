import { Type } from "@sinclair/typebox";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { jsonResponse, type Operation } from "../../platform/http/operation.js";
import { type HandlerOf, type HandlersOf, operationRouter } from "../../platform/http/operation-routes.js";
import type { QUERY_OPERATIONS } from "../../read-api/operations.js";
import type { COMMAND_OPERATIONS } from "../../write-side/http/operations.js";
import { componentSchemas } from "./components.js";
import { OPERATIONS } from "./operations.js";

/**
 * One typed HTTP surface (issue 39 item 3): a row names its answers' schemas by value, its
 * handler's answer is typed against them (each `@ts-expect-error` below is a handler answering the
 * wrong shape, which `npm run typecheck` refuses), and the document's components are the schemas
 * the rows name.
 */

const Thing = Type.Object({ thingId: Type.String(), count: Type.Integer() }, { $id: "Thing" });
const ROWS = [
  {
    method: "get",
    path: "/things/{thingId}",
    operationId: "getThing",
    side: "app",
    tag: "operations",
    summary: "A thing",
    allow: "anonymous",
    responses: { "200": jsonResponse("The thing.", Thing) },
  },
] as const satisfies readonly Operation[];

describe("handlers typed by their rows", () => {
  it("compiles a handler answering its row's schema, and refuses one answering another shape", async () => {
    const handlers: HandlersOf<typeof ROWS> = {
      getThing: (req, res) => {
        if (req.query.wrong === "type") {
          // @ts-expect-error `count` is an integer in the row's schema, not a string
          res.json({ thingId: "a", count: "1" });
          return;
        }
        if (req.query.wrong === "missing") {
          // @ts-expect-error `count` is required by the row's schema
          res.status(200).json({ thingId: "a" });
          return;
        }
        if (req.query.wrong === "extra") {
          // @ts-expect-error `colour` is not in the row's schema
          res.json({ thingId: "a", count: 1, colour: "red" });
          return;
        }
        res.json({ thingId: "a", count: 1 });
      },
    };
    const app = express().use(operationRouter(ROWS, handlers));
    expect((await request(app).get("/things/a")).body).toEqual({ thingId: "a", count: 1 });
  });

  it("refuses a table's handlers without one of its rows", () => {
    // @ts-expect-error the row getThing has no handler
    const missing: HandlersOf<typeof ROWS> = {};
    expect(() => operationRouter(ROWS, missing)).toThrow("The operation getThing has no handler.");
  });

  it("types the service's own handlers by their rows' schemas", () => {
    const changeRate: HandlerOf<typeof COMMAND_OPERATIONS, "changeRate"> = (_req, res) => {
      res.json({ parkingLotId: "1", hourlyRate: 3000, position: "7" });
      // @ts-expect-error a change of rate answers its position, as RateChangedResponse says
      res.json({ parkingLotId: "1", hourlyRate: 3000 });
    };
    const getReservation: HandlerOf<typeof QUERY_OPERATIONS, "getReservation"> = (_req, res) => {
      // @ts-expect-error a reservation is a ReservationView, not a page of them
      res.json({ items: [], nextCursor: null });
    };
    expect([changeRate, getReservation]).toHaveLength(2);
  });
});

describe("the document's component schemas", () => {
  it("are the schemas the rows name by value (and Problem), by $id, in the order of their names", () => {
    const schemas = componentSchemas(ROWS);
    expect(Object.keys(schemas)).toEqual(["Problem", "Thing"]);
    expect(schemas.Thing).toEqual({
      type: "object",
      properties: { thingId: { type: "string" }, count: { type: "integer" } },
      required: ["thingId", "count"],
    });
    const names = Object.keys(componentSchemas(OPERATIONS));
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining(["ReservationAccepted", "ParkingLotPage", "SessionsRevoked"]),
    );
  });

  it("refuses two different schemas under one name, and a named schema without an $id", () => {
    const other = Type.Object({ other: Type.String() }, { $id: "Thing" });
    const twice = [
      ...ROWS,
      { ...ROWS[0], operationId: "getOther", responses: { "200": jsonResponse("", other) } },
    ];
    expect(() => componentSchemas(twice)).toThrow("Two schemas are named Thing.");
    expect(() => jsonResponse("", Type.Object({}))).toThrow("needs an $id");
  });
});
