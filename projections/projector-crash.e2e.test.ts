import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { useDataKeysOf } from "../app/personal-data.js";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { operatorHeaders } from "../test-support/auth.js";
import {
  type Child,
  exitOf,
  killChildren,
  type ServiceChild,
  spawnReplayCli,
  startServiceChild,
  waitHealthy,
} from "../test-support/children.js";
import { foldHistory, readModels } from "../test-support/read-models.js";
import { auditCoupons, cleanAudit, readAllEvents, seedDataDir } from "../test-support/seed.js";
import { tempDataDir } from "../test-support/service.js";
import { COUPON_POLICY } from "./coupon-policy/coupon-policy.js";
import { PROJECTIONS } from "./read-models/index.js";
import { activeGenerations, readCheckpoint } from "./runtime/checkpoints.js";

/**
 * The acceptance test of "a stopped projector resumes from its checkpoint and its effects land
 * exactly once, even after kill -9 mid-batch": a real `ROLE=projector` process over a log of
 * 13,000 lot events (65 batches of 200: the kills land mid-log and mid-batch, as they did at
 * 36,000), SIGKILLed while projecting, restarted, run to the head; the read models
 * must equal an independent fold of the log and the coupon policy must have acted exactly once
 * per reservation and cancellation.
 */

const PLAN = { lots: 10, capacity: 1000, reservations: 6_000, cancellations: 1_000, stays: 3_000 } as const;
const NAMES = PROJECTIONS.map((p) => p.name);

interface Progress {
  /** Checkpoint commit of each read-model projection (active generation), 0 if none. */
  readonly projections: Record<string, number>;
  readonly couponPolicy: number;
  readonly head: number;
}

const lowest = (p: Progress) => Math.min(...Object.values(p.projections));
const highest = (p: Progress) => Math.max(...Object.values(p.projections));

/** The test process's own view of a DATA_DIR that child processes work on. */
class Observer {
  readonly docs: SqliteDocumentStore;
  readonly events: SqliteEventStore;

  constructor(dir: string) {
    this.docs = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
    useDataKeysOf({ dataDir: dir }); // the log's personal fields open with the DATA_DIR's keys
    this.events = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  }

  async progress(generation?: number): Promise<Progress> {
    const active = await activeGenerations(this.docs);
    const projections: Record<string, number> = {};
    for (const name of NAMES) {
      const checkpoint = await readCheckpoint(this.docs, name, generation ?? active.get(name) ?? 1);
      projections[name] = checkpoint?.position?.commit ?? 0;
    }
    const coupon = await readCheckpoint(this.docs, COUPON_POLICY, 1);
    const head = (await this.events.headPosition())?.commit ?? 0;
    return { projections, couponPolicy: coupon?.position?.commit ?? 0, head };
  }

  async close(): Promise<void> {
    await this.docs.close();
    await this.events.close();
  }
}

