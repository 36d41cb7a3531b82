import { type PrismaClient, sql, toQuery, WRITE_ENDED_ATTEMPTS } from "../prisma/mod.ts";
import type { TaskStatusName } from "../shared/mod.ts";
import { taskSummarySelect, toTaskSummary, type TaskSummary } from "./_views.ts";

/** Statuses a task can be cancelled from (it is not terminal yet). */
export const CANCELLABLE_STATUSES = ["SCHEDULED", "PICKED", "RUNNING"] as const satisfies readonly TaskStatusName[];

/** A status {@linkcode cancelTask} cancels. */
export type CancellableStatus = (typeof CANCELLABLE_STATUSES)[number];

/**
 * What {@linkcode cancelTask} did:
 * - "cancelled": the task is CANCELLED now; `previousStatus` is what it was;
 * - "terminal": it had already ended (`status`): nothing changed;
 * - "not_found": no such task.
 */
export type CancelTaskResult =
  | { outcome: "cancelled"; task: TaskSummary; previousStatus: CancellableStatus }
  | { outcome: "terminal"; status: TaskStatusName }
  | { outcome: "not_found" };

interface CancelRow {
  previous_status: TaskStatusName;
  cancelled: boolean;
}

/**
 * Cancels task `id` when it is SCHEDULED, PICKED or RUNNING: it becomes CANCELLED (terminal), its
 * lease is cleared (`failed_at` stays null: it did not fail) and its open attempt, if it was PICKED
 * or RUNNING, gets its row with outcome CANCELLED at PostgreSQL's `now()`. One statement, which locks the row (FOR UPDATE)
 * and checks the status under the lock: a worker's report racing the cancel either commits first
 * (and the cancel sees its result) or finds the task CANCELLED and is refused as stale, since the
 * coordinator's reports only move PICKED or RUNNING tasks. A coordinator whose worker holds the task
 * hears the change (NOTIFY) and tells the worker to abort the handler.
 */
export async function cancelTask(prisma: PrismaClient, id: string): Promise<CancelTaskResult> {
  const { text, values } = toQuery(sql`
    WITH cur AS (
      SELECT id, attempt, status, worker_id, coordinator_id, picked_at, started_at FROM tasks WHERE id = ${id}::uuid FOR UPDATE
    ), upd AS (
      UPDATE tasks t SET status = 'CANCELLED', lease_expires_at = NULL, updated_at = now()
        FROM cur
       WHERE t.id = cur.id AND cur.status IN ('SCHEDULED', 'PICKED', 'RUNNING')
      RETURNING t.id
    ), ended AS (
      -- The attempt in flight (the task row holds it until it ends) gets its row.
      SELECT cur.id AS task_id, cur.attempt, cur.worker_id, cur.coordinator_id, cur.picked_at, cur.started_at,
             'CANCELLED' AS outcome, NULL::text AS error
        FROM cur JOIN upd ON upd.id = cur.id
       WHERE cur.status IN ('PICKED', 'RUNNING')
    ), written AS (${WRITE_ENDED_ATTEMPTS}
    )
    SELECT cur.status::text AS previous_status, EXISTS (SELECT 1 FROM upd) AS cancelled FROM cur`);
  // Our SQL fragments carry their values as parameters ($1...), so the unsafe entry point is safe here.
  const [row] = await prisma.$queryRawUnsafe<CancelRow[]>(text, ...values);
  if (!row) return { outcome: "not_found" };
  if (!row.cancelled) return { outcome: "terminal", status: row.previous_status };
  const task = await prisma.task.findUniqueOrThrow({ where: { id }, select: taskSummarySelect });
  return { outcome: "cancelled", task: toTaskSummary(task), previousStatus: row.previous_status as CancellableStatus };
}
