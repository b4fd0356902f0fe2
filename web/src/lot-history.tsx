import { useState } from "preact/hooks";
import { api, type HistoryPage } from "./api.js";
import { type Clock, count, dayInWords } from "./format.js";
import { instantsOnClock, ProblemMessage } from "./forms.js";
import { t, tCode } from "./i18n.js";
import { useClock } from "./lot-clock.js";
import { useCoalescedRead } from "./lot-reads.js";

/** Facts a page of the audit trail shows. */
export const HISTORY_PAGE_SIZE = 10;
/** Facts of one day the trail reads at most (pages of the API's largest size). */
const DAY_PAGES = 5;
const DAY_PAGE_LIMIT = 1000;

type Fact = HistoryPage["items"][number];

/** A local day of the lot (YYYY-MM-DD) `by` days later (earlier when negative). */
const shiftDay = (day: string, by: number): string =>
  new Date(Date.parse(`${day}T00:00:00.000Z`) + by * 86_400_000).toISOString().slice(0, 10);

/** Every fact of one local day of the lot (its midnight to midnight), in log order. */
async function factsOfDay(parkingLotId: string, day: string, clock: Clock): Promise<Fact[]> {
  const from = new Date(clock.fromInput(`${day}T00:00`)).toISOString();
  const until = new Date(clock.fromInput(`${shiftDay(day, 1)}T00:00`)).toISOString();
  const facts: Fact[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < DAY_PAGES; i++) {
    const page = await api.lotHistory(parkingLotId, cursor, DAY_PAGE_LIMIT, from, until);
    facts.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return facts;
}

/** A fact in the page's language, from its codes: who, what (its type), why; its times on the lot's clock. */
function FactLine({ fact }: { readonly fact: Fact }) {
  const clock = useClock();
  const who = fact.actor?.role === "system" || !fact.actor ? t("history.system") : fact.actor.sub;
  return (
    <li data-fact={fact.position} data-fact-type={fact.type}>
      <time dateTime={fact.at}>{clock.when(fact.at)}</time>{" "}
      {/* The API's own sentence (English, with ids) on hover, its instants on the lot's clock. */}
      <span title={instantsOnClock(fact.summary, clock)}>
        {t("history.by", { who })}
        <b>{tCode("history", fact.type)}</b>
        {fact.reason ? t("history.reason", { reason: tCode("reason", fact.reason) }) : null}
      </span>
    </li>
  );
}

/**
 * The lot's audit trail (issue 69): a day of the lot's clock at a time, opening at its today,
 * newest first, ten a page; newer and older pages run on into the next and previous days, back
 * to the day the lot was registered and no further, and a day can be jumped to. The day shown is
 * read again on every live update (today grows).
 */
export function LotHistory(props: {
  /** The lot: the day it was registered, on its clock, is the trail's first. */
  /** (A live lot's `registeredAt` is always there: only a lot as of a moment may lack it, issue 68.) */
  readonly lot: { readonly parkingLotId: string; readonly registeredAt?: string | undefined };
  readonly tick: number;
  /** The service's clock (its last answer): its day on the lot's clock is the trail's today. */
  readonly now: number;
}) {
  const clock = useClock();
  const today = clock.toInput(props.now).slice(0, 10);
  const firstDay = clock.toInput(Date.parse(props.lot.registeredAt ?? "") || props.now).slice(0, 10);
  const { parkingLotId } = props.lot;
  // The day chosen (null: the service's today, which moves on at the lot's midnight).
  const [chosen, setChosen] = useState<string | null>(null);
  const day = chosen ?? today;
  const [index, setIndex] = useState(0);
  const { facts, setFacts, problem } = useDayFacts(parkingLotId, day, props.tick, clock);

  const pages = Math.max(1, Math.ceil((facts?.length ?? 0) / HISTORY_PAGE_SIZE));
  const go = (wanted: string, nextIndex: number) => {
    const nextDay = wanted < firstDay ? firstDay : wanted;
    if (nextDay !== day) setFacts(null);
    setChosen(nextDay === today ? null : nextDay);
    setIndex(nextIndex);
  };
  const items = (facts ?? []).slice(index * HISTORY_PAGE_SIZE, (index + 1) * HISTORY_PAGE_SIZE);
  const first = index * HISTORY_PAGE_SIZE + 1;

  return (
    <section class="history" aria-labelledby="history-title">
      <h3 id="history-title">{t("history.title")}</h3>
      <form class="history-day" onSubmit={(e) => e.preventDefault()} aria-label={t("history.day")}>
        <label>
          {t("history.day")}
          <input
            type="date"
            value={day}
            min={firstDay}
            max={today}
            aria-label={t("history.dayLabel")}
            onChange={(e) => {
              const wanted = e.currentTarget.value;
              if (!wanted) return;
              // A day before the first is shown as the first: the field says so too, even when the
              // trail is already there (no state change, so no render would correct it).
              if (wanted < firstDay) e.currentTarget.value = firstDay;
              go(wanted, 0);
            }}
          />
        </label>
      </form>
      <p class="muted" data-history-page={index + 1} data-history-day={day}>
        {items.length
          ? t("history.range", {
              day: dayInWords(day),
              first: count(first),
              last: count(first + items.length - 1),
              total: count(facts?.length ?? 0),
            })
          : facts
            ? t("history.empty")
            : t("history.reading")}
      </p>
      <ol class="history-list">
        {items.map((fact) => (
          <FactLine key={fact.position} fact={fact} />
        ))}
      </ol>
      <ProblemMessage problem={problem} />
      <Pager
        atLatest={day === today && index === 0}
        atOldest={day <= firstDay && index + 1 >= pages}
        onNewer={() => (index > 0 ? go(day, index - 1) : go(shiftDay(day, 1), 0))}
        onOlder={() => (index + 1 < pages ? go(day, index + 1) : go(shiftDay(day, -1), 0))}
        onLatest={() => go(today, 0)}
      />
    </section>
  );
}

/** A day's facts, newest first, read again on every live update (null until read). */
function useDayFacts(parkingLotId: string, day: string, tick: number, clock: Clock) {
  const [facts, setFacts] = useState<Fact[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  useCoalescedRead(
    `${parkingLotId} ${day}`,
    tick,
    () => factsOfDay(parkingLotId, day, clock),
    (read) => {
      setProblem(null);
      setFacts(read.reverse());
    },
    setProblem,
  );
  return { facts, setFacts, problem };
}

/** Newer and older facts (running on into the next and previous days, none before the lot's first), and back to the latest. */
function Pager(props: {
  readonly atLatest: boolean;
  readonly atOldest: boolean;
  readonly onNewer: () => void;
  readonly onOlder: () => void;
  readonly onLatest: () => void;
}) {
  return (
    <div class="actions">
      <button type="button" class="secondary small" disabled={props.atLatest} onClick={props.onNewer}>
        {t("history.newer")}
      </button>
      <button type="button" class="secondary small" disabled={props.atOldest} onClick={props.onOlder}>
        {t("history.older")}
      </button>
      <button type="button" class="secondary small" disabled={props.atLatest} onClick={props.onLatest}>
        {t("history.latest")}
      </button>
    </div>
  );
}
