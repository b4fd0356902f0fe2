import { useState } from "preact/hooks";
import { api, type HistoryPage } from "./api.js";
import { count } from "./format.js";
import { ProblemMessage } from "./forms.js";
import { useClock } from "./lot-clock.js";
import { useCoalescedRead } from "./lot-reads.js";

/** Facts a page of the audit trail shows (the API's bound on a page is larger). */
export const HISTORY_PAGE_SIZE = 10;

/**
 * The lot's audit trail: its facts in log order, each in the API's own sentence (who did what, to
 * what, why) with the time the service stamped it, ten a page, with the previous and next pages.
 * The page shown is read again on every live update (the last page grows as facts are recorded).
 */
export function LotHistory(props: { readonly parkingLotId: string; readonly tick: number }) {
  const { when } = useClock();
  // The cursors of the pages seen so far: page i starts after cursors[i] (undefined: the first).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [index, setIndex] = useState(0);
  const [page, setPage] = useState<HistoryPage | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const key = `${props.parkingLotId} ${cursors[index] ?? ""}`;

  useCoalescedRead(
    key,
    props.tick,
    () => api.lotHistory(props.parkingLotId, cursors[index], HISTORY_PAGE_SIZE),
    (read) => {
      setProblem(null);
      setPage(read);
    },
    setProblem,
  );

  const next = () => {
    const cursor = page?.nextCursor;
    if (!cursor) return;
    setCursors((old) => [...old.slice(0, index + 1), cursor]);
    setIndex(index + 1);
  };
  const first = index * HISTORY_PAGE_SIZE + 1;
  const items = page?.items ?? [];

  return (
    <section class="history" aria-labelledby="history-title">
      <h3 id="history-title">Audit trail</h3>
      <p class="muted" data-history-page={index + 1}>
        {items.length
          ? `Facts ${count(first)}–${count(first + items.length - 1)}, oldest first`
          : page
            ? "No facts on this page."
            : "Reading the audit trail…"}
      </p>
      <ol class="history-list" start={first}>
        {items.map((fact) => (
          <li key={fact.position} data-fact={fact.position} data-fact-type={fact.type}>
            <time dateTime={fact.at}>{when(fact.at)}</time> <span>{fact.summary}</span>
          </li>
        ))}
      </ol>
      <ProblemMessage problem={problem} />
      <div class="actions">
        <button
          type="button"
          class="secondary small"
          disabled={index === 0}
          onClick={() => setIndex(Math.max(0, index - 1))}
        >
          Previous facts
        </button>
        <button type="button" class="secondary small" disabled={!page?.nextCursor} onClick={next}>
          Next facts
        </button>
      </div>
    </section>
  );
}
