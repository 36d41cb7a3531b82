/**
 * @module
 * How an attempt's row in `task_attempts` is written: once, when the attempt ends other than by
 * completing its task (failed, lost, cancelled). While it runs, the task row itself is the open
 * attempt (its `attempt`, `worker_id`, `coordinator_id`, `picked_at`, `started_at`); the claim writes
 * no attempt row, which spared it a third of its cost (an INSERT, its two index entries and its
 * foreign-key check per task). The attempt that completes its task stays recorded by the task row
 * (`completed_at` its end; `taskmaster_complete_tasks`, migration `completed_attempt_in_task_row`),
 * which spared the completion a fifth of its cost the same way. The view `task_attempt_history` lists
 * both kinds. An attempt row is never updated, but to close one an older coordinator opened.
 */
import { sql, type SqlFragment } from "./sql_client.ts";

/**
 * The statement part that writes ended attempts: every row of a CTE named `ended`, with columns
 * `task_id, attempt, worker_id, coordinator_id, picked_at, started_at, outcome (text), error`, becomes
 * its attempt's row, finished at the statement's `now()`. A row already there is an attempt opened
 * by an older coordinator (one that inserted it at the claim, outcome RUNNING): it is closed instead.
 * Use as a data-modifying CTE: `..., ended AS (...), written AS (${WRITE_ENDED_ATTEMPTS}) SELECT ...`.
 * The coordinator's reports and loss accounting and the server's cancel all close attempts with it.
 */
export const WRITE_ENDED_ATTEMPTS: SqlFragment = sql`
  INSERT INTO task_attempts (task_id, attempt, worker_id, coordinator_id, picked_at, started_at, finished_at, outcome, error)
  SELECT task_id, attempt, worker_id, coordinator_id, coalesce(picked_at, now()), started_at, now(),
         outcome::"AttemptOutcome", error
    FROM ended
  ON CONFLICT (task_id, attempt) DO UPDATE
     SET finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome, error = EXCLUDED.error,
         started_at = coalesce(task_attempts.started_at, EXCLUDED.started_at)
   WHERE task_attempts.outcome = 'RUNNING'`;
