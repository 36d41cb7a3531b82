// The throughput chart's data: samples of the live stats taken once a second, turned into
// completed-per-second (a moving average) and queue depth. Pure.

/** One sample of the live stats. */
export interface ThroughputSample {
  /** Epoch ms (the browser's clock). */
  t: number;
  /** Tasks COMPLETED so far. */
  completed: number;
  /** Tasks waiting to be picked (SCHEDULED). */
  queued: number;
}

/** One point of the chart. */
export interface ThroughputPoint {
  t: number;
  /** Completions per second, averaged over the window before `t`; null when not known. */
  completedPerSecond: number | null;
  /** Tasks waiting; null when not known. */
  queued: number | null;
}

/** A bucket of the server's `stats.throughput` (ISO start time, counts, sampled queue depth). */
export interface ThroughputHistoryBucket {
  t: string;
  completed: number;
  queued: number | null;
}

/** How far back the chart looks by default: five minutes. */
export const THROUGHPUT_WINDOW_MS = 5 * 60_000;
/** The moving average's window. */
export const RATE_WINDOW_MS = 5_000;

/** Appends `sample`, dropping samples older than `windowMs` before it (returns a new array). */
export function addThroughputSample(
  series: readonly ThroughputSample[],
  sample: ThroughputSample,
  windowMs: number = THROUGHPUT_WINDOW_MS,
): ThroughputSample[] {
  const last = series[series.length - 1];
  // The clock went back (or two samples in one tick): replace rather than go backwards.
  const kept = last && last.t >= sample.t ? series.slice(0, -1) : series;
  const from = sample.t - windowMs;
  let start = 0;
  while (start < kept.length && kept[start]!.t < from) start++;
  return [...kept.slice(start), sample];
}

/**
 * Chart points from the live samples: for each sample, completions per second over at least
 * `rateWindowMs` before it (from the latest sample that far back; null while the page has less
 * history than that, so the line does not spike), never negative (e.g. after the database was reset),
 * and the queue depth.
 */
export function throughputPoints(series: readonly ThroughputSample[], rateWindowMs: number = RATE_WINDOW_MS): ThroughputPoint[] {
  const points: ThroughputPoint[] = [];
  let j = -1;
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    while (j + 1 < i && s.t - series[j + 1]!.t >= rateWindowMs) j++;
    let rate: number | null = null;
    if (j >= 0) {
      const base = series[j]!;
      rate = Math.round((Math.max(0, s.completed - base.completed) / ((s.t - base.t) / 1000)) * 100) / 100;
    }
    points.push({ t: s.t, completedPerSecond: rate, queued: s.queued });
  }
  return points;
}

/**
 * Chart points from the server's history (`stats.throughput`), each at its bucket's end, for the
 * buckets that ended by `until` (the first live sample: the live points take over from there).
 */
export function historyPoints(buckets: readonly ThroughputHistoryBucket[], bucketSeconds: number, until: number): ThroughputPoint[] {
  const points: ThroughputPoint[] = [];
  for (const bucket of buckets) {
    const end = Date.parse(bucket.t) + bucketSeconds * 1000;
    if (!(end <= until)) continue;
    points.push({ t: end, completedPerSecond: Math.round((bucket.completed / bucketSeconds) * 100) / 100, queued: bucket.queued });
  }
  return points;
}

/** A "nice" axis maximum at or above `value` (1, 2, 5 × 10^n; at least 1). */
export function niceCeiling(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
