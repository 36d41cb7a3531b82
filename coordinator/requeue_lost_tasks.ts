import { Prisma, type PrismaClient } from "../prisma/mod.ts";

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
 */
export function requeueWorkerTasks(prisma: PrismaClient, workerId: number, reason: string): Promise<LostTask[]> {
  return requeue(
    prisma,
    Prisma.sql`SELECT id, worker_id FROM tasks
                WHERE worker_id = ${workerId}::bigint AND status IN ('PICKED', 'RUNNING') FOR UPDATE`,
    reason,
  );
}

/**
 * Sweeps claims whose lease has expired (their coordinator died, or their worker went silent
 * without its coordinator noticing) back to the queue, like {@linkcode requeueWorkerTasks}. Any
 * coordinator runs it; SKIP LOCKED keeps two sweepers from blocking each other.
 */
export function sweepExpiredLeases(prisma: PrismaClient, limit = 1000): Promise<LostTask[]> {
  return requeue(
    prisma,
    Prisma.sql`SELECT id, worker_id FROM tasks
                WHERE status IN ('PICKED', 'RUNNING') AND lease_expires_at < now()
                ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
    "lease expired",
  );
}

async function requeue(prisma: PrismaClient, lostQuery: Prisma.Sql, reason: string): Promise<LostTask[]> {
  const rows = await prisma.$queryRaw<LostRow[]>(Prisma.sql`
    WITH lost AS (${lostQuery}),
    upd AS (
      UPDATE tasks t
         SET status = CASE WHEN t.attempt >= t.max_attempts THEN 'DEAD' ELSE 'SCHEDULED' END::"TaskStatus",
             failed_at = CASE WHEN t.attempt >= t.max_attempts THEN now() ELSE t.failed_at END,
             worker_id = CASE WHEN t.attempt >= t.max_attempts THEN t.worker_id ELSE NULL END,
             last_error = ${reason}, lease_expires_at = NULL, coordinator_id = NULL, updated_at = now()
        FROM lost
       WHERE t.id = lost.id
      RETURNING t.id, t.attempt, t.status::text AS status, lost.worker_id
    ), att AS (
      UPDATE task_attempts a SET finished_at = now(), outcome = 'LOST', error = ${reason}
        FROM upd WHERE a.task_id = upd.id AND a.attempt = upd.attempt AND a.outcome = 'RUNNING'
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
  prisma: PrismaClient,
  taskId: string,
  attempt: number,
  reason: string,
): Promise<LostTask[]> {
  return requeue(
    prisma,
    Prisma.sql`SELECT id, worker_id FROM tasks
                WHERE id = ${taskId}::uuid AND attempt = ${attempt} AND status = 'PICKED' FOR UPDATE`,
    reason,
  );
}

/** The attempts the database says worker `workerId` holds (to adopt after a coordinator restart). */
export async function heldAttempts(prisma: PrismaClient, workerId: number): Promise<{ id: string; attempt: number }[]> {
  return await prisma.$queryRaw<{ id: string; attempt: number }[]>`
    SELECT id::text AS id, attempt FROM tasks WHERE worker_id = ${workerId}::bigint AND status IN ('PICKED', 'RUNNING')`;
}
