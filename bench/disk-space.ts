import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { sqliteFilesOf } from "../platform/private-files.js";
import { lotIds, reserveBody } from "./lib/domain.js";
import { forEachConcurrently, HttpClient } from "./lib/http.js";
import { log, progress } from "./lib/log.js";
import { machineInfo } from "./lib/machine.js";
import { benchDataDir, startService } from "./lib/processes.js";
import { registerLots, waitForCatchUp } from "./lib/service-api.js";

/*
 * Issue 36: the disk a lot's year needs. The real service (embedded stores) takes N reservations,
 * each checked in and out (the events of a stay: ParkingReserved, CheckedIn, CheckedOut, and the
 * coupon the policy issues), its read models catch up, and it is stopped (SQLite folds its WAL
 * back into the database on close). The bytes each store's files grew by, per 1,000 stays: a lot
 * with 200 stays a day has ~73,000 a year.
 *
 *   npx tsx bench/disk-space.ts       env: N (stays, 5000), LOTS (20)
 */

const stays = Number(process.env.N ?? 5_000);
const lots = lotIds(Number(process.env.LOTS ?? 20));
const STORES = { events: "events.sqlite", readModels: "read-models.sqlite" } as const;

/** The bytes of a database and its companions (WAL, shared memory) as they are on disk now. */
const bytesOf = (dir: string, file: string): number =>
  sqliteFilesOf(join(dir, file)).reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);

const sizes = (dir: string) => ({
  events: bytesOf(dir, STORES.events),
  readModels: bytesOf(dir, STORES.readModels),
});

/** One stay: booked, checked in, checked out. */
async function stay(http: HttpClient, i: number): Promise<void> {
  const lot = lots[i % lots.length] as string;
  const booked = await http.json<{ reservationId: string }>(
    "POST",
    `/parking-lots/${lot}/reservations`,
    JSON.parse(reserveBody(i)),
  );
  const base = `/parking-lots/${lot}/reservations/${booked.reservationId}`;
  await http.json("POST", `${base}/check-in`, {});
  await http.json("POST", `${base}/check-out`, {});
}

async function main(): Promise<void> {
  const data = benchDataDir("disk-space");
  try {
    let service = await startService(data.dir);
    let http = new HttpClient(service.url);
    await registerLots(http, lots, 100_000);
    await waitForCatchUp(http, 60_000);
    await service.stop();
    const before = sizes(data.dir);

    service = await startService(data.dir);
    http = new HttpClient(service.url);
    const shown = progress("stays");
    let done = 0;
    await forEachConcurrently(
      Array.from({ length: stays }, (_, i) => i),
      16,
      async (i) => {
        await stay(http, i);
        if (++done % 250 === 0) shown.update(`${done} / ${stays}`);
      },
    );
    shown.done(`${stays} booked, checked in and out`);
    await waitForCatchUp(http, 120_000);
    await service.stop();
    const after = sizes(data.dir);

    const per1000 = (store: keyof typeof STORES) => ((after[store] - before[store]) * 1000) / stays;
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`.padStart(10);
    const total = per1000("events") + per1000("readModels");
    log(`machine: ${JSON.stringify(machineInfo())}`);
    log(`${stays} stays over ${lots.length} lots (each: reserved, checked in, checked out, coupon issued)`);
    log(`  event log    ${kib(per1000("events"))} per 1,000 stays  (${kib(after.events)} in all)`);
    log(`  read models  ${kib(per1000("readModels"))} per 1,000 stays  (${kib(after.readModels)} in all)`);
    log(
      `  both         ${kib(total)} per 1,000 stays; a year of 200 stays a day: ${((total * 73) / 1024 / 1024).toFixed(0)} MiB`,
    );
  } finally {
    data.remove();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
