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
  const row = await findTask(prisma, id);
  if (!row) return null;
  return {
    ...toTaskSummary(row),
    payload: row.payload ?? null,
    result: row.result ?? null,
    timeoutMs: row.timeoutMs,
    leaseExpiresAt: isoOrNull(row.leaseExpiresAt),
    coordinatorId: row.coordinatorId,
    idempotencyKey: row.idempotencyKey,
    attempts: withTaskRowAttempt(row).map((a) => {
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

type TaskRow = NonNullable<Awaited<ReturnType<typeof findTask>>>;

/**
 * The attempt rows, and the attempt the task row holds: a PICKED or RUNNING task's current attempt
 * has no row yet (one is written when an attempt ends), and the attempt that completed a task never
 * gets one (migration `completed_attempt_in_task_row`): both are read off the task row. A row an older
 * coordinator wrote for that attempt is used as it is. As the view `task_attempt_history` lists them.
 */
function withTaskRowAttempt(task: TaskRow): TaskRow["attempts"] {
  const inFlight = task.status === "PICKED" || task.status === "RUNNING";
  const completed = task.status === "COMPLETED";
  if ((!inFlight && !completed) || task.attempt === 0 || task.attempts.some((a) => a.attempt === task.attempt)) return task.attempts;
  const pickedAt = task.pickedAt ?? task.completedAt;
  if (pickedAt === null) return task.attempts;
  return [
    ...task.attempts,
    {
      attempt: task.attempt,
      workerId: task.workerId,
      coordinatorId: task.coordinatorId,
      pickedAt,
      startedAt: task.startedAt,
      finishedAt: completed ? task.completedAt : null,
      outcome: completed ? "COMPLETED" : "RUNNING",
      error: null,
    },
  ];
}
