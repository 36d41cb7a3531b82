-- The claim finds its task rows by searching the primary key with their ids, whatever the planner
-- believes about the table's size.
--
-- Why: the claim joined the claimed ids (a CTE) to `tasks` by `t.id = due.id`. A coordinator whose
-- session planned that join while `tasks` was empty and analyzed (a fresh install, or a table emptied
-- and analyzed since) kept that plan (a generic one) as the table filled: a nested loop with the
-- whole primary key walked as its OUTER side, each row compared to the claimed ids ("Rows Removed by
-- Join Filter: 2,399,900"): 1.1 s a claim at 24,000 rows, until an ANALYZE replaced the plan. It
-- struck one end-to-end bench run in eight (2026-11-27, 182 and 475 tasks/s instead of ~5,000), and
-- a production coordinator started on an empty table would have run so until autovacuum analyzed it.
-- Turning sequential scans off (20261127030000_claim_due_function) did not prevent it: the full walk
-- was an index scan.
--
-- Now the claim first collects the ids it locked (in claim order), then updates `WHERE t.id =
-- ANY(ids)`: the only path to those rows is the primary key searched with the ids (Index Cond; an
-- index scan, not a bitmap one, as before), and each row's worker is the one at its position
-- (array_position). The completion and STARTED, planned in the same situation, already drive from
-- the reported ids (checked by record_task_report_test.ts): unchanged.
--
-- Results, counts and announcements are as before. Cost (claims alternated with the previous function
-- in two databases of one server, medians of 180): 100 tasks 4.83 -> 4.54 ms and 4.60 -> 4.21 ms; 500
-- tasks (five times CLAIM_BATCH_SIZE's default) 15.9 -> 22.4 ms, array_position being linear in the
-- claim's size (a join to the ids with their ordinality instead planned worse: 27 ms).
CREATE OR REPLACE FUNCTION taskmaster_claim_tasks(workers bigint[], coordinator text, lease_ms integer, excluded_commands text[])
  RETURNS TABLE (id text, command text, payload text, attempt integer, timeout_ms integer, worker_id bigint, n bigint)
  LANGUAGE plpgsql
  VOLATILE
  ROWS 50
  SET enable_seqscan = off
  SET enable_bitmapscan = off
  SET enable_hashjoin = off
  SET enable_mergejoin = off
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  due_ids uuid[];
  ids text[];
  commands text[];
  payloads text[];
  attempts integer[];
  timeouts integer[];
  bound bigint[];
  claimed integer;
  my_shard smallint := (pg_backend_pid() % 16)::smallint;
BEGIN
  -- Locked here (FOR UPDATE SKIP LOCKED, in this transaction), in claim order.
  SELECT array_agg(d.id ORDER BY d.k) INTO due_ids
    FROM taskmaster_due_tasks(cardinality(workers), excluded_commands) WITH ORDINALITY AS d(id, k);
  IF due_ids IS NULL THEN
    RETURN;
  END IF;
  PERFORM set_config('taskmaster.booked', 'on', true);
  WITH claimed_rows AS (
    UPDATE tasks t
       SET status = 'PICKED', attempt = t.attempt + 1, picked_at = now(), started_at = NULL,
           worker_id = workers[array_position(due_ids, t.id)], coordinator_id = coordinator, progress = 0,
           lease_expires_at = now() + lease_ms * interval '1 millisecond', updated_at = now()
     WHERE t.id = ANY(due_ids)
    RETURNING t.id, t.command, t.payload, t.attempt, t.timeout_ms, t.worker_id, array_position(due_ids, t.id) AS n
  )
  SELECT array_agg(c.id::text ORDER BY c.n), array_agg(c.command ORDER BY c.n), array_agg(c.payload::text ORDER BY c.n),
         array_agg(c.attempt ORDER BY c.n), array_agg(c.timeout_ms ORDER BY c.n), array_agg(c.worker_id ORDER BY c.n)
    INTO ids, commands, payloads, attempts, timeouts, bound
    FROM claimed_rows c;
  PERFORM set_config('taskmaster.booked', 'off', true);
  claimed := coalesce(cardinality(ids), 0);
  IF claimed = 0 THEN
    RETURN;
  END IF;
  -- In status order, as the count trigger writes them (two claims cannot deadlock on them).
  INSERT INTO task_status_counts AS c (status, shard, n)
  VALUES ('SCHEDULED', my_shard, -claimed), ('PICKED', my_shard, claimed)
  ON CONFLICT (status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  PERFORM pg_notify('taskmaster_tasks', jsonb_build_object(
    'op', 'U', 'n', claimed, 'cancelled', 0,
    'rows', CASE WHEN claimed <= 25 THEN
      (SELECT jsonb_agg(jsonb_build_object('id', u.id, 'status', 'PICKED', 'attempt', u.attempt, 'worker_id', u.worker_id,
                                           'command', left(u.command, 80), 'progress', 0) ORDER BY u.k)
         FROM unnest(ids, attempts, bound, commands) WITH ORDINALITY AS u(id, attempt, worker_id, command, k))
    END)::text);
  RETURN QUERY SELECT * FROM unnest(ids, commands, payloads, attempts, timeouts, bound) WITH ORDINALITY;
END;
$$;
