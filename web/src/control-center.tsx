import { Component, render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  ApiProblem,
  api,
  type ControlCenterView,
  LIVE_UPDATES_URL,
  type ParkingLotPage,
  type ParkingLotView,
  SIGN_OUT_URL,
} from "./api.js";
import { ActivityChart, LagChart, type LagSample } from "./charts.js";
import { count, hourOf, occupancy, SORTS, type SortKey, tone, visibleLots } from "./format.js";
import { ProblemMessage, RegisterLotForm } from "./forms.js";
import { LotDetail } from "./lot-detail.js";
import "./styles.css";

type Connection = "connecting" | "live" | "reconnecting" | "signed-out";

const LAG_SAMPLES = 1200;
const LOT_PAGE = 100;

/** The live control-center view: the latest update of the event stream, and lag samples over time. */
function useLiveView() {
  const [view, setView] = useState<ControlCenterView | null>(null);
  const [tick, setTick] = useState(0);
  const [connection, setConnection] = useState<Connection>("connecting");
  const [samples, setSamples] = useState<LagSample[]>([]);

  useEffect(() => {
    const source = new EventSource(LIVE_UPDATES_URL);
    let pending: ControlCenterView | null = null;
    let frame = 0;
    // The server sends at most a few updates a second; a frame renders only the newest of them.
    const apply = () => {
      frame = 0;
      const next = pending;
      if (!next) return;
      pending = null;
      setView(next);
      setTick((t) => t + 1);
      setSamples((old) => [
        ...old.slice(-(LAG_SAMPLES - 1)),
        { at: Date.now(), lags: Object.fromEntries(next.projections.map((p) => [p.name, p.lag])) },
      ]);
    };
    source.addEventListener("control-center", (event) => {
      pending = JSON.parse((event as MessageEvent<string>).data) as ControlCenterView;
      frame ||= requestAnimationFrame(apply);
      setConnection("live");
    });
    source.onopen = () => setConnection("live");
    source.onerror = () => {
      // A refused stream (signed out) is closed for good; a dropped one is retried by the browser.
      if (source.readyState === EventSource.CLOSED) {
        api.controlCenter().then(
          () => setConnection("reconnecting"),
          (error: unknown) =>
            setConnection(error instanceof ApiProblem && error.signedOut ? "signed-out" : "reconnecting"),
        );
      } else setConnection("reconnecting");
    };
    // A quiet service sends no updates: keep the lag line going with the last known values.
    const idle = setInterval(() => {
      setSamples((old) => {
        const last = old.at(-1);
        return last && Date.now() - last.at > 4000
          ? [...old.slice(-(LAG_SAMPLES - 1)), { at: Date.now(), lags: last.lags }]
          : old;
      });
    }, 5000);
    return () => {
      source.close();
      clearInterval(idle);
      cancelAnimationFrame(frame);
    };
  }, []);

  return { view, tick, connection, samples };
}

