-- The coordinator's STARTED statement (PICKED -> RUNNING, in batches) becomes a function whose plans
-- never scan the tasks table, as the completion's did in 20261127134500_pinned_completion_plan (see
-- there why: a plan chosen while the table was young, kept by the plan cache as it grew, reads the
-- whole table per batch). Every task that runs longer than 25 ms sends a STARTED.
--
-- The same statement, the same results: one row per report, in the order given (ord, 1-based), with
-- the task's attempt, status and worker before the statement (attempt NULL: no such task) and
-- whether this statement started it.
CREATE FUNCTION taskmaster_start_tasks(report_ids uuid[], report_attempts integer[], report_workers bigint[], report_started_ms float8[], lease_ms integer)
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
    SELECT id, attempt, worker_id, to_timestamp(started_ms / 1000.0) AS started_at, ord
      FROM unnest(report_ids, report_attempts, report_workers, report_started_ms) WITH ORDINALITY AS r(id, attempt, worker_id, started_ms, ord)
  ), cur AS (
    SELECT t.id, t.attempt, t.status::text AS status, t.worker_id FROM tasks t
     WHERE t.id = ANY(report_ids) ORDER BY t.id FOR UPDATE
  ), upd AS (
    UPDATE tasks t SET status = 'RUNNING', started_at = least(greatest(coalesce(r.started_at, now()), t.picked_at), now()),
           lease_expires_at = now() + lease_ms * interval '1 millisecond', updated_at = now()
      FROM r JOIN cur ON cur.id = r.id
     WHERE t.id = r.id AND cur.status = 'PICKED'
       AND (r.attempt = 0 OR cur.attempt = r.attempt)
       AND (r.worker_id = 0 OR cur.worker_id IS NULL OR cur.worker_id = r.worker_id)
    RETURNING t.id, t.attempt, t.worker_id
  )
  SELECT r.ord, cur.attempt, cur.status, cur.worker_id, (upd.id IS NOT NULL)
    FROM r LEFT JOIN cur ON cur.id = r.id
    LEFT JOIN upd ON upd.id = r.id AND (r.attempt = 0 OR upd.attempt = r.attempt)
                 AND (r.worker_id = 0 OR upd.worker_id IS NULL OR upd.worker_id = r.worker_id)
   ORDER BY r.ord;
END;
$$;
