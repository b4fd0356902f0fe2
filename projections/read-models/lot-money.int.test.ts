import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { tempDataDir } from "../../test-support/service.js";
import { rebuildProjections } from "../replay.js";
import { activeGenerations, physicalCollection } from "../runtime/checkpoints.js";
import { LOT_MONEY, lotMoneyProjection, moneyId } from "./lot-money.js";

const spec = projectionSpec(lotMoneyProjection);
const about = (reservationId: string, parkingLotId = "L1") => ({
  reservationId,
  parkingLotId,
  intentId: `pi_${reservationId}`,
});
const DAY1 = "2026-11-22";
const DAY2 = "2026-11-23";

/** A paid stay captured late on day 1 with an overstay charged, refunded in part on day 2. */
const HISTORY: DomainEvent[] = [
  {
    type: "PaymentCaptured",
    data: {
      ...about("R1"),
      amount: 1000,
      currency: "KRW",
      settlementId: "s1",
      capturedAt: `${DAY1}T23:50:00Z`,
    },
  },
  {
    type: "OverstayCharged",
    data: {
      ...about("R1"),
      intentId: "pi_R1_off",
      amount: 500,
      currency: "KRW",
      settlementId: "s1",
      chargedAt: `${DAY1}T23:51:00.000Z`,
    },
  },
  {
    type: "PaymentFailed",
    data: {
      reservationId: "R2",
      parkingLotId: "L1",
      reason: "declined",
      code: "card_declined",
      failedAt: `${DAY1}T10:00:00Z`,
    },
  },
  {
    type: "PaymentFailed",
    data: { reservationId: "R3", parkingLotId: "L1", reason: "expired", failedAt: `${DAY2}T00:10:00Z` },
  },
  {
    type: "PaymentRefunded",
    data: {
      ...about("R1"),
      refundId: "re_1",
      amount: 400,
      currency: "KRW",
      settlementId: "s2",
      refundedAt: `${DAY2}T09:00:00.000Z`,
    },
  },
  {
    type: "PaymentStepFailed",
    data: {
      reservationId: "R4",
      parkingLotId: "L1",
      settlementId: "s3",
      step: "overstay",
      code: "card_declined",
      message: "Your card was declined.",
      failedAt: `${DAY2}T12:00:00.000Z`,
    },
  },
  // Another lot, in another currency, and what moves no money (an authorization, a release).
  {
    type: "PaymentCaptured",
    data: {
      ...about("R5", "L2"),
      amount: 1250,
      currency: "USD",
      settlementId: "s4",
      capturedAt: `${DAY2}T08:00:00Z`,
    },
  },
  {
    type: "PaymentAuthorized",
    data: { ...about("R6", "L2"), amount: 9999, currency: "USD", authorizedAt: `${DAY2}T08:00:00Z` },
  },
  {
    type: "PaymentReleased",
    data: { ...about("R5", "L2"), amount: 250, settlementId: "s4", releasedAt: `${DAY2}T08:00:00Z` },
  },
  // Issue 69: a lot with payments off takes at its gate what its check-outs priced: a booking with
  // its overstay, a drive-up; a check-out with nothing to collect counts nothing.
  ...(
    [
      ["R7", { kind: "booking", price: 6000, overstay: 1500 }],
      ["R8", { kind: "drive-up", price: 3000, overstay: 0 }],
      ["R9", undefined],
    ] as const
  ).map(
    ([reservationId, onSite]): DomainEvent => ({
      type: "ReservationCheckedOut",
      data: {
        reservationId,
        parkingLotId: "L3",
        customerId: "CUST1",
        checkedOutAt: `${DAY2}T18:05:00.000Z`,
        ...(onSite ? { collectedOnSite: { currency: "KRW", ...onSite } } : {}),
      },
    }),
  ),
];

/** A quarter-hour document: every counter the facts of its quarter touched. */
const quarter = (
  lot: string,
  at: string,
  figures: {
    revenue?: Record<string, number>;
    refunds?: object;
    failedPayments: number;
    failedSteps: number;
  },
  of: { onSite?: number; overstays?: number; driveUps?: number } = {},
) => {
  // Money in a currency keeps its breakdown beside it (issue 69): 0 unless said.
  const [currency] = Object.keys(figures.revenue ?? {});
  const parts = currency
    ? {
        onSite: { [currency]: of.onSite ?? 0 },
        overstays: { [currency]: of.overstays ?? 0 },
        driveUps: { [currency]: of.driveUps ?? 0 },
      }
    : {};
  return { _id: moneyId(lot, at), parkingLotId: lot, at: `${at}:00.000Z`, ...figures, ...parts };
};

