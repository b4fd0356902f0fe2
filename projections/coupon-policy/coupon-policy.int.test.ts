import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { EventStoreError } from "../../event-store/errors.js";
import type { EventStore } from "../../event-store/port.js";
import { createLogger } from "../../platform/logger.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { auditCoupons, cleanAudit, readAllEvents } from "../../test-support/seed.js";
import { eventually, tempDataDir } from "../../test-support/service.js";
import { couponIdFor } from "../../write-side/coupon/coupon.js";
import { readCheckpoint } from "../runtime/checkpoints.js";
import type { ReactorContext } from "../runtime/processor.js";
import { ProcessorRuntime } from "../runtime/processor-runtime.js";
import { COUPON_SPENDS, couponPolicy } from "./coupon-policy.js";

/**
 * The coupon policy (issue 47, the seed's flow): a booking issues its coupon at once; a
 * cancellation, a no-show or a stay shorter than the lot's rule (`couponEarned: false`) revokes
 * it, never one that was not issued; handling the same events again changes nothing; a log with
 * check-outs recorded under the earned-at-check-out rule (issues 34–46) still ends with one issue
 * per reservation.
 */

const LOT = "lot-1";
const at = "2026-01-01T09:00:00.000Z";
const who = (reservationId: string) => ({ reservationId, parkingLotId: LOT, customerId: "C1" });
const reserved = (id: string): DomainEvent => ({
  type: "ParkingReserved",
  data: { ...who(id), carNumber: "12가3456", amount: 1, reservedAt: at },
});
const checkedOut = (id: string, couponEarned?: boolean): DomainEvent => ({
  type: "ReservationCheckedOut",
  data: { ...who(id), checkedOutAt: at, ...(couponEarned !== undefined ? { couponEarned } : {}) },
});
const canceled = (id: string): DomainEvent => ({
  type: "ReservationCanceled",
  data: { ...who(id), reason: "plans changed", canceledAt: at },
});
const noShow = (id: string): DomainEvent => ({
  type: "ReservationNoShow",
  data: { ...who(id), startsAt: at, endsAt: at, recordedAt: at },
});
/** A coupon event as an earlier version of the policy recorded it (the same deterministic id). */
const issued = (id: string): DomainEvent => ({
  type: "CouponIssued",
  data: { ...who(id), couponId: couponIdFor(id), issuedAt: at },
});
const revoked = (id: string): DomainEvent => ({
  type: "CouponRevoked",
  data: { ...who(id), couponId: couponIdFor(id), revokedAt: at },
});

