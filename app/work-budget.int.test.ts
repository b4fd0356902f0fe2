import express from "express";
import { pino } from "pino";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { errorHandler } from "../platform/http/middleware.js";
import { workGate } from "../platform/http/work-gate.js";
import { Metrics } from "../platform/metrics.js";
import { SERVICE_PROBLEMS } from "./problems.js";

/**
 * Issue 66: an expensive read runs behind its work gate with a work budget. What the stores
 * examine for it is charged to it; past its budget it ends 503 with Retry-After, or 400 naming
 * `limit` when it asked a large page (a smaller one may fit); a query of it that would scan a
 * collection is refused (503). What each request examined is a metric per operation.
 */
const LIMITS = { concurrency: 2, queue: 2, maxWaitMs: 1_000 };
const BUDGETS = {
  base: { documents: 100, events: 0 },
  perItem: { documents: 1, events: 0 },
  defaultLimit: 10,
};
let store: SqliteDocumentStore;
let metrics: Metrics;
let app: express.Express;

beforeAll(async () => {
  store = SqliteDocumentStore.open({ file: ":memory:" });
  await store.ensureIndexes("lots", [{ name: "by_lot", keys: { parkingLotId: 1, seq: -1 } }]);
  await store.write(
    Array.from({ length: 600 }, (_, k) => ({
      op: "replace" as const,
      collection: "lots",
      id: `r${k}`,
      document: { parkingLotId: k % 2 === 0 ? "big" : `small-${k % 10}`, seq: k, amount: k },
    })),
  );
  metrics = new Metrics();
  app = express();
  const gated = workGate(
    "listThings",
    { everyone: LIMITS, anonymous: LIMITS },
    () => false,
    metrics,
    BUDGETS,
  );
  // Reads every document of a lot, whatever the page asked (what the budget is there to stop).
  app.get("/lots/:lot", gated, async (req, res) => {
    const docs = await store.find("lots", { parkingLotId: req.params.lot });
    res.json({ n: docs.length });
  });
  // A condition no index serves: a scan of the collection.
  app.get("/scan", gated, async (_req, res) => {
    res.json({ n: (await store.find("lots", { amount: { $gte: 550 } }, { limit: 10 })).length });
  });
  app.use(errorHandler(pino({ level: "silent" }), SERVICE_PROBLEMS));
});
afterAll(() => store?.close());

const examined = async () =>
  (await metrics.registry.getSingleMetric("parking_request_examined_total")?.get())?.values.find(
    (v) => v.labels.operation === "listThings" && v.labels.kind === "documents",
  )?.value ?? 0;

describe("a request's work budget", () => {
  it("answers within it and counts what it examined per operation", async () => {
    const before = await examined();
    const res = await request(app).get("/lots/small-1");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ n: 60 });
    expect((await examined()) - before).toBe(60);
  });

  it("ends past it with 503 and Retry-After", async () => {
    const res = await request(app).get("/lots/big");
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.body.type).toBe("/problems/overloaded");
    const refused = await metrics.registry.getSingleMetric("parking_work_budget_refusals_total")?.get();
    expect(refused?.values).toEqual([
      expect.objectContaining({ labels: { operation: "listThings", kind: "documents" } }),
    ]);
  });

  it("ends past it with 400 naming `limit` when the page asked for is large", async () => {
    const res = await request(app).get("/lots/big?limit=150");
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: "query.limit" })]);
  });

  it("grows with the page asked for", async () => {
    expect((await request(app).get("/lots/big?limit=100")).status).toBe(503);
    expect((await request(app).get("/lots/small-2?limit=100")).status).toBe(200);
  });

  it("refuses a query that would scan a collection, within the budget, before it reads it all", async () => {
    const before = await examined();
    const res = await request(app).get("/scan?limit=1000");
    expect(res.status).toBe(503);
    expect(res.body.type).toBe("/problems/overloaded");
    expect((await examined()) - before).toBe(257);
  });
});
