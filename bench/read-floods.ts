/**
 * Issue 34's floods, measured: a cheap read's and a reservation's latency (p99) while one caller
 * floods an expensive read at 50 requests a second (the default per-address quota) on a lot with
 * 8,000 active bookings, against the same probes with no flood; phases alternate (quiet, timeline,
 * asOf, history, history, asOf, timeline, quiet) so that the shared machine's drift hits both sides.
 * The asOf flood asks a new moment each time (no kept answer), the hardest case for it.
 *
 *   nice -n 10 npx tsx bench/read-floods.ts
 *
 * The service is the real one (a child process on the embedded stores); the flood and the probes
 * run in this process. app/read-floods.e2e.test.ts asserts the liveness bounds; this prints figures.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ANONYMOUS, type AuthHeaders, customerHeaders } from "../test-support/auth.js";
import { spawnService } from "../test-support/process.js";
import { seedDataDir } from "../test-support/seed.js";
import { tempDataDir } from "../test-support/service.js";
import { projectionsAtHead } from "../test-support/spawned-services.js";
import { ratio, summarize } from "./lib/stats.js";

const PHASE_MS = 8_000;
const PER_SECOND = 50;
const LOT = "flood-1";

const data = tempDataDir("bench-read-floods-");
const seeded = await seedDataDir(data.dir, {
  lots: 1,
  capacity: 10_000,
  reservations: 8_000,
  cancellations: 0,
  lotPrefix: "flood-",
});
const service = await spawnService({ DATA_DIR: data.dir }, { readyTimeoutMs: 60_000 });
try {
  await projectionsAtHead(service.url, 120_000);
  const probe = await customerHeaders(data.dir, "CUST-PROBE");
  const first = seeded.reservations[0] as { reservationId: string; customerId: string };
  const owner = await customerHeaders(data.dir, first.customerId);
  const middle = (seeded.reservations[4_000] as { position: { commit: number } }).position.commit;
  let probes = 0;

  const request = async (path: string, init: RequestInit = {}): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${service.url}${path}`, init);
    await response.arrayBuffer();
    return performance.now() - started;
  };
  const reserve = () =>
    request(`/parking-lots/${LOT}/reservations`, {
      method: "POST",
      headers: { ...probe, "content-type": "application/json", "idempotency-key": `p-${++probes}` },
      body: JSON.stringify({ carNumber: "10더8612", amount: 1000 }),
    });
  await reserve(); // the lot loaded on the write side before anything is measured

  const floods: Record<string, { headers: AuthHeaders; path: (i: number) => string }> = {
    timeline: { headers: ANONYMOUS, path: () => `/parking-lots/${LOT}/timeline` },
    asOf: { headers: owner, path: (i) => `/parking-lots/${LOT}?asOf=${middle + i}` },
    history: { headers: owner, path: () => `/reservations/${first.reservationId}/history` },
  };

  /** One phase: the probes (a read, then a reservation, 100 ms apart), and the flood if named. */
  async function phase(name: string) {
    const reads: number[] = [];
    const writes: number[] = [];
    const start = performance.now();
    const flood = floods[name];
    const flooding = (async () => {
      if (!flood) return;
      const sent = flood.headers.authorization ? flood.headers : {};
      const pending: Promise<unknown>[] = [];
      for (let i = 0; performance.now() - start < PHASE_MS; i++) {
        pending.push(request(flood.path(i), { headers: sent }).catch(() => 0));
        await sleep(Math.max(0, start + ((i + 1) * 1000) / PER_SECOND - performance.now()));
      }
      await Promise.all(pending);
    })();
    while (performance.now() - start < PHASE_MS) {
      reads.push(await request(`/parking-lots/${LOT}`, { headers: probe }));
      writes.push(await reserve());
      await sleep(100);
    }
    await flooding;
    return { reads, writes };
  }

  const samples = new Map<string, { reads: number[]; writes: number[] }>();
  for (const name of ["quiet", "timeline", "asOf", "history", "history", "asOf", "timeline", "quiet"]) {
    const { reads, writes } = await phase(name);
    const kept = samples.get(name) ?? { reads: [], writes: [] };
    kept.reads.push(...reads);
    kept.writes.push(...writes);
    samples.set(name, kept);
    await sleep(2_000); // the flood's tail drained before the next phase
  }
  const quiet = samples.get("quiet") as { reads: number[]; writes: number[] };
  const q = { read: summarize(quiet.reads).p99, write: summarize(quiet.writes).p99 };
  console.log(
    `quiet: cheap read p99 ${q.read} ms, reservation p99 ${q.write} ms (${quiet.reads.length} probes)`,
  );
  for (const name of Object.keys(floods)) {
    const s = samples.get(name) as { reads: number[]; writes: number[] };
    const read = summarize(s.reads).p99;
    const write = summarize(s.writes).p99;
    console.log(
      `${name} flood: cheap read p99 ${read} ms (${ratio(read, q.read)}× quiet), ` +
        `reservation p99 ${write} ms (${ratio(write, q.write)}× quiet) (${s.reads.length} probes)`,
    );
  }
} finally {
  service.child.kill("SIGKILL");
  await service.exited;
  data.remove();
}
