import type { PrismaClient } from "../prisma/mod.ts";
import { isoOrNull, taskSummarySelect, toNumberOrNull, toTaskSummary, workerName, type TaskSummary } from "./_views.ts";

/** One attempt of a task: the task page's timeline. */
export interface TaskAttemptView {
  attempt: number;
  workerId: number | null;
  workerName: string | null;
  coordinatorId: string | null;
  pickedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  outcome: "RUNNING" | "COMPLETED" | "FAILED" | "LOST" | "CANCELLED";
  error: string | null;
}

/** A task with everything the task page shows. */
export interface TaskDetail extends TaskSummary {
  payload: unknown;
  result: unknown;
  timeoutMs: number | null;
  leaseExpiresAt: string | null;
  coordinatorId: string | null;
  idempotencyKey: string | null;
  attempts: TaskAttemptView[];
}

const taskDetailSelect = {
  ...taskSummarySelect,
  payload: true,
  result: true,
  timeoutMs: true,
  leaseExpiresAt: true,
  coordinatorId: true,
  idempotencyKey: true,
} as const;

/** A row of the view `task_attempt_history`, as {@linkcode getTask} reads it. */
interface AttemptRow {
  attempt: number;
  workerId: bigint | null;
  coordinatorId: string | null;
  pickedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  outcome: TaskAttemptView["outcome"];
  error: string | null;
}

/**
 * The task `id` with all its attempts (oldest first), or null when there is none. The attempts come
 * from the view `task_attempt_history`: the rows of task_attempts (attempts that failed, were lost or
 * cancelled) and the attempt the task row itself holds (the one in flight, or the one that completed
 * the task), each once.
 */
export async function getTask(prisma: PrismaClient, id: string): Promise<TaskDetail | null> {
  const [row, attempts] = await Promise.all([
    findTask(prisma, id),
    prisma.$queryRaw<AttemptRow[]>`
      SELECT attempt, worker_id AS "workerId", coordinator_id AS "coordinatorId", picked_at AS "pickedAt",
             started_at AS "startedAt", finished_at AS "finishedAt", outcome::text AS outcome, error
        FROM task_attempt_history WHERE task_id = ${id}::uuid ORDER BY attempt`,
  ]);
  if (!row) return null;
  return {
    ...toTaskSummary(row),
    payload: row.payload ?? null,
    result: row.result ?? null,
    timeoutMs: row.timeoutMs,
    leaseExpiresAt: isoOrNull(row.leaseExpiresAt),
    coordinatorId: row.coordinatorId,
    idempotencyKey: row.idempotencyKey,
    attempts: attempts.map((a) => {
      const workerId = toNumberOrNull(a.workerId);
      return {
        attempt: a.attempt,
        workerId,
        workerName: workerId === null ? null : workerName(workerId),
        coordinatorId: a.coordinatorId,
        pickedAt: a.pickedAt.toISOString(),
        startedAt: isoOrNull(a.startedAt),
        finishedAt: isoOrNull(a.finishedAt),
        outcome: a.outcome,
        error: a.error,
      };
    }),
  };
}

function findTask(prisma: PrismaClient, id: string) {
  return prisma.task.findUnique({ where: { id }, select: taskDetailSelect });
}
