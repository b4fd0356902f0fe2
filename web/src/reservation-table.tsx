import { useState } from "preact/hooks";
import { api, type ControlCenterView, type ReservationView } from "./api.js";
import { count, money } from "./format.js";
import { t, tCode } from "./i18n.js";
import { windowOf } from "./lot-actions.js";
import { useClock } from "./lot-clock.js";
import { PaymentSummary, RefundForm, refundable } from "./payment.js";

/** The lot's reservations the service found at risk (control center's `atRisk`), soonest first. */
export type AtRisk = ControlCenterView["parkingLots"][number]["atRisk"];

/** Cars in the lot now and its spots, as the control center counted them (null: not known). */
export interface CarsInLot {
  readonly inLot: number;
  readonly capacity: number;
}

/** Whether the lot has a car in every spot: checking one more in asks first. */
const fullOfCars = (cars: CarsInLot | null): cars is CarsInLot =>
  cars !== null && cars.inLot >= cars.capacity;

/** The confirm step before checking a car into a full lot: says so, and asks. */
function FullLotConfirm(props: {
  readonly r: ReservationView;
  readonly cars: CarsInLot;
  readonly busy: boolean;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}) {
  return (
    <div
      class="full-lot-confirm"
      role="alertdialog"
      aria-label={t("table.fullLabel", { plate: props.r.carNumber })}
    >
      <p>
        <strong>{t("table.full")}</strong>{" "}
        {t("table.fullCount", {
          count: props.cars.capacity,
          inLot: count(props.cars.inLot),
          capacity: count(props.cars.capacity),
        })}{" "}
        <span class="plate">{props.r.carNumber}</span> {t("table.anyway")}
      </p>
      <button type="button" class="danger small" disabled={props.busy} onClick={props.onConfirm}>
        {t("table.checkInAnyway")}
      </button>{" "}
      <button type="button" class="secondary small" onClick={props.onCancel}>
        {t("table.notNow")}
      </button>
    </div>
  );
}

/** Check in, check out or cancel: the steps a reservation with this status can take. */
function ReservationActions(props: {
  readonly r: ReservationView;
  readonly cars: CarsInLot | null;
  readonly onCancel: (r: ReservationView) => void;
  readonly onProblem: (problem: unknown) => void;
  readonly onMessage: (message: string) => void;
}) {
  const { r } = props;
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const step = async (action: "check-in" | "check-out") => {
    setConfirming(false);
    setBusy(true);
    props.onProblem(null);
    try {
      if (action === "check-in") {
        await api.checkIn(r.parkingLotId, r.reservationId);
        props.onMessage(t("table.checkedInDone", { plate: r.carNumber }));
      } else {
        props.onMessage(checkedOut(r, await api.checkOut(r.parkingLotId, r.reservationId)));
      }
    } catch (error) {
      props.onProblem(error);
    } finally {
      setBusy(false);
    }
  };
  if (confirming && fullOfCars(props.cars))
    return (
      <FullLotConfirm
        r={r}
        cars={props.cars}
        busy={busy}
        onConfirm={() => step("check-in")}
        onCancel={() => setConfirming(false)}
      />
    );
  return (
    <div class="row-actions">
      {r.status === "RESERVED" ? (
        <button
          type="button"
          class="small"
          disabled={busy}
          onClick={() => (fullOfCars(props.cars) ? setConfirming(true) : step("check-in"))}
          aria-label={t("table.checkInLabel", { plate: r.carNumber })}
        >
          {t("table.checkIn")}
        </button>
      ) : null}
      {r.status === "CHECKED_IN" || r.status === "OVERSTAYING" ? (
        <button
          type="button"
          class="small"
          disabled={busy}
          onClick={() => step("check-out")}
          aria-label={t("table.checkOutLabel", { plate: r.carNumber })}
        >
          {t("table.checkOut")}
        </button>
      ) : null}
      {r.status === "RESERVED" || r.status === "CHECKED_IN" || r.status === "OVERSTAYING" ? (
        <button
          type="button"
          class="danger small"
          onClick={() => props.onCancel(r)}
          aria-label={t("table.cancelLabel", { plate: r.carNumber })}
        >
          {t("table.cancel")}
        </button>
      ) : null}
      {refundable(r) ? <RefundForm r={r} onMessage={props.onMessage} /> : null}
    </div>
  );
}

/** The overstay cell: minutes past the window and the charge so far (from the service), or the charge made. */
function Overstay({ r }: { readonly r: ReservationView }) {
  if (r.overstay)
    return (
      <td
        data-label={t("table.overstay")}
        class="num overstay-now"
        data-overstay-minutes={r.overstay.minutes}
        data-overstay-so-far={r.overstay.chargeSoFar}
        data-overstay-charge={0}
      >
        <b>{t("table.overstayNow", { minutes: count(r.overstay.minutes) })}</b> ·{" "}
        {t("table.soFar", { amount: money(r.overstay.chargeSoFar) })}
      </td>
    );
  return (
    <td data-label={t("table.overstay")} class="num" data-overstay-charge={r.overstayCharge ?? 0}>
      {r.overstayCharge ? money(r.overstayCharge) : <span class="muted">—</span>}
    </td>
  );
}

/**
 * What a check-out says: the price of the stay (an open-ended stay's, which the check-out answer
 * fixes, else the booking's agreed price) and the overstay charge the answer adds, if any.
 */
