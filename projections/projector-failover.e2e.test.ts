import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { useDataKeysOf } from "../app/personal-data.js";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import {
  type Child,
  exitOf,
  killChildren,
  type ServiceChild,
  startServiceChild,
  waitHealthy,
} from "../test-support/children.js";
import { foldHistory, readModels } from "../test-support/read-models.js";
import { auditCoupons, cleanAudit, readAllEvents, seedDataDir } from "../test-support/seed.js";
import { tempDataDir } from "../test-support/service.js";
import { PROCESSOR_NAMES } from "./processors.js";
import { readCheckpoint } from "./runtime/checkpoints.js";
import { LEASES, type LeaseDocument } from "./runtime/leases.js";

/**
 * The acceptance test of projector failover: two real `ROLE=projector` processes on one DATA_DIR.
 * The first holds every processor's lease and works, the second stands by (and is ready). The
 * holder is SIGKILLed mid-catch-up; the standby must take every lease over within the documented
 * bound (PROCESSOR_LEASE_TTL_MS + PROCESSOR_LEASE_RENEW_MS after the holder's death, plus
 * scheduling slack on a loaded machine) and finish the log, after which the read models equal an
 * independent fold of the log and every booking has exactly one coupon, revoked once for each
 * cancel.
 */

const PLAN = { lots: 10, capacity: 1000, reservations: 8_000, cancellations: 1_500, stays: 3_000 } as const;
/** Short, so the takeover is quick to see; 2.5 s of slack for a holder stalled by a busy machine. */
const TTL_MS = 3000;
const RENEW_MS = 500;
/** Timers and SQLite locks on a machine shared with other test processes. */
const SCHEDULING_SLACK_MS = 2000;
const ENV = {
  ROLE: "projector",
  PROJECTION_BATCH_SIZE: "100",
  EMBEDDED_POLL_INTERVAL_MS: "20",
  PROCESSOR_LEASE_TTL_MS: String(TTL_MS),
  PROCESSOR_LEASE_RENEW_MS: String(RENEW_MS),
};
const NAMES = PROCESSOR_NAMES;

const ownedBy = (lease: LeaseDocument | undefined, child: Child) =>
  lease?.owner?.split("/")[1] === String(child.pid);

