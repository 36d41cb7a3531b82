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
  attempts: {
    select: {
      attempt: true,
      workerId: true,
      coordinatorId: true,
      pickedAt: true,
      startedAt: true,
      finishedAt: true,
      outcome: true,
      error: true,
    },
    orderBy: { attempt: "asc" },
  },
} as const;

/** The task `id` with all its attempts (oldest first), or null when there is none. */
export async function getTask(prisma: PrismaClient, id: string): Promise<TaskDetail | null> {
  const row = await prisma.task.findUnique({ where: { id }, select: taskDetailSelect });
  if (!row) return null;
  return {
    ...toTaskSummary(row),
    payload: row.payload ?? null,
    result: row.result ?? null,
    timeoutMs: row.timeoutMs,
    leaseExpiresAt: isoOrNull(row.leaseExpiresAt),
    coordinatorId: row.coordinatorId,
    idempotencyKey: row.idempotencyKey,
    attempts: row.attempts.map((a) => {
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
