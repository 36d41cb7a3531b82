import type { PrismaClient } from "../prisma/mod.ts";
import { ACTIVE_STATUSES, TASK_STATUSES, TERMINAL_STATUSES } from "../shared/mod.ts";
import { countTasksByStatus } from "./count_tasks_by_status.ts";

/** Why a task ran more than once: the fault that ended an earlier attempt. */
export const RERUN_REASONS = [
  "worker_lost",
  "lease_expired",
  "dispatch_failed",
  "worker_restarted",
  "retried_after_failure",
  /** A LOST attempt whose error matches none of the coordinator's known wordings. */
  "other",
] as const;

/** One of {@linkcode RERUN_REASONS}. */
export type RerunReason = (typeof RERUN_REASONS)[number];

/**
 * The figures that prove nothing accepted was lost (issue 4, point 7). The task counts come from one
 * statement ({@linkcode countTasksByStatus}), so they describe one instant.
 */
export interface GuaranteeStats {
  /** Every task ever accepted (every row of `tasks`). */
  accepted: number;
  /** In a terminal state: COMPLETED, FAILED, DEAD or CANCELLED. */
  finished: number;
  /** Held by a worker: PICKED or RUNNING. */
  inFlight: number;
  /** Waiting to run (or to run again): SCHEDULED. */
  queued: number;
  /** `accepted - finished - inFlight - queued`: tasks in none of those states. Must be 0. */
  lost: number;
  /**
   * Tasks an earlier attempt of which ended in a fault and that were attempted again: `total` distinct
   * tasks, and per reason the distinct tasks with such an attempt (a task hit by two faults counts
   * under both, once in `total`).
   */
  ranMoreThanOnce: { total: number; byReason: Record<RerunReason, number> };
  /** Worker reports refused because their attempt was no longer current (counter `stale_reports`). */
  staleReportsRejected: number;
  /** Claims whose lease expired, swept back to the queue (counter `requeued_lease_expired`). */
  leasesSwept: number;
  /** Tasks taken back from a lost or restarted worker (counter `requeued_worker_lost`). */
  requeuedWorkerLost: number;
  /** Attempts requeued because their dispatch failed or was refused (counter `requeued_dispatch_failed`). */
  dispatchFailures: number;
}

/** The coordinator's counters behind {@linkcode GuaranteeStats}, by the field each feeds. */
const COUNTERS = {
  staleReportsRejected: "stale_reports",
  leasesSwept: "requeued_lease_expired",
  requeuedWorkerLost: "requeued_worker_lost",
  dispatchFailures: "requeued_dispatch_failed",
} as const;

/**
 * Computes {@linkcode GuaranteeStats}. The reasons come from the attempts' error text as the
 * coordinator writes it: "worker <id> lost: ...", "lease expired", "dispatch to worker <id> failed: ..."
 * or "worker <id> refused ...", "worker restarted"; and a FAILED attempt followed by another attempt
 * is "retried_after_failure". An attempt counts only when the task went on to a later attempt
 * (`tasks.attempt` is past it): a lost last attempt (the task then DEAD, or still queued) has not
 * made it run twice.
 *
 * Cost: the per-status counts (a few rows, whatever the table's size) and the LOST and FAILED
 * attempts, found through `task_attempts_fault_idx` (which holds only those) and each checked
 * against its task by primary key: proportional to the faults (at 30,000 failed attempts among 1M,
 * 0.2-0.5 s on a 2-core machine). The live stream (`events.onStats`) shares one run among its
 * subscribers.
 */
export async function guaranteeStats(prisma: PrismaClient): Promise<GuaranteeStats> {
  const [counts, reasons, counters] = await Promise.all([
    countTasksByStatus(prisma),
    prisma.$queryRaw<{ reason: RerunReason | "total"; tasks: bigint }[]>`
      WITH rerun AS (
        SELECT a.task_id,
               CASE WHEN a.outcome = 'FAILED' THEN 'retried_after_failure'
                    WHEN a.error ~ '^dispatch to worker ' OR a.error ~ '^worker [0-9]+ refused' THEN 'dispatch_failed'
                    WHEN a.error ~ '^worker [0-9]+ lost:' THEN 'worker_lost'
                    WHEN a.error LIKE 'lease expired%' THEN 'lease_expired'
                    WHEN a.error LIKE 'worker restarted%' THEN 'worker_restarted'
                    ELSE 'other' END AS reason
          FROM task_attempts a
         WHERE a.outcome IN ('LOST', 'FAILED')
           -- A scalar subquery: one primary-key probe per fault, never a pass over all tasks.
           AND (SELECT t.attempt FROM tasks t WHERE t.id = a.task_id) > a.attempt
      )
      SELECT reason, count(DISTINCT task_id) AS tasks FROM rerun GROUP BY reason
      UNION ALL
      SELECT 'total', count(DISTINCT task_id) FROM rerun`,
    prisma.counter.findMany({ where: { name: { in: Object.values(COUNTERS) } }, select: { name: true, value: true } }),
  ]);
  const accepted = TASK_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  const finished = TERMINAL_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  const inFlight = ACTIVE_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  const queued = counts.SCHEDULED;
  const byReason = Object.fromEntries(RERUN_REASONS.map((r) => [r, 0])) as Record<RerunReason, number>;
  let total = 0;
  for (const row of reasons) {
    if (row.reason === "total") total = Number(row.tasks);
    else byReason[row.reason] = Number(row.tasks);
  }
  const counter = (field: keyof typeof COUNTERS) => Number(counters.find((c) => c.name === COUNTERS[field])?.value ?? 0n);
  return {
    accepted,
    finished,
    inFlight,
    queued,
    lost: accepted - finished - inFlight - queued,
    ranMoreThanOnce: { total, byReason },
    staleReportsRejected: counter("staleReportsRejected"),
    leasesSwept: counter("leasesSwept"),
    requeuedWorkerLost: counter("requeuedWorkerLost"),
    dispatchFailures: counter("dispatchFailures"),
  };
}
