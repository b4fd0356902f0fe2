import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { GATE_REVIEWS } from "../../projections/read-models/gate-reviews.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import type { GateReviewView } from "../../schemas/gates.js";
import { newestPage } from "./newest-merge.js";
import type { PageOf, ReadContext } from "./read-context.js";

type CandidateBooking = GateReviewView["candidateBookings"][number];

/** A lot's open gate reviews, newest first: one index range, so a page costs its own size. */
export class GateReviewQueries {
  constructor(private readonly ctx: ReadContext) {}

  async gateReviews(
    parkingLotId: string,
    options: { cursor?: string; limit: number; minPosition?: Position | null },
  ): Promise<PageOf<GateReviewView>> {
    const found = await newestPage<GateReviewView & { candidates?: string[] }>(
      this.ctx,
      GATE_REVIEWS,
      [{ parkingLotId }],
      options,
    );
    // The candidates by plate, customer and window, read by id (at most 20 a review).
    const ids = [...new Set(found.items.flatMap((review) => review.candidates ?? []))];
    const bookings = new Map(
      (ids.length
        ? await this.ctx.store.find<Document & CandidateBooking>(await this.ctx.collection(RESERVATIONS), {
            _id: { $in: ids },
          })
        : []
      ).map(({ reservationId, carNumber, customerId, startsAt, endsAt }) => [
        reservationId,
        { reservationId, carNumber, customerId, ...(startsAt ? { startsAt, endsAt } : {}) },
      ]),
    );
    return {
      ...found,
      items: found.items.map((review) => ({
        ...review,
        candidateBookings: (review.candidates ?? []).flatMap((id) => {
          const booking = bookings.get(id);
          return booking ? [booking] : [];
        }),
      })),
    };
  }
}