const EXPECTED = [
  quarter("L1", `${DAY1}T10:00`, { failedPayments: 1, failedSteps: 0 }),
  // A capture at 23:50 and an overstay at 23:51 share the quarter from 23:45.
  quarter(
    "L1",
    `${DAY1}T23:45`,
    { revenue: { KRW: 1500 }, refunds: { KRW: 0 }, failedPayments: 0, failedSteps: 0 },
    { overstays: 500 },
  ),
  quarter("L1", `${DAY2}T00:00`, { failedPayments: 1, failedSteps: 0 }),
  quarter("L1", `${DAY2}T09:00`, {
    revenue: { KRW: 0 },
    refunds: { KRW: 400 },
    failedPayments: 0,
    failedSteps: 0,
  }),
  quarter("L1", `${DAY2}T12:00`, { failedPayments: 0, failedSteps: 1 }),
  quarter("L2", `${DAY2}T08:00`, {
    revenue: { USD: 1250 },
    refunds: { USD: 0 },
    failedPayments: 0,
    failedSteps: 0,
  }),
  quarter(
    "L3",
    `${DAY2}T18:00`,
    { revenue: { KRW: 10_500 }, refunds: { KRW: 0 }, failedPayments: 0, failedSteps: 0 },
    { onSite: 10_500, overstays: 1500, driveUps: 3000 },
  ),
];

describe("lot-money projection (spec: facts in, one document per lot per UTC quarter hour)", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
    outcome = undefined;
  });

  it("counts captures and overstay charges as revenue, refunds on their own day, and failures by kind", async () => {
    outcome = await spec.given(...HISTORY);
    await outcome.expectDocuments({ [LOT_MONEY]: EXPECTED });
  });

  it("keeps a lot's quarters apart from a lot whose id starts like a quarter of it (ids range by lot exactly)", async () => {
    const odd = "L1:x";
    outcome = await spec.given(HISTORY[0] as DomainEvent, {
      type: "PaymentFailed",
      data: { reservationId: "R9", parkingLotId: odd, reason: "declined", failedAt: `${DAY1}T10:00:00Z` },
    });
    const ids = (await outcome.documents(LOT_MONEY)).map((d) => d._id);
    const inRange = ids.filter(
      (id) => id >= moneyId("L1", "0000-01-01T00:00") && id < moneyId("L1", "9999-12-31T00:00"),
    );
    expect(inRange).toEqual([moneyId("L1", `${DAY1}T23:45`)]);
  });
});

describe("lot-money rebuilt from the log", () => {
  const data = tempDataDir("parking-lot-money-");
  afterEach(() => data.remove());

  it("gives the same documents whatever the batches, as the spec's", async () => {
    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const docs = SqliteDocumentStore.open({ file: ":memory:" });
    try {
      const causation = {
        correlationId: randomUUID(),
        causationId: randomUUID(),
        actor: systemActor("test"),
      };
      for (const event of HISTORY) {
        const stream = `parkingLot-${(event.data as { parkingLotId: string }).parkingLotId}`;
        await events.appendToStream(stream, [encodeEvent(event, causation)], { expectedRevision: "any" });
      }
      const rebuilt = async (batchSize: number) => {
        await rebuildProjections({
          eventStore: events,
          documentStore: docs,
          projections: [lotMoneyProjection],
          logger: createLogger("silent"),
          graceMs: 1000,
          batchSize,
        });
        const generation = (await activeGenerations(docs)).get(lotMoneyProjection.name) ?? 1;
        return docs.find(physicalCollection(LOT_MONEY, generation), {}, { sort: { _id: 1 } });
      };
      expect(await rebuilt(1)).toEqual(EXPECTED);
      expect(await rebuilt(1000)).toEqual(EXPECTED);
    } finally {
      await events.close();
      await docs.close();
    }
  });
});
