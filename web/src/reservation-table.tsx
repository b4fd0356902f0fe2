import { useState } from "preact/hooks";
import { api, type ReservationView } from "./api.js";
import { money, when } from "./format.js";
import { windowOf } from "./lot-actions.js";

/** Check in, check out or cancel: the steps a reservation with this status can take. */
function ReservationActions(props: {
  readonly r: ReservationView;
  readonly onCancel: (r: ReservationView) => void;
  readonly onProblem: (problem: unknown) => void;
  readonly onMessage: (message: string) => void;
}) {
  const { r } = props;
  const [busy, setBusy] = useState(false);
  const step = async (action: "check-in" | "check-out") => {
    setBusy(true);
    props.onProblem(null);
    try {
      if (action === "check-in") {
        await api.checkIn(r.parkingLotId, r.reservationId);
        props.onMessage(`Checked in ${r.carNumber}.`);
      } else {
        const out = await api.checkOut(r.parkingLotId, r.reservationId);
        const charge = "overstayCharge" in out && out.overstayCharge ? out.overstayCharge : 0;
        props.onMessage(`Checked out ${r.carNumber}${charge ? `: overstay charge ${money(charge)}` : ""}.`);
      }
    } catch (error) {
      props.onProblem(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="row-actions">
      {r.status === "RESERVED" ? (
        <button
          type="button"
          class="small"
          disabled={busy}
          onClick={() => step("check-in")}
          aria-label={`Check in ${r.carNumber}`}
        >
          Check in
        </button>
      ) : null}
      {r.status === "CHECKED_IN" || r.status === "OVERSTAYING" ? (
        <button
          type="button"
          class="small"
          disabled={busy}
          onClick={() => step("check-out")}
          aria-label={`Check out ${r.carNumber}`}
        >
          Check out
        </button>
      ) : null}
      {r.status === "RESERVED" || r.status === "CHECKED_IN" || r.status === "OVERSTAYING" ? (
        <button
          type="button"
          class="danger small"
          onClick={() => props.onCancel(r)}
          aria-label={`Cancel the reservation of ${r.carNumber}`}
        >
          Cancel
        </button>
      ) : null}
    </div>
  );
}

/** One reservation's row: its window, plate, customer, status, check-in and -out, amounts, coupon, steps. */
function ReservationRow(props: {
  readonly r: ReservationView;
  readonly onCancel: (r: ReservationView) => void;
  readonly onProblem: (problem: unknown) => void;
  readonly onMessage: (message: string) => void;
}) {
  const { r } = props;
  return (
    <tr data-reservation={r.reservationId}>
      <td data-label="Window" title={`Reserved ${when(r.reservedAt)}`}>
        {windowOf(r)}
      </td>
      <td data-label="Plate" class="plate">
        {r.carNumber}
      </td>
      <td data-label="Customer">
        <code>{r.customerId}</code>
      </td>
      <td data-label="Status" data-status={r.status}>
        <span class={`badge status-${r.status.toLowerCase()}`}>{r.status}</span>
        {r.cancelReason ? <span class="reason"> {r.cancelReason}</span> : null}
      </td>
      <td data-label="Checked in">{r.checkedInAt ? when(r.checkedInAt) : <span class="muted">—</span>}</td>
      <td data-label="Checked out">{r.checkedOutAt ? when(r.checkedOutAt) : <span class="muted">—</span>}</td>
      <td data-label="Amount" class="num">
        {money(r.amount)}
      </td>
      <td data-label="Overstay" class="num" data-overstay-charge={r.overstayCharge ?? 0}>
        {r.overstayCharge ? money(r.overstayCharge) : <span class="muted">—</span>}
      </td>
      <td data-label="Coupon">
        {r.coupon ? (
          <span class={`badge coupon-${r.coupon.status.toLowerCase()}`}>{r.coupon.status}</span>
        ) : (
          <span class="muted">pending</span>
        )}
      </td>
      <td>
        <ReservationActions
          r={r}
          onCancel={props.onCancel}
          onProblem={props.onProblem}
          onMessage={props.onMessage}
        />
      </td>
    </tr>
  );
}

/** A lot's reservations, newest first, one row each; `empty` is said when there is none to show. */
export function ReservationTable(props: {
  readonly lotName: string;
  readonly reservations: readonly ReservationView[];
  readonly empty: string | null;
  readonly onCancel: (r: ReservationView) => void;
  readonly onProblem: (problem: unknown) => void;
  readonly onMessage: (message: string) => void;
}) {
  return (
    <div class="table-wrap">
      <table class="reservations">
        <caption class="sr-only">Reservations of {props.lotName}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Window</th>
            <th scope="col">Plate</th>
            <th scope="col">Customer</th>
            <th scope="col">Status</th>
            <th scope="col">Checked in</th>
            <th scope="col">Checked out</th>
            <th scope="col" class="num">
              Amount
            </th>
            <th scope="col" class="num">
              Overstay
            </th>
            <th scope="col">Coupon</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.reservations.map((r) => (
            <ReservationRow
              key={r.reservationId}
              r={r}
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
