import { useState } from "preact/hooks";
import { api, type ReservationView } from "./api.js";
import { majorAmount, majorStep, minorAmount } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";
import { t } from "./i18n.js";
import { paymentWords } from "./payment-words.js";

/** The payment line under a booking's amount: its state, and the last step the provider failed. */
export function PaymentSummary({ payment }: { readonly payment: NonNullable<ReservationView["payment"]> }) {
  const failure = payment.failures.at(-1);
  return (
    <div class="payment" data-payment={payment.state}>
      <span class={`badge payment-${payment.state}`}>{paymentWords(payment)}</span>
      {failure ? (
        <span class="reason" data-payment-failure={failure.step}>
          {" "}
          {t("payment.stepFailed", { step: failure.step, message: failure.message })}
        </span>
      ) : null}
    </div>
  );
}

/** Whether the service's view says money was captured for the booking (what a refund can give back). */
export const refundable = (r: ReservationView): boolean =>
  r.payment?.state === "captured" || r.payment?.state === "partially_refunded";

/**
 * An operator's refund of a captured booking: a button opening a small form (amount, reason, both
 * required). The service decides how much can still be refunded; its refusal is shown in its words.
 */
export function RefundForm(props: {
  readonly r: ReservationView;
  readonly onMessage: (message: string) => void;
}) {
  const { r } = props;
  // Amounts typed and shown in the currency's major unit, as the booking's payment line shows them.
  const currency = r.payment?.currency ?? "KRW";
  const [open, setOpen] = useState(false);
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const { busy, problem, setProblem, run } = useAction();
  if (!open)
    return (
      <button
        type="button"
        class="secondary small"
        onClick={() => setOpen(true)}
        aria-label={t("refund.label", { plate: r.carNumber })}
      >
        {t("refund.open")}
      </button>
    );
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const decided = await api.refundPayment(r.parkingLotId, r.reservationId, {
        amount: minorAmount(Number(amount), currency),
        reason: reason.trim(),
      });
      props.onMessage(
        t("refund.decided", { amount: majorAmount(decided.amount, currency), plate: r.carNumber }),
      );
      setAmount("");
      setReason("");
      setOpen(false);
    });
  };
  return (
    <form class="refund-form" onSubmit={submit} aria-label={t("refund.label", { plate: r.carNumber })}>
      <label>
        {t("refund.amount", { currency })}
        <input
          type="number"
          name="amount"
          min={majorStep(currency)}
          step={majorStep(currency)}
          required
          value={amount}
          onInput={(e) => setAmount(e.currentTarget.value)}
        />
      </label>
      <label>
        {t("refund.reason")}
        <input
          type="text"
          name="reason"
          required
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      </label>
      <button type="submit" class="small" disabled={busy}>
        {t("refund.submit")}
      </button>{" "}
      <button
        type="button"
        class="secondary small"
        onClick={() => {
          setProblem(null);
          setOpen(false);
        }}
      >
        {t("refund.notNow")}
      </button>
      <ProblemMessage problem={problem} />
    </form>
  );
}
