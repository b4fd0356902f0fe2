import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  ApiProblem,
  api,
  type ControlCenterView,
  LIVE_UPDATES_URL,
  type ParkingLotPage,
  SIGN_OUT_URL,
} from "./api.js";
import { ActivityChart, ChartZone, LagChart, type LagSample } from "./charts.js";
import { count, SORTS, type SortKey, visibleLots } from "./format.js";
import { ProblemMessage, RegisterLotForm } from "./forms.js";
import { LotDetail } from "./lot-detail.js";
import { type LotRowData, LotsTable } from "./lots-table.js";
import { type MoneyDay, moneyAmounts, moneyFailures } from "./payment-words.js";
import { WebhooksPanel } from "./webhooks-panel.js";
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
      {view.money ? <MoneyToday money={view.money} /> : null}
    </section>
  );
}

/** Today's money across the lots shown (payments on): per currency, and what did not arrive. */
function MoneyToday({ money }: { readonly money: MoneyDay }) {
  const failures = moneyFailures(money);
  return (
    <p class="money-today totals-money" data-money-today={JSON.stringify(money)}>
      <span class="muted">Money today, the lots of this page ({money.day}, UTC): </span>
      {[...moneyAmounts(money), ...failures].join(" · ") || "no money moved"}
    </p>
  );
}

function Projections({ view }: { readonly view: ControlCenterView }) {
  return (
    <section class="panel projections-panel" aria-labelledby="projections-title">
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

const selectedFromHash = () => {
  const match = /^#lot=(.+)$/.exec(location.hash);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
};

/** The lot whose detail is open, kept in the address's hash (#lot=ID) so that back and reload keep it. */
function useSelectedLot() {
  const [selected, setSelected] = useState<string | null>(selectedFromHash);
  useEffect(() => {
    const onHash = () => setSelected(selectedFromHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const select = (id: string | null) => {
    location.hash = id ? `lot=${encodeURIComponent(id)}` : "";
    setSelected(id);
  };
  return { selected, select };
}

/** The title, the state of the live stream, and sign-out. */
function TopBar({ connection }: { readonly connection: Connection }) {
  return (
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
  );
}

/** The last action's outcome: read out by screen readers, shown until dismissed. */
function Notice(props: { readonly message: string; readonly onDismiss: () => void }) {
  return (
    <>
      <p class="sr-only" aria-live="polite">
        {props.message}
      </p>
      {props.message ? (
        <p class="notice" role="status">
          {props.message}{" "}
          <button type="button" class="link" onClick={props.onDismiss}>
            Dismiss
          </button>
        </p>
      ) : null}
    </>
  );
}

/** Reservations per minute over the last hour, and each projection's lag over time. */
function Charts(props: {
  readonly view: ControlCenterView;
  readonly samples: LagSample[];
  readonly names: string[];
}) {
  return (
    <div class="grid charts">
      <section class="panel" aria-labelledby="activity-title">
        <h2 id="activity-title">Reservations per minute, last hour</h2>
        <ActivityChart activity={props.view.activity} />
        <ChartZone />
      </section>
      <section class="panel" aria-labelledby="lag-title">
        <h2 id="lag-title">Projection lag</h2>
        <LagChart samples={props.samples} names={props.names} />
        <ChartZone />
      </section>
    </div>
  );
}

/**
 * The search and the sort of the lots' table, and the lots they let through. Kept by the page, so
 * that they outlive a visit to a lot's detail.
 */
function useLotSearch(allLots: readonly LotRowData[]) {
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<SortKey>("name");
  const lots = useMemo(() => visibleLots(allLots, search, sort), [allLots, search, sort]);
  return { search, setSearch, sort, setSort, lots };
}

/** Every loaded lot, searched and sorted, and the next page of lots on demand. */
function LotsPanel(props: {
  readonly view: ControlCenterView;
  readonly allLots: readonly LotRowData[];
  readonly found: ReturnType<typeof useLotSearch>;
  readonly more: ReturnType<typeof useMoreLots>;
  readonly onSelect: (id: string) => void;
}) {
  const { view, allLots, more } = props;
  const { search, setSearch, sort, setSort, lots } = props.found;
  return (
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
        {view.totals.parkingLots > allLots.length ? ` (${count(view.totals.parkingLots)} registered)` : ""}
      </p>
      <LotsTable lots={lots} onSelect={props.onSelect} />
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
  );
}

function App() {
  const { view, tick, connection, samples } = useLiveView();
  const more = useMoreLots(view, tick);
  const { selected, select } = useSelectedLot();
  const [message, setMessage] = useState("");

  const allLots = useMemo(() => [...(view?.parkingLots ?? []), ...more.lots], [view, more.lots]);
  const found = useLotSearch(allLots);
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
      <TopBar connection={connection} />
      <main>
        <Notice message={message} onDismiss={() => setMessage("")} />
        {!view ? (
          <p class="loading">Loading the control center…</p>
        ) : (
          <div class="views">
            <Totals view={view} />
            <Charts view={view} samples={samples} names={names} />
            {selectedLot ? (
              <LotDetail lot={selectedLot} tick={tick} onClose={() => select(null)} onMessage={setMessage} />
            ) : (
              <LotsPanel view={view} allLots={allLots} found={found} more={more} onSelect={select} />
            )}
            {selected && !selectedLot ? (
              <p class="empty">
                Lot {selected} is not loaded.{" "}
                <button type="button" class="link" onClick={() => select(null)}>
                  Back to all lots
                </button>
              </p>
            ) : null}
            {/* The projections' health is for when something looks stale: after the lots. */}
            <Projections view={view} />
            <section class="panel register-panel">
              <RegisterLotForm onRegistered={setMessage} />
            </section>
            <WebhooksPanel lots={allLots} />
          </div>
        )}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
