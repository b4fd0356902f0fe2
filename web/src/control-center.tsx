import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiProblem, api, type ControlCenterView, LIVE_UPDATES_URL, SIGN_OUT_URL } from "./api.js";
import { ActivityChart, ChartZone, LagChart, type LagSample } from "./charts.js";
import { count, SORTS, type SortKey, visibleLots } from "./format.js";
import { ProblemMessage, RegisterLotForm } from "./forms.js";
import { LotDetail } from "./lot-detail.js";
import { type LotRowData, LotsTable } from "./lots-table.js";
import { type MoneyDay, moneyAmounts, moneyFailures } from "./payment-words.js";
import { WebhooksPanel } from "./webhooks-panel.js";
import "./styles.css";
import {
  LANGUAGE_NAMES,
  LANGUAGES,
  type Language,
  language,
  type MessageId,
  switchLanguage,
  tCode,
  t as tr,
} from "./i18n.js";

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

/**
 * The page of lots shown: the first comes with the live stream; a later one is the control center
 * read with the cursor of the page before it (GET /control-center?cursor=), kept fresh with the
 * live updates at most once a second. One page of work per read, whatever the number of lots.
 */
function useLotPages(view: ControlCenterView | null, tick: number) {
  // The cursors of the pages walked past the first (the last one names the page shown).
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<ControlCenterView | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const refreshedAt = useRef(0);

  const show = async (walked: string[]) => {
    const cursor = walked.at(-1);
    try {
      const read = cursor ? await api.controlCenter(cursor, LOT_PAGE) : null;
      setCursors(walked);
      setPage(read);
      setProblem(null);
      refreshedAt.current = Date.now();
    } catch (error) {
      setProblem(error);
    }
  };
  const shown = cursors.length ? page : view;
  const nextCursor = shown?.parkingLotsNextCursor;
  const next = () => (nextCursor ? show([...cursors, nextCursor]) : undefined);
  const previous = () => show(cursors.slice(0, -1));

  useEffect(() => {
    if (!cursors.length || Date.now() - refreshedAt.current < 1000) return;
    void show(cursors);
  }, [tick]);

  return {
    lots: shown?.parkingLots ?? [],
    number: cursors.length + 1,
    next: nextCursor ? next : undefined,
    previous: cursors.length ? previous : undefined,
    problem,
  };
}

