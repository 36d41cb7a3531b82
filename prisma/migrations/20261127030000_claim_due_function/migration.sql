-- The due tasks a claim takes, in claim order (highest priority, then oldest scheduled_at), locked
-- with SKIP LOCKED: the one query every claim starts with, in a function so that its plan can be
-- pinned to walking tasks_claim_idx in order and stopping after `max_tasks` rows.
--
-- Left to the planner, the plan follows the statistics, and they lag behind a burst: after 20,000
-- tasks were scheduled into a table last analyzed while it held few SCHEDULED rows (a fresh
-- install, or any table where the burst is under autovacuum's 10% analyze threshold), the planner
-- expects a handful of due rows and picks a bitmap scan of every due row plus a sort, so each claim
-- read and sorted the whole backlog: 15-17 ms for a 50-task claim over 20,000 due tasks, against
-- 0.16 ms for the ordered index scan (measured on the embedded PostgreSQL 18; `npm run bench` showed
-- the claims at 26 ms each on average in a 20,000-task run). With bitmap scans and sorts off for
-- this query only, the ordered index scan is the plan whatever the statistics say.
CREATE FUNCTION taskmaster_due_tasks(max_tasks integer, excluded_commands text[]) RETURNS TABLE (id uuid)
  LANGUAGE sql
  VOLATILE
  -- What the caller's plan expects it to return (the default, 1000, made a 500-task claim join it to
  -- the whole tasks table with a sequential scan instead of looking each id up in the primary key).
  ROWS 50
  SET enable_bitmapscan = off
  SET enable_sort = off
AS $$
  SELECT t.id FROM tasks t
   WHERE t.status = 'SCHEDULED' AND t.scheduled_at <= now() AND NOT (t.command = ANY(excluded_commands))
   ORDER BY t.priority DESC, t.scheduled_at
   LIMIT max_tasks
   FOR UPDATE SKIP LOCKED
$$;
