import { performance } from "node:perf_hooks";
import { PostgresDocumentStore } from "../document-store/postgres/pg-document-store.js";
import { startPostgres } from "../test-support/postgres/cluster.js";

/*
 * Reads through the PostgreSQL document store (issue 70): 1,000 documents in one collection with an
 * index, then findById and an indexed find (20 at most) one at a time, and findById 64 at a time
 * (the pool's 10 connections shared), two rounds each after a warm-up; the latency of each call,
 * the rate, and this process's CPU per read (the server's is not counted). Debian's PostgreSQL in a
 * temporary folder on loopback, fsync off. To compare two versions, run it in each tree in turn.
 *
 *   npx tsx bench/postgres-reads.ts
 */
const cluster = await startPostgres();
try {
  const store = await PostgresDocumentStore.open({ url: await cluster.createDatabase("reads") });
  await store.ensureIndexes("r", [{ name: "lot_1", keys: { lot: 1 } }]);
  for (let b = 0; b < 10; b++)
    await store.write(
      Array.from({ length: 100 }, (_, i) => ({
        op: "replace" as const,
        collection: "r",
        id: `d${b * 100 + i}`,
        document: { lot: `L${(b * 100 + i) % 50}`, carNumber: "12가3456", amount: 5000, status: "RESERVED" },
      })),
    );
  const run = async (label: string, n: number, one: (i: number) => Promise<unknown>, concurrency = 1) => {
    for (let i = 0; i < 200; i++) await one(i);
    const times: number[] = [];
    const cpu = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const t = performance.now();
          await one(i);
          times.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    times.sort((a, b) => a - b);
    const at = (q: number) => (times[Math.floor(q * (times.length - 1))] ?? 0).toFixed(3);
    console.log(
      `${label}: ${Math.round(n / seconds)} reads/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ` +
        `this process's CPU ${((used.user + used.system) / 1000 / n).toFixed(3)} ms a read`,
    );
  };
  for (let round = 1; round <= 2; round++) {
    console.log(`round ${round}`);
    await run("findById, one at a time", 3000, (i) => store.findById("r", `d${i % 1000}`));
    await run("find {lot} (20 at most), one at a time", 3000, (i) =>
      store.find("r", { lot: `L${i % 50}` }, { limit: 20 }),
    );
    await run("findById, 64 at a time", 20000, (i) => store.findById("r", `d${i % 1000}`), 64);
  }
  await store.close();
} finally {
  await cluster.stop();
}
