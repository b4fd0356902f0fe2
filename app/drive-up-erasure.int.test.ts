import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { extract } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../platform/logger.js";
import { retention } from "../projections/retention/retention.js";
import type { ReactorContext } from "../projections/runtime/processor.js";
import { bearer, mintToken } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Issue 66, item 5: a drive-up's personal data (its plate) is sealed under a subject of its own,
 * one per stay, so it is erased alone (by an admin, through the erasure API, or by RETENTION_DAYS
 * once that stay ended, however busy its lot), an erased stay never blocks later drive-ups, and
 * exits still find their stays after a restart. Before, every drive-up of a lot shared the
 * customer `drive-up:{lot}` and its key. In-process services on a clock the test moves.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let now = Date.parse("2026-11-28T09:00:00.000Z");
const clock = () => new Date(now);
let admin: Record<string, string>;

interface Stay {
  readonly reservationId: string;
  readonly customerId: string;
  readonly carNumber: string;
  readonly status: string;
}

async function gateRead(
  base: string,
  lot: string,
  eventId: string,
  direction: "entry" | "exit",
  plate: string,
) {
  const read = { eventId, gateId: "north", direction, plate, confidence: 0.99, at: clock().toISOString() };
  const answer = await call(base, "POST", `/parking-lots/${lot}/gate-events`, read, admin);
  expect(answer.status).toBe(200);
  return answer.body as { decision: string; reason: string; reservationId?: string };
}

async function driveUp(base: string, lot: string, eventId: string, plate: string): Promise<string> {
  const answer = await gateRead(base, lot, eventId, "entry", plate);
  expect(answer).toMatchObject({ decision: "open", reason: "DriveUp" });
  return answer.reservationId as string;
}

const stay = async (base: string, reservationId: string) =>
  (await call<Stay>(base, "GET", `/reservations/${reservationId}`, undefined, admin)).body;

/** The stay once the reservations read model shows its plate as `expected`. */
const plateReads = (base: string, reservationId: string, expected: string) =>
  eventually(
    async () => ((await stay(base, reservationId)).carNumber === expected ? true : undefined),
    10_000,
    `${reservationId}'s plate reading ${expected}`,
  );

async function erase(base: string, customerId: string) {
  const path = `/customers/${encodeURIComponent(customerId)}/erasure`;
  const answer = await call(base, "POST", path, { reason: "the driver asked" }, admin);
  expect(answer.status).toBe(200);
  return answer.body;
}

async function lot(base: string, parkingLotId: string) {
  const made = await call(
    base,
    "POST",
    "/parking-lots",
    { parkingLotId, name: parkingLotId, capacity: 10, hourlyRate: 1200 },
    admin,
  );
  expect(made.status).toBe(201);
}

