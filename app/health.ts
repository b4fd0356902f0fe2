import type { Request, Response } from "express";
import { AggregatorRegistry } from "prom-client";
import type { EventLoopWatch } from "../platform/event-loop-watch.js";
import { withTimeout } from "../platform/timeout.js";
import { READY_WHILE_BEHIND } from "../projections/processors.js";
import type { Services } from "./services.js";

export interface Lifecycle {
  /** False from the moment a shutdown starts: orchestrators stop routing new traffic here. */
  ready: boolean;
  /** The request thread's event loop: not alive once it stalled past EVENT_LOOP_STALL_MS. */
  readonly loop?: EventLoopWatch;
}

/**
 * /healthz: the process is alive: it answers, and its event loop has not stalled past
 * EVENT_LOOP_STALL_MS (then 503 until it is restarted: a liveness probe's failure restarts it). /readyz: it should get traffic: not shutting down, its stores
 * answer, and (where projections run in this process) they are within READY_MAX_LAG of the head
 * (but those whose lag changes no answer: READY_WHILE_BEHIND).
 * /metrics: the process's metrics. The handlers of those rows of app/surface/app-operations.ts.
 */
export function healthHandlers(services: Services, lifecycle: Lifecycle) {
  const getLiveness = (_req: Request, res: Response) => {
    const live = lifecycle.loop?.liveness() ?? { ok: true };
    if (live.ok) res.json({ status: "ok" });
    else res.status(503).json({ status: "stalled", detail: live.detail });
  };

  const getReadiness = async (_req: Request, res: Response) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    checks.lifecycle = lifecycle.ready ? { ok: true } : { ok: false, detail: "shutting down" };
    let head = null;
    const needsEventStore = services.commands !== undefined || services.processors !== undefined;
    if (services.eventStore && needsEventStore) {
      try {
        head = await withTimeout(services.eventStore.headPosition(), 1000, "event store");
        checks.eventStore = { ok: true };
      } catch (error) {
        checks.eventStore = { ok: false, detail: String(error) };
      }
    }
    if (services.documentStore) {
      try {
        await withTimeout(services.documentStore.findById("projection_state", "-"), 1000, "document store");
        checks.documentStore = { ok: true };
      } catch (error) {
        checks.documentStore = { ok: false, detail: String(error) };
      }
    }
    // A full or read-only DATA_DIR: writes are refused until it takes them again.
    checks.storage = services.storage.check();
    checks.identityProvider = await withTimeout(
      services.authentication.readiness(),
      6000,
      "identity provider",
    ).catch((error: unknown) => ({ ok: false, detail: String(error) }));
    Object.assign(checks, processorChecks(services, head));
    const ready = Object.values(checks).every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks });
  };

  const getMetrics = async (_req: Request, res: Response) => {
    // The processors thread keeps its own metrics (projections, coupon policy): the two sets
    // hold different series, so adding them up per series is merging them.
    const registry = services.threadMetrics
      ? AggregatorRegistry.aggregate(
          [await services.metrics.registry.getMetricsAsJSON(), await services.threadMetrics()].map((set) =>
            set.map((metric) => ({ ...metric, aggregator: "sum" as const })),
          ),
        )
      : services.metrics.registry;
    res.type(registry.contentType).send(await registry.metrics());
  };

  return { getLiveness, getReadiness, getMetrics };
}

/** Each processor this process runs: ready unless failed, or behind the head past READY_MAX_LAG (see READY_WHILE_BEHIND). */
function processorChecks(
  services: Services,
  head: { readonly commit: number } | null,
): Record<string, { ok: boolean; detail?: string }> {
  const checks: Record<string, { ok: boolean; detail?: string }> = {};
  if (!services.processors) return checks;
  for (const status of services.processors.status()) {
    if (status.lease === "standby") {
      // Another projector process holds it: this one is ready to take over, not behind.
      checks[`${status.kind}:${status.name}`] = {
        ok: true,
        detail: "standby: another process holds the lease",
      };
      continue;
    }
    const lag = head ? head.commit - (status.position?.commit ?? 0) : 0;
    const behind = lag > services.config.readyMaxLag;
    if (behind && status.state !== "failed" && READY_WHILE_BEHIND.has(status.name)) {
      checks[`${status.kind}:${status.name}`] = {
        ok: true,
        detail: `lag ${lag}: catching up, no answer waits for it`,
      };
      continue;
    }
    const ok = status.state !== "failed" && !behind;
    checks[`${status.kind}:${status.name}`] = ok
      ? { ok }
      : {
          ok,
          detail:
            status.state === "failed"
              ? `failed: ${status.error}`
              : `lag ${lag} > ${services.config.readyMaxLag}`,
        };
  }
  return checks;
}
