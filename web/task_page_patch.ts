// Applying live task changes (`events.onTaskChange`) to a page of the task monitor. Pure.
import type { TaskChangeEvent, TaskChangeRow, TaskPage } from "../server/mod.ts";
import { filterStatuses, type TaskFilter } from "./task_filter.ts";

/** Latest row per task id, from a burst of events (later events win). */
export function latestRows(events: readonly TaskChangeEvent[]): Map<string, TaskChangeRow> {
  const rows = new Map<string, TaskChangeRow>();
  for (const event of events) for (const row of event.rows ?? []) rows.set(row.id, row);
  return rows;
}

/**
 * `page` with the rows in `changes` updated in place (status, progress, attempt, worker); the same
 * object when none of its tasks changed. Times and durations come with the next refetch.
 */
export function patchTaskPage(page: TaskPage, changes: ReadonlyMap<string, TaskChangeRow>): TaskPage {
  let changed = false;
  const items = page.items.map((task) => {
    const row = changes.get(task.id);
    if (!row) return task;
    if (
      row.status === task.status &&
      row.progress === task.progress &&
      row.attempt === task.attempt &&
      row.workerId === task.workerId
    ) {
      return task;
    }
    changed = true;
    return {
      ...task,
      status: row.status,
      progress: row.progress,
      attempt: row.attempt,
      workerId: row.workerId,
      workerName: row.workerId === null ? null : `Worker-${row.workerId}`,
    };
  });
  return changed ? { ...page, items } : page;
}

/** Whether a row, as it is now, belongs in a list filtered by `filter` (command compared as sent: ≤ 80 chars). */
function matches(row: TaskChangeRow, filter: TaskFilter): boolean {
  const statuses = filterStatuses(filter);
  if (statuses !== undefined && !statuses.includes(row.status)) return false;
  if (filter.command !== undefined && !filter.command.startsWith(row.command)) return false;
  if (filter.workerId !== undefined && row.workerId !== filter.workerId) return false;
  return true;
}

/**
 * Whether the monitor must refetch its page after `events`, beyond patching rows: a resync ("R"),
 * a statement too big to list its rows, new tasks or tasks entering the filter while it shows the
 * first page, or a shown task changing status (its times and duration changed, or it left the filter).
 */
export function needsRefetch(
  events: readonly TaskChangeEvent[],
  page: TaskPage | undefined,
  options: { firstPage: boolean; filter: TaskFilter },
): boolean {
  const shown = new Map((page?.items ?? []).map((t) => [t.id, t]));
  for (const event of events) {
    if (event.op === "R" || event.rows === null) return true;
    for (const row of event.rows) {
      const task = shown.get(row.id);
      if (task) {
        if (task.status !== row.status || task.attempt !== row.attempt) return true;
      } else if (options.firstPage && matches(row, options.filter)) {
        return true;
      }
    }
  }
  return false;
}
