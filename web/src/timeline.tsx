import type { TimelineView } from "./api.js";
import { type Clock, count } from "./format.js";
import { t } from "./i18n.js";
import { useClock } from "./lot-clock.js";

type Slot = TimelineView["slots"][number];

/** Quarter hours held at their busiest, closed or overstayed, in words (what the bars show). */
export function describeTimeline(view: TimelineView, { hour: hourOf }: Clock): string {
  const busiest = view.slots.reduce<Slot | undefined>((a, s) => (!a || s.held > a.held ? s : a), undefined);
  const closed = view.slots.filter((s) => s.closed);
  const overstayed = view.slots.filter((s) => s.overstaying > 0);
  const parts = [
    busiest && busiest.held > 0
      ? t("timeline.busiest", {
          held: count(busiest.held),
          capacity: count(view.capacity),
          time: hourOf(busiest.from),
        })
      : t("timeline.noneHeld", { capacity: count(view.capacity) }),
  ];
  if (closed[0])
    parts.push(
      t("timeline.closedFrom", { from: hourOf(closed[0].from), until: hourOf(closed.at(-1)?.until ?? "") }),
    );
  if (overstayed[0]) parts.push(t("timeline.overstayFrom", { from: hourOf(overstayed[0].from) }));
  return `${parts.join("; ")}.`;
}

/** Where an instant falls across the timeline, 0–100 %. */
const at = (view: TimelineView, iso: string): number => {
  const from = Date.parse(view.from);
  const span = Date.parse(view.until) - from;
  return Math.min(100, Math.max(0, ((Date.parse(iso) - from) / span) * 100));
};

/** Which share of the bar `n` spots fill: of the capacity, a whole bar past it (or on a lot of none). */
const shareOf =
  (capacity: number) =>
  (n: number): number =>
    capacity > 0 ? Math.min(1, n / capacity) : n > 0 ? 1 : 0;
const percent = (share: number) => Math.round(share * 1000) / 10;

/**
 * The lot's next 24 hours, a bar per quarter hour: spots held (at its busiest instant) against the
 * capacity, closed quarters shaded, cars overstaying stacked in their own colour on the rest
 * held, a line at the service's now (each colour in the legend). Each bar names its quarter and figures in its title; the whole chart is
 * summarized for screen readers.
 */
export function Timeline({ view }: { readonly view: TimelineView }) {
  const hours = view.slots.filter((_, i) => i % 12 === 0);
  const clock = useClock();
  const { hour: hourOf, when } = clock;
  return (
    <section class="timeline" aria-labelledby="timeline-title">
      <h3 id="timeline-title">
        {view.asOf
          ? t("timeline.asOf", { from: hourOf(view.from), when: when(view.asOf.at) })
          : t("timeline.next")}
      </h3>
      <p class="muted timeline-legend">
        <span class="key held" /> {t("timeline.held", { capacity: count(view.capacity) })}{" "}
        <span class="key full" /> {t("timeline.full")} <span class="key overstay" /> {t("timeline.overstay")}{" "}
        <span class="key closed" /> {t("timeline.closed")} <span class="key now" /> {t("timeline.now")}
      </p>
      <div class="timeline-chart" role="img" aria-label={describeTimeline(view, clock)}>
        {view.slots.map((s) => {
          const share = shareOf(view.capacity);
          const over = view.capacity > 0 && s.held >= view.capacity;
          // The overstaying cars are stacked on the rest held, each its part of the bar (scaled
          // down together past the capacity), so neither hides the other.
          const whole = share(s.held);
          const rest = s.held > 0 ? (whole * Math.max(0, s.held - s.overstaying)) / s.held : 0;
          return (
            <div
              key={s.from}
              class={`slot${s.closed ? " closed" : ""}${s.overstaying ? " overstay" : ""}${over ? " full" : ""}`}
              data-slot={s.from}
              data-held={s.held}
              data-closed={s.closed ? "" : undefined}
              data-overstaying={s.overstaying || undefined}
              title={`${t("timeline.slot", {
                from: hourOf(s.from),
                until: hourOf(s.until),
                held: count(s.held),
                capacity: count(view.capacity),
              })}${s.closed ? t("timeline.slotClosed") : ""}${s.overstaying ? t("timeline.slotOverstaying", { n: count(s.overstaying) }) : ""}`}
            >
              <span class="held" style={{ height: `${percent(rest)}%` }} />
              {s.overstaying ? (
                <span class="overstay" style={{ height: `${percent(whole - rest)}%` }} />
              ) : null}
            </div>
          );
        })}
        <div class="now-line" style={{ left: `${at(view, view.now)}%` }} data-now={view.now} />
      </div>
      <ol class="timeline-axis" aria-hidden="true">
        {hours.map((s) => (
          <li key={s.from} style={{ left: `${at(view, s.from)}%` }}>
            {hourOf(s.from)}
          </li>
        ))}
      </ol>
    </section>
  );
}
