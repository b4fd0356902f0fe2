import { join } from "node:path";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import { parkingLotStream } from "../../write-side/parking-lot/decider.js";
import { causation } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { log, progress } from "../lib/log.js";
import { cpuSecondsOf } from "../lib/process-stats.js";
import { benchDataDir, startService } from "../lib/processes.js";
import { waitForCatchUp } from "../lib/service-api.js";
import { fmtInt, round, Sample } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/** Find a spot (issue 49): 10,000 lots, 500 of them within the searched radius. */
const LOTS = 10_000;
const WITHIN = 500;
const RADIUS_METERS = 2_000;
const GANGNAM = { latitude: 37.4979, longitude: 127.0276 };
/** Every tenth lot within the radius has no spot (capacity 0): the walk skips it. */
const FULL_EVERY = 10;

/** The point `meters` from GANGNAM in direction `bearing` (radians), on MongoDB's sphere. */
function at(meters: number, bearing: number): { latitude: number; longitude: number } {
  const d = meters / 6_378_100;
  const lat1 = (GANGNAM.latitude * Math.PI) / 180;
  const lng1 = (GANGNAM.longitude * Math.PI) / 180;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(bearing));
  const lng2 =
    lng1 +
    Math.atan2(
      Math.sin(bearing) * Math.sin(d) * Math.cos(lat1),
      Math.cos(d) - Math.sin(lat1) * Math.sin(lat2),
    );
  return { latitude: (lat2 * 180) / Math.PI, longitude: (lng2 * 180) / Math.PI };
}

/** Lot `i`: the first WITHIN inside the radius (spread over it), the rest 3–60 km away. */
function lotRegisteredAt(i: number, now: string) {
  const inside = i < WITHIN;
  const meters = inside ? RADIUS_METERS * Math.sqrt((i + 0.5) / WITHIN) : 3_000 + ((i * 7919) % 57_000);
  const parkingLotId = `spot-${String(i).padStart(5, "0")}`;
  return {
    type: "ParkingLotRegistered" as const,
    data: {
      parkingLotId,
      name: `강남 ${i}주차장`,
      capacity: inside && i % FULL_EVERY === 0 ? 0 : 20,
      registeredAt: now,
      hourlyRate: 1000 + (i % 30) * 100,
      location: at(meters, (i * 2.399963) % (2 * Math.PI)),
      timeZone: "Asia/Seoul",
    },
  };
}

async function seedLots(file: string): Promise<void> {
  const store = SqliteEventStore.open({ file });
  const bar = progress("registering lots");
  try {
    const now = new Date().toISOString();
    for (let start = 0; start < LOTS; start += 1_000) {
      await Promise.all(
        Array.from({ length: Math.min(1_000, LOTS - start) }, (_, k) => {
          const event = lotRegisteredAt(start + k, now);
          return store.appendToStream(
            parkingLotStream(event.data.parkingLotId),
            [encodeEvent(event, causation())],
            {
              expectedRevision: "no_stream",
            },
          );
        }),
      );
      bar.update(`${fmtInt(start + 1_000)} / ${fmtInt(LOTS)}`);
    }
    bar.done(`${fmtInt(LOTS)} lots registered, ${WITHIN} within ${RADIUS_METERS} m of the point`);
  } finally {
    await store.close();
  }
}

/**
 * 12. Find a spot: GET /parking-lots?near=&radiusMeters=&from=&until= over 10,000 lots, 500 within
 * the radius (a tenth of them full), a page of 20 nearest first and by price, in a sequential loop
 * over HTTP on a warm service: p50/p99 and the service's CPU per answer.
 */
export const findASpotScenario: Scenario = {
  name: "find-a-spot",
  title: "Find a spot: a page of lots near a point over 10,000 lots, 500 within the radius",
  async run(ctx): Promise<ScenarioOutcome> {
    const data = benchDataDir("find-a-spot");
    try {
      await seedLots(join(data.dir, "events.sqlite"));
      const service = await startService(data.dir);
      const http = new HttpClient(service.url);
      try {
        const catchUp = progress("service catching up");
        const catchUpMs = await waitForCatchUp(http, 600_000, (lag) => catchUp.update(`lag ${fmtInt(lag)}`));
        catchUp.done(`caught up in ${(catchUpMs / 1000).toFixed(1)} s`);
        const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
        const window = `from=${day}T10:00:00Z&until=${day}T12:00:00Z`;
        const path = (sort: string) =>
          `/parking-lots?near=${GANGNAM.latitude},${GANGNAM.longitude}&radiusMeters=${RADIUS_METERS}&${window}&limit=20&sort=${sort}`;
        const requests = ctx.quick ? 300 : 2_000;
        const figures: Record<string, unknown> = {
          lots: LOTS,
          within: WITHIN,
          radiusMeters: RADIUS_METERS,
          catchUpMs,
        };
        const checks = [];
        for (const sort of ["distance", "price"]) {
          // Warm: every lot within the radius is loaded once (its state kept by the read side).
          for (let i = 0; i < 50; i++) await http.get(path(sort));
          const sample = new Sample();
          const cpuBefore = cpuSecondsOf(service.pid);
          for (let i = 0; i < requests; i++) {
            const response = await http.get(path(sort));
            if (response.status !== 200) throw new Error(`${response.status} ${response.body.slice(0, 200)}`);
            const items = (JSON.parse(response.body) as { items: unknown[] }).items.length;
            if (items !== 20) throw new Error(`a page of ${items} lots, not 20`);
            sample.add(response.ms);
          }
          const cpuMsPerAnswer = round(((cpuSecondsOf(service.pid) - cpuBefore) * 1000) / requests, 2);
          const summary = sample.summary();
          log(
            `  sort=${sort}: p50 ${summary.p50} ms, p99 ${summary.p99} ms, CPU ${cpuMsPerAnswer} ms per answer`,
          );
          figures[sort] = { ...summary, cpuMsPerAnswer, requests };
          checks.push({
            target: `sort=${sort}: a page of 20 of the 500 lots within 2 km (of 10,000), p99 ≤ 50 ms`,
            measured: `p50 ${summary.p50} ms, p99 ${summary.p99} ms, CPU ${cpuMsPerAnswer} ms/answer`,
            pass: summary.p99 <= 50,
          });
        }
        return { checks, figures };
      } finally {
        http.close();
        await service.stop();
      }
    } finally {
      data.remove();
    }
  },
};
