import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { HttpClient } from "../lib/http.js";
import { log, progress } from "../lib/log.js";
import { memoryOf } from "../lib/process-stats.js";
import { type BenchChild, benchDataDir, startCeilingServer, startService } from "../lib/processes.js";
import { prepareReadModels, seedReservations } from "../lib/seed-read-models.js";
import { fmtInt, type LatencySummary, ratio, round, Sample } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/** The control center (totals, the first page of lots, the projections), or the floor's empty GET. */
const CONTROL_CENTER = "/control-center";

interface Measured {
  readonly latencyMs: LatencySummary;
  readonly rps: number;
  readonly avgBytes: number;
}

/** A tight sequential loop (one request at a time, keep-alive): latency without queueing. */
async function measure(http: HttpClient, path: string, requests: number, into?: Sample): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < requests; i++) {
    const response = await http.get(path);
    if (response.status !== 200)
      throw new Error(`${path}: ${response.status} ${response.body.slice(0, 200)}`);
    into?.add(response.ms);
    bytes += response.body.length;
  }
  return bytes;
}

const summary = (sample: Sample, seconds: number, bytes: number): Measured => ({
  latencyMs: sample.summary(),
  rps: Math.round(sample.count / seconds),
  avgBytes: Math.round(bytes / sample.count),
});

const fileMiB = (file: string) => (existsSync(file) ? round(statSync(file).size / 2 ** 20, 1) : 0);

interface Size {
  readonly n: number;
  readonly dir: string;
  readonly remove: () => void;
  readonly seedSec: number;
  service?: BenchChild;
  http?: HttpClient;
  readonly sample: Sample;
  seconds: number;
  bytes: number;
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
  return { n, ...data, seedSec, sample: new Sample(), seconds: 0, bytes: 0 };
}

/** The floor of this method on this machine: a bare express GET answering a tiny JSON body. */
async function floorOf(requests: number): Promise<Measured> {
  const ceiling = await startCeilingServer();
  const http = new HttpClient(ceiling.url, 4);
  try {
    await measure(http, "/healthz", Math.max(100, requests / 10));
    const sample = new Sample();
    const started = process.hrtime.bigint();
    const bytes = await measure(http, "/healthz", requests, sample);
    const floor = summary(sample, Number(process.hrtime.bigint() - started) / 1e9, bytes);
    log(`  floor: bare express GET, p50 ${floor.latencyMs.p50} ms, p99 ${floor.latencyMs.p99} ms`);
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
    const results: Record<string, Measured> = {};
    const memory: Record<string, unknown> = {};
    let floor: Measured | undefined;
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
        for (const size of half === 0 ? sizes : [...sizes].reverse()) {
          const started = process.hrtime.bigint();
          size.bytes += await measure(size.http as HttpClient, CONTROL_CENTER, requests / 2, size.sample);
          size.seconds += Number(process.hrtime.bigint() - started) / 1e9;
        }
      for (const size of sizes) {
        const result = summary(size.sample, size.seconds, size.bytes);
        results[String(size.n)] = result;
        const m = memoryOf((size.service as BenchChild).pid);
        memory[String(size.n)] = {
          ...m,
          fileMiB: fileMiB(join(size.dir, "read-models.sqlite")),
          seedSec: size.seedSec,
        };
        log(
          `  ${fmtInt(size.n).padStart(9)} reservations: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms, ${fmtInt(result.rps)} req/s sequential, ${fmtInt(result.avgBytes)} B; RSS ${m?.rssMiB} MiB`,
        );
      }
    } finally {
      for (const size of sizes) {
        size.http?.close();
        await size.service?.stop();
        size.remove();
      }
    }
    const [a, b] = counts.map((n) => (results[String(n)] as Measured).latencyMs) as [
      LatencySummary,
      LatencySummary,
    ];
    // "Flat": the large size's p99 within 1.5× the small size's (or within 0.5 ms of it: sub-ms noise).
    const flat = b.p99 <= Math.max(1.5 * a.p99, a.p99 + 0.5);
    return {
      checks: [
        {
          target: `control center: p99 ≤ 5 ms and flat ${fmtInt(counts[0])}→${fmtInt(counts[1])}`,
          measured: `p99 ${a.p99} → ${b.p99} ms (${ratio(b.p99, a.p99)}×), p50 ${a.p50} → ${b.p50} ms; the floor's p99 ${floor?.latencyMs.p99} ms`,
          pass: b.p99 <= 5 && a.p99 <= 5 && flat,
        },
      ],
      figures: {
        sizes: counts,
        requests,
        request: `GET ${CONTROL_CENTER}`,
        results,
        httpFloor: floor,
        memory,
      },
    };
  },
};
