import { useState } from "preact/hooks";
import { api, type GateReviewPage } from "./api.js";
import { percentOf } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";
import { t, tCode } from "./i18n.js";
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
    props.onMessage(message);
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
      const plate = review.candidateBookings.find((b) => b.reservationId === reservationId)?.carNumber ?? "";
      const gate = review.gateId;
      settled(
        review,
        reservationId
          ? t(review.direction === "entry" ? "reviews.settledIn" : "reviews.settledOut", { gate, plate })
          : t("reviews.settledDenied", { gate }),
      );
    });
  const admit = (review: Review, plate: string) =>
    void action.run(async () => {
      await api.resolveGateReview(props.parkingLotId, review.eventId, {
        action: "drive-up",
        plate,
      });
      settled(review, t("reviews.settledDriveUp", { gate: review.gateId, plate }));
    });
  const items = page?.items ?? [];
  if (page && items.length === 0) return null;
  return (
    <section class="gate-reviews" aria-labelledby="gate-reviews-title">
      <h3 id="gate-reviews-title">
        {t("reviews.title")}{" "}
        <span class="badge review-count" data-open-reviews={items.length}>
          {t("reviews.count", { n: items.length })}
        </span>
      </h3>
      <ul>
        {items.map((review) => (
          <ReviewItem
            key={review.eventId}
            review={review}
            busy={action.busy}
            onOpen={(reservationId) => resolve(review, reservationId)}
            onAdmit={(plate) => admit(review, plate)}
            onDeny={() => resolve(review)}
          />
        ))}
      </ul>
      <ProblemMessage problem={problem ?? action.problem} />
    </section>
  );
}

/** One read waiting for an attendant: what the camera saw, and the steps it can take. */
function ReviewItem(props: {
  readonly review: Review;
  readonly busy: boolean;
  readonly onOpen: (reservationId: string) => void;
  readonly onAdmit: (plate: string) => void;
  readonly onDeny: () => void;
}) {
  const { review } = props;
  const clock = useClock();
  const { when } = clock;
  return (
    <li data-gate-review={review.eventId} class="gate-review">
      <p class="review-read">
        <b>
          {t("reviews.read", {
            gate: review.gateId,
            direction: t(review.direction === "entry" ? "reviews.entry" : "reviews.exit"),
            when: when(review.at),
          })}
        </b>
        {review.candidateBookings[0] ? (
          <span class="plate"> {t("reviews.plate", { plate: review.candidateBookings[0].carNumber })}</span>
        ) : null}
        <span class="muted"> · {confidenceWords(review.confidence)}</span>
      </p>
      <p class="review-reason" data-reason={review.reason}>
        {tCode("reviews.reason", review.reason)}
      </p>
      <div class="review-actions">
        {review.candidateBookings.map((b) => {
          const window = b.startsAt && b.endsAt ? clock.range(b.startsAt, b.endsAt) : t("window.openEnded");
          return (
            <button
              type="button"
              key={b.reservationId}
              data-candidate={b.reservationId}
              disabled={props.busy}
              title={t("reviews.candidate", { plate: b.carNumber, customer: b.customerId, window })}
              onClick={() => props.onOpen(b.reservationId)}
            >
              {t("reviews.open", { plate: b.carNumber, window })}
            </button>
          );
        })}
        {review.direction === "entry" ? <DriveUp busy={props.busy} onAdmit={props.onAdmit} /> : null}
        <Deny gate={review.gateId} busy={props.busy} onDeny={props.onDeny} />
      </div>
    </li>
  );
}

/** Turning a car away, after a confirmation (a car at the barrier is not sent off by a slip). */
function Deny(props: { readonly gate: string; readonly busy: boolean; readonly onDeny: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" class="secondary" disabled={props.busy} onClick={() => setAsking(true)}>
        {t("reviews.deny")}
      </button>
    );
  const question = t("reviews.denyConfirm", { gate: props.gate });
  return (
    <span class="deny-confirm" role="alertdialog" aria-label={question}>
      {question}{" "}
      <button
        type="button"
        class="danger small"
        disabled={props.busy}
        onClick={() => {
          setAsking(false);
          props.onDeny();
        }}
      >
        {t("reviews.denyYes")}
      </button>{" "}
      <button type="button" class="secondary small" onClick={() => setAsking(false)}>
        {t("reviews.denyNo")}
      </button>
    </span>
  );
}

/** The camera's confidence in words, with its percentage. */
function confidenceWords(confidence: number): string {
  const level = confidence >= 0.9 ? "high" : confidence >= 0.75 ? "fair" : confidence >= 0.5 ? "low" : "poor";
  return t(`reviews.confidence.${level}`, { percent: percentOf(confidence) });
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
    <form class="drive-up" aria-label={t("reviews.driveUp")} onSubmit={admit}>
      <label>
        {t("reviews.driveUpPlate")}
        <input value={plate} onInput={(e) => setPlate(e.currentTarget.value)} placeholder="34나2222" />
      </label>{" "}
      <button type="submit" disabled={props.busy || [...typed].length < MIN_PLATE_CHARACTERS}>
        {t("reviews.driveUp")}
      </button>
    </form>
  );
}
