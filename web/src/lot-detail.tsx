import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  type ParkingLotDetail,
  type ParkingLotView,
  type ReservationPage,
  type ReservationQuery,
  type ReservationView,
} from "./api.js";
import { AsOfSlider } from "./as-of-slider.js";
import { count, hourOf, money, taken, tone, when } from "./format.js";
import { CancelDialog, ProblemMessage } from "./forms.js";

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

/** Free spots in each of the next hours (the whole hour), with a bar of the share taken. */
function NextHours(props: { readonly capacity: number; readonly hours: readonly HourFree[] }) {
  return (
    <section class="next-hours" aria-labelledby="next-hours-title">
      <h3 id="next-hours-title">Free in the next hours</h3>
      <ol>
        {props.hours.map((h) => {
          const share = taken(props.capacity, h.availableSpots);
          return (
            <li key={h.from} data-hour={h.from} data-free={h.availableSpots}>
              <span class="hour">{hourOf(h.from)}</span>
              <b>{count(h.availableSpots)}</b>
              <span class="sr-only"> free</span>
              <div class={`bar ${tone(share)}`} aria-hidden="true">
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
      cursor: cursor || undefined,
    }),
    [lot.parkingLotId, applied],
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
      </p>
      {now?.nextHours?.length ? <NextHours capacity={lot.capacity} hours={now.nextHours} /> : null}
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
              <th scope="col">Reserved</th>
              <th scope="col">Plate</th>
              <th scope="col">Customer</th>
              <th scope="col" class="num">
                Amount
              </th>
              <th scope="col">Status</th>
              <th scope="col">Coupon</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {reservations.map((r) => (
              <tr key={r.reservationId} data-reservation={r.reservationId}>
                <td data-label="Reserved">{when(r.reservedAt)}</td>
                <td data-label="Plate" class="plate">
                  {r.carNumber}
                </td>
                <td data-label="Customer">
                  <code>{r.customerId}</code>
                </td>
                <td data-label="Amount" class="num">
                  {money(r.amount)}
                </td>
                <td data-label="Status">
                  <span class={`badge status-${r.status.toLowerCase()}`}>{r.status}</span>
                  {r.cancelReason ? <span class="reason"> {r.cancelReason}</span> : null}
                </td>
                <td data-label="Coupon">
                  {r.coupon ? (
                    <span class={`badge coupon-${r.coupon.status.toLowerCase()}`}>{r.coupon.status}</span>
                  ) : (
                    <span class="muted">pending</span>
                  )}
                </td>
                <td>
                  {r.status === "RESERVED" ? (
                    <button
                      type="button"
                      class="danger small"
                      onClick={() => setCanceling(r)}
                      aria-label={`Cancel the reservation of ${r.carNumber}`}
                    >
                      Cancel
                    </button>
                  ) : null}
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
