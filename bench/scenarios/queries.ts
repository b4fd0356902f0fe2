import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import { CHECKPOINTS, checkpointId } from "../../projections/runtime/checkpoints.js";
import { seededReservationId } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { log, progress } from "../lib/log.js";
import { memoryOf } from "../lib/process-stats.js";
import { type BenchChild, benchDataDir, startCeilingServer, startService } from "../lib/processes.js";
import {
  customerOfReservation,
  lotOfReservation,
  positionOfReservation,
  prepareReadModels,
  SHAPE,
  seedReservations,
} from "../lib/seed-read-models.js";
import { fmtInt, type LatencySummary, ratio, round, Sample } from "../lib/stats.js";
import type { Check, Scenario, ScenarioResult } from "./scenario.js";

/** A deterministic pseudo-random sequence (mulberry32), so every run asks the same questions. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface QueryPath {
  readonly name: string;
  readonly describe: string;
  readonly path: (n: number, rnd: () => number) => string;
}

const pick = (rnd: () => number, n: number) => Math.floor(rnd() * n);

const PATHS: readonly QueryPath[] = [
  {
    name: "by id",
    describe: "GET /reservations/{id}",
    path: (n, rnd) => `/reservations/${seededReservationId(pick(rnd, n))}`,
  },
  {
    name: "by lot",
    describe: "GET /reservations?parkingLotId=…&limit=10",
    path: (n, rnd) =>
      `/reservations?parkingLotId=${lotOfReservation(pick(rnd, Math.min(n, SHAPE.lots)))}&limit=10`,
  },
  {
    name: "by customer",
    describe: "GET /reservations?customerId=…&limit=10",
    path: (n, rnd) => `/reservations?customerId=${customerOfReservation(pick(rnd, n))}&limit=10`,
  },
  {
    name: "by status",
    describe: "GET /reservations?status=…&cursor=(random page)&limit=10",
    path: (n, rnd) => {
      const status = rnd() < 0.5 ? "RESERVED" : "CANCELED";
      return `/reservations?status=${status}&cursor=${positionOfReservation(pick(rnd, n)) + 1}&limit=10`;
    },
  },
  {
    name: "control center",
    describe: "GET /control-center (totals, first page of lots, projections)",
    path: () => "/control-center",
  },
];

/**
 * The paths measured: every one, or those named in BENCH_QUERY_PATHS (comma-separated, e.g.
 * `BENCH_QUERY_PATHS="control center"`), to take alternating rounds of one view without the others.
 */
function selectedPaths(): readonly QueryPath[] {
  const names = process.env.BENCH_QUERY_PATHS?.split(",").map((n) => n.trim());
  if (!names) return PATHS;
  const unknown = names.filter((n) => !PATHS.some((p) => p.name === n));
  if (unknown.length > 0) throw new Error(`BENCH_QUERY_PATHS: no path named ${unknown.join(", ")}`);
  return PATHS.filter((p) => names.includes(p.name));
}

interface PathResult {
  readonly latencyMs: LatencySummary;
  readonly rps: number;
  readonly avgBytes: number;
}

/** A tight sequential loop (one request at a time, keep-alive): latency without queueing. */
async function measurePath(
  http: HttpClient,
  path: QueryPath,
  n: number,
  requests: number,
  seed: number,
  into?: { sample: Sample; seconds: number; bytes: number },
): Promise<void> {
  const rnd = random(seed);
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    const response = await http.get(path.path(n, rnd));
    if (response.status !== 200)
      throw new Error(`${path.name}: ${response.status} ${response.body.slice(0, 200)}`);
    into?.sample.add(response.ms);
    if (into) into.bytes += response.body.length;
  }
  if (into) into.seconds += Number(process.hrtime.bigint() - started) / 1e9;
}

const fileMiB = (file: string) => {
  try {
    return round(statSync(file).size / 2 ** 20, 1);
  } catch {
    return 0;
  }
};