class Observer {
  readonly docs: SqliteDocumentStore;
  readonly events: SqliteEventStore;
  constructor(dir: string) {
    this.docs = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
    useDataKeysOf({ dataDir: dir }); // the log's personal fields open with the DATA_DIR's keys
    this.events = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  }
  async leases(): Promise<Map<string, LeaseDocument>> {
    return new Map((await this.docs.find<LeaseDocument>(LEASES, {})).map((l) => [l._id, l]));
  }
  /** Each processor's checkpoint (generation 1: nothing is rebuilt here) and the head. */
  async progress(): Promise<{ positions: number[]; head: number }> {
    const positions = [];
    for (const name of NAMES)
      positions.push((await readCheckpoint(this.docs, name, 1))?.position?.commit ?? 0);
    return { positions, head: (await this.events.headPosition())?.commit ?? 0 };
  }
  async close(): Promise<void> {
    await this.docs.close();
    await this.events.close();
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number, alive: Child[]) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const c of alive)
      if (c.hasExited()) throw new Error(`process exited waiting for ${what}:\n${c.output()}`);
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe("projector failover (two real ROLE=projector processes)", () => {
  const data = tempDataDir("parking-failover-");
  afterEach(async () => {
    await killChildren();
  });
  afterAll(() => data.remove());

  it("SIGKILL the lease holder mid-catch-up: the standby takes over in time, read models equal the fold, one coupon per booking", async () => {
    const seeded = await seedDataDir(data.dir, PLAN);
    const lotHead = seeded.lastPosition.commit;
    const observer = new Observer(data.dir);
    try {
      const first = await startServiceChild({ ...ENV, DATA_DIR: data.dir });
      await until(
        async () => {
          const leases = await observer.leases();
          return NAMES.every((n) => ownedBy(leases.get(n), first));
        },
        "the first process to hold every lease",
        30_000,
        [first],
      );
      const second: ServiceChild = await waitHealthy(await startServiceChild({ ...ENV, DATA_DIR: data.dir }));
      // A standby is ready (it can take over at any moment), lists every processor, and says why it
      // does no work. With a 3 s lease on a busy machine, the holder may miss a renewal and the
      // standby legitimately take a lease before this is read (seen: the coupon policy's): so each
      // processor says standby or is held by the standby, and at least one says standby.
      await until(
        async () => {
          const ready = await fetch(`${second.url}/readyz`);
          const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
          expect(ready.status, JSON.stringify(body)).toBe(200);
          const leases = await observer.leases();
          const checks = NAMES.map((name) => {
            const check = Object.entries(body.checks).find(([key]) => key.endsWith(`:${name}`))?.[1];
            expect(check, `${name} in ${JSON.stringify(body)}`).toBeDefined();
            return { name, standby: /standby/.test(check?.detail ?? "") };
          });
          for (const { name, standby } of checks) {
            if (!standby) expect(ownedBy(leases.get(name), second), `${name} held by the standby`).toBe(true);
          }
          return checks.some((c) => c.standby);
        },
        "the second process to stand by",
        10_000,
        [first, second],
      );

      // Kill the holder mid-catch-up: the slowest processor past 20% of the lot events and below
      // 80% of the log (read models and reactors follow the log on runtimes of their own, so the
      // read models may be further on, or done).
      await until(
        async () => Math.min(...(await observer.progress()).positions) >= 0.2 * lotHead,
        "20% of the lot events processed",
        120_000,
        [first, second],
      );
      first.signal("SIGKILL");
      const killedAt = Date.now();
      expect(await exitOf(first, 10_000)).toBe("SIGKILL");
      const atKill = await observer.progress();
      expect(Math.min(...atKill.positions)).toBeLessThan(0.8 * atKill.head);
      const leasesAtKill = await observer.leases();
      // The leases the holder had when it died. On a busy machine it may have missed a renewal
      // before, and the standby taken that lease over already (as it should: the epoch fences the
      // late holder off); each lease is held by one of the two. Seen once under a full `npm test`:
      // the holder stalled past its lease before the kill and the standby held every lease then
      // (a takeover by expiry); what follows still holds, the timing check over no lease.
      const held = NAMES.filter((n) => ownedBy(leasesAtKill.get(n), first));
      for (const n of NAMES)
        if (!held.includes(n))
          expect(ownedBy(leasesAtKill.get(n), second), `${n} held at the kill`).toBe(true);

      // The standby takes every lease over within the documented bound of the holder's death.
      await until(
        async () => {
          const leases = await observer.leases();
          return NAMES.every((n) => ownedBy(leases.get(n), second));
        },
        "the standby to hold every lease",
        TTL_MS + RENEW_MS + 30_000,
        [second],
      );
      const taken = await observer.leases();
      const takeoverMs = Math.max(
        0,
        ...held.map((n) => Date.parse(taken.get(n)?.acquiredAt ?? "") - killedAt),
      );
      expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + RENEW_MS + SCHEDULING_SLACK_MS);
      for (const n of NAMES)
        expect(taken.get(n)?.epoch, n).toBe((leasesAtKill.get(n)?.epoch ?? 0) + (held.includes(n) ? 1 : 0));

      // It finishes the log: every processor at a head that no longer moves.
      // One coupon per booking, one revoke per cancel, and (issue 71) one earning per seeded stay's
      // check-in (the stays keep theirs).
      const expectedHead = lotHead + PLAN.reservations + PLAN.cancellations + PLAN.stays;
      await until(
        async () => {
          const p = await observer.progress();
          return p.head === expectedHead && p.positions.every((c) => c === p.head);
        },
        "every processor at the head",
        150_000,
        [second],
      );
      second.signal("SIGTERM");
      expect(await exitOf(second, 30_000), second.output()).toBe(0);
      const released = await observer.leases();
      for (const n of NAMES) expect(released.get(n)?.owner, n).toBeNull();
    } finally {
      await observer.close();
    }

    const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    useDataKeysOf({ dataDir: data.dir }); // the log's personal fields open with the DATA_DIR's keys
    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    try {
      const expected = await foldHistory(events);
      const actual = await readModels(docs);
      expect(Object.keys(actual.reservations)).toHaveLength(PLAN.reservations);
      expect(actual.totals).toEqual(expected.totals);
      expect(actual.lots).toEqual(expected.lots);
      expect(actual.coupons).toEqual(expected.coupons);
      expect(actual.reservations).toEqual(expected.reservations);
      expect(auditCoupons(await readAllEvents(events))).toEqual(
        cleanAudit(PLAN.reservations, PLAN.cancellations),
      );
    } finally {
      await docs.close();
      await events.close();
    }
  });
});
