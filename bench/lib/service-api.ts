import { setTimeout as sleep } from "node:timers/promises";
import type { ControlCenterView } from "../../schemas/read-models.js";
import { forEachConcurrently, type HttpClient } from "./http.js";

/** Calls to the running service that several scenarios share. */

export async function registerLots(
  http: HttpClient,
  ids: readonly string[],
  capacity: number,
): Promise<void> {
  await forEachConcurrently(ids, 16, async (id, i) => {
    await http.postJson("/parking-lots", { parkingLotId: id, name: `강남 ${i + 1}주차장`, capacity });
  });
}

/** Largest lag (events) of any projection or the coupon policy, per the control center. */
export async function projectionLag(http: HttpClient): Promise<number> {
  const view = await http.getJson<ControlCenterView>("/control-center");
  return Math.max(0, ...view.projections.map((p) => p.lag ?? 0));
}

/**
 * Waits (bounded) until every projection and the coupon policy have caught up with the head of
 * the log twice in a row (the coupon policy appends while catching up). Returns how long it took.
 */
export async function waitForCatchUp(
  http: HttpClient,
  timeoutMs: number,
  onWait?: (lag: number) => void,
): Promise<number> {
  const started = Date.now();
  let zeros = 0;
  while (Date.now() - started < timeoutMs) {
    const lag = await projectionLag(http);
    if (lag === 0) {
      if (++zeros >= 2) return Date.now() - started;
    } else {
      zeros = 0;
      onWait?.(lag);
    }
    await sleep(100);
  }
  throw new Error(`projections did not catch up within ${timeoutMs} ms`);
}

/** The service's /metrics (Prometheus text). */
export async function metricsText(http: HttpClient): Promise<string> {
  const response = await http.get("/metrics");
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
  return response.body;
}

/**
 * The sum of a metric's samples in /metrics text, over every label set whose labels include
 * `labels`: e.g. `parking_projection_batch_duration_seconds_count`.
 */
export function metricSum(
  metrics: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== " " && line[name.length] !== "{")) continue;
    if (wanted.some((label) => !line.includes(label))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  }
  return sum;
}
