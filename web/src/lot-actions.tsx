import { useState } from "preact/hooks";
import { ApiProblem, api, type NewClosure, type ParkingLotDetail, type ReservationView } from "./api.js";
import { type ClosurePreview, countsOf, describeClosure, previewClosure } from "./closure-preview.js";
import { type Clock, count, money } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";
import { t } from "./i18n.js";
import { useClock } from "./lot-clock.js";

const QUARTER_MS = 15 * 60_000;

/** The window of a reservation in words: its range, or open-ended (and when it must leave). */
export const windowOf = (r: ReservationView, { range, when }: Clock): string =>
  r.startsAt && r.endsAt
    ? range(r.startsAt, r.endsAt)
    : r.mustLeaveBy
      ? t("window.mustLeave", { when: when(r.mustLeaveBy) })
      : t("window.openEnded");

/** The hourly rate, or what a lot without one charges. */
export function HourlyRate({ lot }: { readonly lot: ParkingLotDetail }) {
  return (
    <span data-hourly-rate={lot.hourlyRate ?? ""}>
      {lot.hourlyRate === undefined ? t("rate.none") : t("rate.perHour", { amount: money(lot.hourlyRate) })}
    </span>
  );
}

/** Every active reservation of the lot (the first thousand of each status) for a closure's preview. */
async function activeReservations(parkingLotId: string): Promise<ReservationView[]> {
  const pages = await Promise.all(
    (["RESERVED", "CHECKED_IN", "OVERSTAYING"] as const).map((status) =>
      api.reservations({ parkingLotId, status, limit: 1000 }),
    ),
  );
  return pages.flatMap((p) => p.items);
}

