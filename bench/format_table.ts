// The bench's printed table: one row per figure, median and range, its ratio to the floor, the target.
import { round, type Summary } from "./summarize.ts";

/** One row of the table (and of the JSON summary's `figures`). */
export interface Figure {
  /** The numbering: 1 floor ... 6 footprint. */
  group: number;
  name: string;
  unit: string;
  summary: Summary;
  /** Against the floor: "0.31× b100" for rates, "2.1× b1 cycle" for times; "" when it means nothing. */
  ratio: string;
  /** The target in words, and whether the median meets it (undefined: no target). */
  target?: string;
  pass?: boolean;
}

function show(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The figures as a plain-text table (Markdown-compatible). */
export function formatTable(figures: readonly Figure[]): string {
  const header = ["#", "figure", "median", "min – max", "unit", "vs floor", "target", ""];
  const rows = figures.map((f) => [
    String(f.group),
    f.name,
    show(f.summary.median),
    f.summary.runs.length > 1 ? `${show(f.summary.min)} – ${show(f.summary.max)}` : "",
    f.unit,
    f.ratio,
    f.target ?? "",
    f.pass === undefined ? "" : f.pass ? "ok" : "MISS",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** A figure as JSON: rounded median, min, max and runs. */
export function figureJson(f: Figure): Record<string, unknown> {
  return {
    group: f.group,
    name: f.name,
    unit: f.unit,
    median: round(f.summary.median),
    min: round(f.summary.min),
    max: round(f.summary.max),
    runs: f.summary.runs.map((r) => round(r)),
    ratio: f.ratio,
    ...(f.target ? { target: f.target, pass: f.pass } : {}),
  };
}
