import { useEffect, useState } from "preact/hooks";
import { api, type ParkingLotDetail } from "./api.js";
import { count } from "./format.js";
import { ProblemMessage } from "./forms.js";
import { useClock } from "./lot-clock.js";

/** How far back the slider reaches: the lot's whole life, up to a week. */
const REACH_MS = 7 * 24 * 3_600_000;
const MINUTE = 60_000;

/**
 * The slider's step for a past of `spanMs`: a minute while the lot's history spans up to half a
 * day (a young lot, where minutes matter), five minutes up to three days, a quarter hour beyond.
 */
export function sliderStepMs(spanMs: number): number {
  if (spanMs <= 12 * 60 * MINUTE) return MINUTE;
  if (spanMs <= 3 * 24 * 60 * MINUTE) return 5 * MINUTE;
  return 15 * MINUTE;
}

/**
 * "As of": a slider over the lot's past (from its registration, at most a week back, in steps that
 * fit its age). Letting go of it moves the whole lot view to that moment (`onAsOf`: the timeline and
 * the reservations are read as of it), and shows the lot's figures then and the log position they
 * reflect. At the right end the view is the lot now. `now` is the service's clock (its last answer).
 */
export function AsOfSlider(props: {
  readonly parkingLotId: string;
  readonly registeredAt: string;
  readonly now: number;
  readonly asOf: string | null;
  readonly onAsOf: (instant: string | null) => void;
}) {
  const start = Math.max(Date.parse(props.registeredAt), props.now - REACH_MS);
  const stepMs = sliderStepMs(props.now - start);
  const steps = Math.max(1, Math.ceil((props.now - start) / stepMs));
  const step = props.asOf ? Math.round((Date.parse(props.asOf) - start) / stepMs) : steps;
  const [then, setThen] = useState<ParkingLotDetail | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const instant = props.asOf;
  const { when } = useClock();

  useEffect(() => {
    setThen(null);
    setProblem(null);
    if (!instant) return;
    let current = true;
    api.parkingLotAsOf(props.parkingLotId, instant).then(
      (lot) => current && setThen(lot),
      (error: unknown) => current && setProblem(error),
    );
    return () => {
      current = false;
    };
  }, [props.parkingLotId, instant]);

  const choose = (value: number) =>
    props.onAsOf(value >= steps ? null : new Date(start + value * stepMs).toISOString());

  return (
    <section class="as-of" aria-labelledby="as-of-title">
      <h3 id="as-of-title">As of</h3>
      <input
        type="range"
        min={0}
        max={steps}
        step={1}
        value={step}
        data-step-minutes={stepMs / MINUTE}
        aria-label="Moment to show the lot as of"
        aria-valuetext={instant ? when(instant) : "now"}
        onChange={(e) => choose(Number(e.currentTarget.value))}
      />
      <p data-as-of={instant ?? "now"}>
        {instant ? (
          <>
            Showing the lot as of <b>{when(instant)}</b> (timeline and reservations; steps of{" "}
            {count(stepMs / MINUTE)} min){" "}
            <button type="button" class="link" onClick={() => props.onAsOf(null)}>
              Back to now
            </button>
          </>
        ) : (
          `Now (slide left to see the lot as it was, in steps of ${count(stepMs / MINUTE)} min)`
        )}
        {then ? (
          <span data-as-of-free={then.freeNow} data-as-of-position={then.asOf?.position ?? ""}>
            {" "}
            — <b>{count(then.freeNow)}</b> of {count(then.capacity)} free,{" "}
            <b>{count(then.activeReservations)}</b> active, {count(then.canceledReservations)} canceled (log
            position {then.asOf?.position ?? "none"})
          </span>
        ) : null}
      </p>
      <ProblemMessage problem={problem} />
    </section>
  );
}