function Totals({ view }: { readonly view: ControlCenterView }) {
  const t = view.totals;
  const items: [string, MessageId, number, string?][] = [
    ["Lots", "totals.lots", t.parkingLots],
    ["Capacity", "totals.capacity", t.capacity],
    // As of this moment, as the lots below (the totals are their sum).
    ["Free spots", "totals.free", t.availableSpots, "good"],
    ["Active reservations", "totals.active", t.activeReservations],
    ["Canceled", "totals.canceled", t.canceledReservations],
    ["Coupons issued", "totals.couponsIssued", t.couponsIssued],
    ["Coupons revoked", "totals.couponsRevoked", t.couponsRevoked],
  ];
  return (
    <section aria-label={tr("totals.label")}>
      <dl class="totals">
        {items.map(([name, label, value, tone]) => (
          <div class={`total ${tone ?? ""}`} key={name}>
            <dt>{tr(label)}</dt>
            <dd data-total={name}>{count(value)}</dd>
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
      <span class="muted">{tr("totals.moneyToday", { day: money.day })}</span>
      {[...moneyAmounts(money), ...failures].join(" · ") || tr("totals.noMoney")}
    </p>
  );
}

function Projections({ view }: { readonly view: ControlCenterView }) {
  return (
    <section class="panel projections-panel" aria-labelledby="projections-title">
      <h2 id="projections-title">{tr("projections.title")}</h2>
      <ul class="projections">
        {view.projections.map((p) => (
          <li key={p.name} class={`projection state-${p.state}`} data-projection={p.name}>
            <span class="projection-name">{p.name}</span>
            <span class={`badge state-${p.state}`}>{tCode("projections.state", p.state)}</span>
            <span class="projection-lag">
              {p.lag === null
                ? tr("projections.lagUnknown")
                : p.lag === 0
                  ? tr("projections.upToDate")
                  : tr("projections.behind", { n: count(p.lag) })}
            </span>
            <span class="muted projection-position">
              {tr("projections.at", { position: p.position ?? "—" })}
            </span>
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
      <h1>{tr("top.title")}</h1>
      <p class={`connection ${connection}`} role="status">
        {connection === "live"
          ? tr("top.live")
          : connection === "connecting"
            ? tr("top.connecting")
            : tr("top.reconnecting")}
      </p>
      <LanguageSwitch />
      <form method="post" action={SIGN_OUT_URL} class="sign-out">
        <button type="submit" class="secondary small">
          {tr("top.signOut")}
        </button>
      </form>
    </header>
  );
}

/** The page's language, chosen by the person and kept (the browser's languages until then). */
function LanguageSwitch() {
  return (
    <label class="language">
      <span class="sr-only">{tr("language.label")}</span>
      <select
        value={language}
        onChange={(e) => switchLanguage(e.currentTarget.value as Language)}
        aria-label={tr("language.label")}
      >
        {LANGUAGES.map((l) => (
          <option value={l} key={l} lang={l}>
            {LANGUAGE_NAMES[l]}
          </option>
        ))}
      </select>
    </label>
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
            {tr("notice.dismiss")}
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
        <h2 id="activity-title">{tr("charts.activity")}</h2>
        <ActivityChart activity={props.view.activity} />
        <ChartZone />
      </section>
      <section class="panel" aria-labelledby="lag-title">
        <h2 id="lag-title">{tr("charts.lag")}</h2>
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

/** The page's lots, searched and sorted, and the next or previous page of lots on demand. */
function LotsPanel(props: {
  readonly view: ControlCenterView;
  readonly allLots: readonly LotRowData[];
  readonly found: ReturnType<typeof useLotSearch>;
  readonly pages: ReturnType<typeof useLotPages>;
  readonly onSelect: (id: string) => void;
}) {
  const { view, allLots, pages } = props;
  const { search, setSearch, sort, setSort, lots } = props.found;
  return (
    <section class="panel" aria-labelledby="lots-title">
      <div class="lots-head">
        <h2 id="lots-title">{tr("lots.title")}</h2>
        <div class="lots-tools">
          <label>
            {tr("lots.search")}
            <input
              type="search"
              value={search}
              onInput={(e) => setSearch(e.currentTarget.value)}
              placeholder={tr("lots.searchPlaceholder")}
            />
          </label>
          <label>
            {tr("lots.sort")}
            <select value={sort} onChange={(e) => setSort(e.currentTarget.value as SortKey)}>
              {Object.entries(SORTS).map(([key, s]) => (
                <option value={key} key={key}>
                  {tr(s.label)}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      <p class="muted count-line">
        {tr("lots.showing", { shown: count(lots.length), loaded: count(allLots.length) })}
        {view.totals.parkingLots > allLots.length
          ? tr("lots.registered", { n: count(view.totals.parkingLots) })
          : ""}
      </p>
      <LotsTable lots={lots} onSelect={props.onSelect} />
      {lots.length === 0 ? (
        <p class="empty">{allLots.length ? tr("lots.noMatch") : tr("lots.none")}</p>
      ) : null}
      <ProblemMessage problem={pages.problem} />
      {pages.previous || pages.next ? (
        <nav class="lot-pages" aria-label={tr("lots.pages")}>
          <button type="button" class="secondary" onClick={pages.previous} disabled={!pages.previous}>
            {tr("lots.previous", { n: count(LOT_PAGE) })}
          </button>
          <span data-lot-page={pages.number}>{tr("lots.page", { page: count(pages.number) })}</span>
          <button type="button" class="secondary" onClick={pages.next} disabled={!pages.next}>
            {tr("lots.next", { n: count(LOT_PAGE) })}
          </button>
        </nav>
      ) : null}
    </section>
  );
}

function App() {
  const { view, tick, connection, samples } = useLiveView();
  const pages = useLotPages(view, tick);
  const { selected, select } = useSelectedLot();
  const [message, setMessage] = useState("");

  const allLots = pages.lots;
  const found = useLotSearch(allLots);
  const selectedLot = selected ? allLots.find((l) => l.parkingLotId === selected) : undefined;
  const names = useMemo(() => view?.projections.map((p) => p.name) ?? [], [view?.projections.length]);

  if (connection === "signed-out") {
    return (
      <main class="signed-out">
        <ProblemMessage problem={new ApiProblem(tr("app.sessionEnded"), tr("app.sessionEndedDetail"), 401)} />
      </main>
    );
  }

  return (
    <>
      <TopBar connection={connection} />
      <main>
        <Notice message={message} onDismiss={() => setMessage("")} />
        {!view ? (
          <p class="loading">{tr("app.loading")}</p>
        ) : (
          <div class="views">
            <Totals view={view} />
            <Charts view={view} samples={samples} names={names} />
            {selectedLot ? (
              <LotDetail lot={selectedLot} tick={tick} onClose={() => select(null)} onMessage={setMessage} />
            ) : (
              <LotsPanel view={view} allLots={allLots} found={found} pages={pages} onSelect={select} />
            )}
            {selected && !selectedLot ? (
              <p class="empty">
                {tr("app.lotNotLoaded", { id: selected })}{" "}
                <button type="button" class="link" onClick={() => select(null)}>
                  {tr("app.backToLots")}
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

document.title = tr("top.title");
const root = document.getElementById("app");
if (root) render(<App />, root);
