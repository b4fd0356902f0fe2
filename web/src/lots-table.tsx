import { Component } from "preact";
import type { ControlCenterView, ParkingLotView } from "./api.js";
import { clockOf, count, occupancy, percentOf, tone } from "./format.js";
import { t } from "./i18n.js";
import { type MoneyDay, moneyAmounts, moneyFailures } from "./payment-words.js";

type Presence = ControlCenterView["parkingLots"][number]["presence"];
type AtRisk = ControlCenterView["parkingLots"][number]["atRisk"];
/** A lot as the table shows it: from the control center (with who is there) or a later page of lots. */
export type LotRowData = ParkingLotView & {
  readonly presence?: Presence;
  readonly atRisk?: AtRisk;
  /** Gate reads waiting for an attendant (issue 69), as the control center counts them. */
  readonly openReviews?: number;
  /** Today's money (payments on, a payment fact today); absent otherwise. */
  readonly money?: MoneyDay;
};

const samePresence = (a: Presence | undefined, b: Presence | undefined): boolean =>
  a?.inLot === b?.inLot &&
  a?.expected === b?.expected &&
  a?.overstaying === b?.overstaying &&
  a?.noShows === b?.noShows;

/**
 * In the lot now, arrivals due within the hour, staying past their window and reservations an
 * overstay puts at risk (highlighted: what an operator must settle), no-shows of the last day.
 */
function PresenceCell(props: {
  readonly presence: Presence | undefined;
  readonly atRisk: AtRisk | undefined;
}) {
  const { presence } = props;
  if (!presence) return <span class="muted">–</span>;
  const atRisk = props.atRisk?.length ?? 0;
  return (
    <span class="presence">
      <span data-in-lot={presence.inLot}>{t("presence.in", { n: count(presence.inLot) })}</span>
      {" · "}
      <span data-expected={presence.expected}>{t("presence.due", { n: count(presence.expected) })}</span>
      {presence.overstaying > 0 ? (
        <strong class="overstaying" data-overstaying={presence.overstaying}>
          {" · "}
          {t("presence.overstaying", { n: count(presence.overstaying) })}
        </strong>
      ) : null}
      {atRisk > 0 ? (
        <strong
          class="at-risk"
          data-at-risk={atRisk}
          title={props.atRisk?.map((r) => r.carNumber).join(", ")}
        >
          {" · "}
          {t("presence.atRisk", { n: count(atRisk) })}
        </strong>
      ) : null}
      {presence.noShows > 0 ? (
        <span class="no-shows" data-no-shows={presence.noShows}>
          {" · "}
          {t("presence.noShows", { count: presence.noShows, n: count(presence.noShows) })}
        </span>
      ) : null}
    </span>
  );
}

/** Today's money of a lot: per currency revenue, refunds and net; the payments that did not arrive, highlighted. */
function MoneyCell({ money }: { readonly money: MoneyDay | undefined }) {
  if (!money) return <span class="muted">–</span>;
  const failures = moneyFailures(money);
  return (
    <span class="money-today">
      {moneyAmounts(money).map((words) => (
        <span class="money-amounts" key={words}>
          {words}
        </span>
      ))}
      {failures.length ? <strong class="money-failed">{failures.join(" · ")}</strong> : null}
    </span>
  );
}

/** Occupancy now: a bar, except for a lot closed now or without spots, which has its own look. */
function OccupancyCell({ lot }: { readonly lot: LotRowData }) {
  if (lot.closedUntil)
    return (
      <span class="lot-state closed" data-occupancy="closed">
        {t("lots.closed")}
      </span>
    );
  if (lot.capacity === 0)
    return (
      <span class="lot-state no-spots" data-occupancy="no-spots">
        {t("lots.noSpots")}
      </span>
    );
  const share = occupancy(lot);
  return (
    <span data-occupancy={Math.round(share * 100)}>
      <div class={`bar ${tone(share)}`} aria-hidden="true">
        <span style={{ width: `${Math.round(share * 100)}%` }} />
      </div>
      <span class="bar-label">
        {percentOf(share)}
        <span class="sr-only">{t("lots.taken")}</span>
      </span>
    </span>
  );
}

/**
 * One lot's row. A live update re-renders only the rows whose lot changed (most of a hundred do
 * not, even at hundreds of reservations a second), which keeps the main thread free.
 */
