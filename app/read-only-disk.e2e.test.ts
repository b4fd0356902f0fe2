import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { Database } from "../platform/sqlite.js";
import { operatorHeaders } from "../test-support/auth.js";
import { call } from "../test-support/service.js";
import { projectionsAtHead, serviceProcesses } from "../test-support/spawned-services.js";

/*
 * A DATA_DIR that turns read-only under the running service, for real. Linux refuses to remount
 * a file system read-only while a process holds files open for writing (EBUSY), so the way a
 * running service meets it is the way production does: the file system turns itself read-only
 * after an error. Here an ext4 image (mounted through a loop device, errors=remount-ro; needs
 * root and loop devices, else skipped with a message) is made to raise one through ext4's
 * `trigger_fs_error`. Writes then fail with EROFS: bookings are refused with 503
 * storage-unavailable, /readyz, the metrics and the log say "read-only", reads answer. ext4 keeps
 * such a file system read-only until it is unmounted and checked, so the service is stopped, the
 * volume checked and mounted again, and the service started on it: every acknowledged booking is
 * there, no refused one, and both SQLite files are intact.
 */

const work = mkdtempSync(join(tmpdir(), "parking-read-only-"));
const image = join(work, "volume.ext4");
const mountPoint = join(work, "mnt");
const run = (command: string, args: readonly string[]) => execFileSync(command, args, { stdio: "pipe" });
const mountVolume = () => run("mount", ["-o", "loop,errors=remount-ro", image, mountPoint]);

const ready = (() => {
  try {
    mkdirSync(mountPoint);
    run("truncate", ["-s", "64M", image]);
    run("mkfs.ext4", ["-q", "-F", image]);
    mountVolume();
    return { ok: true as const };
  } catch (error) {
    return { ok: false as const, why: String((error as { stderr?: Buffer }).stderr ?? error).trim() };
  }
})();
if (!ready.ok) {
  console.warn(
    `read-only-disk e2e skipped: cannot mount an ext4 image here (needs root and loop devices): ${ready.why}`,
  );
}

const services = serviceProcesses();
afterAll(async () => {
  await services.killAll();
  if (ready.ok) {
    try {
      run("umount", [mountPoint]);
    } catch {
      // already unmounted
    }
  }
  rmSync(work, { recursive: true, force: true });
});

const LOT = "ro-1";
const dataDir = join(mountPoint, "data");

/** ext4's own error path: the file system turns read-only under its open files. */
function failFileSystem(): void {
  const device = basename(run("findmnt", ["-no", "SOURCE", mountPoint]).toString().trim());
  writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, "test: turn read-only");
}

describe.skipIf(!ready.ok)("a DATA_DIR that turns read-only", () => {
  it("refuses writes with 503 storage-unavailable, keeps reading, and loses nothing", async () => {
    // Every commit synced before it is acknowledged: what a file system that stops taking writes
    // still holds after the check. (With the default, EVENTSTORE_SYNC=normal, the commits since
    // the last WAL checkpoint are lost with it, as in an OS crash: docs/operations.md.)
    const env = { DATA_DIR: dataDir, EVENTSTORE_SYNC: "full" };
    let service = await services.start({ ...env, LOG_LEVEL: "info" });
    expect(
      (
        await call(service.url, "POST", "/parking-lots", {
          parkingLotId: LOT,
          name: "읽기",
          capacity: 10_000,
        })
      ).status,
    ).toBe(201);
    const acked = new Set<string>();
    const refused: { status: number; type: string; retryAfter: string | null }[] = [];
    let n = 0;
    const bookRound = () =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          const i = n++;
          const answer = await call<{ reservationId: string; type: string }>(
            service.url,
            "POST",
            `/parking-lots/${LOT}/reservations`,
            { customerId: `C${i}`, carNumber: `${10 + (i % 80)}더${1000 + i}`, amount: 5000 },
          );
          if (answer.status === 201) acked.add(answer.body.reservationId);
          else
            refused.push({
              status: answer.status,
              type: answer.body.type,
              retryAfter: answer.headers.get("retry-after"),
            });
        }),
      );
    for (let round = 0; round < 5; round++) await bookRound();
    expect(refused).toEqual([]);

    failFileSystem();
    await bookRound();
    expect(refused.length).toBe(8);
    for (const refusal of refused) {
      expect(refusal).toEqual({ status: 503, type: "/problems/storage-unavailable", retryAfter: "10" });
    }
    const readiness = await call<{ checks: Record<string, { ok: boolean; detail?: string }> }>(
      service.url,
      "GET",
      "/readyz",
    );
    expect(readiness.status).toBe(503);
    expect(readiness.body.checks.storage).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/is read-only/),
    });
    const metrics = await (
      await fetch(`${service.url}/metrics`, { headers: await operatorHeaders(dataDir) })
    ).text();
    expect(metrics).toMatch(
      /parking_storage_unavailable\{store="(?:event-store|data-keys)",reason="read-only"\} 1/,
    );
    expect(service.output()).toMatch(/storage unavailable: .* is read-only/);
    expect((await call(service.url, "GET", `/parking-lots/${LOT}`)).status).toBe(200);
    const during = await call<{ projections: { state: string }[] }>(service.url, "GET", "/control-center");
    expect(during.body.projections.filter((p) => p.state === "failed")).toEqual([]);

    // The volume is checked and mounted again; the service starts on it.
    await services.killAll();
    run("umount", [mountPoint]);
    try {
      run("e2fsck", ["-f", "-y", image]);
    } catch (error) {
      // e2fsck exits 1 when it corrected the file system (the error flag the test raised).
      if ((error as { status?: number }).status !== 1) throw error;
    }
    mountVolume();
    service = await services.start(env);
    await bookRound();
    expect(refused.slice(8)).toEqual([]);
    await projectionsAtHead(service.url, 60_000);

    const store = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
    const booked = new Set<string>();
    try {
      for await (const event of store.readAll()) {
        if (event.type === "ParkingReserved")
          booked.add((event.data as { reservationId: string }).reservationId);
      }
    } finally {
      await store.close();
    }
    expect(booked).toEqual(acked);
    console.info(`read-only disk survived: ${acked.size} bookings acknowledged, all in the log; 8 refused`);
    await services.killAll();
    for (const file of ["events.sqlite", "read-models.sqlite"]) {
      const db = new Database(join(dataDir, file), { readonly: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
    }
  }, 180_000);
});
