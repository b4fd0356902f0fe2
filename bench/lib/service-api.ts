import { setTimeout as sleep } from "node:timers/promises";
import type { ControlCenterView } from "../../schemas/read-models.js";
import { reserveBody } from "./domain.js";
import { forEachConcurrently, HttpClient, type HttpResponse } from "./http.js";
import { type BenchChild, benchDataDir, startService } from "./processes.js";

/** Calls to the running service that several scenarios share. */

/** The lot of request `n` in a load spread over `lots`: pseudo-random, the same in every run. */
export const spreadLot = (lots: readonly string[], n: number): string =>
  lots[(n * 7919) % lots.length] as string;

/** Reservation `n` (its own customer, plate and amount) on its lot of a spread load. */
export const reserve = (http: HttpClient, lots: readonly string[], n: number): Promise<HttpResponse> =>
  http.post(`/parking-lots/${spreadLot(lots, n)}/reservations`, JSON.parse(reserveBody(n)));

export async function registerLots(
  http: HttpClient,
  ids: readonly string[],
  capacity: number,
): Promise<void> {
  await forEachConcurrently(ids, 16, async (id, i) => {
    await http.json("POST", "/parking-lots", { parkingLotId: id, name: `강남 ${i + 1}주차장`, capacity });
  });
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
    const view = await http.json<ControlCenterView>("GET", "/control-center");
    const lag = Math.max(0, ...view.projections.map((p) => p.lag ?? 0));
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

/**
 * After a round of load on the service: waits for the projectors and the coupon policy, which share
 * its process, to catch up before the next round, and says how long that took (for the round's line).
 */
export async function caughtUpAfterRound(http: HttpClient): Promise<string> {
  const started = Date.now();
  await waitForCatchUp(http, 300_000);
  return `projections and coupon policy caught up ${((Date.now() - started) / 1000).toFixed(1)} s after the round`;
}

/** Every lot's capacity in the load scenarios: large enough that no reservation is refused for room. */
export const CAPACITY = 100_000;

/**
 * A fresh service on its own data directory, `lots` registered and caught up, for `use` to
 * measure (an HttpClient of `maxSockets` to it); stopped and its data removed after.
 */
export async function withService<T>(
  name: string,
  lots: readonly string[],
  use: (service: BenchChild, http: HttpClient, dataDir: string) => Promise<T>,
  options: { readonly env?: Record<string, string>; readonly maxSockets?: number } = {},
): Promise<T> {
  const data = benchDataDir(name);
  let service: BenchChild | undefined;
  let http: HttpClient | undefined;
  try {
    service = await startService(data.dir, options.env ? { env: options.env } : {});
    http = new HttpClient(service.url, options.maxSockets ?? 64);
    await registerLots(http, lots, CAPACITY);
    await waitForCatchUp(http, 60_000);
    return await use(service, http, data.dir);
  } finally {
    http?.close();
    await service?.stop();
    data.remove();
  }
}
