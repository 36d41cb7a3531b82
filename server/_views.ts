// Column selections and the conversions from rows to API values, shared by the DB operations.
// Private to server/. BigInt worker ids become numbers (uint32 fits), times ISO strings.
import type { Prisma } from "../prisma/mod.ts";
import type { TaskStatusName } from "../shared/mod.ts";

/** The worker's display name, as the seed's dashboard shows it. */
export function workerName(id: number | bigint): string {
  return `Worker-${id}`;
}

export function toNumberOrNull(value: bigint | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function isoOrNull(time: Date | null | undefined): string | null {
  return time ? time.toISOString() : null;
}

/** Columns of a task as lists show it. */
export const taskSummarySelect = {
  id: true,
  command: true,
  status: true,
  priority: true,
  attempt: true,
  maxAttempts: true,
  progress: true,
  workerId: true,
  scheduledAt: true,
  pickedAt: true,
  startedAt: true,
  completedAt: true,
  failedAt: true,
  lastError: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.TaskSelect;

export type TaskSummaryRow = Prisma.TaskGetPayload<{ select: typeof taskSummarySelect }>;

/** A task as lists show it. */
export interface TaskSummary {
  id: string;
  command: string;
  status: TaskStatusName;
  priority: number;
  attempt: number;
  maxAttempts: number;
  progress: number;
  workerId: number | null;
  workerName: string | null;
  scheduledAt: string;
  pickedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  failedAt: string | null;
  /** Milliseconds from start to completion or failure; null until both are known. */
  durationMs: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Milliseconds a finished attempt ran (started_at to completed_at or failed_at). */
export function durationMs(row: { startedAt: Date | null; completedAt: Date | null; failedAt: Date | null }): number | null {
  const end = row.completedAt ?? row.failedAt;
  if (!row.startedAt || !end) return null;
  return Math.max(0, end.getTime() - row.startedAt.getTime());
}

export function toTaskSummary(row: TaskSummaryRow): TaskSummary {
  const workerId = toNumberOrNull(row.workerId);
  return {
    id: row.id,
    command: row.command,
    status: row.status,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    progress: row.progress,
    workerId,
    workerName: workerId === null ? null : workerName(workerId),
    scheduledAt: row.scheduledAt.toISOString(),
    pickedAt: isoOrNull(row.pickedAt),
    startedAt: isoOrNull(row.startedAt),
    completedAt: isoOrNull(row.completedAt),
    failedAt: isoOrNull(row.failedAt),
    durationMs: durationMs(row),
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