describe("drive-ups on today's data", () => {
  const data = tempDataDir("drive-up-erasure-");
  let service: RunningService;
  const base = () => service.url;

  beforeAll(async () => {
    service = await startTestService(data.dir, {}, { clock });
    admin = bearer(await mintToken(data.dir, { sub: "ops-admin", role: "admin" }));
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  it("erasing one drive-up's data leaves every other drive-up of its lot readable", async () => {
    await lot(base(), "du-erase-1");
    const first = await driveUp(base(), "du-erase-1", "in-a", "11가1111");
    const second = await driveUp(base(), "du-erase-1", "in-b", "22나2222");
    // The first one's driver asks for their data to be erased: an admin erases its stay's subject.
    const firstStay = await stay(base(), first);
    const erased = await erase(base(), firstStay.customerId);
    await plateReads(base(), first, "erased");
    expect(await stay(base(), second)).toMatchObject({ carNumber: "22나2222", status: "CHECKED_IN" });
    expect(erased).toMatchObject({ erasedReservations: 1 });
    // Each stay is its own subject, named by its reservation id.
    expect(firstStay.customerId).toBe(`drive-up:${first}`);
    // The erased stay's plate is gone for good: its car's exit is an attendant's to settle.
    expect(await gateRead(base(), "du-erase-1", "out-a", "exit", "11가1111")).toMatchObject({
      decision: "review",
      reason: "NoStay",
    });
  });

  it("a drive-up after an erasure is stored readable, and after a restart its exit checks it out", async () => {
    await lot(base(), "du-erase-2");
    const before = await driveUp(base(), "du-erase-2", "in-g", "88아8888");
    await erase(base(), (await stay(base(), before)).customerId);
    await plateReads(base(), before, "erased");
    now += 10 * 60_000;
    const after = await driveUp(base(), "du-erase-2", "in-h", "99자9999");
    await plateReads(base(), after, "99자9999");

    // A restart folds the lot from the log (no cached state): the later stay's plate is read there.
    await service.shutdown("restart");
    service = await startTestService(data.dir, {}, { clock });
    now += HOUR;
    expect(await gateRead(base(), "du-erase-2", "out-h", "exit", "99자9999")).toMatchObject({
      decision: "open",
      reason: "CheckedOut",
      reservationId: after,
    });
  });

  it("RETENTION_DAYS expires a drive-up's plate with its stay, on a lot whose other drive-ups keep it busy, more than a batch in one run", async () => {
    await lot(base(), "du-busy-1");
    const gone: string[] = [];
    for (const [i, plate] of ["44라4444", "45라4545", "46라4646"].entries()) {
      gone.push(await driveUp(base(), "du-busy-1", `in-d${i}`, plate));
      now += HOUR;
      expect(await gateRead(base(), "du-busy-1", `out-d${i}`, "exit", plate)).toMatchObject({
        decision: "open",
        reason: "CheckedOut",
      });
    }
    const staying = await driveUp(base(), "du-busy-1", "in-e", "55마5555");
    now += 31 * DAY;
    // The lot never goes quiet: a car in it at every moment since.
    const latest = await driveUp(base(), "du-busy-1", "in-f", "66바6666");
    await plateReads(base(), latest, "66바6666");

    const services = service.services;
    if (!services.eventStore || !services.documentStore) throw new Error("the service has no stores");
    const context: ReactorContext = {
      eventStore: services.eventStore,
      documentStore: services.documentStore,
      logger: createLogger("silent"),
      now: () => now,
    };
    // Batches of 2: one run erases every stay that is due, in as many rounds as it takes.
    await retention({ days: 30, batch: 2 }).tick?.run(context);
    for (const reservationId of gone) await plateReads(base(), reservationId, "erased");
    expect(await stay(base(), staying)).toMatchObject({ carNumber: "55마5555", status: "CHECKED_IN" });
    expect(await stay(base(), latest)).toMatchObject({ carNumber: "66바6666" });
  });
});

interface OldDriveUps {
  readonly lot: string;
  readonly customerId: string;
  readonly writtenAt: string;
  readonly inLot: { readonly reservationId: string; readonly plate: string };
  readonly left: { readonly reservationId: string; readonly plate: string };
}

describe("drive-ups written by the version that booked them all for drive-up:{lot} (ee865fc)", () => {
  const fixture = join(import.meta.dirname, "../test-support/fixtures/old-drive-ups");
  const old = JSON.parse(readFileSync(join(fixture, "manifest.json"), "utf8")) as OldDriveUps;
  const work = tempDataDir("drive-up-upgrade-");
  const dataDir = join(work.dir, "data");
  let service: RunningService;
  const base = () => service.url;

  beforeAll(async () => {
    mkdirSync(dataDir);
    await extract({ file: join(fixture, "data-dir.tar.gz"), cwd: dataDir });
    now = Date.parse(old.writtenAt) + HOUR;
    service = await startTestService(dataDir, {}, { clock });
    admin = bearer(await mintToken(dataDir, { sub: "ops-admin", role: "admin" }));
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    work.remove();
  });

  it("keeps the old stays readable and their car's exit working until the old subject is erased; new ones get their own", async () => {
    expect(old.customerId).toBe(`drive-up:${old.lot}`);
    expect(await stay(base(), old.inLot.reservationId)).toMatchObject({
      customerId: old.customerId,
      carNumber: old.inLot.plate,
      status: "CHECKED_IN",
    });
    expect(await stay(base(), old.left.reservationId)).toMatchObject({ carNumber: old.left.plate });
    const fresh = await driveUp(base(), old.lot, "in-new", "77사7777");
    expect(await stay(base(), fresh)).toMatchObject({
      customerId: `drive-up:${fresh}`,
      carNumber: "77사7777",
    });
    now += HOUR;
    expect(await gateRead(base(), old.lot, "out-old", "exit", old.inLot.plate)).toMatchObject({
      decision: "open",
      reason: "CheckedOut",
      reservationId: old.inLot.reservationId,
    });

    // Erasing the old shared subject erases the old stays, and nothing sealed since.
    expect(await erase(base(), old.customerId)).toMatchObject({ erasedReservations: 2 });
    await plateReads(base(), old.inLot.reservationId, "erased");
    await plateReads(base(), old.left.reservationId, "erased");
    expect(await stay(base(), fresh)).toMatchObject({ carNumber: "77사7777" });
    expect(await gateRead(base(), old.lot, "out-new", "exit", "77사7777")).toMatchObject({
      decision: "open",
      reason: "CheckedOut",
      reservationId: fresh,
    });
  });
});
