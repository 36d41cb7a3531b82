import { formatDateTime, formatDuration } from "./format.ts";
import type { TimelineAttempt, TimelineStep } from "./task_timeline.ts";
import { ui } from "./styles.ts";

const STEP_DOT: Record<TimelineStep["kind"], string> = {
  scheduled: "bg-zinc-400",
  requeued: "bg-amber-500",
  picked: "bg-amber-500",
  started: "bg-sky-500",
  running: "bg-sky-500 animate-pulse",
  completed: "bg-emerald-500",
  failed: "bg-red-500",
  lost: "bg-red-500",
  cancelled: "bg-zinc-500",
};

const OUTCOME_TONE: Record<TimelineAttempt["outcome"], string> = {
  RUNNING: "text-sky-700 dark:text-sky-300",
  COMPLETED: "text-emerald-700 dark:text-emerald-300",
  FAILED: "text-red-700 dark:text-red-300",
  LOST: "text-red-700 dark:text-red-300",
  CANCELLED: "text-zinc-600 dark:text-zinc-400",
};

/** Every attempt of a task as a vertical timeline: each step's time, and how long it took. */
export function TaskTimelineView({ attempts }: { attempts: readonly TimelineAttempt[] }) {
  if (attempts.length === 0) {
    return <p className={`text-sm ${ui.muted}`}>Not picked by a worker yet: the task waits in the queue.</p>;
  }
  return (
    <ol className="space-y-4" aria-label="Attempts">
      {attempts.map((a) => (
        <li key={a.attempt} data-attempt={a.attempt} data-outcome={a.outcome}>
          <h3 className="text-sm font-semibold text-zinc-900 dark:text-zinc-50">
            Attempt {a.attempt}
            <span className={`font-normal ${ui.muted}`}> on {a.workerName ?? "an unknown worker"}</span>{" "}
            <span className={`ml-1 text-xs font-medium ${OUTCOME_TONE[a.outcome]}`}>{a.outcome}</span>
          </h3>
          <ol className="mt-2 border-l-2 border-zinc-200 pl-4 dark:border-zinc-700" aria-label={`Steps of attempt ${a.attempt}`}>
            {a.steps.map((step, i) => (
              <li key={`${step.kind}-${i}`} className="relative pb-2 last:pb-0" data-step={step.kind}>
                <span aria-hidden="true" className={`absolute top-1.5 -left-[1.3rem] h-2.5 w-2.5 rounded-full ring-2 ring-white dark:ring-zinc-900 ${STEP_DOT[step.kind]}`} />
                <div className="flex flex-wrap items-baseline gap-x-3 text-sm">
                  <span className="font-medium text-zinc-900 dark:text-zinc-100">
                    {step.label}
                    {step.kind === "picked" && a.workerName ? ` by ${a.workerName}` : ""}
                  </span>
                  {step.at ? (
                    <time dateTime={step.at} className="font-mono text-xs text-zinc-600 dark:text-zinc-400">
                      {formatDateTime(step.at)}
                    </time>
                  ) : null}
                  {step.afterMs !== null ? <span className={`text-xs ${ui.muted}`}>+{formatDuration(step.afterMs)}</span> : null}
                </div>
              </li>
            ))}
          </ol>
          {a.error ? (
            <p className="mt-1 rounded bg-red-50 px-2 py-1 font-mono text-xs text-red-800 dark:bg-red-950 dark:text-red-200">{a.error}</p>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
