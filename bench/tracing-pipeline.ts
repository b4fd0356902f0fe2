import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/*
 * Issue 22, in isolation: the CPU (every thread of this process: the span's and the export thread's;
 * the OTLP receiver is a child process, not counted) that the spans of one reservation cost from start
 * to export, with each tree's platform/tracing.ts, in alternating rounds. A reservation here is the
 * spans the service makes for one (request, decide, append, coupon reaction, visible) and its
 * share of the projections' batch spans (4 projections, batches of 32 events, linked).
 *
 *   npx tsx bench/tracing-pipeline.ts <tree>[#protocol] ...   (e.g. . /tmp/tracing-base, or .#http/json .)
 *   env: ROUNDS (6), N (reservations per round, 20000)
 */

type Tracing = typeof import("../platform/tracing.js");

const trees = process.argv.slice(2).length ? process.argv.slice(2) : ["."];
/** A tree's OTLP protocol, when given after `#` (a tree too old to know the option ignores it). */
const protocolOf = (tree: string) => tree.split("#")[1] as "http/json" | "http/protobuf" | undefined;
const rounds = Number(process.env.ROUNDS ?? 6);
const perRound = Number(process.env.N ?? 20_000);
const PROJECTIONS = ["parking-lots", "reservations", "control-center", "customer-coupons"];

const traceparents = Array.from(
  { length: 4096 },
  () => `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`,
);

function reservation(t: Tracing, i: number): void {
  const server = t.startSpan("POST /parking-lots/:parkingLotId/reservations", traceparents[i % 4096], {
    kind: t.SpanKind.SERVER,
    attributes: { "http.request.method": "POST", "url.path": "/parking-lots/lot-1/reservations" },
  });
  const under = t.traceparentFor(server, undefined) as string;
  t.batchSpans("decide", [under], { "parking.lot": "lot-1", "parking.commands": 1 }).end();
  t.batchSpans("append", [under], { "parking.lot": "lot-1", "parking.stream": "parking-lot-lot-1" }).end();
  server?.setAttribute("http.response.status_code", 201);
  t.endSpan(server);
  t.endSpan(t.startSpan("coupon-policy ParkingReserved", under));
  t.endSpan(t.startSpan("reservation visible", under, { attributes: { "parking.reservation": `r-${i}` } }));
  if (i % 32 !== 0) return;
  const batch = traceparents.slice(i % 4000, (i % 4000) + 32);
  for (const name of PROJECTIONS)
    t.endSpan(t.linkedSpan(`apply ${name}`, batch, { attributes: { "parking.events": 32 } }));
}

/** µs of CPU per reservation over `perRound` of them, export included (flushed by the shutdown). */
async function round(t: Tracing, endpoint: string, protocol: ReturnType<typeof protocolOf>): Promise<number> {
  const handle = t.startTracing({ endpoint, ...(protocol ? { protocol } : {}) });
  if (!handle) throw new Error("tracing already on");
  for (let i = 0; i < 2_000; i++) reservation(t, i);
  await new Promise((done) => setTimeout(done, 1_500)); // the export thread started, the warm-up exported
  const start = process.cpuUsage();
  for (let i = 0; i < perRound; i++) {
    reservation(t, i);
    if (i % 256 === 0) await new Promise((done) => setImmediate(done));
  }
  await handle.shutdown();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / perRound;
}

// The OTLP receiver, in a process of its own: what it spends is the collector's, not the service's.
const sink = spawn(
  process.execPath,
  [
    "-e",
    `const server = require("node:http").createServer((req, res) => {
      req.resume();
      // An empty answer in the request's encoding (an empty protobuf message, or {}).
      const json = req.headers["content-type"] === "application/json";
      req.on("end", () => res.writeHead(200, { "content-type": req.headers["content-type"] }).end(json ? "{}" : ""));
    });
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const [port] = (await once(sink.stdout, "data")) as [Buffer];
const endpoint = `http://127.0.0.1:${port.toString().trim()}`;
const modules = await Promise.all(
  trees.map(
    async (tree) =>
      (await import(
        pathToFileURL(resolve(tree.split("#")[0] as string, "platform/tracing.ts")).href
      )) as Tracing,
  ),
);
const results = trees.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  const order = trees.map((_, i) => i);
  if (r % 2) order.reverse();
  for (const i of order) {
    const us = await round(modules[i] as Tracing, endpoint, protocolOf(trees[i] as string));
    results[i]?.push(us);
    console.log(`round ${r + 1} ${trees[i]}: ${us.toFixed(1)} µs CPU per reservation`);
  }
}
const median = (v: number[]) => {
  const sorted = [...v].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
for (const [i, tree] of trees.entries()) {
  const v = results[i] as number[];
  console.log(
    `${tree}: median ${median(v).toFixed(1)} µs (${Math.min(...v).toFixed(1)} … ${Math.max(...v).toFixed(1)})`,
  );
}
sink.kill();
