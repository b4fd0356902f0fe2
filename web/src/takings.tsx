import { useState } from "preact/hooks";
import { ApiProblem, api, type LotMoneyView, moneyCsvUrl } from "./api.js";
import { dayInWords, majorAmount } from "./format.js";
import { ProblemMessage } from "./forms.js";
import { type MessageId, t } from "./i18n.js";
import { useClock } from "./lot-clock.js";
import { useCoalescedRead } from "./lot-reads.js";

type LotMoney = LotMoneyView;
type Amounts = LotMoney["totals"]["amounts"][number];

/** The days the view shows: the lot's last week, today included. */
const DAYS = 7;

/** The lot's local day `back` days before its today, YYYY-MM-DD (its time zone, issue 49). */
const dayOf = (zone: string, now: number, back: number): string =>
  new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(new Date(now - back * 86_400_000));

const COLUMNS: readonly [MessageId, (a: Amounts) => number][] = [
  ["takings.bookings", (a) => a.bookings],
  ["takings.overstays", (a) => a.overstays],
  ["takings.driveUps", (a) => a.driveUps],
  ["takings.refunds", (a) => a.refunds],
  ["takings.processor", (a) => a.collectedByProcessor],
  ["takings.onSite", (a) => a.collectedOnSite],
  ["takings.net", (a) => a.net],
];

/**
 * Issue 69: what the lot charged per local day of its last week (bookings with their fees,
 * overstays, drive-ups, refunds) and who collected it, the card processor or the gate (payments
 * off: everything on site), read again on every live update; the same days as CSV.
 */
export function Takings(props: {
  readonly parkingLotId: string;
  readonly tick: number;
  /** The service's clock (its last answer): the week ends on its day on the lot's clock. */
  readonly now: number;
}) {
  const { zone } = useClock();
  const [view, setView] = useState<LotMoney | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [from, to] = [dayOf(zone, props.now, DAYS - 1), dayOf(zone, props.now, 0)];
  useCoalescedRead(
    `${props.parkingLotId} ${from} ${to}`,
    props.tick,
    () => api.lotMoney(props.parkingLotId, from, to),
    (read) => {
      setProblem(null);
      setView(read);
    },
    setProblem,
  );
  // An attendant may not read the lot's money (403): no takings on their page.
  if (problem instanceof ApiProblem && problem.status === 403) return null;
  const rows = (view?.days ?? []).flatMap((d) => d.amounts.map((a) => ({ day: d.day, a })));
  const csv = moneyCsvUrl(props.parkingLotId, from, to);
  return (
    <section class="takings" aria-labelledby="takings-title">
      <h3 id="takings-title">{t("takings.title")}</h3>
      <p class="muted">
        {t("takings.range", { n: DAYS })} · {t("takings.caption", { zone })} ·{" "}
        <a href={csv} download data-takings-csv>
          {t("takings.csv")}
        </a>
      </p>
      {view && rows.length === 0 ? <p class="empty">{t("takings.none")}</p> : null}
      {rows.length ? (
        <div class="table-wrap">
          <table class="takings-table">
            <thead>
              <tr>
                <th scope="col">{t("takings.day")}</th>
                {COLUMNS.map(([label]) => (
                  <th scope="col" class="num" key={label}>
                    {t(label)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map(({ day, a }) => (
                <tr key={`${day} ${a.currency}`} data-takings-day={day} data-on-site={a.collectedOnSite}>
                  <th scope="row" data-label={t("takings.day")}>
                    <time dateTime={day}>{dayInWords(day)}</time> <span class="muted">{a.currency}</span>
                  </th>
                  {COLUMNS.map(([label, of]) => (
                    <td class="num" data-label={t(label)} key={label}>
                      {majorAmount(of(a), a.currency)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ProblemMessage problem={problem} />
    </section>
  );
}
