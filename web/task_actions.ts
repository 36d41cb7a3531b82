import type { TaskStatusName } from "../shared/mod.ts";

/** What the task page offers for a task in `status`. */
export interface TaskActions {
  /** Cancelling is allowed before the task ends. */
  cancel: boolean;
  /** Running it again (as a new task with the same command, payload and priority) once it ended. */
  runAgain: boolean;
}

/** The actions a task's status allows. */
export function taskActions(status: TaskStatusName): TaskActions {
  const ended = status === "COMPLETED" || status === "FAILED" || status === "DEAD" || status === "CANCELLED";
  return { cancel: !ended, runAgain: ended };
}
