import type { RetryableStatus } from "../server/mod.ts";
import type { TaskStatusName } from "../shared/mod.ts";

/** What the task page offers for a task in `status`. */
export interface TaskActions {
  /** `task.cancel`: before the task ends (SCHEDULED, PICKED, RUNNING). */
  cancel: boolean;
  /** `task.retry`: the same task back to the queue (DEAD, FAILED, CANCELLED). */
  retry: boolean;
  /** `task.schedule` with the same command and payload: a new task (once it completed). */
  runAgain: boolean;
}

/** Statuses `task.retry` and `task.retryMany` accept (the server's RETRYABLE_STATUSES). */
export const RETRYABLE: readonly RetryableStatus[] = ["DEAD", "FAILED", "CANCELLED"];

/** True when `task.retry` accepts a task in `status`. */
export function isRetryable(status: TaskStatusName): status is RetryableStatus {
  return (RETRYABLE as readonly TaskStatusName[]).includes(status);
}

/** The actions a task's status allows. */
export function taskActions(status: TaskStatusName): TaskActions {
  return {
    cancel: status === "SCHEDULED" || status === "PICKED" || status === "RUNNING",
    retry: isRetryable(status),
    runAgain: status === "COMPLETED",
  };
}
