import { type SqlClient, WRITE_ENDED_ATTEMPTS } from "../prisma/mod.ts";

/**
 * What became of a worker's report:
 * - "applied": the task moved on;
 * - "duplicate": the task already reflects this report (a retried report): nothing changed;
 * - "stale": the report is about an attempt (or worker) that is no longer current: rejected, nothing changed;
 * - "not_found": no such task.
 */
export type ReportOutcome = "applied" | "duplicate" | "stale" | "not_found";

/** A status report as the coordinator understands it (already validated). */
export interface TaskReport {
  taskId: string;
  /** The attempt the worker ran, or 0 when it did not say (a seed worker): the current one is assumed. */
  attempt: number;
  /** The reporting worker, or 0 when it did not say. */
  workerId: number;
  /**
   * When the attempt started, if the coordinator accepted its STARTED without writing it yet
   * (kept between the attempt's `picked_at` and the statement's time).
   */
  startedAt?: Date;
}

/** The effect of an applied or duplicate report, for the coordinator's bookkeeping. */
export interface ReportResult {
  outcome: ReportOutcome;
  /** The attempt the report was matched to (the task's current one). */
  attempt: number;
  /** The worker the task's current attempt belongs to. */
  workerId: number | null;
  /** For failures: what the task became. */
  status?: string;
}

interface CurrentRow {
  attempt: number;
  status: string;
  worker_id: bigint | null;
  changed: boolean;
  new_status: string | null;
}

function toResult(rows: CurrentRow[], report: TaskReport, alreadyDone: (row: CurrentRow) => boolean): ReportResult {
  const row = rows[0];
  if (!row) return { outcome: "not_found", attempt: report.attempt, workerId: null };
  const workerId = row.worker_id === null ? null : Number(row.worker_id);
  if (row.changed) return { outcome: "applied", attempt: row.attempt, workerId, status: row.new_status ?? row.status };
  const sameAttempt = report.attempt === 0 || report.attempt === row.attempt;
  const sameWorker = report.workerId === 0 || workerId === null || report.workerId === workerId;
  const outcome = sameAttempt && sameWorker && alreadyDone(row) ? "duplicate" : "stale";
  return { outcome, attempt: row.attempt, workerId, status: row.status };
}

interface BatchRow extends CurrentRow {
  ord: bigint;
}

function arrays(reports: TaskReport[]) {
  return {
    ids: reports.map((r) => r.taskId),
    attempts: reports.map((r) => r.attempt),
    workers: reports.map((r) => r.workerId),
    // Unix ms (numbers cost less to send than ISO strings); to_timestamp() in the statements.
    startedMs: reports.map((r) => r.startedAt?.getTime() ?? null),
  };
}

function toResults(rows: BatchRow[], reports: TaskReport[], alreadyDone: (row: CurrentRow) => boolean): ReportResult[] {
  const byOrd = new Map(rows.map((row) => [Number(row.ord), row]));
  return reports.map((report, i) => {
    const row = byOrd.get(i + 1);
    return toResult(row && row.attempt !== null ? [row] : [], report, alreadyDone);
  });
}

/**
 * STARTED, for many reports in one statement: PICKED -> RUNNING at PostgreSQL's time, the lease
 * renewed. Fenced: only for a task's current attempt (and worker, when the report names one).
 * One result per report, in order.
 */
export async function markTasksStarted(db: SqlClient, reports: TaskReport[], leaseMs: number): Promise<ReportResult[]> {
  if (reports.length === 0) return [];
  const { ids, attempts, workers, startedMs } = arrays(reports);
  // The statement lives in the database function `taskmaster_start_tasks` (migration
  // `pinned_start_plan`), whose plans find each task by primary key (see completeTasks).
  const rows = await db.query<BatchRow>`
    SELECT ord, attempt, status, worker_id, changed, NULL::text AS new_status
      FROM taskmaster_start_tasks(${ids}::uuid[], ${attempts}::int[], ${workers}::bigint[], ${startedMs}::float8[], ${leaseMs}::int)`;
  return toResults(rows, reports, (row) => row.status === "RUNNING" || row.status === "COMPLETED");
}

/** STARTED for one report: see {@linkcode markTasksStarted}. */
export async function markTaskStarted(db: SqlClient, report: TaskReport, leaseMs: number): Promise<ReportResult> {
  return (await markTasksStarted(db, [report], leaseMs))[0]!;
}

/**
 * COMPLETE, for many reports in one statement: PICKED or RUNNING -> COMPLETED, with each handler's
 * result, progress 100, the lease released, the attempt closed and the workers' counters raised.
 * Fenced like {@linkcode markTasksStarted}. One result per report, in order.
 */
export async function completeTasks(
  db: SqlClient,
  reports: (TaskReport & { resultJson: string | null })[],
): Promise<ReportResult[]> {
  if (reports.length === 0) return [];
  const { ids, attempts, workers, startedMs } = arrays(reports);
  const results = reports.map((r) => r.resultJson);
  // The statement lives in the database function `taskmaster_complete_tasks` (migration
  // `pinned_completion_plan`), whose plans find each task by primary key: as a prepared statement,
  // its plan cache could keep a sequential scan chosen while the table was small.
  const rows = await db.query<BatchRow>`
    SELECT ord, attempt, status, worker_id, changed, 'COMPLETED' AS new_status
      FROM taskmaster_complete_tasks(${ids}::uuid[], ${attempts}::int[], ${workers}::bigint[], ${results}::text[], ${startedMs}::float8[])`;
  return toResults(rows, reports, (row) => row.status === "COMPLETED");
}

