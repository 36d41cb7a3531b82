import { sql, type SqlClient, type SqlFragment, WRITE_ENDED_ATTEMPTS } from "../prisma/mod.ts";

/** A task taken back from a worker that can no longer run it. */
export interface LostTask {
  id: string;
  attempt: number;
  /** The worker that lost it. */
  workerId: number | null;
  /** SCHEDULED (back in the queue) or DEAD (that was its last attempt). */
  status: string;
}

interface LostRow {
  id: string;
  attempt: number;
  worker_id: bigint | null;
  status: string;
}

/**
 * Takes every PICKED or RUNNING task of worker `workerId` back at once: each goes to SCHEDULED
 * (due now, its `scheduled_at` kept) or DEAD when that was its last attempt; the attempt is closed
 * as LOST with `reason`. A late report from the lost attempt is then stale (fencing).
 * `startedTaskIds`: tasks the coordinator knows the worker started (it accepted their STARTED
 * without writing it yet): their loss counts as if the database said RUNNING.
 */
export function requeueWorkerTasks(db: SqlClient, workerId: number, reason: string, startedTaskIds: string[] = []): Promise<LostTask[]> {
  return requeue(
    db,
    sql`SELECT id, worker_id, status FROM tasks
                WHERE worker_id = ${workerId}::bigint AND status IN ('PICKED', 'RUNNING') FOR UPDATE`,
    reason,
    "requeued_worker_lost",
    startedTaskIds,
  );
}

/**
 * Takes back at once the attempts bound to worker `workerId` that it does not hold (per its
 * heartbeat's list), picked more than `graceMs` ago: a dispatch that never reached it, e.g. because
 * the coordinator that bound them died before sending. Without this, its heartbeats would keep such
 * an attempt's lease alive for ever.
 */
export function requeueUnheldAttempts(
  db: SqlClient,
  workerId: number,
  holding: { taskId: string; attempt: number }[],
  graceMs: number,
): Promise<LostTask[]> {
  const ids = holding.map((h) => h.taskId);
  const attempts = holding.map((h) => h.attempt);
  return requeue(
    db,
    sql`SELECT id, worker_id, status FROM tasks t
                WHERE worker_id = ${workerId}::bigint AND status IN ('PICKED', 'RUNNING')
                  AND picked_at < now() - ${graceMs} * interval '1 millisecond'
                  AND NOT EXISTS (SELECT 1 FROM unnest(${ids}::uuid[], ${attempts}::int[]) AS h(id, attempt)
                                   WHERE h.id = t.id AND h.attempt = t.attempt)
                FOR UPDATE SKIP LOCKED`,
    `worker ${workerId} does not hold it: its dispatch never arrived`,
    "requeued_dispatch_failed",
  );
}

/**
 * Sweeps claims whose lease has expired (their coordinator died, or their worker went silent
 * without its coordinator noticing) back to the queue, like {@linkcode requeueWorkerTasks}. Any
 * coordinator runs it; SKIP LOCKED keeps two sweepers from blocking each other.
 */
