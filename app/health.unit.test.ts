import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import type { Liveness } from "../platform/event-loop-watch.js";
import { CONTROL_CENTER_BOOKS } from "../projections/control-center-books/control-center-books.js";
import { PROCESSOR_NAMES, READY_WHILE_BEHIND } from "../projections/processors.js";
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

/**
 * /readyz waits for every processor this process runs to be within READY_MAX_LAG of the head, but
 * for those whose lag changes no answer (READY_WHILE_BEHIND: the control center's books): a
 * service upgraded with a long history takes traffic while its books are written.
 */
describe("readiness and the processors' lag", () => {
  const HEAD = { commit: 100_000, prepare: 100_000 };
  const processor = (name: string, kind: "projection" | "reactor", commit: number, failed = false) => ({
    name,
    kind,
    generation: 1,
    position: { commit, prepare: commit },
    state: failed ? "failed" : "running",
    caughtUp: commit === HEAD.commit,
    ...(failed ? { error: "boom" } : {}),
  });
  const readiness = async (statuses: ReturnType<typeof processor>[]) => {
    const services = {
      commands: {},
      eventStore: { headPosition: async () => HEAD },
      processors: { status: () => statuses },
      storage: { check: () => ({ ok: true }) },
      authentication: { readiness: async () => ({ ok: true }) },
      config: { readyMaxLag: 1_000 },
    } as unknown as Services;
    const app = express();
    app.get("/readyz", healthHandlers(services, { ready: true } as Lifecycle).getReadiness);
    return request(app).get("/readyz");
  };
  const caughtUp = [...PROCESSOR_NAMES].map((name) =>
    processor(name, READY_WHILE_BEHIND.has(name) ? "reactor" : "projection", HEAD.commit),
  );

  it("is ready when every processor is caught up", async () => {
    expect((await readiness(caughtUp)).status).toBe(200);
  });

  it.each([...PROCESSOR_NAMES])("%s behind the head past READY_MAX_LAG", async (name) => {
    const statuses = caughtUp.map((s) =>
      s.name === name ? { ...s, position: { commit: 5, prepare: 5 } } : s,
    );
    const answer = await readiness(statuses);
    const check = answer.body.checks[`${statuses.find((s) => s.name === name)?.kind}:${name}`];
    if (READY_WHILE_BEHIND.has(name)) {
      expect(answer.status).toBe(200);
      expect(check).toEqual({ ok: true, detail: "lag 99995: catching up, no answer waits for it" });
    } else {
      expect(answer.status).toBe(503);
      expect(check).toEqual({ ok: false, detail: "lag 99995 > 1000" });
    }
  });

  it.each([...PROCESSOR_NAMES])("%s failed", async (name) => {
    const statuses = caughtUp.map((s) => (s.name === name ? processor(name, s.kind, 5, true) : s));
    expect((await readiness(statuses)).status).toBe(503);
  });

  it("the control center's books are the one processor whose lag does not hold readiness", () => {
    expect([...READY_WHILE_BEHIND]).toEqual([CONTROL_CENTER_BOOKS]);
  });
});
