import type { PrismaClient } from "../prisma/mod.ts";
import { cancelTask, type CancelTaskResult } from "./cancel_task.ts";
import type { EventHub } from "./event_hub.ts";
import {
  MAX_RETRY_BATCH,
  RETRYABLE_STATUSES,
  retryTask,
  retryTasks,
  type RetryTaskResult,
  type RetryTasksFilter,
  type RetryTasksResult,
} from "./retry_tasks.ts";

/** What an operator's action on tasks needs: the database, and the activity log to tell. */
export interface OperatorActionDeps {
  prisma: PrismaClient;
  hub: EventHub;
}

/**
 * {@linkcode cancelTask} on behalf of an operator (tRPC `task.cancel`, `POST /api/tasks/<id>/cancel`):
 * the activity log's line for the change then says so.
 */
export async function cancelTaskByOperator(deps: OperatorActionDeps, id: string): Promise<CancelTaskResult> {
  const withdraw = deps.hub.expectOperatorChange([id], "CANCELLED");
  try {
    const result = await cancelTask(deps.prisma, id);
    if (result.outcome !== "cancelled") withdraw();
    return result;
  } catch (error) {
    withdraw();
    throw error;
  }
}

/** {@linkcode retryTask} on behalf of an operator (tRPC `task.retry`, `POST /api/tasks/<id>/retry`). */
export async function retryTaskByOperator(deps: OperatorActionDeps, id: string): Promise<RetryTaskResult> {
  const withdraw = deps.hub.expectOperatorChange([id], "SCHEDULED");
  try {
    const result = await retryTask(deps.prisma, id);
    if (result.outcome !== "retried") withdraw();
    return result;
  } catch (error) {
    withdraw();
    throw error;
  }
}

/**
 * {@linkcode retryTasks} on behalf of an operator (tRPC `task.retryMany`, `POST /api/tasks/retry`),
 * with one activity line for the batch ("Operator retried 12 DEAD tasks").
 */
export async function retryTasksByOperator(deps: OperatorActionDeps, filter: RetryTasksFilter): Promise<RetryTasksResult> {
  const result = await retryTasks(deps.prisma, filter);
  if (result.count > 0) {
    const what = `${result.count} ${filter.status} task${result.count === 1 ? "" : "s"}`;
    const command = filter.command === undefined ? "" : ` with command ${filter.command.slice(0, 80)}`;
    deps.hub.record("info", `Operator retried ${what}${command}${result.capped ? " (more match: retry again for the rest)" : ""}`);
  }
  return result;
}

/** The refusal to cancel a task that has ended (tRPC CONFLICT, REST 409). */
export function alreadyFinishedMessage(id: string, status: string): string {
  return `Task ${id} is already ${status}`;
}

/** The refusal to retry a task that is not DEAD, FAILED or CANCELLED (tRPC CONFLICT, REST 409). */
export function notRetryableMessage(id: string, status: string): string {
  return `Task ${id} is ${status}: only ${RETRYABLE_STATUSES.join(", ")} tasks can be retried`;
}

/** What a capped bulk retry tells its caller. */
export function cappedRetryMessage(count: number): string {
  return `Retried the oldest ${count} matching tasks, the most one call retries (${MAX_RETRY_BATCH}); call again for the rest`;
}