/** Lots past the first hundred (the stream carries those), read page by page and kept fresh. */
function useMoreLots(view: ControlCenterView | null, tick: number) {
  const [pages, setPages] = useState<ParkingLotPage[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const refreshedAt = useRef(0);

  const loadMore = async () => {
    const cursor = pages.length ? pages.at(-1)?.nextCursor : view?.parkingLotsNextCursor;
    if (!cursor) return;
    try {
      const page = await api.parkingLots(cursor, LOT_PAGE);
      setPages((old) => [...old, page]);
      setProblem(null);
    } catch (error) {
      setProblem(error);
    }
  };

  // Loaded pages follow the live updates too, at most once a second.
  useEffect(() => {
    if (!pages.length || Date.now() - refreshedAt.current < 1000 || !view?.parkingLotsNextCursor) return;
    refreshedAt.current = Date.now();
    const cursors = [view.parkingLotsNextCursor, ...pages.slice(0, -1).map((p) => p.nextCursor)];
    Promise.all(cursors.map((c) => api.parkingLots(c ?? undefined, LOT_PAGE))).then(setPages, setProblem);
  }, [tick]);

  const hasMore = pages.length ? Boolean(pages.at(-1)?.nextCursor) : Boolean(view?.parkingLotsNextCursor);
  return { lots: pages.flatMap((p) => p.items), loadMore, hasMore, problem };
}

function Totals({ view }: { readonly view: ControlCenterView }) {
  const t = view.totals;
  const items: [string, number, string?][] = [
    ["Lots", t.parkingLots],
    ["Capacity", t.capacity],
    // As of this moment, as the lots below (the totals are their sum).
    ["Free spots", t.availableSpots, "good"],
    ["Active reservations", t.activeReservations],
    ["Canceled", t.canceledReservations],
    ["Coupons issued", t.couponsIssued],
    ["Coupons revoked", t.couponsRevoked],
  ];
  return (
    <section aria-label="Totals across all lots">
      <dl class="totals">
        {items.map(([label, value, tone]) => (
          <div class={`total ${tone ?? ""}`} key={label}>
            <dt>{label}</dt>
            <dd data-total={label}>{count(value)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Projections({ view }: { readonly view: ControlCenterView }) {
  return (
    <section class="panel" aria-labelledby="projections-title">
      <h2 id="projections-title">Read models and coupon policy</h2>
      <ul class="projections">
        {view.projections.map((p) => (
          <li key={p.name} class={`projection state-${p.state}`} data-projection={p.name}>
            <span class="projection-name">{p.name}</span>
            <span class={`badge state-${p.state}`}>{p.state}</span>
            <span class="projection-lag">
              {p.lag === null ? "lag unknown" : p.lag === 0 ? "up to date" : `${count(p.lag)} behind`}
            </span>
            <span class="muted projection-position">at {p.position ?? "—"}</span>
            {p.error ? <p class="projection-error">{p.error}</p> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * One lot's row. A live update re-renders only the rows whose lot changed (most of a hundred do
 * not, even at hundreds of reservations a second), which keeps the main thread free.
 */
type Presence = ControlCenterView["parkingLots"][number]["presence"];
/** A lot as the table shows it: from the control center (with who is there) or a later page of lots. */
type AtRisk = ControlCenterView["parkingLots"][number]["atRisk"];
type LotRowData = ParkingLotView & { readonly presence?: Presence; readonly atRisk?: AtRisk };

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
      <span data-in-lot={presence.inLot}>{count(presence.inLot)} in</span>
      {" · "}
      <span data-expected={presence.expected}>{count(presence.expected)} due within the hour</span>
      {presence.overstaying > 0 ? (
        <strong class="overstaying" data-overstaying={presence.overstaying}>
          {" · "}
          {count(presence.overstaying)} overstaying
        </strong>
      ) : null}
      {atRisk > 0 ? (
        <strong
          class="at-risk"
          data-at-risk={atRisk}
          title={props.atRisk?.map((r) => r.carNumber).join(", ")}
        >
          {" · "}
          {count(atRisk)} at risk
        </strong>
      ) : null}
      {presence.noShows > 0 ? (
        <span class="no-shows" data-no-shows={presence.noShows}>
          {" · "}
          {count(presence.noShows)} no-show{presence.noShows === 1 ? "" : "s"} (24 h)
        </span>
      ) : null}
    </span>
  );
}

/** Occupancy now: a bar, except for a lot closed now or without spots, which has its own look. */
function OccupancyCell({ lot }: { readonly lot: LotRowData }) {
  if (lot.closedUntil)
    return (
      <span class="lot-state closed" data-occupancy="closed">
        Closed
      </span>
    );
  if (lot.capacity === 0)
    return (
      <span class="lot-state no-spots" data-occupancy="no-spots">
        No spots
      </span>
    );
  const share = occupancy(lot);
  return (
    <span data-occupancy={Math.round(share * 100)}>
      <div class={`bar ${tone(share)}`} aria-hidden="true">
        <span style={{ width: `${Math.round(share * 100)}%` }} />
      </div>
      <span class="bar-label">
        {Math.round(share * 100)}%<span class="sr-only"> of the spots taken</span>
      </span>
    </span>
  );
}

class LotRow extends Component<{ lot: LotRowData; onSelect: (id: string) => void }> {
  override shouldComponentUpdate(next: { lot: LotRowData }): boolean {
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
      a.atRisk?.length !== b.atRisk?.length
    );
  }

  override render() {
    const { lot } = this.props;
    // Free now as the API computes it (windows holding a spot now, check-outs, closures): the bar too.
    const state = lot.closedUntil ? " lot-closed" : lot.capacity === 0 ? " lot-no-spots" : "";
    return (
      <tr key={lot.parkingLotId} data-lot={lot.parkingLotId} class={state.trim() || undefined}>
        <th scope="row" data-label="Lot">
          <button type="button" class="link" onClick={() => this.props.onSelect(lot.parkingLotId)}>
            {lot.name}
          </button>
          <span class="muted lot-id">#{lot.parkingLotId}</span>
        </th>
        <td data-label="Capacity" class="num">
          {count(lot.capacity)}
        </td>
        <td data-label="Free now" class="num free" data-free={lot.availableSpots}>
          {count(lot.availableSpots)}
          {lot.closedUntil ? (
            <span class="badge closed" data-closed-until={lot.closedUntil}>
              closed until {hourOf(lot.closedUntil)}
            </span>
          ) : null}
        </td>
        <td data-label="Active now" class="num" data-active={lot.activeReservations}>
          {count(lot.activeReservations)}
        </td>
        <td data-label="Canceled" class="num">
          {count(lot.canceledReservations)}
        </td>
        <td data-label="In the lot" data-presence={lot.presence ? JSON.stringify(lot.presence) : undefined}>
          <PresenceCell presence={lot.presence} atRisk={lot.atRisk} />
        </td>
        <td data-label="Occupancy now">
          <OccupancyCell lot={lot} />
        </td>
      </tr>
    );
  }
}

function LotsTable(props: { readonly lots: readonly LotRowData[]; readonly onSelect: (id: string) => void }) {
  return (
    <div class="table-wrap">
      <table class="lots">
        <caption class="sr-only">Parking lots</caption>
        <thead>
          <tr>
            <th scope="col">Lot</th>
            <th scope="col" class="num">
              Capacity
            </th>
            <th scope="col" class="num">
              Free now
            </th>
            <th scope="col" class="num">
              Active now
            </th>
            <th scope="col" class="num">
              Canceled
            </th>
            <th scope="col">In the lot</th>
            <th scope="col">Occupancy now</th>
          </tr>
        </thead>
        <tbody>
          {props.lots.map((lot) => (
            <LotRow key={lot.parkingLotId} lot={lot} onSelect={props.onSelect} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

const selectedFromHash = () => {
  const match = /^#lot=(.+)$/.exec(location.hash);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
};

function App() {
  const { view, tick, connection, samples } = useLiveView();
  const more = useMoreLots(view, tick);
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<SortKey>("name");
  const [selected, setSelected] = useState<string | null>(selectedFromHash);
  const [message, setMessage] = useState("");

  useEffect(() => {
    const onHash = () => setSelected(selectedFromHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const select = (id: string | null) => {
    location.hash = id ? `lot=${encodeURIComponent(id)}` : "";
    setSelected(id);
  };

  const allLots = useMemo(() => [...(view?.parkingLots ?? []), ...more.lots], [view, more.lots]);
  const lots = useMemo(() => visibleLots(allLots, search, sort), [allLots, search, sort]);
  const selectedLot = selected ? allLots.find((l) => l.parkingLotId === selected) : undefined;
  const names = useMemo(() => view?.projections.map((p) => p.name) ?? [], [view?.projections.length]);

  if (connection === "signed-out") {
    return (
      <main class="signed-out">
        <ProblemMessage
          problem={new ApiProblem("Your session has ended", "Sign in again to keep watching the lots.", 401)}
        />
      </main>
    );
  }

  return (
    <>
      <header class="top">
        <h1>
          Control center <span class="subtitle">통합관제실</span>
        </h1>
        <p class={`connection ${connection}`} role="status">
          {connection === "live" ? "Live" : connection === "connecting" ? "Connecting…" : "Reconnecting…"}
        </p>
        <form method="post" action={SIGN_OUT_URL} class="sign-out">
          <button type="submit" class="secondary small">
            Sign out
          </button>
        </form>
      </header>
      <main>
        <p class="sr-only" aria-live="polite">
          {message}
        </p>
        {message ? (
          <p class="notice" role="status">
            {message}{" "}
            <button type="button" class="link" onClick={() => setMessage("")}>
              Dismiss
            </button>
          </p>
        ) : null}
        {!view ? (
          <p class="loading">Loading the control center…</p>
        ) : (
          <>
            <Totals view={view} />
            <div class="grid">
              <section class="panel" aria-labelledby="activity-title">
                <h2 id="activity-title">Reservations per minute, last hour</h2>
                <ActivityChart activity={view.activity} />
              </section>
              <section class="panel" aria-labelledby="lag-title">
                <h2 id="lag-title">Projection lag</h2>
                <LagChart samples={samples} names={names} />
              </section>
            </div>
            <Projections view={view} />
            {selectedLot ? (
              <LotDetail lot={selectedLot} tick={tick} onClose={() => select(null)} onMessage={setMessage} />
            ) : (
              <section class="panel" aria-labelledby="lots-title">
                <div class="lots-head">
                  <h2 id="lots-title">Parking lots</h2>
                  <div class="lots-tools">
                    <label>
                      Search
                      <input
                        type="search"
                        value={search}
                        onInput={(e) => setSearch(e.currentTarget.value)}
                        placeholder="Name or id"
                      />
                    </label>
                    <label>
                      Sort
                      <select value={sort} onChange={(e) => setSort(e.currentTarget.value as SortKey)}>
                        {Object.entries(SORTS).map(([key, s]) => (
                          <option value={key} key={key}>
                            {s.label}
                          </option>
                        ))}
                      </select>
                    </label>
                  </div>
                </div>
                <p class="muted count-line">
                  Showing {count(lots.length)} of {count(allLots.length)} loaded lots
                  {view.totals.parkingLots > allLots.length
                    ? ` (${count(view.totals.parkingLots)} registered)`
                    : ""}
                </p>
                <LotsTable lots={lots} onSelect={select} />
                {lots.length === 0 ? (
                  <p class="empty">
                    {allLots.length ? "No lot matches the search." : "No lots yet: register the first below."}
                  </p>
                ) : null}
                <ProblemMessage problem={more.problem} />
                {more.hasMore ? (
                  <button type="button" class="secondary" onClick={more.loadMore}>
                    Load {LOT_PAGE} more lots
                  </button>
                ) : null}
              </section>
            )}
            {selected && !selectedLot ? (
              <p class="empty">
                Lot {selected} is not loaded.{" "}
                <button type="button" class="link" onClick={() => select(null)}>
                  Back to all lots
                </button>
              </p>
            ) : null}
            <section class="panel">
              <RegisterLotForm onRegistered={setMessage} />
            </section>
          </>
        )}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
