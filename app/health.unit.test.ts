import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import type { Liveness } from "../platform/event-loop-watch.js";
import { healthHandlers, type Lifecycle } from "./health.js";
import type { Services } from "./services.js";

/** /healthz (the liveness probe) follows the event loop: alive until it stalled past the bound. */
describe("liveness", () => {
  const appWith = (liveness: Liveness) => {
    const lifecycle = { ready: true, loop: { liveness: () => liveness } } as unknown as Lifecycle;
    const app = express();
    app.get("/healthz", healthHandlers({} as Services, lifecycle).getLiveness);
    return app;
  };

  it("answers 200 while the loop has not stalled", async () => {
    const answer = await request(appWith({ ok: true })).get("/healthz");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok" });
  });

  it("answers 503 with why once the loop came back from a stall past EVENT_LOOP_STALL_MS, so the orchestrator restarts it", async () => {
    const detail =
      "the event loop was blocked for 12034 ms at 2026-01-01T09:00:00.000Z, past EVENT_LOOP_STALL_MS (10000)";
    const answer = await request(appWith({ ok: false, detail })).get("/healthz");
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ status: "stalled", detail });
  });
});