interface Size {
  readonly n: number;
  readonly dir: string;
  readonly remove: () => void;
  readonly seedSec: number;
  service?: BenchChild;
  http?: HttpClient;
}

/**
 * Where the read models of `n` reservations are: a fresh folder, or with BENCH_QUERIES_DATA set, a
 * folder kept there between runs (`queries-{n}`), seeded by the first run and reused by the next
 * ones (for alternating rounds of two builds on one machine, where seeding a million takes minutes).
 */
function dataDir(n: number): { dir: string; remove: () => void; reuse: boolean } {
  const kept = process.env.BENCH_QUERIES_DATA;
  if (!kept) return { ...benchDataDir(`queries-${n}`), reuse: false };
  const dir = join(kept, `queries-${n}`);
  mkdirSync(dir, { recursive: true });
  return { dir, remove: () => {}, reuse: existsSync(join(dir, "seeded")) };
}

/**
 * A reused folder's checkpoints say this build's projection versions: the seed is the same events
 * through the projections, and a build whose projection versions differ from those recorded would
 * rebuild the read models from its (empty) log. Only valid while every version's documents for the
 * seed's events are the same (the seed books no window, so the control center's version 2 adds none).
 */
async function stampVersions(store: SqliteDocumentStore): Promise<void> {
  await store.write(
    PROJECTIONS.map((p) => ({
      op: "update" as const,
      collection: CHECKPOINTS,
      id: checkpointId(p.name, 1),
      update: { $set: { version: p.version } },
    })),
  );
}

/** Fills a fresh read-model file with `n` reservations (or reuses a kept one, see dataDir). */
async function seed(n: number): Promise<Size> {
  const data = dataDir(n);
  const file = join(data.dir, "read-models.sqlite");
  const store = SqliteDocumentStore.open({ file });
  if (data.reuse) {
    try {
      await stampVersions(store);
    } finally {
      await store.close();
    }
    log(`  reusing the read models of ${fmtInt(n)} reservations in ${data.dir}`);
    return { n, dir: data.dir, remove: data.remove, seedSec: 0 };
  }
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
  writeFileSync(join(data.dir, "seeded"), "");
  const seedSec = round((Date.now() - started) / 1000, 1);
  bar.done(`${fmtInt(n)} reservations in ${seedSec} s (${fmtInt(n / seedSec)}/s), ${fileMiB(file)} MiB`);
  return { n, dir: data.dir, remove: data.remove, seedSec };
}

/**
 * 6. Queries at scale: two read-model files, one with 10,000 reservations and one with 1,000,000
 * (100,000 with --quick), each served by its own service process; each query path is measured with
 * a sequential loop over HTTP against both, in alternating halves (so that a disturbance on the
 * machine hits both sizes alike). p99 ≤ 5 ms, and flat from the small size to the large one.
 */
