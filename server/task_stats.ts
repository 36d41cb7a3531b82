import type { PrismaClient } from "../prisma/mod.ts";
import { statsBucket, TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";
import { countTasksByStatus } from "./count_tasks_by_status.ts";

/** Counts for the dashboard and `GET /api/stats`. */
export interface TaskStats {
  total: number;
  /** Every status, zero included. */
  byStatus: Record<TaskStatusName, number>;
  /** The seed's buckets (shared `statsBucket`): every task in exactly one. */
  pending: number;
  running: number;
  completed: number;
  /** FAILED + DEAD + CANCELLED. */
  failed: number;
  dead: number;
  cancelled: number;
  workersOnline: number;
  /** True when no worker is online (tasks will wait). */
  noWorkers: boolean;
  throughput: { completedLastMinute: number; perSecond: number };
}

/** Options for {@linkcode getTaskStats}. */
export interface TaskStatsOptions {
  /** A worker is online when its last heartbeat is younger than this (HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES). */
  onlineWindowMs: number;
}

/** Counts tasks by status, online workers and completions in the last minute (the database's clock). */
export async function getTaskStats(prisma: PrismaClient, options: TaskStatsOptions): Promise<TaskStats> {
  const [byStatus, [counts]] = await Promise.all([
    countTasksByStatus(prisma),
    prisma.$queryRaw<{ completed_last_minute: number; workers_online: number }[]>`
      SELECT (SELECT count(*)::int FROM tasks WHERE completed_at > now() - interval '1 minute') AS completed_last_minute,
             (SELECT count(*)::int FROM workers
               WHERE status IN ('ONLINE', 'DRAINING')
                 AND last_heartbeat_at > now() - make_interval(secs => ${options.onlineWindowMs / 1000}::double precision)
             ) AS workers_online`,
  ]);
  const buckets = { pending: 0, running: 0, completed: 0, failed: 0 };
  let total = 0;
  for (const status of TASK_STATUSES) {
    buckets[statsBucket(status)] += byStatus[status];
    total += byStatus[status];
  }
  const completedLastMinute = counts?.completed_last_minute ?? 0;
  const workersOnline = counts?.workers_online ?? 0;
  return {
    total,
    byStatus,
    ...buckets,
    dead: byStatus.DEAD,
    cancelled: byStatus.CANCELLED,
    workersOnline,
    noWorkers: workersOnline === 0,
    throughput: { completedLastMinute, perSecond: Math.round((completedLastMinute / 60) * 100) / 100 },
  };
}
