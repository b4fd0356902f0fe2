import { useState } from "preact/hooks";
import { api, type ParkingLotDetail } from "./api.js";
import { count, money } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";
import { t } from "./i18n.js";

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
      props.onMessage(t("terms.rateDone", { lot: lot.name, amount: money(changed.hourlyRate) }));
      setRate("");
    });
  };
  const changeLimit = (event: Event) => {
    event.preventDefault();
    void limitAction.run(async () => {
      const changed = await api.changeCustomerLimit(lot.parkingLotId, Number(limit));
      const n = changed.maxActivePerCustomer;
      props.onMessage(t("terms.limitDone", { lot: lot.name, count: n, n: count(n) }));
      setLimit("");
    });
  };

  return (
    <div class="terms">
      <form class="capacity-form" onSubmit={changeRate} aria-label={t("terms.rateForm")}>
        <label>
          {t("terms.newRate")}
          <input
            type="number"
            min={1}
            inputMode="numeric"
            value={rate}
            onInput={(e) => setRate(e.currentTarget.value)}
            placeholder={lot.hourlyRate === undefined ? t("terms.none") : money(lot.hourlyRate)}
            required
          />
        </label>
        <button type="submit" class="secondary" disabled={rateAction.busy}>
          {t("terms.changeRate")}
        </button>
        <ProblemMessage problem={rateAction.problem} />
      </form>
      <form class="capacity-form" onSubmit={changeLimit} aria-label={t("terms.limitForm")}>
        <label>
          {t("terms.limit")}
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
          {t("terms.changeLimit")}
        </button>
        <ProblemMessage problem={limitAction.problem} />
      </form>
    </div>
  );
}
