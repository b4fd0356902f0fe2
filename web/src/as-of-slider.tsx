import { useEffect, useState } from "preact/hooks";
import { api, type ParkingLotDetail } from "./api.js";
import { count, when } from "./format.js";
import { ProblemMessage } from "./forms.js";

/** How far back the slider reaches: the lot's whole life, up to a week. */
const REACH_MS = 7 * 24 * 3_600_000;
const STEP_MINUTES = 5;

/**
 * "As of": a slider over the lot's past (from its registration, at most a week back, in steps of
 * five minutes). Letting go of it asks the service for the lot as it was then (GET
 * /parking-lots/{id}?asOf=, folded from the log), and shows its figures and the position of the log
 * they reflect. At the right end it shows nothing: the figures above are the lot now.
 */
export function AsOfSlider(props: { readonly parkingLotId: string; readonly registeredAt: string }) {
  const [origin] = useState(() => Date.now());
  const start = Math.max(Date.parse(props.registeredAt), origin - REACH_MS);
  const steps = Math.max(1, Math.floor((origin - start) / (STEP_MINUTES * 60_000)));
  const [step, setStep] = useState(steps);
  const [then, setThen] = useState<ParkingLotDetail | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const instant = step >= steps ? null : new Date(start + step * STEP_MINUTES * 60_000).toISOString();

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

  return (
    <section class="as-of" aria-labelledby="as-of-title">
      <h3 id="as-of-title">As of</h3>
      <input
        type="range"
        min={0}
        max={steps}
        value={step}
        aria-label="Moment to show the lot as of"
        aria-valuetext={instant ? when(instant) : "now"}
        onChange={(e) => setStep(Number(e.currentTarget.value))}
      />
      <p data-as-of={instant ?? "now"}>
        {instant ? when(instant) : "Now (slide left to see the lot as it was)"}
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
