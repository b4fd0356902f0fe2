import { useState } from "preact/hooks";
import { api, type GateReviewPage } from "./api.js";
import { ProblemMessage, useAction } from "./forms.js";
import { useClock } from "./lot-clock.js";
import { useCoalescedRead } from "./lot-reads.js";

/** Open reviews the panel shows (the list is newest first; older ones wait for these). */
const REVIEWS_SHOWN = 10;

type Review = GateReviewPage["items"][number];

/**
 * Issue 49: the plate reads the lot's gates sent to an attendant (low confidence, several
 * bookings, an exit with no stay), newest first, each with its booking candidates and buttons to
 * open (the lot's own check-in or check-out of a candidate) or deny. No plate: the read keeps none.
 */
export function GateReviews(props: {
  readonly parkingLotId: string;
  readonly tick: number;
  readonly onMessage: (message: string) => void;
}) {
  const { when } = useClock();
  const [page, setPage] = useState<GateReviewPage | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [done, setDone] = useState(0);
  const action = useAction();
  useCoalescedRead(
    `${props.parkingLotId} ${done}`,
    props.tick,
    () => api.gateReviews(props.parkingLotId, REVIEWS_SHOWN),
    (read) => {
      setProblem(null);
      setPage(read);
    },
    setProblem,
  );
  const resolve = (review: Review, reservationId?: string) =>
    void action.run(async () => {
      await api.resolveGateReview(
        props.parkingLotId,
        review.eventId,
        reservationId ? { action: "open", reservationId } : { action: "deny" },
      );
      const step = review.direction === "entry" ? "checked in" : "checked out";
      props.onMessage(
        reservationId
          ? `Gate ${review.gateId}: reservation ${reservationId} ${step}; open the barrier.`
          : `Gate ${review.gateId}: the car was turned away.`,
      );
      setPage((old) =>
        old ? { ...old, items: old.items.filter((r) => r.eventId !== review.eventId) } : old,
      );
      setDone((n) => n + 1);
    });
  const items = page?.items ?? [];
  if (page && items.length === 0) return null;
  return (
    <section class="gate-reviews" aria-labelledby="gate-reviews-title">
      <h3 id="gate-reviews-title">Gate reviews</h3>
      <ul>
        {items.map((review) => (
          <li key={review.eventId} data-gate-review={review.eventId}>
            <time dateTime={review.at}>{when(review.at)}</time> gate {review.gateId}, {review.direction},{" "}
            {Math.round(review.confidence * 100)}% sure: {review.reason}{" "}
            {review.candidates.map((id) => (
              <button type="button" key={id} disabled={action.busy} onClick={() => resolve(review, id)}>
                Open for {id}
              </button>
            ))}{" "}
            <button type="button" class="secondary" disabled={action.busy} onClick={() => resolve(review)}>
              Deny
            </button>
          </li>
        ))}
      </ul>
      <ProblemMessage problem={problem ?? action.problem} />
    </section>
  );
}
