import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { HttpClient } from "../lib/http.js";
import { log, progress } from "../lib/log.js";
import { type BenchChild, benchDataDir, startCeilingServer, startService } from "../lib/processes.js";
import { prepareReadModels, seedReservations } from "../lib/seed-read-models.js";
import { fmtInt, type LatencySummary, ratio, round, Sample } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/** The control center (totals, the first page of lots, the projections), or the floor's empty GET. */
const CONTROL_CENTER = "/control-center";

/** A tight sequential loop (one request at a time, keep-alive): latency without queueing. */
async function measure(http: HttpClient, path: string, requests: number, into?: Sample): Promise<void> {
  for (let i = 0; i < requests; i++) {
    const response = await http.get(path);
    if (response.status !== 200)
      throw new Error(`${path}: ${response.status} ${response.body.slice(0, 200)}`);
    into?.add(response.ms);
  }
}

const fileMiB = (file: string) => (existsSync(file) ? round(statSync(file).size / 2 ** 20, 1) : 0);

interface Size {
  readonly n: number;
  readonly dir: string;
  readonly remove: () => void;
  readonly seedSec: number;
  service?: BenchChild;
  http?: HttpClient;
  readonly sample: Sample;
}

/** Fills a fresh read-model file with `n` reservations. */
async function seed(n: number): Promise<Size> {
  const data = benchDataDir(`queries-${n}`);
  const file = join(data.dir, "read-models.sqlite");
  const store = SqliteDocumentStore.open({ file });
  const bar = progress(`filling the read models (${fmtInt(n)})`);
  const started = Date.now();
  try {
    await prepareReadModels(store);
    await seedReservations(store, 0, n, {
      onProgress: (done) => {
        const s = (Date.now() - started) / 1000;
        bar.update(`${fmtInt(done)} / ${fmtInt(n)} reservations, ${fmtInt(done / s)}/s`);
      },
    });
  } finally {
    await store.close();
  }
  const seedSec = round((Date.now() - started) / 1000, 1);
  bar.done(`${fmtInt(n)} reservations in ${seedSec} s (${fmtInt(n / seedSec)}/s), ${fileMiB(file)} MiB`);
  return { n, ...data, seedSec, sample: new Sample() };
}

/** The floor of this method on this machine: a bare express GET answering a tiny JSON body. */
async function floorOf(requests: number): Promise<LatencySummary> {
  const ceiling = await startCeilingServer();
  const http = new HttpClient(ceiling.url, 4);
  try {
    await measure(http, "/healthz", Math.max(100, requests / 10));
    const sample = new Sample();
    await measure(http, "/healthz", requests, sample);
    const floor = sample.summary();
    log(`  floor: bare express GET, p50 ${floor.p50} ms, p99 ${floor.p99} ms`);
    return floor;
  } finally {
    http.close();
    await ceiling.stop();
  }
}

/**
 * 6. The control center at scale: two read-model files, one with 10,000 reservations and one with
 * 1,000,000 (100,000 with --quick), each served by its own service process; GET /control-center
 * in a sequential loop over HTTP against both, in alternating halves (so that a disturbance on
 * the machine hits both sizes alike), beside the floor of a bare express GET. p99 ≤ 5 ms, and flat
 * from the small size to the large one.
 */
export const queriesScenario: Scenario = {
  name: "queries",
  title: "The control center at 10,000 and 1,000,000 reservations",
  async run(ctx): Promise<ScenarioOutcome> {
    const counts = [10_000, ctx.quick ? 100_000 : 1_000_000] as const;
    const requests = ctx.quick ? 500 : 2000;
    const sizes: Size[] = [];
    const results: Record<string, LatencySummary> = {};
    let floor: LatencySummary | undefined;
    try {
      for (const n of counts) sizes.push(await seed(n));
      for (const size of sizes) {
        size.service = await startService(size.dir);
        size.http = new HttpClient(size.service.url, 4);
      }
      floor = await floorOf(requests);
      for (const size of sizes)
        await measure(size.http as HttpClient, CONTROL_CENTER, Math.max(100, requests / 10));
      for (const half of [0, 1])
        for (const size of half === 0 ? sizes : [...sizes].reverse())
          await measure(size.http as HttpClient, CONTROL_CENTER, requests / 2, size.sample);
      for (const size of sizes) {
        const result = size.sample.summary();
        results[String(size.n)] = result;
        log(
          `  ${fmtInt(size.n).padStart(9)} reservations: p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms (read models filled in ${size.seedSec} s)`,
        );
      }
    } finally {
      for (const size of sizes) {
        size.http?.close();
        await size.service?.stop();
        size.remove();
      }
    }
    const [a, b] = counts.map((n) => results[String(n)]) as [LatencySummary, LatencySummary];
    // "Flat": the large size's p99 within 1.5× the small size's (or within 0.5 ms of it: sub-ms noise).
    const flat = b.p99 <= Math.max(1.5 * a.p99, a.p99 + 0.5);
    return {
      checks: [
        {
          target: `control center: p99 ≤ 5 ms and flat ${fmtInt(counts[0])}→${fmtInt(counts[1])}`,
          measured: `p99 ${a.p99} → ${b.p99} ms (${ratio(b.p99, a.p99)}×), p50 ${a.p50} → ${b.p50} ms; the floor's p99 ${floor?.p99} ms`,
          pass: b.p99 <= 5 && a.p99 <= 5 && flat,
        },
      ],
      figures: {
        sizes: counts,
        requests,
        request: `GET ${CONTROL_CENTER}`,
        results,
        httpFloor: floor,
      },
    };
  },
};
