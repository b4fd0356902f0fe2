import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ControlCenterView } from "./api.js";
import { abbreviationOf } from "./format.js";
import { locale, t } from "./i18n.js";

/** One sample of every processor's lag, taken when a live update arrives. */
export interface LagSample {
  readonly at: number;
  readonly lags: Readonly<Record<string, number | null>>;
}

const LAG_WINDOW_S = 300;
const COLORS = ["#2563eb", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2", "#4b5563"];

/** A uPlot chart that follows its container's width and takes new data without being rebuilt. */
function UPlotChart(props: {
  readonly options: (width: number) => uPlot.Options;
  readonly data: uPlot.AlignedData;
  readonly label: string;
  readonly seriesKey: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const created = new uPlot(props.options(element.clientWidth || 300), props.data, element);
    chart.current = created;
    const resize = new ResizeObserver(() => {
      created.setSize({ width: element.clientWidth || 300, height: 180 });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      created.destroy();
      chart.current = null;
    };
    // Rebuilt only when the set of series changes; data flows through setData below.
  }, [props.seriesKey]);

  useEffect(() => {
    chart.current?.setData(props.data);
  }, [props.data]);

  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}

/** The zone the charts' time axes are drawn in: the browser's (they span every lot, whatever its zone). */
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Says which clock a chart's time axis reads (issue 49): the browser's zone and its abbreviation. */
export function ChartZone() {
  return (
    <p class="chart-zone muted" data-chart-zone={BROWSER_ZONE}>
      {t("charts.zone", { zone: BROWSER_ZONE, abbreviation: abbreviationOf(Date.now(), BROWSER_ZONE) })}
    </p>
  );
}

const axisStyle = { stroke: "#475569", grid: { stroke: "#e2e8f0", width: 1 }, ticks: { show: false } };
const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
/** The time axis: hours and minutes only, with room between labels. */
const timeAxis = {
  ...axisStyle,
  space: 70,
  values: (_u: uPlot, splits: number[]) => splits.map((s) => clock.format(new Date(s * 1000))),
};

/** What both charts share: the container's width, their height, a static legend, no drag-to-zoom. */
const frame = (width: number) => ({
  width,
  height: 180,
  legend: { show: true, live: false },
  cursor: { drag: { x: false, y: false } },
});

/** Reservations and cancellations per minute over the last hour (minutes without any count as zero). */
export function ActivityChart({ activity }: { readonly activity: ControlCenterView["activity"] }) {
  const now = Math.floor(Date.now() / 60_000) * 60;
  const minutes = Array.from({ length: 60 }, (_, i) => now - (59 - i) * 60);
  const byMinute = new Map(activity.map((a) => [Date.parse(`${a.minute}:00Z`) / 1000, a]));
  const data: uPlot.AlignedData = [
    minutes,
    minutes.map((m) => byMinute.get(m)?.reserved ?? 0),
    minutes.map((m) => byMinute.get(m)?.canceled ?? 0),
  ];
  const reserved = activity.reduce((n, a) => n + a.reserved, 0);
  const canceled = activity.reduce((n, a) => n + a.canceled, 0);
  // Side by side in each minute: reservations on the left half, cancellations on the right.
  const left = uPlot.paths.bars?.({ size: [0.45, 20], align: 1, gap: 0 });
  const right = uPlot.paths.bars?.({ size: [0.45, 20], align: -1, gap: 0 });
  return (
    <UPlotChart
      seriesKey="activity"
      label={t("charts.activityLabel", { reserved, canceled })}
      data={data}
      options={(width) => ({
        ...frame(width),
        scales: {
          // Half a minute of room on each side, so the first and the current minute's bars show whole.
          x: { time: true, range: (_u, min, max) => [min - 30, max + 30] },
          y: { range: (_u, _min, max) => [0, Math.max(5, max)] },
        },
        axes: [timeAxis, { ...axisStyle, size: 40 }],
        series: [
          {},
          {
            label: t("charts.reservations"),
            fill: "#2563ebcc",
            stroke: "#2563eb",
            ...(left ? { paths: left } : {}),
          },
          {
            label: t("charts.cancellations"),
            fill: "#dc2626cc",
            stroke: "#dc2626",
            ...(right ? { paths: right } : {}),
          },
        ],
      })}
    />
  );
}

/** Each processor's lag behind the head of the log, over the time this page has been open. */
export function LagChart({
  samples,
  names,
}: {
  readonly samples: readonly LagSample[];
  readonly names: string[];
}) {
  const recent = samples.filter((s) => s.at >= Date.now() - LAG_WINDOW_S * 1000);
  const data: uPlot.AlignedData = [
    recent.map((s) => s.at / 1000),
    ...names.map((name) => recent.map((s) => s.lags[name] ?? null)),
  ];
  const worst = samples.at(-1) ? Math.max(0, ...names.map((n) => samples.at(-1)?.lags[n] ?? 0)) : 0;
  return (
    <UPlotChart
      seriesKey={names.join(",")}
      label={t("charts.lagLabel", { worst })}
      data={data}
      options={(width) => ({
        ...frame(width),
        scales: {
          // The last five minutes, however few samples there are yet.
          x: { time: true, range: () => [Date.now() / 1000 - LAG_WINDOW_S, Date.now() / 1000] },
          y: { range: (_u, _min, max) => [0, Math.max(10, max)] },
        },
        axes: [timeAxis, { ...axisStyle, size: 48 }],
        series: [
          {},
          ...names.map((name, i) => ({
            label: name,
            stroke: COLORS[i % COLORS.length] as string,
            width: 2,
            spanGaps: true,
          })),
        ],
      })}
    />
  );
}
