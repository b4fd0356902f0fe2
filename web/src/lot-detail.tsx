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
import { AsOfSlider } from "./as-of-slider.js";
import { count, hourOf, money, taken, tone, when } from "./format.js";
import { CancelDialog, ProblemMessage } from "./forms.js";
import { CapacityForm, Closures, HourlyRate, windowOf } from "./lot-actions.js";
import { Timeline } from "./timeline.js";

/** Every status a reservation can have, as the document lists them (the status filter's options). */
const STATUSES = [
  "RESERVED",
  "CHECKED_IN",
  "OVERSTAYING",
  "COMPLETED",
  "NO_SHOW",
  "CANCELED",
] as const satisfies readonly NonNullable<ReservationQuery["status"]>[];
type Status = (typeof STATUSES)[number];
const isStatus = (value: string): value is Status => (STATUSES as readonly string[]).includes(value);

/**
 * What a lot's reservations can be found by, as GET /reservations names its parameters (a
 * parameter renamed in the document no longer satisfies this).
 */
const FIND_BY = { customerId: "Customer id", carNumber: "Plate" } as const satisfies Partial<
  Record<keyof ReservationQuery, string>
>;
type FindBy = keyof typeof FIND_BY;
const isFindBy = (value: string): value is FindBy => Object.hasOwn(FIND_BY, value);

/** The spots free in one of the next hours, as GET /parking-lots/{id} answers them. */
type HourFree = ParkingLotDetail["nextHours"][number];

/**
 * Reads `load(key)` whenever `key` or `tick` changes, one read at a time: changes that arrive while
 * a read is under way coalesce into one more read, and an answer for a key that is no longer the
 * current one is dropped and read again. A live update a second must not mean a read a second
 * piling up behind a slow one.
 */
function useCoalescedRead<K, T>(
  key: K,
  tick: number,
  load: (key: K) => Promise<T>,
  deliver: (value: T) => void,
  fail: (error: unknown) => void,
): void {
  const reading = useRef({ busy: false, again: false, key });
  reading.current.key = key;
  const handlers = useRef({ load, deliver, fail });
  handlers.current = { load, deliver, fail };
  useEffect(() => {
    const state = reading.current;
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    void (async () => {
      try {
        do {
          state.again = false;
          const asked = state.key;
          const value = await handlers.current.load(asked);
          if (asked === state.key) handlers.current.deliver(value);
          else state.again = true;
        } while (state.again);
      } catch (error) {
        handlers.current.fail(error);
      } finally {
        state.busy = false;
      }
    })();
  }, [key, tick]);
}

/**
 * The lot's detail from the API, read again on every live update. Free now and the next hours
 * are computed by the service at its clock, so they follow windows starting and ending.
 */
function useLotNow(parkingLotId: string, tick: number): ParkingLotDetail | null {
  const [lot, setLot] = useState<ParkingLotDetail | null>(null);
  useCoalescedRead(parkingLotId, tick, api.parkingLot, setLot, () => {
    // The list's figures stay shown; the next update reads again.
  });
  return lot?.parkingLotId === parkingLotId ? lot : null;
}

/** The lot's next 24 hours by quarter hour, read again on every live update. */
function useTimeline(parkingLotId: string, tick: number): TimelineView | null {
  const [view, setView] = useState<TimelineView | null>(null);
  useCoalescedRead(
    parkingLotId,
    tick,
    (id) => api.timeline(id),
    setView,
    () => {
      // The last timeline stays shown; the next update reads again.
    },
  );
  return view?.parkingLotId === parkingLotId ? view : null;
}

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

