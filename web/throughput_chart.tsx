import { formatCount } from "./format.ts";
import { niceCeiling, type ThroughputPoint } from "./throughput_series.ts";

/** Props of {@linkcode ThroughputChart}. */
export interface ThroughputChartProps {
  points: readonly ThroughputPoint[];
  /** The right edge (epoch ms). */
  now: number;
  /** The shortest span shown; the chart widens up to `maxSpanMs` as samples accumulate. */
  minSpanMs?: number;
  maxSpanMs?: number;
}

const W = 640;
const H = 180;
const PAD = { left: 40, right: 44, top: 10, bottom: 22 };
/** Points further apart than this (a paused tab) leave a gap in the lines. */
const GAP_MS = 12_000;

type Value = (p: ThroughputPoint) => number | null;

/** Runs of consecutive points with a value and no gap between them. */
function runs(points: readonly ThroughputPoint[], value: Value): ThroughputPoint[][] {
  const all: ThroughputPoint[][] = [];
  let run: ThroughputPoint[] = [];
  for (const p of points) {
    const last = run[run.length - 1];
    if (value(p) === null || (last && p.t - last.t > GAP_MS)) {
      if (run.length > 0) all.push(run);
      run = [];
    }
    if (value(p) !== null) run.push(p);
  }
  if (run.length > 0) all.push(run);
  return all;
}

function line(run: readonly ThroughputPoint[], x: (t: number) => number, y: (v: number) => number, value: Value): string {
  return run.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.t).toFixed(1)},${y(value(p)!).toFixed(1)}`).join("");
}

/**
 * Completed tasks per second (line, left axis) and queue depth (shaded, right axis) over the last
 * minutes: the queue drains faster as workers are added. A small SVG with a text summary.
 */
export function ThroughputChart({ points, now, minSpanMs = 60_000, maxSpanMs = 5 * 60_000 }: ThroughputChartProps) {
  const first = points[0];
  const span = Math.min(maxSpanMs, Math.max(minSpanMs, first ? now - first.t : 0));
  const from = now - span;
  const visible = points.filter((p) => p.t >= from);
  const rate: Value = (p) => p.completedPerSecond;
  const queue: Value = (p) => p.queued;
  const rateMax = niceCeiling(Math.max(0, ...visible.map((p) => p.completedPerSecond ?? 0)));
  const queueMax = niceCeiling(Math.max(0, ...visible.map((p) => p.queued ?? 0)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + ((t - from) / span) * plotW;
  const yRate = (v: number) => PAD.top + plotH - (v / rateMax) * plotH;
  const yQueue = (v: number) => PAD.top + plotH - (v / queueMax) * plotH;
  const bottom = PAD.top + plotH;
  const latestRate = [...visible].reverse().find((p) => p.completedPerSecond !== null)?.completedPerSecond ?? null;
  const latestQueue = [...visible].reverse().find((p) => p.queued !== null)?.queued ?? null;
  const peak = Math.max(0, ...visible.map((p) => p.completedPerSecond ?? 0));
  const rateRuns = runs(visible, rate);
  const queueRuns = runs(visible, queue);
  const rateLine = rateRuns.map((r) => line(r, x, yRate, rate)).join("");
  const queueLine = queueRuns.map((r) => line(r, x, yQueue, queue)).join("");
  // The queue as closed areas, one per run.
  const queueArea = queueRuns
    .filter((r) => r.length > 1)
    .map((r) => `${line(r, x, yQueue, queue)}L${x(r[r.length - 1]!.t).toFixed(1)},${bottom}L${x(r[0]!.t).toFixed(1)},${bottom}Z`)
    .join("");

  const summary =
    visible.length > 0
      ? `Now ${latestRate ?? "unknown"} completed per second and ${latestQueue === null ? "an unknown number" : formatCount(latestQueue)} queued; peak ${peak} per second over the last ${Math.round(span / 60_000)} minute${span >= 120_000 ? "s" : ""}.`
      : "Waiting for the first stats.";
  const minutesAgo = Math.round(span / 60_000);

  return (
    <figure className="m-0">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Throughput chart. ${summary}`}
        className="h-auto w-full text-zinc-400 dark:text-zinc-500"
      >
        {[0, 0.5, 1].map((f) => (
          <line
            key={f}
            x1={PAD.left}
            x2={W - PAD.right}
            y1={PAD.top + plotH * (1 - f)}
            y2={PAD.top + plotH * (1 - f)}
            stroke="currentColor"
            strokeOpacity={f === 0 ? 0.6 : 0.25}
            strokeDasharray={f === 0 ? undefined : "3 4"}
          />
        ))}
        <path d={queueArea} className="fill-amber-400/30 dark:fill-amber-500/25" />
        <path d={queueLine} fill="none" className="stroke-amber-500" strokeWidth={1.5} />
        <path d={rateLine} fill="none" className="stroke-emerald-500" strokeWidth={2.25} strokeLinejoin="round" />
        <g className="fill-emerald-700 text-[11px] dark:fill-emerald-300" fontSize={11}>
          <text x={PAD.left - 6} y={PAD.top + 4} textAnchor="end">
            {rateMax}/s
          </text>
          <text x={PAD.left - 6} y={PAD.top + plotH / 2 + 4} textAnchor="end">
            {rateMax / 2}
          </text>
          <text x={PAD.left - 6} y={bottom + 4} textAnchor="end">
            0
          </text>
        </g>
        <g className="fill-amber-700 dark:fill-amber-300" fontSize={11}>
          <text x={W - PAD.right + 6} y={PAD.top + 4}>
            {formatCount(queueMax)}
          </text>
          <text x={W - PAD.right + 6} y={PAD.top + plotH / 2 + 4}>
            {formatCount(queueMax / 2)}
          </text>
          <text x={W - PAD.right + 6} y={bottom + 4}>
            0
          </text>
        </g>
        <g fill="currentColor" fontSize={11}>
          <text x={PAD.left} y={H - 4}>
            {minutesAgo} min ago
          </text>
          <text x={W - PAD.right} y={H - 4} textAnchor="end">
            now
          </text>
        </g>
      </svg>
      <figcaption className="mt-2 flex flex-wrap gap-x-5 gap-y-1 text-sm text-zinc-600 dark:text-zinc-300">
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block h-0.5 w-4 rounded bg-emerald-500" />
          Completed/s (5 s average): <strong className="tabular-nums">{latestRate ?? "–"}</strong>
        </span>
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block h-3 w-4 rounded-sm bg-amber-400/50 ring-1 ring-amber-500" />
          Queue depth: <strong className="tabular-nums">{latestQueue === null ? "–" : formatCount(latestQueue)}</strong>
        </span>
      </figcaption>
    </figure>
  );
}
