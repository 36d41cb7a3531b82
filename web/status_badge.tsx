import type { TaskStatusName } from "../shared/mod.ts";

const TONES: Record<TaskStatusName, string> = {
  SCHEDULED: "bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-600",
  PICKED: "bg-amber-50 text-amber-800 ring-amber-300 dark:bg-amber-950 dark:text-amber-300 dark:ring-amber-800",
  RUNNING: "bg-sky-50 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-300 dark:ring-sky-800",
  COMPLETED: "bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-800",
  FAILED: "bg-red-50 text-red-800 ring-red-300 dark:bg-red-950 dark:text-red-300 dark:ring-red-800",
  DEAD: "bg-rose-100 text-rose-900 ring-rose-400 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-700",
  CANCELLED: "bg-zinc-50 text-zinc-500 ring-zinc-300 line-through dark:bg-zinc-900 dark:text-zinc-400 dark:ring-zinc-700",
};

/** A task's status as a coloured label (the text is the status, so colour is never the only cue). */
export function StatusBadge({ status }: { status: TaskStatusName }) {
  return (
    <span className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONES[status]}`}>
      {status}
    </span>
  );
}
