import { afterEach, describe, it } from "vitest";
import type { DomainEvent } from "../../schemas/events.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { gateReviewsProjection } from "./gate-reviews.js";

const spec = projectionSpec(gateReviewsProjection);
const read = {
  parkingLotId: "L1",
  gateId: "north-in",
  direction: "entry" as const,
  at: "2026-11-26T09:00:00.000Z",
  recordedAt: "2026-11-26T09:00:01.000Z",
};
const review: DomainEvent = {
  type: "GateEventRecorded",
  data: {
    ...read,
    eventId: "E1",
    confidence: 0.5,
    decision: "review",
    reason: "LowConfidence",
    candidates: ["R1"],
  },
};
const opened: DomainEvent = {
  type: "GateEventRecorded",
  data: {
    ...read,
    eventId: "E2",
    confidence: 0.95,
    decision: "open",
    reason: "CheckedIn",
    reservationId: "R2",
  },
};
const resolved: DomainEvent = {
  type: "GateReviewResolved",
  data: { eventId: "E1", parkingLotId: "L1", action: "deny", resolvedAt: "2026-11-26T09:05:00.000Z" },
};
const listed = {
  _id: "L1/E1",
  eventId: "E1",
  parkingLotId: "L1",
  gateId: "north-in",
  direction: "entry",
  confidence: 0.5,
  at: "2026-11-26T09:00:00.000Z",
  reason: "LowConfidence",
  candidates: ["R1"],
  seq: 1,
};

describe("gate-reviews projection (spec: events in, documents out)", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
    outcome = undefined;
  });

  it("given a read sent to review, lists it with its candidates (no plate)", async () => {
    outcome = await spec.given(review);
    await outcome.expectDocuments({ gate_reviews: [listed] });
  });

  it("given a read the gate decided (open), lists nothing", async () => {
    outcome = await spec.given(opened);
    await outcome.expectDocuments({ gate_reviews: [] });
  });

  it("given a review then its resolution, drops it", async () => {
    outcome = await spec.given(review, resolved);
    await outcome.expectDocuments({ gate_reviews: [] });
  });
});
