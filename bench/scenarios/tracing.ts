import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { lotIds } from "../lib/domain.js";
import { fixedRate } from "../lib/fixed-rate.js";
import type { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { cpuSecondsOf } from "../lib/process-stats.js";
import type { BenchChild } from "../lib/processes.js";
import { reserve, waitForCatchUp, withService } from "../lib/service-api.js";
import { median, round } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/** An OTLP/HTTP sink in this process: it reads every body and answers 200, as a collector does. */
async function otlpSink(): Promise<{ server: Server; endpoint: string; bodies: () => number }> {
  let bodies = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      bodies++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, bodies: () => bodies };
}

/** Reservations a second in each round: well below what either service answers on 2 busy cores. */
const RATE = 100;
const ROUND_SECONDS = 6;

/** One round on one side: `RATE` reservations a second, then its processors' catch-up; the CPU each cost. */
async function measureRound(child: BenchChild, client: HttpClient, lots: readonly string[], offset: number) {
  const before = cpuSecondsOf(child.pid);
  let ok = 0;
  await fixedRate({
    rate: RATE,
    durationSec: ROUND_SECONDS,
    maxInFlight: 500,
    task: async (index) => {
      if ((await reserve(client, lots, offset + index)).status === 201) ok++;
    },
  });
  await waitForCatchUp(client, 120_000);
  return { cpuMsPerReservation: ((cpuSecondsOf(child.pid) - before) * 1000) / Math.max(1, ok), ok };
}

/**
 * What tracing costs (issue 39): two services side by side, one with tracing off
 * (OTEL_EXPORTER_OTLP_ENDPOINT unset: no SDK started) and one recording and exporting every trace
 * (OpenTelemetry's SDK at the default ratio 1, OTLP/protobuf to a sink in this process), sent the
 * same open-loop reservations at a fixed rate in alternating rounds (the order swapped every round).
 * The figure is the ratio of their CPU per reservation (the processors' catch-up included), round
 * pair by round pair: CPU, not throughput, because on a shared machine throughput measures the
 * neighbours.
 */
export const tracingScenario: Scenario = {
  name: "tracing",
  title: "Tracing's cost: CPU per reservation, every trace exported vs tracing off",
  async run(ctx): Promise<ScenarioOutcome> {
    const lots = lotIds(200);
    const rounds = ctx.quick ? 6 : 16;
    const sink = await otlpSink();
    try {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint };
      const cpu = { off: [] as number[], on: [] as number[] };
      await withService("tracing-off", lots, (off, offHttp) =>
        withService(
          "tracing-on",
          lots,
          async (on, onHttp) => {
            const sides = { off: { child: off, http: offHttp }, on: { child: on, http: onHttp } };
            for (const side of Object.values(sides)) await measureRound(side.child, side.http, lots, 0); // warm-up
            for (let r = 0; r < rounds; r++)
              for (const key of r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
                const measured = await measureRound(
                  sides[key].child,
                  sides[key].http,
                  lots,
                  (r + 1) * 1_000_000,
                );
                cpu[key].push(measured.cpuMsPerReservation);
                log(
                  `  round ${r + 1} ${key}: ${round(measured.cpuMsPerReservation, 3)} ms CPU per reservation (${measured.ok} reserved)`,
                );
              }
          },
          { env },
        ),
      );
      const ratios = cpu.on.map((on, i) => round(on / (cpu.off[i] as number), 3));
      const ratio = median(ratios);
      log(
        `  on/off per round: ${ratios.join(", ")}; median ${round(ratio, 3)}; ${sink.bodies()} OTLP bodies`,
      );
      return {
        checks: [
          {
            target: "CPU per reservation, tracing on (every trace) / off, reported",
            measured: `median ${round(ratio, 3)}× over ${rounds} round pairs (${Math.min(...ratios)}–${Math.max(...ratios)}×); off ${round(median(cpu.off), 3)} ms, on ${round(median(cpu.on), 3)} ms`,
            pass: sink.bodies() > 0,
          },
        ],
        figures: {
          rate: RATE,
          roundSec: ROUND_SECONDS,
          rounds,
          ratio,
          ratios,
          cpuMs: cpu,
          otlpBodies: sink.bodies(),
        },
      };
    } finally {
      sink.server.close();
    }
  },
};