export function sweepExpiredLeases(db: SqlClient, limit = 1000): Promise<LostTask[]> {
  return requeue(
    db,
    sql`SELECT id, worker_id, status FROM tasks
                WHERE status IN ('PICKED', 'RUNNING') AND lease_expires_at < now()
                ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
    "lease expired",
    "requeued_lease_expired",
  );
}

/** Backoff before an attempt lost after it started runs again (doubling per failure, jittered). */
export const LOST_RETRY = { baseMs: 500, maxMs: 30_000 };

/** Most attempts a task may lose before they start (its worker dying each time) before it is DEAD. */
export const UNSTARTED_LOSS_CAP = 10;

async function requeue(
  db: SqlClient,
  lostQuery: SqlFragment,
  reason: string,
  counterName: string,
  startedTaskIds: string[] = [],
): Promise<LostTask[]> {
  // An attempt lost after it started counts as a failure (a poison task that kills its worker
  // ends DEAD); one lost while still queued on the worker does not, up to a cap of
  // UNSTARTED_LOSS_CAP such losses (so a task can never loop for ever).
  const rows = await db.query<LostRow>(sql`
    WITH found AS (${lostQuery}),
    lost AS (
      SELECT id, worker_id,
             CASE WHEN status = 'PICKED' AND id = ANY(${startedTaskIds}::uuid[]) THEN 'RUNNING' ELSE status::text END AS status
        FROM found
    ),
    decided AS (
      SELECT t.id, lost.worker_id, t.attempt, t.coordinator_id, t.picked_at,
             CASE WHEN t.started_at IS NULL AND lost.status = 'RUNNING' THEN t.picked_at ELSE t.started_at END AS started_at,
             t.failures + CASE WHEN lost.status = 'RUNNING' THEN 1 ELSE 0 END AS failures,
             CASE WHEN t.failures + CASE WHEN lost.status = 'RUNNING' THEN 1 ELSE 0 END >= t.max_attempts
                    -- The earlier attempts lost before they started, and this one.
                    OR (lost.status = 'PICKED' AND 1 + (
                          SELECT count(*) FROM task_attempts a
                           WHERE a.task_id = t.id AND a.attempt < t.attempt
                             AND a.outcome IN ('LOST', 'RUNNING') AND a.started_at IS NULL
                        ) >= ${UNSTARTED_LOSS_CAP})
                  THEN 'DEAD' ELSE 'SCHEDULED' END::"TaskStatus" AS next
        FROM tasks t JOIN lost ON lost.id = t.id
    ),
    upd AS (
      UPDATE tasks t
         SET status = d.next, failures = d.failures,
             failed_at = CASE WHEN d.next = 'DEAD' THEN now() ELSE t.failed_at END,
             -- An attempt lost after it started may have killed its worker (a poison task): it
             -- waits out the retry backoff, like a failure, instead of felling the next worker at once.
             scheduled_at = CASE WHEN d.next = 'SCHEDULED' AND d.failures > t.failures
                                 THEN now() + least(${LOST_RETRY.maxMs}, ${LOST_RETRY.baseMs} * 2 ^ (d.failures - 1))
                                            * (0.5 + random() / 2) * interval '1 millisecond'
                                 ELSE t.scheduled_at END,
             worker_id = CASE WHEN d.next = 'DEAD' THEN t.worker_id ELSE NULL END,
             last_error = ${reason}, lease_expires_at = NULL, coordinator_id = NULL, updated_at = now()
        FROM decided d
       WHERE t.id = d.id
      RETURNING t.id, t.attempt, t.status::text AS status, d.worker_id
    ), ended AS (
      SELECT id AS task_id, attempt, worker_id, coordinator_id, picked_at, started_at, 'LOST' AS outcome, ${reason}::text AS error
        FROM decided
    ), written AS (${WRITE_ENDED_ATTEMPTS}
    ), counted AS (
      INSERT INTO counters (name, value) SELECT ${counterName}, count(*) FROM upd HAVING count(*) > 0
      ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value
    )
    SELECT id::text AS id, attempt, worker_id, status FROM upd`);
  return rows.map((r) => ({
    id: r.id,
    attempt: r.attempt,
    workerId: r.worker_id === null ? null : Number(r.worker_id),
    status: r.status,
  }));
}

/**
 * Takes one attempt back that never reached its worker (dispatch refused or failed), if it is
 * still only PICKED. The attempt counts: a task whose dispatches keep failing ends DEAD.
 */
export function requeueUndeliveredAttempt(
  db: SqlClient,
  taskId: string,
  attempt: number,
  reason: string,
): Promise<LostTask[]> {
  return requeue(
    db,
    sql`SELECT id, worker_id, status FROM tasks
                WHERE id = ${taskId}::uuid AND attempt = ${attempt} AND status = 'PICKED' FOR UPDATE`,
    reason,
    "requeued_dispatch_failed",
  );
}

/** The attempts the database says worker `workerId` holds (to adopt after a coordinator restart). */
export async function heldAttempts(db: SqlClient, workerId: number): Promise<{ id: string; attempt: number }[]> {
  return await db.query<{ id: string; attempt: number }>`
    SELECT id::text AS id, attempt FROM tasks WHERE worker_id = ${workerId}::bigint AND status IN ('PICKED', 'RUNNING')`;
}

/** Of `taskIds`, those cancelled (so their workers must stop them), with the attempt they were at. */
export async function cancelledAmong(db: SqlClient, taskIds: string[]): Promise<{ id: string; attempt: number }[]> {
  if (taskIds.length === 0) return [];
  return await db.query<{ id: string; attempt: number }>`
    SELECT id::text AS id, attempt FROM tasks WHERE id = ANY(${taskIds}::uuid[]) AND status = 'CANCELLED'`;
}
