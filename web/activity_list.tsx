import type { ActivityLine } from "./activity_lines.ts";
import { formatClock } from "./format.ts";
import { ui } from "./styles.ts";

const DOT = {
  info: "bg-sky-500",
  success: "bg-emerald-500",
  error: "bg-red-500",
} as const;

const LEVEL_NAME = { info: "info", success: "success", error: "error" } as const;

/** Activity entries, newest first: time, level (colour and a hidden word) and message. */
export function ActivityList({ lines }: { lines: readonly ActivityLine[] }) {
  if (lines.length === 0) return <p className={`text-sm ${ui.muted}`}>Nothing has happened yet.</p>;
  return (
    <ol className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800" aria-label="Events, newest first">
      {lines.map((line) => (
        <li key={line.key} className="flex items-start gap-2 py-1.5" data-level={line.level}>
          <time dateTime={line.ts} className="shrink-0 font-mono text-xs tabular-nums text-zinc-500 dark:text-zinc-400">
            {formatClock(line.ts)}
          </time>
          <span aria-hidden="true" className={`mt-1.5 h-2 w-2 shrink-0 rounded-full ${DOT[line.level]}`} />
          <span className="sr-only">{LEVEL_NAME[line.level]}:</span>
          <span className={`min-w-0 break-words ${line.level === "error" ? "text-red-800 dark:text-red-300" : "text-zinc-800 dark:text-zinc-200"}`}>
            {line.msg}
          </span>
        </li>
      ))}
    </ol>
  );
}
