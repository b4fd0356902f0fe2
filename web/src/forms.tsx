import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api, CONTROL_CENTER_URL, type ReservationView, SIGN_IN_AGAIN } from "./api.js";
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
  if (!problem) return null;
  const p =
    problem instanceof ApiProblem
      ? problem
      : new ApiProblem("Something went wrong", String((problem as Error).message ?? problem), 0);
  return (
    <div class="problem" role="alert">
      <strong>{p.title}</strong>
      {p.detail ? <p>{p.detail}</p> : null}
      {p.errors.length ? (
        <ul>
          {p.errors.map((e) => (
            <li key={e.field}>
              <code>{e.field.replace(/^body\./, "")}</code> {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {p.signedOut ? (
        <p>
          <a href={`${CONTROL_CENTER_URL}?${SIGN_IN_AGAIN}`}>Sign in again</a>
        </p>
      ) : null}
    </div>
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
        `Registered ${registered.name} (${registered.parkingLotId}) with ${registered.capacity} ${registered.capacity === 1 ? "spot" : "spots"}.`,
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
      <h2 id="register-title">Register a lot</h2>
      <div class="fields">
        <label>
          Name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={100} />
        </label>
        <label>
          Capacity
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
            Lot id <span class="hint">(optional)</span>
          </span>
          <input value={lotId} onInput={(e) => setLotId(e.currentTarget.value)} maxLength={64} />
        </label>
        <OptionalTerms rate={rate} limit={limit} onRate={setRate} onLimit={setLimit} />
        <button type="submit" disabled={busy}>
          {busy ? "Registering…" : "Register"}
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
          Hourly rate <span class="hint">(optional; without one, each booking sets its price)</span>
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
          Active bookings per customer <span class="hint">(optional; default 4)</span>
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
        <h2 id="cancel-title">Cancel reservation</h2>
        <p>
          <strong class="plate">{reservation.carNumber}</strong> of customer{" "}
          <code>{reservation.customerId}</code>. Its spot comes back and its coupon is revoked.
        </p>
        <label>
          Reason
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
            Keep it
          </button>
          <button type="submit" class="danger" disabled={busy}>
            {busy ? "Canceling…" : "Cancel reservation"}
          </button>
        </div>
      </form>
    </dialog>
  );
}
