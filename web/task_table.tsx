import { Link } from "wouter";
import type { TaskSummary } from "../server/mod.ts";
import { formatDuration, shortId } from "./format.ts";
import { ProgressBar } from "./progress_bar.tsx";
import { StatusBadge } from "./status_badge.tsx";
import { ui } from "./styles.ts";

/** The duration cell: finished run time, time running so far, or when a waiting task is due. */
export function taskDurationText(task: TaskSummary, now: number): string {
  if (task.durationMs !== null) return formatDuration(task.durationMs);
  if ((task.status === "RUNNING" || task.status === "PICKED") && task.startedAt) {
    return `${formatDuration(Math.max(0, now - Date.parse(task.startedAt)))}…`;
  }
  if (task.status === "SCHEDULED") {
    const due = Date.parse(task.scheduledAt) - now;
    if (due > 1000) return `due in ${formatDuration(due)}`;
  }
  return "–";
}

function progressTone(task: TaskSummary): "running" | "done" | "failed" | "idle" {
  if (task.status === "COMPLETED") return "done";
  if (task.status === "FAILED" || task.status === "DEAD") return "failed";
  if (task.status === "RUNNING" || task.status === "PICKED") return "running";
  return "idle";
}

/** Props of {@linkcode TaskTable}. */
export interface TaskTableProps {
  tasks: readonly TaskSummary[];
  now: number;
  caption: string;
}

/** The live task monitor's rows: id (a link to the task page), command, status, worker, attempt, duration, progress. */
export function TaskTable({ tasks, now, caption }: TaskTableProps) {
  return (
    <table className="w-full min-w-[44rem] border-separate border-spacing-0 text-sm">
      <caption className="sr-only">{caption}</caption>
      <thead className="sticky top-0 z-10 bg-white/95 backdrop-blur dark:bg-zinc-900/95">
        <tr className="text-left text-xs uppercase tracking-wide text-zinc-500 dark:text-zinc-400">
          {["Task", "Command", "Status", "Worker", "Attempt", "Duration", "Progress"].map((h) => (
            <th key={h} scope="col" className="border-b border-zinc-200 px-2 py-2 font-medium dark:border-zinc-800">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {tasks.map((task) => {
          const progress = task.status === "COMPLETED" ? 100 : task.progress;
          return (
            <tr key={task.id} data-task={task.id} data-status={task.status} className="hover:bg-zinc-50 dark:hover:bg-zinc-800/50">
              <td className="border-b border-zinc-100 px-2 py-1.5 dark:border-zinc-800">
                <Link href={`/tasks/${task.id}`} className={`font-mono ${ui.link}`} title={task.id} aria-label={`Task ${shortId(task.id)}`}>
                  {shortId(task.id)}
                </Link>
              </td>
              <td className="max-w-48 truncate border-b border-zinc-100 px-2 py-1.5 font-mono text-xs dark:border-zinc-800" title={task.command}>
                {task.command}
              </td>
              <td className="border-b border-zinc-100 px-2 py-1.5 dark:border-zinc-800">
                <StatusBadge status={task.status} />
              </td>
              <td className="border-b border-zinc-100 px-2 py-1.5 font-mono text-xs dark:border-zinc-800">{task.workerName ?? "–"}</td>
              <td className="border-b border-zinc-100 px-2 py-1.5 tabular-nums dark:border-zinc-800">
                {task.attempt}/{task.maxAttempts}
              </td>
              <td className="border-b border-zinc-100 px-2 py-1.5 tabular-nums dark:border-zinc-800">{taskDurationText(task, now)}</td>
              <td className="w-40 border-b border-zinc-100 px-2 py-1.5 dark:border-zinc-800">
                <div className="flex items-center gap-2">
                  <ProgressBar value={progress} label={`Progress of task ${shortId(task.id)}`} tone={progressTone(task)} />
                  <span className="w-9 text-right text-xs tabular-nums text-zinc-500 dark:text-zinc-400">{progress}%</span>
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
