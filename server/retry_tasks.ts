import { Prisma, type PrismaClient } from "../prisma/mod.ts";
import type { TaskStatusName } from "../shared/mod.ts";
import { statusInSql } from "./_status_sql.ts";
import { taskSummarySelect, toTaskSummary, type TaskSummary } from "./_views.ts";

/** Statuses an operator can send a task back to the queue from. */
export const RETRYABLE_STATUSES = ["DEAD", "FAILED", "CANCELLED"] as const satisfies readonly TaskStatusName[];

/** `<column>` is a retryable status, written so that plans can use the partial finished-task indexes. */
const isRetryable = (column: "status" | "cur.status") => Prisma.raw(statusInSql(column, RETRYABLE_STATUSES));

/** A status {@linkcode retryTask} and {@linkcode retryTasks} retry. */
export type RetryableStatus = (typeof RETRYABLE_STATUSES)[number];

/** Most tasks one {@linkcode retryTasks} call sends back to the queue. */
export const MAX_RETRY_BATCH = 10_000;

/**
 * What a retry does to a row: SCHEDULED and due now (PostgreSQL's clock), `failures` back to 0 so it
 * gets its `max_attempts` again, finish times, worker, lease and coordinator cleared, progress 0.
 * `last_error` is kept, and `attempt` is NOT reset: it is the fencing token, and a report from an
 * old attempt must stay stale for ever.
 */
const requeueForRetry = Prisma.sql`
  status = 'SCHEDULED', scheduled_at = now(), failures = 0, completed_at = NULL, failed_at = NULL,
  worker_id = NULL, lease_expires_at = NULL, coordinator_id = NULL, progress = 0, updated_at = now()`;

/**
 * What {@linkcode retryTask} did:
 * - "retried": the task is SCHEDULED again; `previousStatus` is what it was;
 * - "not_retryable": it is not DEAD, FAILED or CANCELLED (`status`): nothing changed;
 * - "not_found": no such task.
 */
export type RetryTaskResult =
  | { outcome: "retried"; task: TaskSummary; previousStatus: RetryableStatus }
  | { outcome: "not_retryable"; status: TaskStatusName }
  | { outcome: "not_found" };

/**
 * Sends task `id` back to the queue when it is DEAD, FAILED or CANCELLED (see `requeueForRetry`
 * above for what changes). One statement that locks the row and checks the status under the lock.
 */
export async function retryTask(prisma: PrismaClient, id: string): Promise<RetryTaskResult> {
  const [row] = await prisma.$queryRaw<{ previous_status: TaskStatusName; retried: boolean }[]>`
    WITH cur AS (
      SELECT id, status FROM tasks WHERE id = ${id}::uuid FOR UPDATE
    ), upd AS (
      UPDATE tasks t SET ${requeueForRetry}
        FROM cur
       WHERE t.id = cur.id AND ${isRetryable("cur.status")}
      RETURNING t.id
    )
    SELECT cur.status::text AS previous_status, EXISTS (SELECT 1 FROM upd) AS retried FROM cur`;
  if (!row) return { outcome: "not_found" };
  if (!row.retried) return { outcome: "not_retryable", status: row.previous_status };
  const task = await prisma.task.findUniqueOrThrow({ where: { id }, select: taskSummarySelect });
  return { outcome: "retried", task: toTaskSummary(task), previousStatus: row.previous_status as RetryableStatus };
}

/** Which tasks {@linkcode retryTasks} sends back to the queue. */
export interface RetryTasksFilter {
  /** Only tasks in this status. */
  status: RetryableStatus;
  /** Only tasks with exactly this command. */
  command?: string | undefined;
  /** At most this many (the oldest first). Default and ceiling {@linkcode MAX_RETRY_BATCH}. */
  limit?: number | undefined;
}

/** The tasks {@linkcode retryTasks} sent back to the queue. */
export interface RetryTasksResult {
  count: number;
  taskIds: string[];
  /** True when more tasks matched than `limit`: call again for the rest. */
  capped: boolean;
}

/**
 * Sends every task matching `filter` back to the queue, up to `limit` per call (oldest first), in one
 * statement: what {@linkcode retryTask} does to one task. Rows another transaction holds are
 * skipped (SKIP LOCKED), so concurrent calls split the work instead of waiting on each other.
 * Throws RangeError for a `limit` outside 1..{@linkcode MAX_RETRY_BATCH}.
 */
export async function retryTasks(prisma: PrismaClient, filter: RetryTasksFilter): Promise<RetryTasksResult> {
  const limit = filter.limit ?? MAX_RETRY_BATCH;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RETRY_BATCH) {
    throw new RangeError(`Cannot retry tasks as 'limit' must be an integer from 1 to ${MAX_RETRY_BATCH}: current value is ${limit}`);
  }
  const matches = Prisma.sql`status = ${filter.status}::"TaskStatus" AND ${isRetryable("status")}${
    filter.command === undefined ? Prisma.empty : Prisma.sql` AND command = ${filter.command}`
  }`;
  const [row] = await prisma.$queryRaw<{ ids: string[] | null; more: boolean }[]>`
    WITH picked AS (
      SELECT id FROM tasks WHERE ${matches} ORDER BY created_at LIMIT ${limit}::int FOR UPDATE SKIP LOCKED
    ), upd AS (
      UPDATE tasks t SET ${requeueForRetry}
        FROM picked
       WHERE t.id = picked.id
      RETURNING t.id, t.created_at
    )
    SELECT (SELECT array_agg(id::text ORDER BY created_at, id) FROM upd) AS ids,
           EXISTS (SELECT 1 FROM tasks WHERE ${matches} AND id NOT IN (SELECT id FROM picked)) AS more`;
  const taskIds = row?.ids ?? [];
  // Matching rows left over while the batch is full: capped. (Left over with room to spare: other
  // transactions held them, e.g. a concurrent retry, so they are not ours to report.)
  return { count: taskIds.length, taskIds, capped: taskIds.length === limit && (row?.more ?? false) };
}