/** COMPLETE for one report: see {@linkcode completeTasks}. */
export async function completeTask(
  db: SqlClient,
  report: TaskReport & { resultJson: string | null },
): Promise<ReportResult> {
  return (await completeTasks(db, [report]))[0]!;
}

/**
 * FAILED: the attempt failed (it counts against `max_attempts`). With attempts left and the error retryable, the task goes back to
 * SCHEDULED at `now() + retryDelayMs` (its `scheduled_at` moves there); otherwise it ends FAILED
 * (not retryable) or DEAD (attempts exhausted), with `failed_at` set. Every attempt's error is kept.
 */
export async function failTask(
  db: SqlClient,
  report: TaskReport & { error: string; notRetryable: boolean; retryDelayMs: number },
): Promise<ReportResult> {
  const startedAt = report.startedAt?.toISOString() ?? null;
  const rows = await db.query<CurrentRow>`
    WITH cur AS (
      SELECT id, attempt, max_attempts, failures, status::text AS status, worker_id, coordinator_id, picked_at, started_at
        FROM tasks WHERE id = ${report.taskId}::uuid FOR UPDATE
    ), decision AS (
      SELECT cur.id, CASE WHEN ${report.notRetryable} THEN 'FAILED'
                          WHEN cur.failures + 1 >= cur.max_attempts THEN 'DEAD'
                          ELSE 'SCHEDULED' END::"TaskStatus" AS next
        FROM cur
       WHERE cur.status IN ('PICKED', 'RUNNING')
         AND (${report.attempt}::int = 0 OR cur.attempt = ${report.attempt}::int)
         AND (${report.workerId}::bigint = 0 OR cur.worker_id IS NULL OR cur.worker_id = ${report.workerId}::bigint)
    ), upd AS (
      UPDATE tasks t SET status = d.next, failures = t.failures + 1, last_error = ${report.error},
             lease_expires_at = NULL, updated_at = now(),
             failed_at = CASE WHEN d.next = 'SCHEDULED' THEN t.failed_at ELSE now() END,
             scheduled_at = CASE WHEN d.next = 'SCHEDULED'
                                 THEN now() + ${report.retryDelayMs} * interval '1 millisecond' ELSE t.scheduled_at END,
             worker_id = CASE WHEN d.next = 'SCHEDULED' THEN NULL ELSE t.worker_id END,
             coordinator_id = CASE WHEN d.next = 'SCHEDULED' THEN NULL ELSE t.coordinator_id END
        FROM decision d
       WHERE t.id = d.id
      RETURNING t.id, t.attempt, d.next, (SELECT worker_id FROM cur) AS worker_id
    ), ended AS (
      SELECT cur.id AS task_id, cur.attempt, cur.worker_id, cur.coordinator_id, cur.picked_at,
             CASE WHEN ${startedAt}::timestamptz IS NULL THEN cur.started_at
                  ELSE coalesce(cur.started_at, least(greatest(${startedAt}::timestamptz, cur.picked_at), now())) END AS started_at,
             'FAILED' AS outcome, ${report.error}::text AS error
        FROM cur JOIN upd ON upd.id = cur.id
    ), written AS (${WRITE_ENDED_ATTEMPTS}
    ), w AS (
      UPDATE workers SET tasks_failed = tasks_failed + 1 FROM upd WHERE workers.id = upd.worker_id
    )
    SELECT cur.attempt, cur.status, cur.worker_id, EXISTS (SELECT 1 FROM upd) AS changed,
           (SELECT next::text FROM upd) AS new_status
      FROM cur`;
  // A retried FAILED report finds its attempt already closed: waiting for a retry, or terminal.
  return toResult(rows, report, (row) => ["SCHEDULED", "FAILED", "DEAD"].includes(row.status) && report.attempt === row.attempt);
}

/** Progress of a running attempt (0-100); fenced; nothing else changes. */
export async function recordProgress(
  db: SqlClient,
  report: TaskReport & { progress: number },
): Promise<boolean> {
  const changed = await db.execute`
    UPDATE tasks SET progress = ${report.progress}, updated_at = now()
     WHERE id = ${report.taskId}::uuid AND status IN ('PICKED', 'RUNNING')
       AND (${report.attempt}::int = 0 OR attempt = ${report.attempt}::int)
       AND (${report.workerId}::bigint = 0 OR worker_id IS NULL OR worker_id = ${report.workerId}::bigint)
       AND progress IS DISTINCT FROM ${report.progress}`;
  return changed > 0;
}

/** Adds `by` to the fault counter `name` (stale_reports, ...). */
export async function incrementCounter(db: SqlClient, name: string, by = 1): Promise<void> {
  await db.execute`
    INSERT INTO counters (name, value) VALUES (${name}, ${by})
    ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value`;
}