class LotRow extends Component<{ lot: LotRowData; withMoney: boolean; onSelect: (id: string) => void }> {
  override shouldComponentUpdate(next: { lot: LotRowData; withMoney: boolean }): boolean {
    const a = this.props.lot;
    const b = next.lot;
    // The figures of the moment change with no event (updatedAt stays): compare them all.
    return (
      a.updatedAt !== b.updatedAt ||
      a.availableSpots !== b.availableSpots ||
      a.activeReservations !== b.activeReservations ||
      a.capacity !== b.capacity ||
      a.closedUntil !== b.closedUntil ||
      a.canceledReservations !== b.canceledReservations ||
      a.name !== b.name ||
      !samePresence(a.presence, b.presence) ||
      a.atRisk?.length !== b.atRisk?.length ||
      a.openReviews !== b.openReviews ||
      this.props.withMoney !== next.withMoney ||
      JSON.stringify(a.money) !== JSON.stringify(b.money)
    );
  }

  override render() {
    const { lot } = this.props;
    // Free now as the API computes it (windows holding a spot now, check-outs, closures): the bar too.
    const state = lot.closedUntil ? " lot-closed" : lot.capacity === 0 ? " lot-no-spots" : "";
    return (
      <tr key={lot.parkingLotId} data-lot={lot.parkingLotId} class={state.trim() || undefined}>
        <th scope="row" data-label={t("lots.col.lot")}>
          <button type="button" class="link" onClick={() => this.props.onSelect(lot.parkingLotId)}>
            {lot.name}
          </button>
          <span class="muted lot-id">#{lot.parkingLotId}</span>
          {lot.openReviews ? (
            <span class="badge review-count" data-open-reviews={lot.openReviews}>
              {t("lots.reviews", { n: lot.openReviews })}
            </span>
          ) : null}
        </th>
        <td data-label={t("lots.col.capacity")} class="num">
          {count(lot.capacity)}
        </td>
        <td data-label={t("lots.col.free")} class="num free" data-free={lot.availableSpots}>
          {count(lot.availableSpots)}
          {lot.closedUntil ? (
            <span class="badge closed" data-closed-until={lot.closedUntil}>
              {t("lots.closedUntil", { time: clockOf(lot.timeZone).hour(lot.closedUntil) })}
            </span>
          ) : null}
        </td>
        <td data-label={t("lots.col.active")} class="num" data-active={lot.activeReservations}>
          {count(lot.activeReservations)}
        </td>
        <td data-label={t("lots.col.canceled")} class="num">
          {count(lot.canceledReservations)}
        </td>
        <td
          data-label={t("lots.col.presence")}
          data-presence={lot.presence ? JSON.stringify(lot.presence) : undefined}
        >
          <PresenceCell presence={lot.presence} atRisk={lot.atRisk} />
        </td>
        <td data-label={t("lots.col.occupancy")}>
          <OccupancyCell lot={lot} />
        </td>
        {this.props.withMoney ? (
          <td data-label={t("lots.col.money")} data-money={lot.money ? JSON.stringify(lot.money) : undefined}>
            <MoneyCell money={lot.money} />
          </td>
        ) : null}
      </tr>
    );
  }
}

/**
 * The lots, one row each: a lot's name opens its detail. Today's money is a column only when a
 * lot shown has any (payments on): a lot run with payments off shows nothing new.
 */
export function LotsTable(props: {
  readonly lots: readonly LotRowData[];
  readonly onSelect: (id: string) => void;
}) {
  const withMoney = props.lots.some((lot) => lot.money);
  return (
    <div class="table-wrap">
      <table class="lots">
        <caption class="sr-only">{t("lots.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("lots.col.lot")}</th>
            <th scope="col" class="num">
              {t("lots.col.capacity")}
            </th>
            <th scope="col" class="num">
              {t("lots.col.free")}
            </th>
            <th scope="col" class="num">
              {t("lots.col.active")}
            </th>
            <th scope="col" class="num">
              {t("lots.col.canceled")}
            </th>
            <th scope="col">{t("lots.col.presence")}</th>
            <th scope="col">{t("lots.col.occupancy")}</th>
            {withMoney ? (
              <th scope="col" title={t("lots.col.moneyHint")}>
                {t("lots.col.money")}
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {props.lots.map((lot) => (
            <LotRow key={lot.parkingLotId} lot={lot} withMoney={withMoney} onSelect={props.onSelect} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
