import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { GATE_REVIEWS } from "../../projections/read-models/gate-reviews.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import type { GateReviewView } from "../../schemas/gates.js";
import type { PageOf, ReadContext } from "./read-context.js";

type CandidateBooking = GateReviewView["candidateBookings"][number];

/**
 * A lot's open gate reviews (issue 49), newest first: one index range of the lot below the cursor,
 * so a page costs its own size however many reads the lot's gates ever sent to review.
 */
export class GateReviewQueries {
  constructor(private readonly ctx: ReadContext) {}

  async gateReviews(
    parkingLotId: string,
    options: { cursor?: string; limit: number; minPosition?: Position | null },
  ): Promise<PageOf<GateReviewView>> {
    await this.ctx.awaitPosition(GATE_REVIEWS, options.minPosition ?? null);
    const collection = await this.ctx.collection(GATE_REVIEWS);
    const filter = options.cursor ? { parkingLotId, seq: { $lt: Number(options.cursor) } } : { parkingLotId };
    const docs = await this.ctx.store.find<Document & { seq: number }>(collection, filter, {
      sort: { seq: -1 },
      limit: options.limit + 1,
    });
    const page = docs.slice(0, options.limit);
    const last = page.at(-1);
    // Issue 69: the candidates by plate, customer and window, read by id (at most 20 a review).
    const ids = [...new Set(page.flatMap((d) => (d.candidates as string[] | undefined) ?? []))];
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
      items: page.map(({ _id, seq, ...review }) => ({
        ...(review as unknown as GateReviewView),
        candidateBookings: ((review.candidates as string[] | undefined) ?? []).flatMap((id) => {
          const booking = bookings.get(id);
          return booking ? [booking] : [];
        }),
      })),
      nextCursor: docs.length > options.limit && last ? String(last.seq) : null,
    };
  }
}
