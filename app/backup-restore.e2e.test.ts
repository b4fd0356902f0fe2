import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { RecordedEvent } from "../event-store/port.js";
import { operatorHeaders } from "../test-support/auth.js";
import { PROJECT_ROOT } from "../test-support/process.js";
import { call, tempDataDir } from "../test-support/service.js";
import { projectionsAtHead, serviceProcesses } from "../test-support/spawned-services.js";
import { DATA_KEYS_FILE } from "./personal-data.js";

/*
 * `npm run backup` under load and `npm run restore`, over real processes: the service takes
 * writes while the backup CLI copies its stores; the backup is restored into a new DATA_DIR and a
 * service started there. Its log is the original's up to the backup's position, exactly, and every
 * view (lots, each lot's reservation pages, each customer's coupons, the control center) is what
 * the read models are at that position: the same views as a service that rebuilt them all from
 * that log alone. The backed-up read models start from their checkpoints and catch up.
 */

const run = promisify(execFile);
const services = serviceProcesses();
const dirs = [tempDataDir("parking-backup-a-"), tempDataDir("parking-backup-out-")];
afterEach(() => services.killAll());
afterAll(() => {
  for (const d of dirs) d.remove();
});

const LOTS = ["bk-1", "bk-2", "bk-3"];
const CUSTOMERS = Array.from({ length: 50 }, (_, i) => `CUST${i}`);

/** A CLI of this project as `npm run` runs it (tsx), with DATA_DIR; its exit code and output. */
async function cli(script: string, args: readonly string[], dataDir: string) {
  try {
    const { stderr } = await run(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "warn" },
    });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

/** One customer's reservation, then check-in and check-out or a cancel: the log a lot's day writes. */
async function lifecycle(url: string, n: number, acks: number[]): Promise<void> {
  const lot = LOTS[n % LOTS.length] as string;
  const customerId = CUSTOMERS[n % CUSTOMERS.length] as string;
  const booked = await call<{ reservationId: string; position: string }>(
    url,
    "POST",
    `/parking-lots/${lot}/reservations`,
    { customerId, carNumber: `${10 + (n % 80)}더${1000 + n}`, amount: 5000 },
  );
  // A customer at the most active reservations a lot allows: refused, nothing appended.
  if (booked.status === 409) return;
  if (booked.status !== 201)
    throw new Error(`booking answered ${booked.status}: ${JSON.stringify(booked.body)}`);
  acks.push(Number(booked.body.position));
  const base = `/parking-lots/${lot}/reservations/${booked.body.reservationId}`;
  if (n % 3 === 0) {
    await call(url, "DELETE", base);
    return;
  }
  await call(url, "POST", `${base}/check-in`, {});
  if (n % 3 === 1) await call(url, "POST", `${base}/check-out`, {});
}

/** Every event of a store's log, oldest first. */
async function logOf(file: string): Promise<RecordedEvent[]> {
  const store = SqliteEventStore.open({ file });
  try {
    const events: RecordedEvent[] = [];
    for await (const event of store.readAll()) events.push(event);
    return events;
  } finally {
    await store.close();
  }
}

/** All pages of a paged list. */
async function allPages(url: string, path: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: { status: number; body: { items: unknown[]; nextCursor: string | null } } = await call(
      url,
      "GET",
      `${path}${cursor ? `${sep}cursor=${cursor}` : ""}`,
    );
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return items;
}

/**
 * What a service shows, with what only says when it was computed left out: the instants of the
 * coupons the policy issues after the backup's position (each service issues them at its own
 * moment) and the read models' timings.
 */
const UNSTABLE = new Set(["issuedAt", "revokedAt", "updatedAt", "lastEventAt", "now", "generatedAt"]);
const stable = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (key, v) => (UNSTABLE.has(key) ? undefined : v));

async function views(url: string) {
  const control = await call<{ lots: unknown; projections: { name: string; position: string | null }[] }>(
    url,
    "GET",
    "/control-center",
  );
  const lots: Record<string, unknown> = {};
  for (const lot of LOTS) {
    lots[lot] = {
      lot: (await call(url, "GET", `/parking-lots/${lot}`)).body,
      reservations: await allPages(url, `/reservations?parkingLotId=${lot}&limit=50`),
    };
  }
  const coupons: Record<string, unknown> = {};
  for (const customer of CUSTOMERS) {
    coupons[customer] = await allPages(url, `/customers/${customer}/coupons?limit=50`);
  }
  return stable({
    parkingLots: (await call(url, "GET", "/parking-lots")).body,
    lots,
    coupons,
    controlCenter: { lots: control.body.lots, positions: control.body.projections.map((p) => p.position) },
  });
}