/** Free spots in each of the next hours (the whole hour), with a bar of the share taken; a closed hour says so. */
function NextHours(props: {
  readonly capacity: number;
  readonly hours: readonly HourFree[];
  readonly closures: ParkingLotDetail["closures"];
}) {
  return (
    <section class="next-hours" aria-labelledby="next-hours-title">
      <h3 id="next-hours-title">Free in the next hours</h3>
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
              <span class="sr-only"> free</span>
              {closed ? <span class="badge closed">closed</span> : null}
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
 * One lot: its reservations newest first (paged), found by customer or plate, each cancelable.
 * `lot` comes from the live stream: when its counts change, the first page is read again.
 */
export function LotDetail(props: {
  readonly lot: ParkingLotView;
  /** Changes with every live update. */
  readonly tick: number;
  readonly onClose: () => void;
  readonly onMessage: (message: string) => void;
}) {
  const { lot } = props;
  const now = useLotNow(lot.parkingLotId, props.tick);
  const timeline = useTimeline(lot.parkingLotId, props.tick);
  const [status, setStatus] = useState<Status | "">("");
  const [findBy, setFindBy] = useState<FindBy>("customerId");
  const [needle, setNeedle] = useState("");
  const [applied, setApplied] = useState<{ by: FindBy; value: string } | null>(null);
  const [pages, setPages] = useState<ReservationPage[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [canceling, setCanceling] = useState<ReservationView | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  const filter = useCallback(
    (cursor?: string): ReservationQuery => ({
      // Every key written out (no spreads), so that one the document no longer has fails to compile.
      parkingLotId: lot.parkingLotId,
      customerId: applied?.by === "customerId" ? applied.value : undefined,
      carNumber: applied?.by === "carNumber" ? applied.value : undefined,
      status: status || undefined,
      cursor: cursor || undefined,
    }),
    [lot.parkingLotId, applied, status],
  );

  // The first page again on every live update (statuses and coupons change without the lot's
  // counts moving).
  useCoalescedRead(
    filter,
    props.tick,
    (asked) => api.reservations(asked()),
    (first) => {
      setProblem(null);
      setPages((old) => [first, ...old.slice(1)]);
    },
    setProblem,
  );

  useEffect(() => {
    heading.current?.focus();
  }, [lot.parkingLotId]);

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

  const find = (event: Event) => {
    event.preventDefault();
    setPages([]);
    setApplied(needle.trim() ? { by: findBy, value: needle.trim() } : null);
  };

  // Newer reservations push older ones onto the next page: show each once.
  const reservations = [...new Map(pages.flatMap((p) => p.items).map((r) => [r.reservationId, r])).values()];

  return (
    <section class="panel detail" aria-labelledby="detail-title">
      <div class="detail-head">
        <h2 id="detail-title" tabIndex={-1} ref={heading}>
          {lot.name} <span class="muted">#{lot.parkingLotId}</span>
        </h2>
        <button type="button" class="secondary" onClick={props.onClose}>
          Back to all lots
        </button>
      </div>
      <p class="detail-stats">
        <span data-free-now={now?.freeNow ?? lot.availableSpots}>
          <b>{count(now?.freeNow ?? lot.availableSpots)}</b> of {count(lot.capacity)} free now
        </span>
        <span data-active-now={lot.activeReservations}>
          <b>{count(lot.activeReservations)}</b> active now
        </span>
        {lot.closedUntil ? (
          <span class="badge closed" data-closed-until={lot.closedUntil}>
            closed until {hourOf(lot.closedUntil)}
          </span>
        ) : null}
        <span>
          <b>{count(lot.canceledReservations)}</b> canceled
        </span>
        {now ? <HourlyRate lot={now} /> : null}
      </p>
      {timeline ? <Timeline view={timeline} /> : null}
      {now?.nextHours?.length ? (
        <NextHours capacity={lot.capacity} hours={now.nextHours} closures={now.closures} />
      ) : null}
      <AsOfSlider parkingLotId={lot.parkingLotId} registeredAt={lot.registeredAt} />
      <form class="find" onSubmit={find} aria-label="Find reservations in this lot">
        <label>
          Find by
          <select
            value={findBy}
            onChange={(e) => {
              const by = e.currentTarget.value;
              if (isFindBy(by)) setFindBy(by);
            }}
          >
            {Object.entries(FIND_BY).map(([by, label]) => (
              <option value={by} key={by}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          {FIND_BY[findBy]}
          <input
            value={needle}
            onInput={(e) => setNeedle(e.currentTarget.value)}
            placeholder={findBy === "customerId" ? "CUST1" : "10더8612"}
          />
        </label>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setPages([]);
              setStatus(isStatus(value) ? value : "");
            }}
          >
            <option value="">Every status</option>
            {STATUSES.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Find</button>
        {applied ? (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setNeedle("");
              setPages([]);
              setApplied(null);
            }}
          >
            Show all
          </button>
        ) : null}
      </form>
      <ProblemMessage problem={problem} />
      <div class="table-wrap">
        <table class="reservations">
          <caption class="sr-only">Reservations of {lot.name}, newest first</caption>
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
            {reservations.map((r) => (
              <tr key={r.reservationId} data-reservation={r.reservationId}>
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
                <td data-label="Checked in">
                  {r.checkedInAt ? when(r.checkedInAt) : <span class="muted">—</span>}
                </td>
                <td data-label="Checked out">
                  {r.checkedOutAt ? when(r.checkedOutAt) : <span class="muted">—</span>}
                </td>
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
                    onCancel={setCanceling}
                    onProblem={setProblem}
                    onMessage={props.onMessage}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {reservations.length === 0 && pages.length > 0 ? (
          <p class="empty">{applied ? "No reservation matches." : "No reservations yet."}</p>
        ) : null}
      </div>
      {pages.at(-1)?.nextCursor ? (
        <button type="button" class="secondary" onClick={older}>
          Older reservations
        </button>
      ) : null}
      {now ? (
        <div class="lot-admin">
          <Closures
            lot={now}
            now={timeline ? Date.parse(timeline.now) : Date.now()}
            onMessage={props.onMessage}
          />
          <section class="capacity" aria-labelledby="capacity-title">
            <h3 id="capacity-title">Capacity</h3>
            <p>
              <b>{count(now.capacity)}</b> spots · <HourlyRate lot={now} />
            </p>
            <CapacityForm lot={now} onMessage={props.onMessage} />
          </section>
        </div>
      ) : null}
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
