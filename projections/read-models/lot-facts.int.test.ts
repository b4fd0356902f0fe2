import { afterEach, describe, expect, it } from "vitest";
import { factsOf, openingIn } from "../../read-api/views/lot-states.js";
import { ERASED } from "../../schemas/personal-data.js";
import { plainOf } from "../../test-support/lot-state.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { fold, type ParkingLotEvent } from "../../write-side/parking-lot/decider.js";
import { liveState, openingOf } from "../../write-side/parking-lot/period-books.js";
import { LOT_FACTS, lotFactsProjection } from "./lot-facts.js";
import { openingParts } from "./lot-opening.js";

const spec = projectionSpec(lotFactsProjection);
const LOT = "L1";
const at = (hhmm: string) => `2026-11-22T${hhmm}:00.000Z`;
const ids = (reservationId: string) => ({
  reservationId,
  parkingLotId: LOT,
  customerId: `C-${reservationId}`,
});

const life: ParkingLotEvent[] = [
  {
    type: "ParkingLotRegistered",
    data: { parkingLotId: LOT, name: "lot", capacity: 3, registeredAt: at("08:00") },
  },
  {
    type: "ParkingReserved",
    data: {
      ...ids("w"),
      carNumber: "10더8612",
      amount: 1000,
      reservedAt: at("08:10"),
      startsAt: at("09:00"),
      endsAt: at("10:00"),
    },
  },
  {
    type: "ParkingReserved",
    data: { ...ids("o"), carNumber: "10더8612", amount: 1000, reservedAt: at("08:20") },
  },
  { type: "ReservationCheckedIn", data: { ...ids("w"), checkedInAt: at("09:00") } },
  {
    type: "ParkingLotCapacityChanged",
    data: { parkingLotId: LOT, capacity: 2, previousCapacity: 3, changedAt: at("09:05") },
  },
  {
    type: "ParkingLotRateChanged",
    data: { parkingLotId: LOT, hourlyRate: 2000, changedAt: at("09:06") },
  },
  {
    type: "ParkingLotCustomerLimitChanged",
    data: {
      parkingLotId: LOT,
      maxActivePerCustomer: 2,
      previousMaxActivePerCustomer: 4,
      changedAt: at("09:07"),
    },
  },
  {
    type: "ParkingLotClosed",
    data: {
      parkingLotId: LOT,
      closureId: "cl",
      from: at("11:00"),
      until: at("12:00"),
      reason: "works",
      closedAt: at("09:10"),
    },
  },
  {
    type: "ReservationCheckedOut",
    data: { ...ids("w"), checkedOutAt: at("10:30"), startsAt: at("09:00"), endsAt: at("10:00") },
  },
  {
    type: "ParkingLotClosureBegan",
    data: {
      parkingLotId: LOT,
      closureId: "cl",
      from: at("11:00"),
      until: at("12:00"),
      carsInLot: [],
      recordedAt: at("11:00"),
    },
  },
  { type: "ReservationCanceled", data: { ...ids("o"), reason: "lot-closed", canceledAt: at("11:00") } },
];

