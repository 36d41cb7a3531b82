/** Every status a task can have, in life order. */
export const TASK_STATUSES = ["SCHEDULED", "PICKED", "RUNNING", "COMPLETED", "FAILED", "DEAD", "CANCELLED"] as const;

/** A task's status. */
export type TaskStatusName = (typeof TASK_STATUSES)[number];

/** Statuses a task never leaves. */
export const TERMINAL_STATUSES: readonly TaskStatusName[] = ["COMPLETED", "FAILED", "DEAD", "CANCELLED"];

/** Statuses in which a worker holds the task (claimed, leased). */
export const ACTIVE_STATUSES: readonly TaskStatusName[] = ["PICKED", "RUNNING"];

/** True when `status` is final. */
export function isTerminalStatus(status: TaskStatusName): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The seed's stats buckets; every status falls in exactly one. */
export type StatsBucket = "pending" | "running" | "completed" | "failed";

/**
 * Which of the seed's `/api/stats` buckets a status counts in: SCHEDULED is pending; PICKED and
 * RUNNING are running (the seed lost picked-not-started tasks); FAILED, DEAD and CANCELLED are failed.
 */
export function statsBucket(status: TaskStatusName): StatsBucket {
  switch (status) {
    case "SCHEDULED":
      return "pending";
    case "PICKED":
    case "RUNNING":
      return "running";
    case "COMPLETED":
      return "completed";
    default:
      return "failed";
  }
}
