// The task monitor's filter, kept in the URL's query string (?status=RUNNING&command=x&worker=7).
import { TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";

/** Named sets of statuses the monitor can filter by (`task.list`'s `statuses`). */
export const STATUS_GROUPS = {
  /** Held by a worker. */
  active: ["PICKED", "RUNNING"],
  /** Ended without success. */
  unsuccessful: ["FAILED", "DEAD", "CANCELLED"],
} as const satisfies Record<string, readonly TaskStatusName[]>;

/** A key of {@linkcode STATUS_GROUPS}. */
export type StatusGroup = keyof typeof STATUS_GROUPS;

/** The monitor's filter. */
export interface TaskFilter {
  /** One status, or a group of them. */
  status?: TaskStatusName | StatusGroup | undefined;
  command?: string | undefined;
  workerId?: number | undefined;
}

/** The filter in `params`; values that are not valid are ignored. */
export function parseTaskFilter(params: URLSearchParams): TaskFilter {
  const filter: TaskFilter = {};
  const status = params.get("status");
  if (status && status in STATUS_GROUPS) filter.status = status as StatusGroup;
  else if (status && (TASK_STATUSES as readonly string[]).includes(status.toUpperCase())) filter.status = status.toUpperCase() as TaskStatusName;
  const command = params.get("command")?.trim();
  if (command) filter.command = command.slice(0, 1000);
  const worker = params.get("worker")?.replace(/^worker-/i, "");
  if (worker && /^\d{1,10}$/.test(worker)) {
    const id = Number(worker);
    if (id >= 1 && id <= 0xffffffff) filter.workerId = id;
  }
  return filter;
}

/** `params` with the filter's keys set to `filter` (other keys kept). */
export function withTaskFilter(params: URLSearchParams, filter: TaskFilter): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of ["status", "command", "worker"]) next.delete(key);
  if (filter.status) next.set("status", filter.status);
  if (filter.command) next.set("command", filter.command);
  if (filter.workerId !== undefined) next.set("worker", String(filter.workerId));
  return next;
}

/** The statuses `filter` keeps; undefined for all. */
export function filterStatuses(filter: TaskFilter): readonly TaskStatusName[] | undefined {
  if (filter.status === undefined) return undefined;
  return filter.status in STATUS_GROUPS ? STATUS_GROUPS[filter.status as StatusGroup] : [filter.status as TaskStatusName];
}