describe("backup under load and a verified restore", () => {
  it("refuses a DATA_DIR without stores, naming it, and says how to call it", async () => {
    const [, out] = dirs as unknown as [{ dir: string }, { dir: string }];
    const empty = join(out.dir, "no-stores");
    mkdirSync(empty);
    // Three runs that write nothing: at once.
    const [refused, usage, restoreUsage] = await Promise.all([
      cli("app/backup-cli.ts", ["--out", join(out.dir, "x.tar.gz")], empty),
      cli("app/backup-cli.ts", [], empty),
      cli("app/restore-cli.ts", [], empty),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`DATA_DIR ${empty} holds no stores`);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("Usage: npm run backup -- --out FILE");
    expect(restoreUsage.stderr).toContain("Usage: npm run restore -- FILE");
  }, 60_000);

  it("restores the log to the backup's position and every view as it was there, then catches up", async () => {
    const [a, out] = dirs as unknown as [{ dir: string }, { dir: string }];
    const original = await services.start({ DATA_DIR: a.dir });
    for (const id of LOTS) {
      expect(
        (await call(original.url, "POST", "/parking-lots", { parkingLotId: id, name: id, capacity: 400 }))
          .status,
      ).toBe(201);
    }
    // The load: four clients booking, checking in and out, canceling, until told to stop.
    const acks: number[] = [];
    let stop = false;
    let n = 0;
    const load = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (!stop) await lifecycle(original.url, n++, acks);
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const file = join(out.dir, "backup.tar.gz");
    const acksBefore = acks.length;
    const backup = await cli("app/backup-cli.ts", ["--out", file], a.dir);
    const acksDuring = acks.length - acksBefore;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    expect(backup.stderr).toMatch(/done in .* log head at position \d+/);
    expect(backup.code).toBe(0);
    expect(acksDuring).toBeGreaterThan(0);

    const manifest = JSON.parse((await run("tar", ["-xzOf", file, "manifest.json"])).stdout) as {
      headPosition: string;
      files: { path: string }[];
    };
    const head = Number(manifest.headPosition);
    expect(manifest.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(["read-models.sqlite", "events.sqlite", "auth/idempotency-secret"]),
    );
    // Acknowledged writes on both sides of the backup's position: it was taken under load.
    expect(acks.some((p) => p <= head)).toBe(true);
    expect(acks.some((p) => p > head)).toBe(true);

    // Refused: a non-empty DATA_DIR, a truncated file, a changed byte; nothing written for them.
    const refusedDir = join(out.dir, "refused");
    const notEmpty = await cli("app/restore-cli.ts", [file], a.dir);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toMatch(new RegExp(`DATA_DIR ${a.dir} is not empty`));
    const bytes = readFileSync(file);
    writeFileSync(join(out.dir, "truncated.tar.gz"), bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const changed = Buffer.from(bytes);
    const middle = Math.floor(changed.length / 2);
    changed[middle] = (changed[middle] ?? 0) ^ 0xff;
    writeFileSync(join(out.dir, "changed.tar.gz"), changed);
    for (const bad of ["truncated.tar.gz", "changed.tar.gz"]) {
      const refused = await cli("app/restore-cli.ts", [join(out.dir, bad)], refusedDir);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/not a whole backup|corrupt or truncated/);
      expect(readdirSync(out.dir)).not.toContain("refused");
    }

    // The restore, and its log: the original's, event for event, up to the backup's position.
    const restoredDir = join(out.dir, "restored");
    const restore = await cli("app/restore-cli.ts", [file], restoredDir);
    expect(restore.code, restore.stderr).toBe(0);
    const restoredLog = await logOf(join(restoredDir, "events.sqlite"));
    const originalLog = await logOf(join(a.dir, "events.sqlite"));
    expect(restoredLog.at(-1)?.position.commit).toBe(head);
    expect(restoredLog).toEqual(originalLog.filter((e) => e.position.commit <= head));
    // The witness: the same log alone, every read model rebuilt from it. With its data keys: the
    // log holds plates and customers sealed under them (issue 36), so without them they read `erased`.
    const rebuiltDir = join(out.dir, "rebuilt");
    mkdirSync(join(rebuiltDir, "keys"), { recursive: true, mode: 0o700 });
    copyFileSync(join(restoredDir, "events.sqlite"), join(rebuiltDir, "events.sqlite"));
    copyFileSync(join(restoredDir, DATA_KEYS_FILE), join(rebuiltDir, DATA_KEYS_FILE));
    await services.killAll();

    // The restored service and the witness start at once (two DATA_DIRs, nothing shared), each
    // given the time of two starts, as they share the cores.
    const [restored, rebuilt] = await Promise.all([
      services.start({ DATA_DIR: restoredDir }, { readyTimeoutMs: 60_000 }),
      services.start({ DATA_DIR: rebuiltDir }, { readyTimeoutMs: 60_000 }),
    ]);
    // The original's signing key came along: its tokens are accepted by the restored service.
    const withOriginalKey = await operatorHeaders(a.dir);
    expect((await call(restored.url, "GET", "/control-center", undefined, withOriginalKey)).status).toBe(200);
    const statuses = await projectionsAtHead(restored.url, 60_000);
    expect(statuses.every((s) => Number(s.position) >= head)).toBe(true);
    const restoredViews = await views(restored.url);
    await projectionsAtHead(rebuilt.url, 60_000);
    expect(restoredViews).toEqual(await views(rebuilt.url));
    // Every acknowledged reservation up to the position is there; none after it.
    const restoredReservations = (restoredViews as { lots: Record<string, { reservations: unknown[] }> })
      .lots;
    const count = Object.values(restoredReservations).reduce((sum, l) => sum + l.reservations.length, 0);
    expect(count).toBe(acks.filter((p) => p <= head).length);

    // And it takes writes after the restored head.
    const next = await call<{ position: string }>(restored.url, "POST", "/parking-lots/bk-1/reservations", {
      customerId: "CUST9",
      carNumber: "12가3456",
      amount: 5000,
    });
    expect(next.status).toBe(201);
    expect(Number(next.body.position)).toBeGreaterThan(head);
  }, 180_000);
});
