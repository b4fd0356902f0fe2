import { useEffect, useState } from "preact/hooks";
import { api, type ParkingLotDetail } from "./api.js";
import { count } from "./format.js";
import { ProblemMessage } from "./forms.js";
import { t } from "./i18n.js";
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

/** The lot as of a moment (null: now, or not read yet), and the problem reading it met. */
export function useLotAsOf(parkingLotId: string, instant: string | null) {
  const [then, setThen] = useState<ParkingLotDetail | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  useEffect(() => {
    setThen(null);
    setProblem(null);
    if (!instant) return;
    let current = true;
    api.parkingLotAsOf(parkingLotId, instant).then(
      (lot) => current && setThen(lot),
      (error: unknown) => current && setProblem(error),
    );
    return () => {
      current = false;
    };
  }, [parkingLotId, instant]);
  return { then, problem };
}

/**
 * "As of": a slider over the lot's past (from its registration, at most a week back, in steps that
 * fit its age). Letting go of it moves the whole lot view to that moment (`onAsOf`: the timeline and
 * the reservations are read as of it), and shows the lot's figures then and the log position they
 * reflect. At the right end the view is the lot now. `now` is the service's clock (its last answer).
 */
export function AsOfSlider(props: {
  readonly parkingLotId: string;
  /** A live lot always has it (only a lot as of a moment may not: issue 68). */
  readonly registeredAt: string | undefined;
  readonly now: number;
  readonly asOf: string | null;
  readonly onAsOf: (instant: string | null) => void;
  /** The lot as of the moment chosen (useLotAsOf), shared with the rest of the lot's page. */
  readonly then: ParkingLotDetail | null;
  readonly problem: unknown;
}) {
  const start = Math.max(Date.parse(props.registeredAt ?? "") || 0, props.now - REACH_MS);
  const stepMs = sliderStepMs(props.now - start);
  const steps = Math.max(1, Math.ceil((props.now - start) / stepMs));
  const step = props.asOf ? Math.round((Date.parse(props.asOf) - start) / stepMs) : steps;
  const { then, problem } = props;
  const instant = props.asOf;
  const { when } = useClock();

  const choose = (value: number) =>
    props.onAsOf(value >= steps ? null : new Date(start + value * stepMs).toISOString());

  return (
    <section class="as-of" aria-labelledby="as-of-title">
      <h3 id="as-of-title">{t("asOf.title")}</h3>
      <input
        type="range"
        min={0}
        max={steps}
        step={1}
        value={step}
        data-step-minutes={stepMs / MINUTE}
        aria-label={t("asOf.slider")}
        aria-valuetext={instant ? when(instant) : t("asOf.now")}
        onChange={(e) => choose(Number(e.currentTarget.value))}
      />
      <p data-as-of={instant ?? "now"}>
        {instant ? (
          <>
            {t("asOf.showing")} <b>{when(instant)}</b> {t("asOf.parts", { minutes: count(stepMs / MINUTE) })}{" "}
            <button type="button" class="link" onClick={() => props.onAsOf(null)}>
              {t("asOf.back")}
            </button>
          </>
        ) : (
          t("asOf.nowHint", { minutes: count(stepMs / MINUTE) })
        )}
        {then ? (
          <span data-as-of-free={then.freeNow} data-as-of-position={then.asOf?.position ?? ""}>
            {t("asOf.then", {
              free: count(then.freeNow),
              capacity: count(then.capacity),
              active: count(then.activeReservations),
              canceled: count(then.canceledReservations),
              position: then.asOf?.position ?? t("asOf.none"),
            })}
          </span>
        ) : null}
      </p>
      <ProblemMessage problem={problem} />
    </section>
  );
}
