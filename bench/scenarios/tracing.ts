import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { formatProfile, type ProfileSummary, profilesIn, summarizeCpuProfile } from "../lib/cpu-profile.js";
import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type LoadResult, mergeLoads, runLoadInto } from "../lib/load.js";
import { log } from "../lib/log.js";
import { type BenchChild, benchDataDir, startService } from "../lib/processes.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { ratio, Sample } from "../lib/stats.js";
import { CAPACITY, CONNECTIONS, spreadRequests } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

/*
 * Issue 22: what tracing costs reserve throughput, over HTTP as in `reserve` (64 connections,
 * spread over lots), in alternating 5 s rounds so that the machine's disturbances hit all alike:
 * - off: OTEL_EXPORTER_OTLP_ENDPOINT unset, requests without a traceparent (the baseline);
 * - off + header: the same service, every request with a traceparent (parsed, carried in events);
 * - exporter set: a second service exporting to an OTLP sink in this process (it reads and drops
 *   the bodies), every request with a traceparent: all the spans made and exported;
 * - exporter set, 1% sampled: a third service with OTEL_TRACES_SAMPLER_ARG=0.01 that starts the
 *   traces itself (no traceparent), recording one in a hundred;
 * - off, second service: a fourth service as the first (tracing unset, with a traceparent): the
 *   control, what one process costs against another that runs the same code with the same load.
 */

const LOTS = 200;
const ROUND_SECONDS = 5;

function sink(): Promise<{ server: Server; url: string; bodies: () => number }> {
  let bodies = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      bodies++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        bodies: () => bodies,
      }),
    ),
  );
}

const traceparent = () => `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;

export const tracingScenario: Scenario = {
  name: "tracing",
  title: "the cost of tracing on reserve throughput (exporter set, and unset)",
  async run(ctx): Promise<ScenarioResult> {
    const rounds = ctx.quick ? 1 : 3;
    const lots = lotIds(LOTS);
    const collector = await sink();
    const off = benchDataDir("tracing-off");
    const on = benchDataDir("tracing-on");
    const sampled = benchDataDir("tracing-sampled");
    const control = benchDataDir("tracing-control");
    const services: BenchChild[] = [];
    const clients: HttpClient[] = [];
    // --profile: every service runs under --cpu-prof (a profile per thread, on exit), each in its dir.
    const profileDir = ctx.profile ? join(ctx.profileRoot, "tracing") : undefined;
    const profiled = (name: string) => {
      if (!profileDir) return {};
      mkdirSync(join(profileDir, name), { recursive: true });
      return { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, name)}`] };
    };
    const profiles: ProfileSummary[] = [];
    try {
      const plain = await startService(off.dir, { label: "tracing off", ...profiled("off") });
      services.push(plain);
      const traced = await startService(on.dir, {
        label: "tracing on",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
        ...profiled("exporter"),
      });
      services.push(traced);
      const share = await startService(sampled.dir, {
        label: "tracing 1%",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER_ARG: "0.01" },
        ...profiled("sampled"),
      });
      services.push(share);
      const second = await startService(control.dir, { label: "tracing off (control)" });
      services.push(second);
      for (const service of services) {
        const http = new HttpClient(service.url);
        clients.push(http);
        await registerLots(http, lots, CAPACITY);
        await waitForCatchUp(http, 60_000);
      }
      const variants = [
        { key: "off", service: plain, header: false },
        { key: "off + header", service: plain, header: true },
        { key: "exporter set", service: traced, header: true },
        { key: "exporter set, 1% sampled", service: share, header: false },
        { key: "off, second service", service: second, header: true },
      ] as const;
      const runs = new Map<string, LoadResult[]>(variants.map((v) => [v.key, []]));
      const samples = new Map(variants.map((v) => [v.key, [new Sample(), new Sample()] as const]));
      let offset = 0;
      for (let r = -1; r < rounds; r++) {
        const order = r % 2 === 0 ? variants : [...variants].reverse();
        for (const variant of order) {
          const spread = spreadRequests(lots, offset);
          offset += 1_000_000;
          const [all, ok] = samples.get(variant.key) as readonly [Sample, Sample];
          const result = await runLoadInto(
            {
              title: variant.key,
              url: variant.service.url,
              connections: CONNECTIONS,
              durationSec: r < 0 ? 2 : ROUND_SECONDS,
              method: "POST",
              next: () => ({
                ...spread(),
                ...(variant.header ? { headers: { traceparent: traceparent() } } : {}),
              }),
              serverPid: variant.service.pid,
            },
            r < 0 ? new Sample() : all,
            r < 0 ? new Sample() : ok,
          );
          if (r >= 0) runs.get(variant.key)?.push(result);
          log(`  ${r < 0 ? "warm-up" : `round ${r + 1}`} ${variant.key}: ${describeLoad(result)}`);
          await waitForCatchUp(clients[services.indexOf(variant.service)] as HttpClient, 300_000);
        }
      }
      const merged = Object.fromEntries(
        variants.map((v) => {
          const [all, ok] = samples.get(v.key) as readonly [Sample, Sample];
          return [v.key, mergeLoads(v.key, runs.get(v.key) ?? [], all, ok)];
        }),
      ) as Record<(typeof variants)[number]["key"], LoadResult>;
      const base = merged.off.rps2xx;
      const costOf = (key: keyof typeof merged) => ratio(base - merged[key].rps2xx, base, 4);
      const header = costOf("off + header");
      const exporter = costOf("exporter set");
      const sampledCost = costOf("exporter set, 1% sampled");
      const controlCost = costOf("off, second service");
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: "tracing unset costs reserve throughput < 1% (requests with a traceparent)",
            measured: `${merged["off + header"].rps2xx} vs ${base} req/s: ${pct(header)}`,
            pass: header < 0.01,
          },
          {
            target: "tracing with an exporter set costs reserve throughput < 5%",
            measured: `${merged["exporter set"].rps2xx} vs ${base} req/s: ${pct(exporter)} (${collector.bodies()} OTLP posts received)`,
            pass: exporter < 0.05,
          },
          {
            target: "tracing with an exporter set, 1% of traces sampled, costs < 5%",
            measured: `${merged["exporter set, 1% sampled"].rps2xx} vs ${base} req/s: ${pct(sampledCost)}`,
            pass: sampledCost < 0.05,
          },
        ],
        figures: {
          rounds,
          roundSec: ROUND_SECONDS,
          lots: LOTS,
          rps: Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, v.rps2xx])),
          p99Ms: Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, v.latency.p99])),
          perRound: Object.fromEntries([...runs].map(([k, v]) => [k, v.map((x) => x.rps2xx)])),
          costUnset: header,
          costExporter: exporter,
          costSampled: sampledCost,
          // Another process running the very code of `off + header`: how far apart two processes are.
          costControl: controlCost,
          otlpPosts: collector.bodies(),
        },
        // Filled in as the services stop (below), before the result is read.
        profiles,
      };
    } finally {
      for (const http of clients) http.close();
      for (const service of services) await service.stop();
      const dirs = profileDir ? ["off", "exporter", "sampled"].map((name) => join(profileDir, name)) : [];
      for (const file of dirs.flatMap((dir) => profilesIn(dir))) {
        const summary = { ...summarizeCpuProfile(file, 25), label: file };
        profiles.push(summary);
        log(formatProfile(summary));
      }
      await new Promise((resolve) => collector.server.close(resolve));
      off.remove();
      on.remove();
      sampled.remove();
      control.remove();
    }
  },
};
