import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  type ParkingLotDetail,
  type ParkingLotView,
  type ReservationPage,
  type ReservationQuery,
  type ReservationView,
  type TimelineView,
} from "./api.js";
import { AsOfSlider, useLotAsOf } from "./as-of-slider.js";
import { type FindBy, FindForm, type Status } from "./find-reservations.js";
import { clockOf, count, taken, tone } from "./format.js";
import { CancelDialog, ProblemMessage } from "./forms.js";
import { GateReviews } from "./gate-reviews.js";
import { t } from "./i18n.js";
import { CapacityForm, Closures, HourlyRate } from "./lot-actions.js";
import { LotClock, useClock } from "./lot-clock.js";
import { LotHistory } from "./lot-history.js";
import { useCoalescedRead, useLotNow, useTimeline } from "./lot-reads.js";
import { TermsForms } from "./lot-terms.js";
import type { LotRowData } from "./lots-table.js";
import { ReservationTable } from "./reservation-table.js";
import { Takings } from "./takings.js";
import { Timeline } from "./timeline.js";

/** The spots free in one of the next hours, as GET /parking-lots/{id} answers them. */
type HourFree = ParkingLotDetail["nextHours"][number];

/** Free spots in each of the next hours (the whole hour), with a bar of the share taken; a closed hour says so. */
function NextHours(props: {
  readonly capacity: number;
  readonly hours: readonly HourFree[];
  readonly closures: ParkingLotDetail["closures"];
}) {
  const { hour: hourOf } = useClock();
  return (
    <section class="next-hours" aria-labelledby="next-hours-title">
      <h3 id="next-hours-title">{t("detail.nextHours")}</h3>
      <ol>
        {props.hours.map((h) => {
          const share = taken(props.capacity, h.availableSpots);
          const closed = (props.closures ?? []).some(
            (c) => Date.parse(c.from) < Date.parse(h.until) && Date.parse(c.until) > Date.parse(h.from),
          );
          return (
            <li
              key={h.from}
              data-hour={h.from}
              data-free={h.availableSpots}
              data-closed={closed ? "" : undefined}
            >
              <span class="hour">{hourOf(h.from)}</span>
              <b>{count(h.availableSpots)}</b>
              <span class="sr-only">{t("detail.free")}</span>
              {closed ? <span class="badge closed">{t("detail.closed")}</span> : null}
              <div class={`bar ${closed ? "closed" : tone(share)}`} aria-hidden="true">
                <span style={{ width: `${Math.round(share * 100)}%` }} />
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/**
 * The lot's figures now, or as of the moment the slider chose (`now` is then the lot as of it):
 * free (as the service computes it), active, closed until, canceled, its rate.
 */
function DetailStats(props: { readonly lot: ParkingLotView; readonly now: ParkingLotDetail | null }) {
  const lot = props.now?.asOf ? props.now : props.lot;
  const { now } = props;
  const { hour: hourOf } = useClock();
  return (
    <p class="detail-stats">
      <span class="lot-zone" data-time-zone={lot.timeZone}>
        {t("detail.zone", {
          zone: lot.timeZone ?? "UTC",
          abbreviation: clockOf(lot.timeZone).abbreviation(),
        })}
      </span>
      <span data-free-now={now?.freeNow ?? lot.availableSpots}>
        {t("detail.freeNow", {
          free: count(now?.freeNow ?? lot.availableSpots),
          capacity: count(lot.capacity),
        })}
      </span>
      <span data-active-now={lot.activeReservations}>
        {t("detail.activeNow", { n: count(lot.activeReservations) })}
      </span>
      {lot.closedUntil ? (
        <span class="badge closed" data-closed-until={lot.closedUntil}>
          {t("lots.closedUntil", { time: hourOf(lot.closedUntil) })}
        </span>
      ) : null}
      <span>{t("detail.canceled", { n: count(lot.canceledReservations) })}</span>
      {now ? <HourlyRate lot={now} /> : null}
    </p>
  );
}

/** What an operator changes on the lot: its closures and its capacity. */
function LotAdmin(props: {
  readonly now: ParkingLotDetail;
  /** The service's clock (a closure's preview counts from it). */
  readonly serviceNow: number;
  readonly onMessage: (message: string) => void;
}) {
  const { now } = props;
  // As of a past moment (the slider): the lot's closures and capacity then, nothing to change.
  const past = Boolean(now.asOf);
  return (
    <div class="lot-admin" data-admin-as-of={now.asOf?.at ?? "now"}>
      <Closures lot={now} now={props.serviceNow} onMessage={props.onMessage} past={past} />
      <section class="capacity" aria-labelledby="capacity-title">
        <h3 id="capacity-title">{t("detail.capacity")}</h3>
        <p>
          {t("detail.spots", { count: now.capacity, n: count(now.capacity) })} · <HourlyRate lot={now} /> ·{" "}
          <span data-customer-limit={now.maxActivePerCustomer ?? 4}>
            {t("detail.limit", { n: count(now.maxActivePerCustomer ?? 4) })}
          </span>
        </p>
        {past ? null : <CapacityForm lot={now} onMessage={props.onMessage} />}
        {past ? null : <TermsForms lot={now} onMessage={props.onMessage} />}
      </section>
    </div>
  );
}

/**
 * The lot's reservations as pages, newest first, for the applied search and status: the first
 * page read again on every live update (statuses and coupons change without the lot's counts
 * moving), older pages on demand. A new search or status starts over.
 */
function useReservationPages(parkingLotId: string, tick: number, asOf: string | null) {
  const [status, setStatus] = useState<Status | "">("");
  const [applied, setApplied] = useState<{ by: FindBy; value: string } | null>(null);
  const [pages, setPages] = useState<ReservationPage[]>([]);
  const [problem, setProblem] = useState<unknown>(null);

  const filter = useCallback(
    (cursor?: string): ReservationQuery => ({
      // Every key written out (no spreads), so that one the document no longer has fails to compile.
      parkingLotId,
      customerId: applied?.by === "customerId" ? applied.value : undefined,
      carNumber: applied?.by === "carNumber" ? applied.value : undefined,
      status: status || undefined,
      cursor: cursor || undefined,
      asOf: asOf ?? undefined,
    }),
    [parkingLotId, applied, status, asOf],
  );

  useEffect(() => setPages([]), [asOf]);
  useCoalescedRead(
    filter,
    asOf ? 0 : tick,
    (asked) => api.reservations(asked()),
    (first) => {
      setProblem(null);
      setPages((old) => [first, ...old.slice(1)]);
    },
    setProblem,
  );

  const older = async () => {
    const cursor = pages.at(-1)?.nextCursor;
    if (!cursor) return;
    try {
      const next = await api.reservations(filter(cursor));
      setPages((old) => [...old, next]);
    } catch (error) {
      setProblem(error);
    }
  };
  const find = (found: { by: FindBy; value: string } | null) => {
    setPages([]);
    setApplied(found);
  };
  const filterStatus = (next: Status | "") => {
    setPages([]);
    setStatus(next);
  };

  // Newer reservations push older ones onto the next page: show each once.
  const reservations = [...new Map(pages.flatMap((p) => p.items).map((r) => [r.reservationId, r])).values()];
  const empty =
    reservations.length === 0 && pages.length > 0 ? (applied ? t("detail.noMatch") : t("detail.none")) : null;
  const hasOlder = Boolean(pages.at(-1)?.nextCursor);
  return { status, applied, reservations, empty, hasOlder, problem, setProblem, older, find, filterStatus };
}

/** The service's clock as its last live timeline said (the page's own clock may differ). */
function useServiceNow(timeline: TimelineView | null): number {
  const [now, setNow] = useState(() => Date.now());
  const live = timeline && !timeline.asOf ? Date.parse(timeline.now) : null;
  useEffect(() => {
    if (live !== null) setNow(live);
  }, [live]);
  return now;
}

/**
 * One lot: its reservations newest first (paged), found by customer or plate, each cancelable.
 * `lot` comes from the live stream: when its counts change, the first page is read again. Every
 * time on it is on the lot's clock (its time zone, issue 49), whatever the browser's zone.
 */
export function LotDetail(props: LotDetailProps) {
  return (
    <LotClock.Provider value={clockOf(props.lot.timeZone)}>
      <LotDetailBody {...props} />
    </LotClock.Provider>
  );
}

interface LotDetailProps {
  readonly lot: LotRowData;
  /** Changes with every live update. */
  readonly tick: number;
  readonly onClose: () => void;
  readonly onMessage: (message: string) => void;
}

function LotDetailBody(props: LotDetailProps) {
  const { lot } = props;
  const now = useLotNow(lot.parkingLotId, props.tick);
  const [asOf, setAsOf] = useState<string | null>(null);
  const past = useLotAsOf(lot.parkingLotId, asOf);
  const shown = asOf ? past.then : now; // the header, closures and capacity as of the moment too
  const timeline = useTimeline(lot.parkingLotId, props.tick, asOf);
  const serviceNow = useServiceNow(timeline);
  const found = useReservationPages(lot.parkingLotId, props.tick, asOf);
  const [canceling, setCanceling] = useState<ReservationView | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
  }, [lot.parkingLotId]);

  return (
    <section class="panel detail" aria-labelledby="detail-title">
      <div class="detail-head">
        <h2 id="detail-title" tabIndex={-1} ref={heading}>
          {lot.name} <span class="muted">#{lot.parkingLotId}</span>
        </h2>
        <button type="button" class="secondary" onClick={props.onClose}>
          {t("detail.back")}
        </button>
      </div>
      {asOf ? null : (
        <GateReviews parkingLotId={lot.parkingLotId} tick={props.tick} onMessage={props.onMessage} />
      )}
      <DetailStats lot={lot} now={shown} />
      <AsOfSlider
        parkingLotId={lot.parkingLotId}
        registeredAt={lot.registeredAt}
        now={serviceNow}
        asOf={asOf}
        onAsOf={setAsOf}
        {...past}
      />
      {timeline ? <Timeline view={timeline} /> : null}
      {now?.nextHours?.length && !asOf ? (
        <NextHours capacity={lot.capacity} hours={now.nextHours} closures={now.closures} />
      ) : null}
      <FindForm
        status={found.status}
        applied={found.applied !== null}
        onFind={found.find}
        onStatus={found.filterStatus}
      />
      <ProblemMessage problem={found.problem} />
      <ReservationTable
        lotName={lot.name}
        reservations={found.reservations}
        empty={found.empty}
        asOf={asOf}
        atRisk={asOf ? [] : (lot.atRisk ?? [])}
        carsInLot={asOf || !lot.presence ? null : { inLot: lot.presence.inLot, capacity: lot.capacity }}
        onCancel={setCanceling}
        onProblem={found.setProblem}
        onMessage={props.onMessage}
      />
      {found.hasOlder ? (
        <button type="button" class="secondary" onClick={found.older}>
          {t("detail.older")}
        </button>
      ) : null}
      {shown ? <LotAdmin now={shown} serviceNow={serviceNow} onMessage={props.onMessage} /> : null}
      <Takings parkingLotId={lot.parkingLotId} tick={props.tick} now={serviceNow} />
      <LotHistory lot={lot} tick={props.tick} now={serviceNow} />
      {canceling ? (
        <CancelDialog
          reservation={canceling}
          onClose={(message) => {
            setCanceling(null);
            if (message) props.onMessage(message);
          }}
        />
      ) : null}
    </section>
  );
}
