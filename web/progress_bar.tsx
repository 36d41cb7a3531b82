/** Props of {@linkcode ProgressBar}. */
export interface ProgressBarProps {
  /** 0..100. */
  value: number;
  /** The accessible name, e.g. "Progress of task 1a2b3c4d". */
  label: string;
  tone?: "running" | "done" | "failed" | "idle";
}

const FILL = {
  running: "bg-sky-500",
  done: "bg-emerald-500",
  failed: "bg-red-500",
  idle: "bg-zinc-400",
} as const;

/** A thin progress bar with its percentage for assistive technology. */
export function ProgressBar({ value, label, tone = "running" }: ProgressBarProps) {
  const percent = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      className="h-2 w-full min-w-16 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-700"
    >
      <div className={`h-full rounded-full transition-[width] duration-300 ${FILL[tone]}`} style={{ width: `${percent}%` }} />
    </div>
  );
}
