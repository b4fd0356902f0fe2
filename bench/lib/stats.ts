/** Latency and rate arithmetic shared by the scenarios. Every latency is in milliseconds. */

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** The tail target is on p99.9. */
  readonly p999: number;
  readonly max: number;
}

/** Nearest-rank percentiles of a sample (exact, no histogram buckets). */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    mean: round(sum / n),
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    p999: round(at(0.999)),
    max: round(sorted[n - 1] as number),
  };
}

export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** The middle value of a sample (the mean of the two middle ones when their count is even). */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** A fraction as a percentage with one decimal: 0.1234 → "12.3%". */
export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * Alternating measurements (first kind, second, first, …): each second-kind one that has a
 * first-kind one on either side, read against the mean of those two, so a slow drift of the
 * machine or the process cancels out. `value` picks what is compared.
 */
export function againstNeighbours<T>(
  items: readonly T[],
  second: (item: T) => boolean,
  value: (item: T) => number,
): number[] {
  const ratios: number[] = [];
  for (let i = 1; i + 1 < items.length; i++) {
    const [before, now, after] = [items[i - 1], items[i], items[i + 1]] as [T, T, T];
    if (!second(now) || second(before) || second(after)) continue;
    ratios.push(value(now) / ((value(before) + value(after)) / 2));
  }
  return ratios;
}

/** a / b rounded, or 0 when b is 0. */
export const ratio = (a: number, b: number, digits = 2): number => (b === 0 ? 0 : round(a / b, digits));

/** A growable sample of numbers (latencies), cheap to append to at high rates. */
export class Sample {
  private data = new Float64Array(1024);
  private n = 0;

  add(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = value;
  }

  addAll(other: Sample): void {
    for (const v of other.values()) this.add(v);
  }

  get count(): number {
    return this.n;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.n);
  }

  summary(): LatencySummary {
    return summarize(this.values());
  }
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");

export const elapsedMs = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e6;

/** Student's t, two-sided 95%, by degrees of freedom 1–30 (beyond 30 the normal's 1.96 is close enough). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
export const t95 = (df: number): number => (df < 1 ? Number.NaN : (T95[df - 1] ?? 1.96));

/** A mean and its 95% confidence interval. */
export interface Interval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  /** How many batches the interval was read from. */
  readonly batches: number;
}

/**
 * The mean of a series of measurements taken one after another, with a 95% confidence interval
 * by batch means: the series is cut into `batches` consecutive runs of equal length (the first
 * few values left out when it does not divide), each run's mean is one observation, and the
 * interval is Student's t over those. Neighbouring measurements of one process are correlated (a
 * collection or a busy neighbour spans several); the means of long runs are close to independent,
 * which the interval needs and the spread of single measurements (their quartiles) does not say.
 * Undefined with fewer than two batches; a batch of one value suits measurements long enough to
 * be nearly independent already.
 */
export function batchMeans(values: readonly number[], batches = 8): Interval | undefined {
  const size = Math.floor(values.length / batches);
  if (batches < 2 || size < 1) return undefined;
  const skip = values.length - size * batches;
  const means: number[] = [];
  for (let b = 0; b < batches; b++) {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += values[skip + b * size + i] as number;
    means.push(sum / size);
  }
  const mean = means.reduce((a, b) => a + b, 0) / batches;
  const variance = means.reduce((a, m) => a + (m - mean) ** 2, 0) / (batches - 1);
  const half = t95(batches - 1) * Math.sqrt(variance / batches);
  return { mean, low: mean - half, high: mean + half, batches };
}
