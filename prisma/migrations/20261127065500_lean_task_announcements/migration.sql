-- The tasks' change announcements (taskmaster_tasks, taskmaster_due) as before, for less: the rows'
-- sample is built only when it is sent (25 rows or fewer changed), and the UPDATE's count no longer
-- sorts the changed rows (a window function ordered them to pick the sample). A claim or a
-- completion of more than 25 tasks now only counts. The lifecycle (insert / claim / complete):
-- PostgreSQL's CPU per task 242 -> 210 µs (medians of 4 interleaved rounds; 209 without the
-- trigger at all). Payloads are unchanged.
CREATE OR REPLACE FUNCTION taskmaster_announce_tasks() RETURNS trigger LANGUAGE plpgsql
  SET enable_nestloop = off -- kept from 20261126224500_notify_trigger_plan (a replace resets it)
  AS $$
DECLARE
  changed_count integer;
  cancelled_count integer;
  sample jsonb;
  earliest_due timestamptz;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*), min(scheduled_at) FILTER (WHERE status = 'SCHEDULED'), count(*) FILTER (WHERE status = 'CANCELLED')
      INTO changed_count, earliest_due, cancelled_count
      FROM new_rows;
    IF changed_count <= 25 THEN
      SELECT jsonb_agg(jsonb_build_object('id', id, 'status', status, 'attempt', attempt, 'worker_id', worker_id,
                                          'command', left(command, 80), 'progress', progress))
        INTO sample FROM new_rows;
    END IF;
  ELSE
    SELECT count(*),
           min(n.scheduled_at) FILTER (WHERE n.status = 'SCHEDULED' AND o.status <> 'SCHEDULED'),
           count(*) FILTER (WHERE n.status = 'CANCELLED' AND o.status <> 'CANCELLED')
      INTO changed_count, earliest_due, cancelled_count
      FROM new_rows n JOIN old_rows o USING (id)
     WHERE n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
        OR n.worker_id IS DISTINCT FROM o.worker_id OR n.scheduled_at IS DISTINCT FROM o.scheduled_at;
    IF changed_count <= 25 THEN
      SELECT jsonb_agg(jsonb_build_object('id', n.id, 'status', n.status, 'attempt', n.attempt, 'worker_id', n.worker_id,
                                          'command', left(n.command, 80), 'progress', n.progress))
        INTO sample
        FROM new_rows n JOIN old_rows o USING (id)
       WHERE n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
          OR n.worker_id IS DISTINCT FROM o.worker_id;
    END IF;
  END IF;
  IF changed_count > 0 THEN
    PERFORM pg_notify('taskmaster_tasks', jsonb_build_object(
      'op', left(TG_OP, 1), 'n', changed_count, 'cancelled', cancelled_count,
      'rows', CASE WHEN changed_count <= 25 THEN coalesce(sample, '[]'::jsonb) ELSE NULL END)::text);
  END IF;
  IF earliest_due IS NOT NULL THEN
    PERFORM pg_notify('taskmaster_due', (extract(epoch FROM earliest_due) * 1000)::bigint::text);
  END IF;
  RETURN NULL;
END;
$$;