function checkedOut(r: ReservationView, out: Awaited<ReturnType<typeof api.checkOut>>): string {
  const price = "amount" in out && out.amount !== undefined ? out.amount : r.amount;
  const charge = "overstayCharge" in out && out.overstayCharge ? out.overstayCharge : 0;
  return charge
    ? t("table.checkedOutCharged", { plate: r.carNumber, price: money(price), charge: money(charge) })
    : t("table.checkedOutDone", { plate: r.carNumber, price: money(price) });
}

/** One reservation's row: its window, plate, customer, status, check-in and -out, amounts, coupon, steps. */
function ReservationRow(props: {
  readonly r: ReservationView;
  /** The service found it at risk (a spot it holds may be taken by a car overstaying). */
  readonly risk: AtRisk[number] | undefined;
  /** Shown as of a moment of the past: nothing to do. */
  readonly past: boolean;
  readonly cars: CarsInLot | null;
  readonly onCancel: (r: ReservationView) => void;
  readonly onProblem: (problem: unknown) => void;
  readonly onMessage: (message: string) => void;
}) {
  const { r, risk } = props;
  const clock = useClock();
  const { when } = clock;
  return (
    <tr data-reservation={r.reservationId} class={risk ? "at-risk-row" : undefined}>
      <td data-label={t("table.window")} title={t("table.reservedAt", { when: when(r.reservedAt) })}>
        {windowOf(r, clock)}
      </td>
      <td data-label={t("table.plate")} class="plate">
        {r.carNumber}
      </td>
      <td data-label={t("table.customer")}>
        <code>{r.customerId}</code>
      </td>
      <td data-label={t("table.status")} data-status={r.status}>
        <span class={`badge status-${r.status.toLowerCase()}`}>{tCode("status", r.status)}</span>
        {r.cancelReason ? <span class="reason"> {tCode("reason", r.cancelReason)}</span> : null}
        {risk ? (
          <span class="badge at-risk" data-at-risk={risk.heldFrom}>
            {t("table.atRisk", { when: when(risk.heldFrom) })}
          </span>
        ) : null}
      </td>
      <td data-label={t("table.checkedIn")}>
        {r.checkedInAt ? when(r.checkedInAt) : <span class="muted">—</span>}
      </td>
      <td data-label={t("table.checkedOut")}>
        {r.checkedOutAt ? when(r.checkedOutAt) : <span class="muted">—</span>}
      </td>
      <td data-label={t("table.amount")} class="num">
        {money(r.amount)}
        {r.payment ? <PaymentSummary payment={r.payment} /> : null}
      </td>
      <Overstay r={r} />
      {/* Blank where no coupon is to come (the service's `couponDue`: canceled, a no-show, a stay too short). */}
      <td data-label={t("table.coupon")} data-coupon={r.coupon?.status ?? (r.couponDue ? "pending" : "")}>
        {r.coupon ? (
          <span class={`badge coupon-${r.coupon.status.toLowerCase()}`}>
            {tCode("coupon", r.coupon.status)}
          </span>
        ) : r.couponDue ? (
          <span class="muted">{t("coupon.pending")}</span>
        ) : null}
        {r.spentCoupon ? (
          <span class="badge coupon-spent" data-spent-coupon={r.spentCoupon.couponId}>
            {t("coupon.spent")}
          </span>
        ) : null}
      </td>
      <td>
        {props.past ? null : (
          <ReservationActions
            r={r}
            cars={props.cars}
            onCancel={props.onCancel}
            onProblem={props.onProblem}
            onMessage={props.onMessage}
          />
        )}
      </td>
    </tr>
  );
}

/** A lot's reservations, newest first, one row each; `empty` is said when there is none to show. */
export function ReservationTable(props: {
  readonly lotName: string;
  readonly reservations: readonly ReservationView[];
  readonly empty: string | null;
  /** The moment shown, when it is not now (no steps can be taken on the past). */
  readonly asOf: string | null;
  readonly atRisk: AtRisk;
  readonly carsInLot: CarsInLot | null;
  readonly onCancel: (r: ReservationView) => void;
  readonly onProblem: (problem: unknown) => void;
  readonly onMessage: (message: string) => void;
}) {
  const { when } = useClock();
  return (
    <div class="table-wrap">
      <table class="reservations">
        <caption class="sr-only">
          {props.asOf
            ? t("table.captionAsOf", { lot: props.lotName, when: when(props.asOf) })
            : t("table.caption", { lot: props.lotName })}
        </caption>
        <thead>
          <tr>
            <th scope="col">{t("table.window")}</th>
            <th scope="col">{t("table.plate")}</th>
            <th scope="col">{t("table.customer")}</th>
            <th scope="col">{t("table.status")}</th>
            <th scope="col">{t("table.checkedIn")}</th>
            <th scope="col">{t("table.checkedOut")}</th>
            <th scope="col" class="num">
              {t("table.amount")}
            </th>
            <th scope="col" class="num">
              {t("table.overstay")}
            </th>
            <th scope="col">{t("table.coupon")}</th>
            <th scope="col">
              <span class="sr-only">{t("table.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.reservations.map((r) => (
            <ReservationRow
              key={r.reservationId}
              r={r}
              risk={props.atRisk.find((a) => a.reservationId === r.reservationId)}
              past={props.asOf !== null}
              cars={props.carsInLot}
              onCancel={props.onCancel}
              onProblem={props.onProblem}
              onMessage={props.onMessage}
            />
          ))}
        </tbody>
      </table>
      {props.empty ? <p class="empty">{props.empty}</p> : null}
    </div>
  );
}
