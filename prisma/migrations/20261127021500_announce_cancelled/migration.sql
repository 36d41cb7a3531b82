-- The tasks NOTIFY trigger, cheaper and saying how many rows became CANCELLED.
--
-- Coordinators stop a held attempt when its task is cancelled. A notification names at most 25
-- rows ("rows" is null above that), so until now every statement touching more than 25 rows (every
-- large claim and completion) made each coordinator query its held tasks for cancellations. The
-- payload now carries "cancelled": how many rows of the statement became CANCELLED, and coordinators
-- look only when it is above 0.
--
-- Also: an UPDATE's old and new rows are joined once (they were joined twice: once to count, once
-- for the sample), and the sample's JSON is built for its 25 rows only.
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
    SELECT count(*), min(scheduled_at) FILTER (WHERE status = 'SCHEDULED'), count(*) FILTER (WHERE status = 'CANCELLED'),
           jsonb_agg(jsonb_build_object('id', id, 'status', status, 'attempt', attempt, 'worker_id', worker_id,
                                        'command', left(command, 80), 'progress', progress)) FILTER (WHERE k <= 25)
      INTO changed_count, earliest_due, cancelled_count, sample
      FROM (SELECT *, row_number() OVER () AS k FROM new_rows) n;
  ELSE
    SELECT count(*),
           min(scheduled_at) FILTER (WHERE status = 'SCHEDULED' AND old_status <> 'SCHEDULED'),
           count(*) FILTER (WHERE status = 'CANCELLED' AND old_status <> 'CANCELLED'),
           jsonb_agg(jsonb_build_object('id', id, 'status', status, 'attempt', attempt, 'worker_id', worker_id,
                                        'command', left(command, 80), 'progress', progress)) FILTER (WHERE k <= 25 AND shown)
      INTO changed_count, earliest_due, cancelled_count, sample
      FROM (SELECT n.id, n.status, n.attempt, n.worker_id, n.command, n.progress, n.scheduled_at, o.status AS old_status,
                   (n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
                    OR n.worker_id IS DISTINCT FROM o.worker_id) AS shown,
                   row_number() OVER (ORDER BY (n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
                                                OR n.worker_id IS DISTINCT FROM o.worker_id) DESC) AS k
              FROM new_rows n JOIN old_rows o USING (id)
             WHERE n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
                OR n.worker_id IS DISTINCT FROM o.worker_id OR n.scheduled_at IS DISTINCT FROM o.scheduled_at) c;
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
