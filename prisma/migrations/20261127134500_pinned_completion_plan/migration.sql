-- The coordinator's completion statement (COMPLETE reports, in batches) becomes a function whose
-- plans never scan the tasks table. The statement ran as a prepared statement; after a TRUNCATE or on
-- a young table (a few thousand rows) its planner rightly found a sequential scan cheaper than one
-- index probe per report, and once PostgreSQL's plan cache settled on that plan it kept it while the
-- table grew: every completion then read the whole table (one full bench run: 361 tasks/s with one
-- worker, PostgreSQL busy 54.7 of 55.4 s; auto_explain in a probe showed the `cur` step as
-- "Seq Scan on tasks ... Rows Removed by Filter"). With sequential scans off for this function, each
-- report's task is found through the primary key whatever the table's size or statistics; joins
-- between the batch's own steps stay the planner's choice (a batch holds up to 5,000 reports).
--
-- The same statement, the same results: one row per report, in the order given (ord, 1-based), with
-- the task's attempt, status and worker before the statement (attempt NULL: no such task) and
-- whether this statement completed it. Counts and announcements stay with the UPDATE triggers.
CREATE FUNCTION taskmaster_complete_tasks(report_ids uuid[], report_attempts integer[], report_workers bigint[], report_results text[], report_started_ms float8[])
  RETURNS TABLE (ord bigint, attempt integer, status text, worker_id bigint, changed boolean)
  LANGUAGE plpgsql
  VOLATILE
  ROWS 100
  SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH r AS (
    SELECT id, attempt, worker_id, result, to_timestamp(started_ms / 1000.0) AS started_at, ord
      FROM unnest(report_ids, report_attempts, report_workers, report_results, report_started_ms) WITH ORDINALITY AS r(id, attempt, worker_id, result, started_ms, ord)
  ), cur AS (
    SELECT t.id, t.attempt, t.status::text AS status, t.worker_id FROM tasks t
     WHERE t.id = ANY(report_ids) ORDER BY t.id FOR UPDATE
  ), upd AS (
    UPDATE tasks t SET status = 'COMPLETED', completed_at = now(),
           started_at = coalesce(t.started_at, CASE WHEN r.started_at IS NULL THEN now() ELSE least(greatest(r.started_at, t.picked_at), now()) END),
           result = r.result::jsonb, progress = 100, lease_expires_at = NULL, updated_at = now()
      FROM r JOIN cur ON cur.id = r.id
     WHERE t.id = r.id AND cur.status IN ('PICKED', 'RUNNING')
       AND (r.attempt = 0 OR cur.attempt = r.attempt)
       AND (r.worker_id = 0 OR cur.worker_id IS NULL OR cur.worker_id = r.worker_id)
    RETURNING t.id, t.attempt, t.worker_id, t.coordinator_id, t.picked_at, t.started_at
  ), written AS (
    -- As prisma/ended_attempts.ts's WRITE_ENDED_ATTEMPTS, for completed attempts.
    INSERT INTO task_attempts (task_id, attempt, worker_id, coordinator_id, picked_at, started_at, finished_at, outcome, error)
    SELECT u.id, u.attempt, u.worker_id, u.coordinator_id, coalesce(u.picked_at, now()), u.started_at, now(), 'COMPLETED', NULL FROM upd u
    ON CONFLICT (task_id, attempt) DO UPDATE
       SET finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome, error = EXCLUDED.error,
           started_at = coalesce(task_attempts.started_at, EXCLUDED.started_at)
     WHERE task_attempts.outcome = 'RUNNING'
  ), w AS (
    UPDATE workers SET tasks_completed = tasks_completed + c.n
      FROM (SELECT u.worker_id, count(*) AS n FROM upd u WHERE u.worker_id IS NOT NULL GROUP BY u.worker_id) c
     WHERE workers.id = c.worker_id
  )
  SELECT r.ord, cur.attempt, cur.status, cur.worker_id, (upd.id IS NOT NULL)
    FROM r LEFT JOIN cur ON cur.id = r.id
    LEFT JOIN upd ON upd.id = r.id AND (r.attempt = 0 OR upd.attempt = r.attempt)
                 AND (r.worker_id = 0 OR upd.worker_id IS NULL OR upd.worker_id = r.worker_id)
   ORDER BY r.ord;
END;
$$;
