import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { auditCoupons, cleanAudit, readAllEvents } from "../../test-support/seed.js";
import { tempDataDir } from "../../test-support/service.js";
import type { ReactorContext } from "../runtime/processor.js";
import { couponPolicy } from "./coupon-policy.js";

/**
 * The coupon policy (issue 34): a coupon is issued for a check-out whose stay earned it (the
 * decider's `couponEarned`), never for a booking alone; a cancellation or a no-show revokes a
 * coupon issued before (older reservations got theirs at booking), never one that was not issued;
 * handling the same events again changes nothing.
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
const legacyIssue = (id: string): DomainEvent => ({
  type: "CouponIssued",
  data: { ...who(id), couponId: `legacy-${id}`, issuedAt: at },
});

describe("coupon policy: a coupon is earned by a stay", () => {
  let data: { dir: string; remove: () => void };
  let events: SqliteEventStore;
  let context: ReactorContext;

  beforeEach(() => {
    data = tempDataDir("parking-coupon-policy-");
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    context = {
      eventStore: events,
      documentStore: undefined as never, // the policy reads no document
      logger: createLogger("silent"),
      now: () => Date.now(),
    };
  });
  afterEach(async () => {
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
    await couponPolicy.react(stored, context);
  };

  it("issues for an earned stay only, revokes only what was issued, and exactly once when run again", async () => {
    await append(`parkingLot-${LOT}`, [
      reserved("booked-only"),
      reserved("short"),
      checkedOut("short", false),
      reserved("stayed"),
      checkedOut("stayed", true),
      reserved("before-issue-34"),
      checkedOut("before-issue-34"), // an older check-out: its coupon came at booking, none now
      reserved("canceled-fresh"),
      canceled("canceled-fresh"), // never earned one: nothing to revoke
    ]);
    // A reservation booked before issue 34 holds the coupon it got at booking; its cancellation revokes it.
    await append(`parkingLot-${LOT}`, [reserved("legacy")]);
    await append("coupon-legacy", [legacyIssue("legacy")]);
    await append(`parkingLot-${LOT}`, [canceled("legacy")]);

    await react();
    await react(); // after a crash the runtime hands the same events again
    const all = await readAllEvents(events);
    expect(auditCoupons(all)).toMatchObject({ ...cleanAudit(2, 1), strays: ["legacy"] });
    const issuedFor = all.filter((e) => e.type === "CouponIssued").map((e) => e.streamId);
    expect(issuedFor).toEqual(["coupon-legacy", "coupon-stayed"]);
    const revokedFor = all.filter((e) => e.type === "CouponRevoked").map((e) => e.streamId);
    expect(revokedFor).toEqual(["coupon-legacy"]);
  });
});