export const queriesScenario: Scenario = {
  name: "queries",
  title: "Queries at 10,000 and 1,000,000 reservations",
  async run(ctx): Promise<ScenarioResult> {
    const counts = [10_000, ctx.quick ? 100_000 : 1_000_000] as const;
    const requests = ctx.quick ? 500 : 2000;
    const sizes: Size[] = [];
    const results: Record<string, Record<string, PathResult>> = {};
    const memory: Record<string, unknown> = {};
    let floor: PathResult | undefined;
    try {
      for (const n of counts) sizes.push(await seed(n));
      for (const size of sizes) {
        size.service = await startService(size.dir);
        size.http = new HttpClient(size.service.url, 4);
        results[String(size.n)] = {};
      }
      const _largest = sizes[sizes.length - 1] as Size;
      // The floor of this method on this machine: a bare express GET answering a tiny JSON body.
      const ceiling = await startCeilingServer();
      const ceilingHttp = new HttpClient(ceiling.url, 4);
      try {
        const floorPath: QueryPath = {
          name: "bare express",
          describe: "GET /healthz of the ceiling server",
          path: () => "/healthz",
        };
        await measurePath(ceilingHttp, floorPath, 0, Math.max(100, requests / 10), 1);
        const into = { sample: new Sample(), seconds: 0, bytes: 0 };
        await measurePath(ceilingHttp, floorPath, 0, requests, 2, into);
        floor = {
          latencyMs: into.sample.summary(),
          rps: Math.round(into.sample.count / into.seconds),
          avgBytes: Math.round(into.bytes / into.sample.count),
        };
        log(
          `  floor: bare express GET, p50 ${floor.latencyMs.p50} ms, p99 ${floor.latencyMs.p99} ms, max ${floor.latencyMs.max} ms, ${fmtInt(floor.rps)} req/s sequential`,
        );
      } finally {
        ceilingHttp.close();
        await ceiling.stop();
      }
      for (const [k, path] of selectedPaths().entries()) {
        const samples = new Map(sizes.map((size) => [size, { sample: new Sample(), seconds: 0, bytes: 0 }]));
        for (const size of sizes)
          await measurePath(size.http as HttpClient, path, size.n, Math.max(100, requests / 10), 1000 + k);
        for (const half of [0, 1]) {
          for (const size of half === 0 ? sizes : [...sizes].reverse()) {
            const into = samples.get(size) as { sample: Sample; seconds: number; bytes: number };
            await measurePath(
              size.http as HttpClient,
              path,
              size.n,
              requests / 2,
              2000 + 10 * k + half,
              into,
            );
          }
        }
        for (const size of sizes) {
          const { sample, seconds, bytes } = samples.get(size) as {
            sample: Sample;
            seconds: number;
            bytes: number;
          };
          const result = {
            latencyMs: sample.summary(),
            rps: Math.round(sample.count / seconds),
            avgBytes: Math.round(bytes / sample.count),
          };
          (results[String(size.n)] as Record<string, PathResult>)[path.name] = result;
          log(
            `  ${fmtInt(size.n).padStart(9)} reservations, ${path.name.padEnd(14)} p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms, ${fmtInt(result.rps)} req/s sequential, ${fmtInt(result.avgBytes)} B`,
          );
        }
      }
      for (const size of sizes) {
        const m = memoryOf((size.service as BenchChild).pid);
        memory[String(size.n)] = {
          ...m,
          fileMiB: fileMiB(join(size.dir, "read-models.sqlite")),
          seedSec: size.seedSec,
        };
        log(
          `  service memory with ${fmtInt(size.n)} reservations: RSS ${m?.rssMiB} MiB, peak ${m?.hwmMiB} MiB`,
        );
      }
    } finally {
      for (const size of sizes) {
        size.http?.close();
        await size.service?.stop();
        size.remove();
      }
    }

    const [small, large] = counts.map((n) => results[String(n)] ?? {}) as [
      Record<string, PathResult>,
      Record<string, PathResult>,
    ];
    const checks: Check[] = [];
    for (const path of selectedPaths()) {
      const a = small[path.name]?.latencyMs;
      const b = large[path.name]?.latencyMs;
      if (!a || !b) continue;
      const growth = ratio(b.p99, a.p99);
      // "Flat": the large size's p99 within 1.5× the small size's (or within 0.5 ms of it: sub-ms noise).
      const flat = b.p99 <= Math.max(1.5 * a.p99, a.p99 + 0.5);
      checks.push({
        target: `${path.name}: p99 ≤ 5 ms and flat ${fmtInt(counts[0])}→${fmtInt(counts[1])}`,
        measured: `p99 ${a.p99} → ${b.p99} ms (${growth}×), p50 ${a.p50} → ${b.p50} ms`,
        pass: b.p99 <= 5 && a.p99 <= 5 && flat,
      });
    }
    return {
      name: this.name,
      title: this.title,
      checks,
      figures: {
        sizes: counts,
        requestsPerPath: requests,
        paths: selectedPaths().map((p) => ({ name: p.name, request: p.describe })),
        results,
        httpFloor: floor,
        memory,
      },
    };
  },
};
