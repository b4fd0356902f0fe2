import { useState } from "preact/hooks";
import { api, type ParkingLotDetail } from "./api.js";
import { money } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";

/**
 * The lot's terms for bookings made from now on: its hourly rate and how many active bookings one
 * customer may hold. Bookings already made keep their price and stay, whatever is changed here.
 */
export function TermsForms(props: {
  readonly lot: ParkingLotDetail;
  readonly onMessage: (message: string) => void;
}) {
  const { lot } = props;
  const [rate, setRate] = useState("");
  const [limit, setLimit] = useState("");
  const rateAction = useAction();
  const limitAction = useAction();

  const changeRate = (event: Event) => {
    event.preventDefault();
    void rateAction.run(async () => {
      const changed = await api.changeRate(lot.parkingLotId, Number(rate));
      props.onMessage(
        `${lot.name} now charges ${money(changed.hourlyRate)} an hour for bookings made from now on; bookings made before keep their price.`,
      );
      setRate("");
    });
  };
  const changeLimit = (event: Event) => {
    event.preventDefault();
    void limitAction.run(async () => {
      const changed = await api.changeCustomerLimit(lot.parkingLotId, Number(limit));
      const n = changed.maxActivePerCustomer;
      props.onMessage(
        `A customer may now hold ${n} active ${n === 1 ? "booking" : "bookings"} in ${lot.name}; bookings already made stay.`,
      );
      setLimit("");
    });
  };

  return (
    <div class="terms">
      <form class="capacity-form" onSubmit={changeRate} aria-label="Change the hourly rate">
        <label>
          New hourly rate
          <input
            type="number"
            min={1}
            inputMode="numeric"
            value={rate}
            onInput={(e) => setRate(e.currentTarget.value)}
            placeholder={lot.hourlyRate === undefined ? "none" : String(lot.hourlyRate)}
            required
          />
        </label>
        <button type="submit" class="secondary" disabled={rateAction.busy}>
          Change rate
        </button>
        <ProblemMessage problem={rateAction.problem} />
      </form>
      <form class="capacity-form" onSubmit={changeLimit} aria-label="Change the per-customer limit">
        <label>
          Active bookings per customer
          <input
            type="number"
            min={1}
            max={1000}
            inputMode="numeric"
            value={limit}
            onInput={(e) => setLimit(e.currentTarget.value)}
            placeholder={String(lot.maxActivePerCustomer ?? 4)}
            required
          />
        </label>
        <button type="submit" class="secondary" disabled={limitAction.busy}>
          Change limit
        </button>
        <ProblemMessage problem={limitAction.problem} />
      </form>
    </div>
  );
}
