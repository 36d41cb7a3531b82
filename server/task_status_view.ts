import type { PrismaClient } from "../prisma/mod.ts";
import { formatSeedTime, type TaskStatusName } from "../shared/mod.ts";
import { durationMs, toNumberOrNull } from "./_views.ts";

/** The seed's `GET /status` body: times `YYYY-MM-DD HH:MM:SS` (UTC) or `""`, `worker_id` a number or null. */
export interface SeedTaskStatus {
  task_id: string;
  command: string;
  scheduled_at: string;
  picked_at: string;
  started_at: string;
  completed_at: string;
  failed_at: string;
  worker_id: number | null;
}

/** A `GET /api/tasks` entry: the seed's status object plus status, attempt, progress and duration. */
export interface SeedTaskListEntry extends SeedTaskStatus {
  status: TaskStatusName;
  attempt: number;
  progress: number;
  duration_ms: number | null;
}

/** Columns behind {@linkcode SeedTaskListEntry}. */
export const seedTaskSelect = {
  id: true,
  command: true,
  status: true,
  attempt: true,
  progress: true,
  workerId: true,
  scheduledAt: true,
  pickedAt: true,
  startedAt: true,
  completedAt: true,
  failedAt: true,
} as const;

type SeedTaskRow = {
  id: string;
  command: string;
  status: TaskStatusName;
  attempt: number;
  progress: number;
  workerId: bigint | null;
  scheduledAt: Date;
  pickedAt: Date | null;
  startedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
};

/** Converts a row to the seed's status object (key order as the seed's README shows it). */
export function toSeedTaskStatus(row: SeedTaskRow): SeedTaskStatus {
  return {
    task_id: row.id,
    command: row.command,
    scheduled_at: formatSeedTime(row.scheduledAt),
    picked_at: formatSeedTime(row.pickedAt),
    started_at: formatSeedTime(row.startedAt),
    completed_at: formatSeedTime(row.completedAt),
    failed_at: formatSeedTime(row.failedAt),
    worker_id: toNumberOrNull(row.workerId),
  };
}

/** Converts a row to a `GET /api/tasks` entry. */
export function toSeedTaskListEntry(row: SeedTaskRow): SeedTaskListEntry {
  return {
    ...toSeedTaskStatus(row),
    status: row.status,
    attempt: row.attempt,
    progress: row.progress,
    duration_ms: durationMs(row),
  };
}

/** The seed's status object for task `id`, or null when there is none. `id` must be a UUID. */
export async function getTaskStatus(prisma: PrismaClient, id: string): Promise<SeedTaskStatus | null> {
  const row = await prisma.task.findUnique({ where: { id }, select: seedTaskSelect });
  return row ? toSeedTaskStatus(row) : null;
}
