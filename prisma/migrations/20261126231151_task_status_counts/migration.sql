-- CreateTable
CREATE TABLE "task_status_counts" (
    "status" "TaskStatus" NOT NULL,
    "shard" SMALLINT NOT NULL,
    "n" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "task_status_counts_pkey" PRIMARY KEY ("status","shard")
);

-- ---------------------------------------------------------------------------------------------
-- Tasks per status, hand-written (Prisma's schema language cannot declare triggers). The dashboard's
-- counts (`stats.get`, GET /api/stats, /metrics, the guarantee figures) sum at most 7 x 16 rows
-- instead of counting a table of millions.
--
-- Every statement that writes `tasks` adds its net change per status to the shard of its connection
-- (pg_backend_pid() % 16), so concurrent statements on different connections never wait for each
-- other's row locks (only two connections of one shard may, briefly); rows are upserted in status
-- order, so two single-statement transactions cannot deadlock on them. The change is counted from
-- the statement's transition tables, each aggregated on its own (+1 per new row, -1 per old row, per
-- status): no join, so no plan can go quadratic (see 20261126224500_notify_trigger_plan), and an
-- UPDATE that changes no status writes nothing. TRUNCATE zeroes the counts.
-- Like the NOTIFY triggers, these fire in the default (origin) replication role only: rows written
-- with `session_replication_role = replica` are not counted (so a logical replica that also receives
-- this table does not count them twice). After loading rows with triggers off, run
-- `SELECT taskmaster_recount_tasks()`.
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION taskmaster_count_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO task_status_counts AS c (status, shard, n)
    SELECT status, (pg_backend_pid() % 16)::smallint, count(*) FROM new_rows GROUP BY status ORDER BY status
    ON CONFLICT (status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO task_status_counts AS c (status, shard, n)
    SELECT status, (pg_backend_pid() % 16)::smallint, sum(change)::bigint
      FROM (SELECT status, count(*) AS change FROM new_rows GROUP BY status
            UNION ALL
            SELECT status, -count(*) FROM old_rows GROUP BY status) AS changes
     GROUP BY status HAVING sum(change) <> 0 ORDER BY status
    ON CONFLICT (status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO task_status_counts AS c (status, shard, n)
    SELECT status, (pg_backend_pid() % 16)::smallint, -count(*) FROM old_rows GROUP BY status ORDER BY status
    ON CONFLICT (status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  ELSE -- TRUNCATE
    DELETE FROM task_status_counts;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_count_tasks();
CREATE TRIGGER tasks_count_update AFTER UPDATE ON tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_count_tasks();
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_count_tasks();
CREATE TRIGGER tasks_count_truncate AFTER TRUNCATE ON tasks
  FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_count_tasks();

-- Recounts from the rows themselves (writers wait meanwhile): the backfill below, and the repair
-- after rows were written with the triggers off.
CREATE FUNCTION taskmaster_recount_tasks() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE tasks IN SHARE MODE;
  DELETE FROM task_status_counts;
  INSERT INTO task_status_counts (status, shard, n) SELECT status, 0, count(*) FROM tasks GROUP BY status;
END;
$$;

SELECT taskmaster_recount_tasks();
