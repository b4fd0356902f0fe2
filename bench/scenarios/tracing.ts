import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { type BenchChild, benchDataDir, startService } from "../lib/processes.js";
import { loadInRounds, perRoundRps, ROUND_SECONDS, roundsOf } from "../lib/rounds.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { median, ratio, round } from "../lib/stats.js";
import { CAPACITY, CONNECTIONS, spreadRequests, warmUp } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

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

/**
 * What tracing costs reserve throughput (issue 39): two services side by side, one with tracing
 * off (OTEL_EXPORTER_OTLP_ENDPOINT unset: no SDK started) and one exporting every trace
 * (OpenTelemetry's SDK, the default sampler ratio 1, OTLP/protobuf to a sink in this process),
 * loaded as `reserve` is, in alternating rounds; the figure is the ratio of their throughputs,
 * round by round and over all rounds.
 */
export const tracingScenario: Scenario = {
  name: "tracing",
  title: "Tracing's cost: reserve throughput, every trace exported vs tracing off",
  async run(ctx): Promise<ScenarioResult> {
    const lots = lotIds(200);
    const rounds = roundsOf(ctx.quick ? 20 : 60);
    const sink = await otlpSink();
    const data = { off: benchDataDir("tracing-off"), on: benchDataDir("tracing-on") };
    const children: { off?: BenchChild; on?: BenchChild } = {};
    const clients: HttpClient[] = [];
    try {
      children.off = await startService(data.off.dir, { label: "tracing off" });
      children.on = await startService(data.on.dir, {
        label: "tracing on",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint },
      });
      for (const child of [children.off, children.on]) {
        const client = new HttpClient(child.url);
        clients.push(client);
        await registerLots(client, lots, CAPACITY);
        await warmUp(
          ctx,
          child.label,
          child.url,
          spreadRequests(lots, child === children.off ? 0 : 1_000_000),
        );
        await waitForCatchUp(client, 120_000);
      }
      const side = (child: BenchChild, client: HttpClient, line: string) => ({
        title: line,
        server: child,
        line,
        requests: (_round: number, run: number) => ({
          next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
        }),
        after: async () => {
          await waitForCatchUp(client, 300_000);
          return undefined;
        },
      });
      const sides = await loadInRounds(rounds, CONNECTIONS, {
        off: side(children.off, clients[0] as HttpClient, "tracing off"),
        on: side(children.on, clients[1] as HttpClient, "tracing on, every trace exported"),
      });
      const perRound = perRoundRps(sides);
      const roundRatios = perRound.on.map((on, i) => round(on / Math.max(1, perRound.off[i] ?? 0), 3));
      const overall = ratio(sides.on.load.rps2xx, sides.off.load.rps2xx, 3);
      log(`  on/off per round: ${roundRatios.join(", ")}; overall ${overall}; ${sink.bodies()} OTLP bodies`);
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: "tracing on / off throughput reported (alternating rounds)",
            measured: `${overall}× overall (median of rounds ${median(roundRatios)}×, rounds ${Math.min(...roundRatios)}–${Math.max(...roundRatios)}); ${sides.on.load.rps2xx} vs ${sides.off.load.rps2xx} req/s`,
            pass: sink.bodies() > 0 && sides.on.load.status["5xx"] === 0,
          },
        ],
        figures: {
          rounds,
          roundSec: ROUND_SECONDS,
          off: sides.off.load.rps2xx,
          on: sides.on.load.rps2xx,
          ratio: overall,
          roundRatios,
          otlpBodies: sink.bodies(),
          perRound,
        },
      };
    } finally {
      for (const client of clients) client.close();
      await children.off?.stop();
      await children.on?.stop();
      sink.server.close();
      data.off.remove();
      data.on.remove();
    }
  },
};
