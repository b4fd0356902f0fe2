import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { Database } from "../platform/sqlite.js";
import { operatorHeaders } from "../test-support/auth.js";
import { call, eventually } from "../test-support/service.js";
import { projectionsAtHead, serviceProcesses } from "../test-support/spawned-services.js";

/*
 * A DATA_DIR that fills up, for real: a 32 MiB tmpfs mounted as the service's data directory
 * (mounting needs root, as in CI; elsewhere the suite is skipped and says why). The service
 * takes bookings until the disk is full, then refuses them with 503 storage-unavailable and
 * Retry-After, says so in /readyz, its log and its metrics, and keeps answering reads; its
 * processors wait without losing their place. The test frees the space: the service takes
 * bookings again without a restart, its views catch up, and every acknowledged booking is in
 * the log, exactly those (nothing half-written), with both SQLite files intact.
 */

const mountPoint = mkdtempSync(join(tmpdir(), "parking-full-disk-"));
const mounted = (() => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", mountPoint], {
      stdio: "pipe",
    });
    return { ok: true as const };
  } catch (error) {
    return { ok: false as const, why: String((error as { stderr?: Buffer }).stderr ?? error).trim() };
  }
})();
if (!mounted.ok) {
  console.warn(`full-disk e2e skipped: cannot mount a tmpfs here (needs root): ${mounted.why}`);
}

const services = serviceProcesses();
afterAll(async () => {
  await services.killAll();
  if (mounted.ok) execFileSync("umount", ["-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

const LOT = "disk-1";
const dataDir = join(mountPoint, "data");
const filler = join(mountPoint, "filler");

/** Writes zeros into `file` until the file system has no space left; returns the bytes written. */
function fillDisk(file: string): number {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(256 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

describe.skipIf(!mounted.ok)("a full DATA_DIR", () => {
  it("refuses writes with 503 storage-unavailable, keeps reading, and recovers when space returns", async () => {
    const service = await services.start({ DATA_DIR: dataDir, LOG_LEVEL: "info" });
    const url = service.url;
    expect(
      (await call(url, "POST", "/parking-lots", { parkingLotId: LOT, name: "가득", capacity: 100_000 }))
        .status,
    ).toBe(201);

    const acked = new Set<string>();
    const refusals: { status: number; type: string; retryAfter: string | null }[] = [];
    let n = 0;
    const book = async () => {
      const i = n++;
      const answer = await call<{ reservationId: string; type: string }>(
        url,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        {
          customerId: `C${i}`,
          carNumber: `${10 + (i % 80)}더${1000 + (i % 9000)}`,
          amount: 5000,
        },
      );
      if (answer.status === 201) acked.add(answer.body.reservationId);
      else
        refusals.push({
          status: answer.status,
          type: answer.body.type,
          retryAfter: answer.headers.get("retry-after"),
        });
    };
    const bookRound = () => Promise.all(Array.from({ length: 8 }, book));

    for (let round = 0; round < 10; round++) await bookRound();
    expect(refusals).toEqual([]);

    // The disk fills up (as a log file or another tenant of the volume would fill it).
    fillDisk(filler);
    for (let round = 0; round < 400 && refusals.length < 8; round++) await bookRound();
    expect(refusals.length).toBeGreaterThanOrEqual(8);
    for (const refusal of refusals) {
      expect(refusal).toEqual({ status: 503, type: "/problems/storage-unavailable", retryAfter: "10" });
    }

    // Said in /readyz, the metrics and the log; reads keep answering.
    const readiness = await call<{ checks: Record<string, { ok: boolean; detail?: string }> }>(
      url,
      "GET",
      "/readyz",
    );
    expect(readiness.status).toBe(503);
    expect(readiness.body.checks.storage).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/no space left in/),
    });
    const metricsText = async () =>
      (await fetch(`${url}/metrics`, { headers: await operatorHeaders(dataDir) })).text();
    const metrics = await metricsText();
    expect(metrics).toMatch(
      /parking_storage_unavailable\{store="(?:event-store|data-keys)",reason="full"\} 1/,
    );
    expect(metrics).toMatch(
      /parking_storage_failures_total\{store="(?:event-store|data-keys)",reason="full"\} [1-9]/,
    );
    expect(service.output()).toMatch(/storage unavailable: no space left in/);
    expect((await call(url, "GET", `/parking-lots/${LOT}`)).status).toBe(200);
    expect((await call(url, "GET", `/reservations?parkingLotId=${LOT}&limit=10`)).status).toBe(200);
    // The processors wait (their checkpoints cannot be written either); none has stopped for good.
    const during = await call<{ projections: { name: string; state: string }[] }>(
      url,
      "GET",
      "/control-center",
    );
    expect(during.body.projections.filter((p) => p.state === "failed")).toEqual([]);

    // Space returns: no restart.
    rmSync(filler);
    await eventually(
      async () => ((await call(url, "GET", "/readyz")).status === 200 ? true : undefined),
      30_000,
      "ready again",
    );
    const after = refusals.length;
    await bookRound();
    expect(refusals.length).toBe(after);
    expect(await metricsText()).toMatch(
      /parking_storage_unavailable\{store="(?:event-store|data-keys)",reason="full"\} 0/,
    );
    expect(service.output()).toMatch(/storage available again/);
    const statuses = await projectionsAtHead(url, 60_000);
    expect(statuses.every((s) => s.state === "running")).toBe(true);

    // Every acknowledged booking is in the log, and nothing else: no refused one was half-written.
    const store = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
    const booked = new Set<string>();
    const coupons: string[] = [];
    try {
      for await (const event of store.readAll()) {
        if (event.type === "ParkingReserved")
          booked.add((event.data as { reservationId: string }).reservationId);
        if (event.type === "CouponIssued")
          coupons.push((event.data as { reservationId: string }).reservationId);
      }
    } finally {
      await store.close();
    }
    expect(booked).toEqual(acked);
    // A booking makes its customer a coupon recipient (docs/domain.md): the coupon policy, which
    // waited with the other processors, issued exactly one per acknowledged booking, none for a
    // refused one.
    expect(coupons.length).toBe(booked.size);
    expect(new Set(coupons)).toEqual(acked);
    console.info(
      `full disk survived: ${acked.size} bookings acknowledged, all in the log; ${after} refused with 503 storage-unavailable`,
    );

    await services.killAll();
    for (const file of ["events.sqlite", "read-models.sqlite"]) {
      const db = new Database(join(dataDir, file), { readonly: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
    }
  }, 180_000);
});