/** Polls `check` every few ms until it returns true; fails if `child` exits first or time runs out. */
async function watch(
  child: Child,
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.hasExited()) throw new Error(`process exited while waiting for ${what}:\n${child.output()}`);
    if (await check()) return;
    await sleep(5);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${child.output()}`);
}

/** Waits until every projection and the coupon policy are at the head, and the head has stopped moving. */
async function settle(observer: Observer, child: Child, timeoutMs: number): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  let last: Progress | undefined;
  const atHead = (p: Progress) =>
    p.head > 0 && p.couponPolicy === p.head && Object.values(p.projections).every((c) => c === p.head);
  while (Date.now() < deadline) {
    if (child.hasExited()) throw new Error(`service exited before settling:\n${child.output()}`);
    const p = await observer.progress();
    if (atHead(p)) {
      await sleep(750); // nothing may be left to do: the head must stay where it is
      const again = await observer.progress();
      if (atHead(again) && again.head === p.head) return again;
    }
    last = p;
    await sleep(100);
  }
  throw new Error(`not settled within ${timeoutMs} ms; last progress ${JSON.stringify(last)}`);
}

async function sigterm(service: ServiceChild): Promise<void> {
  service.signal("SIGTERM");
  expect(await exitOf(service, 30_000), service.output()).toBe(0);
}

async function sigkill(child: Child): Promise<void> {
  child.signal("SIGKILL");
  expect(await exitOf(child, 10_000)).toBe("SIGKILL");
  // The leader (npx) has exited; its descendants, killed with it, may take a moment longer to be
  // gone (a process dies once its I/O returns). Wait for the group to empty (or become zombies
  // only, which a lease counts as dead), at most 5 s.
  for (let i = 0; i < 100 && groupAlive(child.pid); i++) await sleep(50);
}

/** Whether any process of the group led by `pid` still runs (a zombie does not). */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch {
    return false;
  }
  try {
    // pgid and state of every process; a zombie's state starts with Z.
    return execFileSync("ps", ["-e", "-o", "pgid=,stat="], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .some(([pgid, state]) => Number(pgid) === pid && state !== undefined && !state.startsWith("Z"));
  } catch {
    return false;
  }
}

/** The read models equal the fold of the log, and the coupon policy acted exactly once per cause. */
async function expectConsistent(
  dir: string,
  reservations: number,
  coupons: { issued: number; revoked: number },
): Promise<void> {
  const docs = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  useDataKeysOf({ dataDir: dir }); // the log's personal fields open with the DATA_DIR's keys
  const events = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  try {
    const expected = await foldHistory(events);
    const actual = await readModels(docs);
    expect(Object.keys(actual.reservations)).toHaveLength(reservations);
    expect(actual.totals).toEqual(expected.totals);
    expect(actual.lots).toEqual(expected.lots);
    expect(actual.coupons).toEqual(expected.coupons);
    expect(actual.reservations).toEqual(expected.reservations);
    // One coupon per booking, one revoke per cancel (the seeded stays keep theirs: minStayMinutes 0).
    expect(auditCoupons(await readAllEvents(events))).toEqual(cleanAudit(coupons.issued, coupons.revoked));
  } finally {
    await docs.close();
    await events.close();
  }
}

const ENV = { ROLE: "projector", PROJECTION_BATCH_SIZE: "200", EMBEDDED_POLL_INTERVAL_MS: "20" };

describe("projector and coupon policy survive kill -9 (real ROLE=projector processes)", () => {
  const data = tempDataDir("parking-crash-");
  /** Set once the first test has brought its DATA_DIR to a fully projected, settled state. */
  let settled: { dir: string } | undefined;
  const extraDirs: { remove: () => void }[] = [];

  afterEach(async () => {
    await killChildren();
  });
  afterAll(async () => {
    await killChildren();
    data.remove();
    for (const d of extraDirs) d.remove();
  });

  it("SIGKILL mid-projection and mid-coupon-policy, restart: read models equal the fold of the log, one coupon action per cause", async () => {
    const seeded = await seedDataDir(data.dir, PLAN);
    expect(seeded.lotEvents).toBeGreaterThanOrEqual(13_000);
    const lotHead = seeded.lastPosition.commit;
    expect(lotHead).toBe(seeded.lotEvents); // positions are gapless: position n = n-th lot event

    const observer = new Observer(data.dir);
    try {
      // 1. Kill the projector while its read models are between 20% and 80% of the lot events.
      const first = await startServiceChild({ ...ENV, DATA_DIR: data.dir });
      await watch(
        first,
        async () => lowest(await observer.progress()) >= 0.35 * lotHead,
        "35% of the lot events projected",
        60_000,
      );
      await sigkill(first);
      const atKill = await observer.progress();
      expect(lowest(atKill)).toBeGreaterThanOrEqual(0.2 * lotHead);
      expect(highest(atKill)).toBeLessThanOrEqual(0.8 * lotHead);

      // 2. Restart; kill it again while the coupon policy is in the middle of a batch: past 30% of
      // the lot events, with coupons already appended for events its checkpoint does not cover yet.
      // A booking issues its coupon, a cancel revokes it; the seeded check-outs keep theirs.
      const causes = (await readAllEvents(observer.events))
        .filter((e) => e.type === "ParkingReserved" || e.type === "ReservationCanceled")
        .map((e) => e.position.commit);
      const causesUpTo = (position: number) => causes.filter((c) => c <= position).length;
      const uncheckpointedEffects = (p: Progress) => p.head - lotHead - causesUpTo(p.couponPolicy);
      const second = await startServiceChild({ ...ENV, DATA_DIR: data.dir });
      // In a batch: effects already appended past the checkpoint, so the restart meets coupons its
      // checkpoint does not cover. The process is frozen (SIGSTOP) while it is looked at, so the
      // state seen is the state it is killed in: no checkpoint can land between the look and the kill.
      const midBatch = (p: Progress) => p.couponPolicy >= 0.3 * lotHead && uncheckpointedEffects(p) >= 1;
      await watch(
        second,
        async () => {
          if (!midBatch(await observer.progress())) return false;
          second.signal("SIGSTOP");
          if (midBatch(await observer.progress())) return true;
          second.signal("SIGCONT");
          return false;
        },
        "the coupon policy past 30% of the lot events, mid-batch",
        90_000,
      );
      await sigkill(second);
      const atSecondKill = await observer.progress();
      expect(atSecondKill.couponPolicy).toBeLessThan(lotHead);
      // Coupons issued after its last checkpoint: the restart meets them again.
      expect(uncheckpointedEffects(atSecondKill)).toBeGreaterThan(0);

      // 3. Restart and let it finish: everything at a head that no longer moves, then a clean stop.
      const third = await waitHealthy(await startServiceChild({ ...ENV, DATA_DIR: data.dir }));
      const final = await settle(observer, third, 150_000);
      // One coupon action per cause: an issue per booking, a revoke per cancel, and (issue 71) an
      // earning per stay's check-in.
      expect(final.head).toBe(lotHead + PLAN.reservations + PLAN.cancellations + PLAN.stays);
      const metrics = await (
        await fetch(`${third.url}/metrics`, { headers: await operatorHeaders(data.dir) })
      ).text();
      expect(metrics).toMatch(/parking_projection_position\{projection="parking-lots"\} \d+/);
      await sigterm(third);
    } finally {
      await observer.close();
    }

    await expectConsistent(data.dir, PLAN.reservations, {
      issued: PLAN.reservations,
      revoked: PLAN.cancellations,
    });
    settled = { dir: data.dir };
  });

  it("SIGKILL `replay rebuild all` mid-rebuild, run it again: the new generation is active and equals the fold", async () => {
    let dir = settled?.dir;
    if (!dir) {
      // The first test did not leave a projected DATA_DIR: build one the same way, without crashes.
      const own = tempDataDir("parking-rebuild-");
      extraDirs.push(own);
      await seedDataDir(own.dir, { ...PLAN, reservations: 4_000, cancellations: 700, stays: 1_500 });
      const observer = new Observer(own.dir);
      try {
        const service = await waitHealthy(await startServiceChild({ ...ENV, DATA_DIR: own.dir }));
        await settle(observer, service, 150_000);
        await sigterm(service);
      } finally {
        await observer.close();
      }
      dir = own.dir;
    }

    const observer = new Observer(dir);
    try {
      const before = await activeGenerations(observer.docs);
      const from = NAMES.map((n) => before.get(n) ?? 1);
      const head = (await observer.progress()).head;
      const to = Math.max(...from) + 1;
      expect(from.every((g) => g === from[0])).toBe(true);

      // Kill the whole npx → tsx → node tree once every projection's next generation is past 30%.
      const killed = spawnReplayCli(["rebuild", "all", "--grace-ms", "200"], { DATA_DIR: dir });
      await watch(
        killed,
        async () => lowest(await observer.progress(to)) >= 0.3 * head,
        "the rebuild at 30%",
        60_000,
      );
      await sigkill(killed);
      const atKill = await observer.progress(to);
      expect(highest(atKill)).toBeLessThan(head); // it was mid-rebuild…
      expect(await activeGenerations(observer.docs)).toEqual(before); // …and had not swapped anything in
      expect(killed.output()).toMatch(/%\s+position [\d,]+ \/ [\d,]+/);

      const rerun = spawnReplayCli(["rebuild", "all", "--grace-ms", "200"], { DATA_DIR: dir });
      expect(await exitOf(rerun, 120_000), rerun.output()).toBe(0);
      expect(rerun.output()).toMatch(/done in .*parking-lots g\d+→g\d+/);

      const after = await activeGenerations(observer.docs);
      for (const name of NAMES) expect(after.get(name), name).toBe(to);
      const rebuilt = await observer.progress();
      for (const name of NAMES) expect(rebuilt.projections[name], name).toBe(head);
      // The old generation is gone after the grace period; only the new one remains.
      const collections = await observer.docs.listCollections();
      expect(collections.filter((c) => c.endsWith(`_g${from[0]}`))).toEqual([]);
      expect(collections).toEqual(expect.arrayContaining([`parking_lots_g${to}`, `reservations_g${to}`]));
    } finally {
      await observer.close();
    }

    useDataKeysOf({ dataDir: dir }); // the log's personal fields open with the DATA_DIR's keys

    const events = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
    const log = await readAllEvents(events);
    await events.close();
    const reservations = log.filter((e) => e.type === "ParkingReserved").length;
    const canceled = log.filter((e) => e.type === "ReservationCanceled").length;
    await expectConsistent(dir, reservations, { issued: reservations, revoked: canceled });
  });
});