describe("coupon policy: a coupon comes with a booking, and goes with a cancel, a no-show or a short stay", () => {
  let data: { dir: string; remove: () => void };
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  let context: ReactorContext;

  beforeEach(() => {
    data = tempDataDir("parking-coupon-policy-");
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    context = {
      eventStore: events,
      documentStore: docs,
      logger: createLogger("silent"),
      now: () => Date.now(),
    };
  });
  afterEach(async () => {
    await docs.close();
    await events.close();
    data.remove();
  });

  const append = async (stream: string, list: DomainEvent[]) => {
    for (const event of list)
      await events.appendToStream(
        stream,
        [encodeEvent(event, { correlationId: "c", causationId: "c", actor: systemActor("t") })],
        {
          expectedRevision: "any",
        },
      );
  };
  /** Feeds the lot stream's events of the policy's types to it, as the runtime would. */
  const react = async () => {
    const stored = (await readAllEvents(events))
      .filter((e) => e.streamId === `parkingLot-${LOT}` && couponPolicy.eventTypes.has(e.type as never))
      .map((e) => decodeEvent(e));
    // As the runtime does: what the policy returns is written with its checkpoint.
    const ops = await couponPolicy.react(stored, context);
    if (ops && ops.length > 0) await docs.write(ops);
  };

  const issuedFor = (all: { type: string; streamId: string }[]) =>
    all.filter((e) => e.type === "CouponIssued").map((e) => e.streamId);
  const revokedFor = (all: { type: string; streamId: string }[]) =>
    all.filter((e) => e.type === "CouponRevoked").map((e) => e.streamId);

  it("issues at booking, revokes for a cancel, a no-show or a short stay, exactly once when run again", async () => {
    await append(`parkingLot-${LOT}`, [
      reserved("booked-only"),
      reserved("short"),
      checkedOut("short", false), // left at once: gains nothing
      reserved("stayed"),
      checkedOut("stayed", true),
      reserved("before-issue-34"),
      checkedOut("before-issue-34"), // an older check-out (no couponEarned): the coupon stays
      reserved("canceled"),
      canceled("canceled"),
      reserved("missed"),
      noShow("missed"),
    ]);

    await react();
    await react(); // after a crash the runtime hands the same events again
    const all = await readAllEvents(events);
    expect(auditCoupons(all)).toEqual(cleanAudit(6, 3));
    expect(issuedFor(all)).toEqual([
      "coupon-booked-only",
      "coupon-short",
      "coupon-stayed",
      "coupon-before-issue-34",
      "coupon-canceled",
      "coupon-missed",
    ]);
    expect(revokedFor(all)).toEqual(["coupon-short", "coupon-canceled", "coupon-missed"]);
  });

  it("issues no coupon for a drive-up (issue 69: no person booked it), pending coupons for bookings, earned by their stay (issue 71)", async () => {
    const driveUp: DomainEvent = {
      type: "ParkingReserved",
      data: {
        ...who("gate-1"),
        customerId: `drive-up:${LOT}`,
        carNumber: "12가3456",
        amount: 0,
        reservedAt: at,
      },
    };
    const later = "2026-01-01T09:15:00.000Z";
    const checkedIn: DomainEvent = {
      type: "ReservationCheckedIn",
      data: { ...who("stay"), checkedInAt: at, couponSpendableFrom: later },
    };
    await append(`parkingLot-${LOT}`, [
      driveUp,
      reserved("stay"),
      checkedIn,
      reserved("left"),
      checkedOut("left", true),
    ]);
    await react();
    await react();
    const all = await readAllEvents(events);
    expect(issuedFor(all)).toEqual(["coupon-stay", "coupon-left"]);
    const coupon = (stream: string) =>
      all.filter((e) => e.streamId === stream).map((e) => ({ type: e.type, ...(e.data as object) }));
    expect(coupon("coupon-stay")).toMatchObject([
      { type: "CouponIssued", untilEarned: true },
      { type: "CouponEarned", by: "check-in", spendableFrom: later },
    ]);
    expect(coupon("coupon-left")).toMatchObject([
      { type: "CouponIssued", untilEarned: true },
      { type: "CouponEarned", by: "check-out", spendableFrom: at },
    ]);
  });

  it("replays a mixed old log to one issue per reservation (coupons issued at check-out by issues 34–46)", async () => {
    // Recorded under the earned-at-check-out rule: the booking issued nothing, the earning
    // check-out issued the coupon (the same deterministic id), a cancel revoked nothing.
    await append(`parkingLot-${LOT}`, [reserved("old-stay"), checkedOut("old-stay", true)]);
    await append("coupon-old-stay", [issued("old-stay")]);
    await append(`parkingLot-${LOT}`, [reserved("old-canceled"), canceled("old-canceled")]);
    // Before issue 34: issued at booking, revoked at cancel.
    await append(`parkingLot-${LOT}`, [reserved("oldest")]);
    await append("coupon-oldest", [issued("oldest")]);
    await append(`parkingLot-${LOT}`, [canceled("oldest")]);
    await append("coupon-oldest", [revoked("oldest")]);
    // And new bookings since.
    await append(`parkingLot-${LOT}`, [reserved("new"), checkedOut("new", true)]);

    await react(); // a policy that replays the whole log from the start
    await react();
    const all = await readAllEvents(events);
    const audit = auditCoupons(all);
    expect(audit.duplicateIssues).toEqual([]);
    expect(audit.duplicateRevokes).toEqual([]);
    expect(audit.revokesWithoutIssue).toEqual([]);
    expect(audit.missingIssues).toEqual([]);
    expect(audit.missingRevokes).toEqual([]);
    // Every reservation holds exactly one issue; the old cancel's coupon, issued now, is revoked.
    expect([...issuedFor(all)].sort()).toEqual(
      ["coupon-new", "coupon-old-canceled", "coupon-old-stay", "coupon-oldest"].sort(),
    );
    expect([...revokedFor(all)].sort()).toEqual(["coupon-old-canceled", "coupon-oldest"]);
  });

  it("a coupon spent on a booking comes back if that booking is canceled before it starts, once; a spent coupon is still revoked", async () => {
    const spentOn = (id: string, owner: string, startsAt?: string): DomainEvent => ({
      type: "ParkingReserved",
      data: {
        ...who(id),
        carNumber: "12가3456",
        amount: 900,
        reservedAt: at,
        ...(startsAt ? { startsAt, endsAt: "2026-01-01T12:00:00.000Z" } : {}),
        coupon: { couponId: couponIdFor(owner), reservationId: owner, discount: 100 },
      },
    });
    const redeemed = (owner: string, booking: string): DomainEvent => ({
      type: "CouponRedeemed",
      data: {
        ...who(owner),
        couponId: couponIdFor(owner),
        redeemedFor: booking,
        redeemedForLot: LOT,
        redeemedAt: at,
      },
    });
    const canceledAt = (id: string, when: string, startsAt?: string): DomainEvent => ({
      type: "ReservationCanceled",
      data: {
        ...who(id),
        reason: "plans changed",
        canceledAt: when,
        ...(startsAt ? { startsAt, endsAt: "2026-01-01T12:00:00.000Z" } : {}),
      },
    });
    const start = "2026-01-01T10:00:00.000Z";
    // A's coupon spent on B (a window), B canceled before its start: back to ISSUED.
    // C's coupon spent on D, D canceled after its start: stays spent. E's coupon spent on F (open
    // ended), F checked in, then canceled by an operator: stays spent; then E is canceled: revoked.
    await append(`parkingLot-${LOT}`, [reserved("A"), reserved("C"), reserved("E")]);
    await react();
    await append("coupon-A", [redeemed("A", "B")]);
    await append("coupon-C", [redeemed("C", "D")]);
    await append("coupon-E", [redeemed("E", "F")]);
    await append(`parkingLot-${LOT}`, [
      spentOn("B", "A", start),
      spentOn("D", "C", start),
      spentOn("F", "E"),
      canceledAt("B", "2026-01-01T09:30:00.000Z", start),
      canceledAt("D", "2026-01-01T10:30:00.000Z", start),
      { type: "ReservationCheckedIn", data: { ...who("F"), checkedInAt: at } },
      canceledAt("F", "2026-01-01T10:30:00.000Z"),
      canceled("E"),
    ]);
    await react();
    await react(); // handled again after a crash: nothing more
    const all = await readAllEvents(events);
    const typesOf = (stream: string) => all.filter((e) => e.streamId === stream).map((e) => e.type);
    expect(typesOf("coupon-A")).toEqual(["CouponIssued", "CouponRedeemed", "CouponReturned"]);
    expect(typesOf("coupon-C")).toEqual(["CouponIssued", "CouponRedeemed"]);
    expect(typesOf("coupon-E")).toEqual(["CouponIssued", "CouponRedeemed", "CouponRevoked"]);
    const returned = all.find((e) => e.type === "CouponReturned");
    expect(returned?.data).toMatchObject({
      reservationId: "A",
      redeemedFor: "B",
      reason: "booking-canceled",
    });
    expect(returned?.metadata).toMatchObject({ actor: { sub: "coupon-policy", role: "system" } });
    // Nothing is left to follow: every spending booking started or ended.
    expect(await docs.find(COUPON_SPENDS, {})).toEqual([]);
  });

  it("on the runtime, a store that fails to take a coupon's fact is tried again after a backoff; the policy does not stop", async () => {
    await append(`parkingLot-${LOT}`, [reserved("A"), reserved("B")]);
    // The store refuses A's coupon twice with an error that is no outage (the runtime's attempt of
    // the batch, then of A's event alone).
    let refusals = 0;
    const failing: EventStore = {
      appendToStream: (stream, list, options) => {
        if (stream === "coupon-A" && refusals < 2) {
          refusals++;
          return Promise.reject(new EventStoreError("EventStoreDB error: the leader is busy"));
        }
        return events.appendToStream(stream, list, options);
      },
      readStream: (stream, options) => events.readStream(stream, options),
      readAll: (options) => events.readAll(options),
      subscribeToAll: (options) => events.subscribeToAll(options),
      followAll: (options) => events.followAll(options),
      headPosition: () => events.headPosition(),
      close: () => events.close(),
    };
    const runtime = new ProcessorRuntime({
      processors: [couponPolicy],
      eventStore: failing,
      documentStore: docs,
      logger: createLogger("silent"),
      batchSize: 100,
      generation: "active",
    });
    await runtime.start();
    try {
      await eventually(async () => {
        const streams = issuedFor(await readAllEvents(events));
        return streams.length === 2 ? streams : undefined;
      });
      await eventually(async () => (runtime.status().every((s) => s.caughtUp) ? true : undefined));
      expect(refusals).toBe(2);
      expect(runtime.status()[0]).toMatchObject({ state: "running" });
      expect((await readCheckpoint(docs, couponPolicy.name, 1))?.state).toBe("running");
      expect(auditCoupons(await readAllEvents(events))).toEqual(cleanAudit(2, 0));
    } finally {
      await runtime.stop();
    }
  });
});