describe("lot-facts projection (spec: events in, documents out)", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
    outcome = undefined;
  });

  it("keeps each reservation's and closure's facts, the registration and the latest capacity, with no cut-off of their own", async () => {
    outcome = await spec.given(...life);
    const docs = await outcome.documents(LOT_FACTS);
    const byId = new Map(docs.map((d) => [d._id, d]));
    // Issue 48: every period is bounded (period 0 too), so no document carries a `reach` any more.
    for (const id of ["r:L1:w", "r:L1:o", "c:L1:cl", "lot:L1"])
      expect(byId.get(id), id).toMatchObject({ parkingLotId: LOT });
    expect(docs.filter((d) => "reach" in d)).toEqual([]);
    expect(byId.get("c:L1:cl")?.due).toBeUndefined(); // begun: no longer due
  });

  it("folds, with the decider's evolve, into the very state the lot's stream folds into", async () => {
    for (let n = 1; n <= life.length; n++) {
      outcome = await spec.given(...life.slice(0, n));
      const folded = fold(factsOf(await outcome.documents(LOT_FACTS), -1).map((f) => f.event));
      expect(plainOf(folded)).toEqual(plainOf(fold(life.slice(0, n))));
      await outcome.close();
      outcome = undefined;
    }
  });

  it("reads an erased customer's facts as the log now reads them: id and plate `erased`, the rest as it was", async () => {
    const erasure = {
      type: "CustomerErased" as const,
      // Two lots listed: each is tried with each reservation; a pair with no document changes nothing.
      data: { subject: "s-w", reservationIds: ["w"], parkingLotIds: ["L2", LOT], erasedAt: at("12:00") },
    };
    outcome = await spec.given(...life, erasure);
    const docs = await outcome.documents(LOT_FACTS);
    expect(docs.map((d) => d._id)).not.toContain("r:L2:w");
    const erased = (event: ParkingLotEvent): ParkingLotEvent =>
      "customerId" in event.data && event.data.customerId === "C-w"
        ? ({
            ...event,
            data: {
              ...event.data,
              customerId: ERASED,
              ...("carNumber" in event.data ? { carNumber: ERASED } : {}),
            },
          } as ParkingLotEvent)
        : event;
    const facts = factsOf(docs, -1).map((f) => f.event);
    const kept = await spec.given(...life);
    const before = factsOf(await kept.documents(LOT_FACTS), -1).map((f) => f.event);
    await kept.close();
    expect(facts).toEqual(before.map(erased));
    expect(JSON.stringify(docs)).not.toContain("C-w");
    expect(JSON.stringify(docs)).toContain("C-o");
    expect(plainOf(fold(facts))).toEqual(plainOf(fold(life.map(erased))));
  });

  describe("a period's opening (issue 48)", () => {
    /**
     * Before the opening: `life` (o canceled more than 25 h before the period opens the next day),
     * and x booked by w's customer and y by another, both for a window after the opening.
     */
    const next = (hhmm: string) => `2026-11-23T${hhmm}:00.000Z`;
    const later = (reservationId: string, customerId: string, carNumber: string): ParkingLotEvent => ({
      type: "ParkingReserved",
      data: {
        ...ids(reservationId),
        customerId,
        carNumber,
        amount: 1000,
        reservedAt: at("11:30"),
        startsAt: next("13:30"),
        endsAt: next("15:00"),
      },
    });
    const before: ParkingLotEvent[] = [...life, later("x", "C-w", "99가9999"), later("y", "C-y", "77가7777")];
    const opensAt = Date.parse(next("13:00"));
    const opening = (events: readonly ParkingLotEvent[]) =>
      openingOf(liveState(fold(events), opensAt), LOT, 1, opensAt);
    const after: ParkingLotEvent[] = [
      { type: "ReservationCheckedIn", data: { ...ids("x"), customerId: "C-w", checkedInAt: next("13:40") } },
    ];
    /** The read side's fold of the documents: the opening they hold, then the facts since. */
    const folded = (docs: Parameters<typeof factsOf>[0]) => {
      const opened = openingIn(docs, -1);
      if (!opened) throw new Error("no opening");
      return fold([opened.event, ...factsOf(docs, opened.revision).map((f) => f.event)]);
    };

    it("becomes the lot's documents: nothing of the earlier period is left in them, and they fold into the write side's state", async () => {
      outcome = await spec.given(...before, opening(before), ...after);
      const docs = await outcome.documents(LOT_FACTS);
      const openedAt = before.length; // the spec's order of the opening
      for (const doc of docs)
        for (const fact of (doc.facts as { revision: number }[] | undefined) ?? [])
          expect(fact.revision).toBeGreaterThanOrEqual(openedAt);
      expect(docs.some((d) => d.registered !== undefined || d.capacity !== undefined)).toBe(false);
      // What the opening does not carry (o, canceled more than 25 h before) is no longer the lot's:
      // its document went; the rest are the opening's (its head, records and closures).
      const { head, records } = openingParts(opening(before).data);
      const carried = [
        "lot:L1",
        // The lot's change mark (issue 66): no fact of any period, only the position it changed at.
        "changed:L1",
        ...records.map((r) => `r:L1:${r.reservationId}`),
        ...((head.head.closures as { closureId: string }[]) ?? []).map((c) => `c:L1:${c.closureId}`),
      ];
      expect(carried).not.toContain("r:L1:o");
      expect(docs.map((d) => d._id).sort()).toEqual(carried.sort());
      expect(plainOf(folded(docs))).toEqual(plainOf(fold([opening(before), ...after])));
    });

    it("is erased as the facts are: the customer's id and plates in the opening's copy read `erased`", async () => {
      const erasure = {
        type: "CustomerErased" as const,
        data: { subject: "s-w", reservationIds: ["w", "x"], parkingLotIds: [LOT], erasedAt: at("13:00") },
      };
      outcome = await spec.given(...before, opening(before), ...after, erasure);
      const docs = await outcome.documents(LOT_FACTS);
      expect(JSON.stringify(docs)).not.toContain("C-w");
      expect(JSON.stringify(docs)).not.toContain("99가9999");
      expect(JSON.stringify(docs)).toContain("C-y");
      expect(JSON.stringify(docs)).toContain("77가7777");
      // As a rebuild reads the log once the key is gone: the opening's and the facts' values `erased`.
      const erased = (event: ParkingLotEvent): ParkingLotEvent =>
        "customerId" in event.data && event.data.customerId === "C-w"
          ? ({
              ...event,
              data: {
                ...event.data,
                customerId: ERASED,
                ...("carNumber" in event.data ? { carNumber: ERASED } : {}),
              },
            } as ParkingLotEvent)
          : event;
      expect(plainOf(folded(docs))).toEqual(
        plainOf(fold([opening(before.map(erased)), ...after.map(erased)])),
      );
    });
  });
});