function PreviewList(props: { readonly title: string; readonly items: readonly ReservationView[] }) {
  const clock = useClock();
  return (
    <section aria-label={props.title}>
      <h4>
        {props.title}: {count(props.items.length)}
      </h4>
      {props.items.length ? (
        <ul>
          {props.items.map((r) => (
            <li key={r.reservationId} data-preview={r.reservationId}>
              <span class="plate">{r.carNumber}</span> {windowOf(r, clock)}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** The lot's closures in force or ahead: each one's range, reason and the cars in the lot when it began. */
function ClosureList({ closures }: { readonly closures: ParkingLotDetail["closures"] }) {
  const { range } = useClock();
  return closures?.length ? (
    <ul class="closure-list">
      {closures.map((c) => (
        <li key={c.closureId} data-closure={c.closureId}>
          <b>{range(c.from, c.until)}</b>
          {c.reason ? <span> {c.reason}</span> : null}
          {c.carsInLot?.length ? (
            <span class="muted">
              {" · "}
              {t("closures.carsIn", { count: c.carsInLot.length, n: count(c.carsInLot.length) })}
            </span>
          ) : null}
        </li>
      ))}
    </ul>
  ) : (
    <p class="muted">{t("closures.none")}</p>
  );
}

/** A closure as the form holds it: from and until as datetime-local values, and its reason. */
interface ClosureDraft {
  readonly from: string;
  readonly until: string;
  readonly reason: string;
}

/** The closure the draft announces: its range as instants (read on the lot's clock), its reason trimmed. */
const closureOf = (draft: ClosureDraft, { fromInput }: Clock): NewClosure => ({
  from: new Date(fromInput(draft.from)).toISOString(),
  until: new Date(fromInput(draft.until)).toISOString(),
  reason: draft.reason.trim(),
});

/** A required instant on the lot's clock (its time zone, whatever the browser's), to the minute. */
function LocalTimeField(props: {
  readonly label: string;
  readonly value: string;
  readonly onInput: (value: string) => void;
}) {
  const { zone } = useClock();
  return (
    <label class="when-field">
      {props.label}{" "}
      <span class="muted" data-input-zone={zone}>
        ({zone})
      </span>
      <input
        type="datetime-local"
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        required
      />
    </label>
  );
}

/** The new closure's range and reason; changing the range drops a preview made for the old one. */
function ClosureForm(props: {
  readonly draft: ClosureDraft;
  readonly onChange: (change: Partial<ClosureDraft>) => void;
  readonly onSubmit: (event: Event) => void;
  readonly busy: boolean;
}) {
  const { draft, onChange } = props;
  return (
    <form class="closure-form" onSubmit={props.onSubmit} aria-label={t("closures.form")}>
      <LocalTimeField label={t("closures.from")} value={draft.from} onInput={(from) => onChange({ from })} />
      <LocalTimeField
        label={t("closures.until")}
        value={draft.until}
        onInput={(until) => onChange({ until })}
      />
      <label>
        {t("closures.reason")}
        <input
          value={draft.reason}
          onInput={(e) => onChange({ reason: e.currentTarget.value })}
          required
          maxLength={200}
        />
      </label>
      <button type="submit" class="secondary" disabled={props.busy}>
        {t("closures.preview")}
      </button>
    </form>
  );
}

/** What the closure would do, and the choice: change it, or close the lot. */
function ClosurePreviewPanel(props: {
  readonly preview: ClosurePreview;
  readonly now: number;
  readonly busy: boolean;
  readonly onChange: () => void;
  readonly onConfirm: () => void;
}) {
  const { preview } = props;
  const { when } = useClock();
  return (
    <section class="closure-preview" aria-label={t("closures.previewLabel")}>
      <p>
        {t("closures.begins")}{" "}
        <b>
          {preview.beginsAt <= props.now
            ? t("closures.beginsNow")
            : when(new Date(preview.beginsAt).toISOString())}
        </b>
        {t("closures.refused")}
      </p>
      <p data-closure-summary>
        <b>{describeClosure(countsOf(preview))}.</b>
      </p>
      <PreviewList title={t("closures.canceledNow")} items={preview.canceledNow} />
      <PreviewList title={t("closures.canceledWhenItBegins")} items={preview.canceledWhenItBegins} />
      <PreviewList title={t("closures.carsInLot")} items={preview.carsInLot} />
      <div class="actions">
        <button type="button" class="secondary" onClick={props.onChange}>
          {t("closures.change")}
        </button>
        <button type="button" class="danger" disabled={props.busy} onClick={props.onConfirm}>
          {t("closures.close")}
        </button>
      </div>
    </section>
  );
}

/**
 * The lot's closures (reasons and the cars in the lot when each began, for operators), and a new
 * one announced after a preview of what it would cancel. Closures cannot be edited or deleted.
 */
export function Closures(props: {
  readonly lot: ParkingLotDetail;
  /** The service's clock, as its last answer said (the page's own clock may differ). */
  readonly now: number;
  readonly onMessage: (message: string) => void;
  /** The lot as of a past moment: its closures then, no form. */
  readonly past?: boolean;
}) {
  const { lot } = props;
  const clock = useClock();
  const { when } = clock;
  const [draft, setDraft] = useState<ClosureDraft>(() => {
    const start = Math.ceil(props.now / QUARTER_MS) * QUARTER_MS;
    return { from: clock.toInput(start), until: clock.toInput(start + 2 * 3_600_000), reason: "" };
  });
  const [preview, setPreview] = useState<ClosurePreview | null>(null);
  const { busy, problem, setProblem, run } = useAction();

  const change = (next: Partial<ClosureDraft>) => {
    setDraft((old) => ({ ...old, ...next }));
    if (next.from !== undefined || next.until !== undefined) setPreview(null);
  };

  const showPreview = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const range = [clock.fromInput(draft.from), clock.fromInput(draft.until)] as const;
    if (!(range[1] > range[0])) {
      setProblem(new ApiProblem(t("problem.closureInvalid"), t("problem.untilAfterFrom"), 0));
      return;
    }
    await run(async () => {
      setPreview(previewClosure(await activeReservations(lot.parkingLotId), range[0], range[1], props.now));
    });
  };

  const confirm = () =>
    run(async () => {
      const closed = await api.closeLot(lot.parkingLotId, closureOf(draft, clock));
      const previewed = preview ? countsOf(preview) : { canceledWhenItBegins: 0, carsInLot: 0 };
      setPreview(null);
      setDraft((old) => ({ ...old, reason: "" }));
      // The preview's words, with the count of what the service canceled.
      const effect = describeClosure({ ...previewed, canceledNow: closed.canceledReservations.length });
      props.onMessage(
        t("closures.done", { lot: lot.name, from: when(closed.from), until: when(closed.until), effect }),
      );
    });

  return (
    <section class="closures" aria-labelledby="closures-title">
      <h3 id="closures-title">{t("closures.title")}</h3>
      <ClosureList closures={lot.closures} />
      {props.past ? null : (
        <>
          <p class="hint">{t("closures.final")}</p>
          <ClosureForm draft={draft} onChange={change} onSubmit={showPreview} busy={busy} />
        </>
      )}
      {preview ? (
        <ClosurePreviewPanel
          preview={preview}
          now={props.now}
          busy={busy}
          onChange={() => setPreview(null)}
          onConfirm={confirm}
        />
      ) : null}
      <ProblemMessage problem={problem} />
    </section>
  );
}

/** Changes the lot's capacity; a refusal names the instant and how many spots are held then. */
export function CapacityForm(props: {
  readonly lot: ParkingLotDetail;
  readonly onMessage: (message: string) => void;
}) {
  const [capacity, setCapacity] = useState("");
  const { when } = useClock();
  const { busy, problem, run } = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const changed = await api.changeCapacity(props.lot.parkingLotId, Number(capacity));
      props.onMessage(
        t("capacity.done", { lot: props.lot.name, count: changed.capacity, n: count(changed.capacity) }),
      );
      setCapacity("");
    });
  };
  const tooLow =
    problem instanceof ApiProblem &&
    typeof problem.extras.at === "string" &&
    typeof problem.extras.held === "number"
      ? { at: problem.extras.at, held: problem.extras.held }
      : null;

  return (
    <form class="capacity-form" onSubmit={submit} aria-label={t("capacity.form")}>
      <label>
        {t("capacity.new")}
        <input
          type="number"
          min={0}
          inputMode="numeric"
          value={capacity}
          onInput={(e) => setCapacity(e.currentTarget.value)}
          placeholder={String(props.lot.capacity)}
          required
        />
      </label>
      <button type="submit" class="secondary" disabled={busy}>
        {t("capacity.submit")}
      </button>
      <ProblemMessage problem={problem} />
      {tooLow ? (
        <p class="problem-extra" data-held={tooLow.held}>
          {t("capacity.tooLow", { when: when(tooLow.at), count: tooLow.held, n: count(tooLow.held) })}
        </p>
      ) : null}
    </form>
  );
}
