import { useState } from "preact/hooks";
import { api, type GateReviewPage } from "./api.js";
import { ProblemMessage, useAction } from "./forms.js";
import { useClock } from "./lot-clock.js";
import { useCoalescedRead } from "./lot-reads.js";

/** Open reviews the panel shows (the list is newest first; older ones wait for these). */
const REVIEWS_SHOWN = 10;

/** The shortest plate the service takes (schemas/common.ts CarNumber), in characters, not UTF-16 units. */
const MIN_PLATE_CHARACTERS = 2;

type Review = GateReviewPage["items"][number];

/**
 * Issue 49: the plate reads the lot's gates sent to an attendant (low confidence, several
 * bookings, an exit with no stay), newest first, each with its booking candidates and buttons to
 * open (the lot's own check-in or check-out of a candidate), admit an entry with no booking as a
 * drive-up under the plate the attendant reads on the camera image, or deny. No plate: the read
 * keeps none, and the typed one is sent to the lot's drive-up only (it is not shown back).
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
  const settled = (review: Review, message: string) => {
    props.onMessage(`Gate ${review.gateId}: ${message}`);
    setPage((old) => (old ? { ...old, items: old.items.filter((r) => r.eventId !== review.eventId) } : old));
    setDone((n) => n + 1);
  };
  const resolve = (review: Review, reservationId?: string) =>
    void action.run(async () => {
      await api.resolveGateReview(
        props.parkingLotId,
        review.eventId,
        reservationId ? { action: "open", reservationId } : { action: "deny" },
      );
      const step = review.direction === "entry" ? "checked in" : "checked out";
      settled(
        review,
        reservationId
          ? `reservation ${reservationId} ${step}; open the barrier.`
          : "the car was turned away.",
      );
    });
  const admit = (review: Review, plate: string) =>
    void action.run(async () => {
      const answer = await api.resolveGateReview(props.parkingLotId, review.eventId, {
        action: "drive-up",
        plate,
      });
      settled(review, `drive-up stay ${answer.reservationId ?? ""} checked in; open the barrier.`);
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
            {review.direction === "entry" ? (
              <DriveUp busy={action.busy} onAdmit={(plate) => admit(review, plate)} />
            ) : null}{" "}
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

/** An entry with no booking, let in as a drive-up under the plate the attendant reads on the camera image. */
function DriveUp(props: { readonly busy: boolean; readonly onAdmit: (plate: string) => void }) {
  const [plate, setPlate] = useState("");
  const typed = plate.trim();
  const admit = (event: Event) => {
    event.preventDefault();
    if ([...typed].length >= MIN_PLATE_CHARACTERS) props.onAdmit(typed);
  };
  return (
    <form class="drive-up" aria-label="Admit as drive-up" onSubmit={admit}>
      <label>
        Plate on the camera image
        <input value={plate} onInput={(e) => setPlate(e.currentTarget.value)} placeholder="34나2222" />
      </label>{" "}
      <button type="submit" disabled={props.busy || [...typed].length < MIN_PLATE_CHARACTERS}>
        Admit as drive-up
      </button>
    </form>
  );
}
