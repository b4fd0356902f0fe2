import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api, CONTROL_CENTER_URL, type ReservationView, SIGN_IN_AGAIN } from "./api.js";
import { type Clock, count } from "./format.js";
import { t, tCode } from "./i18n.js";
import { useClock } from "./lot-clock.js";
import { canceledWords } from "./payment-words.js";

/**
 * A call the user started from a form: `busy` while it runs, and the problem it met (null when
 * none). `run` clears the last problem, runs the call, and keeps what it throws as the problem.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const run = async (call: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await call();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, setProblem, run };
}

/** An API refusal in words: the problem's title and detail, and each wrong field. */
export function ProblemMessage({ problem }: { readonly problem: unknown }) {
  const clock = useClock();
  if (!problem) return null;
  const p =
    problem instanceof ApiProblem
      ? problem
      : new ApiProblem(t("problem.fallback"), String((problem as Error).message ?? problem), 0);
  return (
    <div class="problem" role="alert" data-problem={p.code ?? ""}>
      <strong>{p.code ? tCode("problem", p.code) : p.title}</strong>
      {p.code?.startsWith("page-") ? (
        <p>{tCode("problemDetail", p.code)}</p>
      ) : p.detail ? (
        <p lang={p.code ? "en" : undefined}>{instantsOnClock(p.detail, clock)}</p>
      ) : null}
      {p.errors.length ? (
        <ul>
          {p.errors.map((e) => (
            <li key={e.field} data-field-code={e.code ?? ""}>
              <code>{e.field.replace(/^body\./, "")}</code> <FieldWords error={e} />
            </li>
          ))}
        </ul>
      ) : null}
      {p.signedOut ? (
        <p>
          <a href={`${CONTROL_CENTER_URL}?${SIGN_IN_AGAIN}`}>{t("problem.signInAgain")}</a>
        </p>
      ) : null}
    </div>
  );
}

/**
 * What a refused field broke, in the page's language by its code (the API's English words on
 * hover); a field refused without a code (a rule of the service, not of the schema) in the API's words.
 */
function FieldWords({ error }: { readonly error: ApiProblem["errors"][number] }) {
  const words = error.code ? tCode("fieldProblem", error.code, { limit: error.limit ?? 0 }) : undefined;
  return words && words !== error.code ? (
    <span title={error.message}>{words}</span>
  ) : (
    <span lang="en">{error.message}</span>
  );
}

/** Register a lot: name (any script), capacity and an optional id. */
export function RegisterLotForm({ onRegistered }: { readonly onRegistered: (message: string) => void }) {
  const [name, setName] = useState("");
  const [capacity, setCapacity] = useState("");
  const [lotId, setLotId] = useState("");
  const [rate, setRate] = useState("");
  const [limit, setLimit] = useState("");
  const { busy, problem, run } = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const registered = await api.registerLot({
        name: name.trim(),
        capacity: Number(capacity),
        parkingLotId: lotId.trim() || undefined,
        ...(rate ? { hourlyRate: Number(rate) } : {}),
        ...(limit ? { maxActivePerCustomer: Number(limit) } : {}),
      });
      onRegistered(
        t("register.done", {
          name: registered.name,
          id: registered.parkingLotId,
          count: registered.capacity,
          n: count(registered.capacity),
        }),
      );
      setName("");
      setCapacity("");
      setLotId("");
      setRate("");
      setLimit("");
    });
  };

  return (
    <form class="register" onSubmit={submit} aria-labelledby="register-title">
      <h2 id="register-title">{t("register.title")}</h2>
      <div class="fields">
        <label>
          {t("register.name")}
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={100} />
        </label>
        <label>
          {t("register.capacity")}
          <input
            value={capacity}
            onInput={(e) => setCapacity(e.currentTarget.value)}
            required
            inputMode="numeric"
            type="number"
            min={0}
          />
        </label>
        <label>
          <span>
            {t("register.lotId")} <span class="hint">{t("register.optional")}</span>
          </span>
          <input value={lotId} onInput={(e) => setLotId(e.currentTarget.value)} maxLength={64} />
        </label>
        <OptionalTerms rate={rate} limit={limit} onRate={setRate} onLimit={setLimit} />
        <button type="submit" disabled={busy}>
          {busy ? t("register.busy") : t("register.submit")}
        </button>
      </div>
      <ProblemMessage problem={problem} />
    </form>
  );
}

/** A new lot's optional terms: its hourly rate and how many active bookings one customer may hold. */
function OptionalTerms(props: {
  readonly rate: string;
  readonly limit: string;
  readonly onRate: (value: string) => void;
  readonly onLimit: (value: string) => void;
}) {
  return (
    <>
      <label>
        <span>
          {t("register.rate")} <span class="hint">{t("register.rateHint")}</span>
        </span>
        <input
          value={props.rate}
          onInput={(e) => props.onRate(e.currentTarget.value)}
          inputMode="numeric"
          type="number"
          min={1}
        />
      </label>
      <label>
        <span>
          {t("register.limit")} <span class="hint">{t("register.limitHint")}</span>
        </span>
        <input
          value={props.limit}
          onInput={(e) => props.onLimit(e.currentTarget.value)}
          inputMode="numeric"
          type="number"
          min={1}
          max={1000}
        />
      </label>
    </>
  );
}

/** Asks for a reason, then cancels the reservation; the page updates from the live stream. */
export function CancelDialog(props: {
  readonly reservation: ReservationView;
  readonly onClose: (message?: string) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const { reservation } = props;

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const answer = await api.cancelReservation(
        reservation.parkingLotId,
        reservation.reservationId,
        reason.trim(),
      );
      // What the cancel decided of the money, as its answer says it (issue 47).
      props.onClose(canceledWords(reservation.carNumber, answer));
    } catch (error) {
      setProblem(error);
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="cancel-dialog" onClose={() => props.onClose()} aria-labelledby="cancel-title">
      <form onSubmit={submit}>
        <h2 id="cancel-title">{t("cancel.title")}</h2>
        <p>
          <strong class="plate">{reservation.carNumber}</strong> · {t("cancel.of")}{" "}
          <code>{reservation.customerId}</code>. {t("cancel.effect")}
        </p>
        <label>
          {t("cancel.reason")}
          <textarea
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
            required
            maxLength={200}
            rows={2}
          />
        </label>
        <ProblemMessage problem={problem} />
        <div class="actions">
          <button type="button" class="secondary" onClick={() => props.onClose()}>
            {t("cancel.keep")}
          </button>
          <button type="submit" class="danger" disabled={busy}>
            {busy ? t("cancel.busy") : t("cancel.submit")}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** An ISO instant as the API writes it in a `detail` (`2026-11-29T03:00:00.000Z`, or with an offset). */
const INSTANT = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)/g;

/** A text with every ISO instant in it written on the lot's clock (issue 69: no raw UTC instant on the page). */
export const instantsOnClock = (text: string, clock: Clock): string =>
  text.replace(INSTANT, (iso) => (Number.isNaN(Date.parse(iso)) ? iso : clock.when(iso)));
