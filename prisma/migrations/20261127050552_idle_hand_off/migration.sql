-- CreateTable
CREATE TABLE "task_offers" (
    "id" BIGSERIAL NOT NULL,
    "coordinator_id" TEXT NOT NULL,
    "worker_id" BIGINT NOT NULL,
    "lease_ms" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "task_offers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "task_offers_coordinator_idx" ON "task_offers"("coordinator_id");

-- The idle hand-off, hand-written (Prisma's schema language cannot declare triggers). A new task due
-- now, inserted while a coordinator offers free slots, is given to an offer in the transaction that
-- accepts it: PICKED, attempt 1, bound to the offer's worker, leased; durable at the same commit as
-- the task itself. The coordinator hears it on `taskmaster_handoff` and dispatches without a claim.
-- Runs after the insert's own NOTIFY triggers (they sort first by name), so the dashboard's feed says
-- 'I' (SCHEDULED) before the 'U' (PICKED) this UPDATE sends. Offers are taken in id order with SKIP
-- LOCKED (two INSERTs never wait on each other) and only while their worker is ONLINE under the
-- offering coordinator (an offer left by a coordinator that died goes unused once its workers have
-- moved on, and lapses at `expires_at` anyway). Only when there are offers is there any work here.
CREATE FUNCTION taskmaster_hand_off() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  handed jsonb;
  per record;
  body text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM task_offers) THEN
    RETURN NULL;
  END IF;
  WITH due AS (
    SELECT id, row_number() OVER (ORDER BY priority DESC, scheduled_at, id) AS n
      FROM new_rows
     -- scheduled_at is stored to the millisecond, rounded: "now" may have been rounded up.
     WHERE status = 'SCHEDULED' AND scheduled_at <= now() + interval '1 millisecond'
  ), usable AS (
    SELECT o.id, o.coordinator_id, o.worker_id, o.lease_ms
      FROM task_offers o
      JOIN workers w ON w.id = o.worker_id AND w.status = 'ONLINE' AND w.coordinator_id = o.coordinator_id
     WHERE o.expires_at > now()
     ORDER BY o.id
     LIMIT (SELECT count(*) FROM due)
       FOR UPDATE OF o SKIP LOCKED
  ), free AS (
    SELECT id, coordinator_id, worker_id, lease_ms, row_number() OVER (ORDER BY id) AS n FROM usable
  ), taken AS (
    DELETE FROM task_offers o USING free WHERE o.id = free.id
    RETURNING free.id AS offer_id, free.coordinator_id, free.worker_id, free.lease_ms, free.n
  ), moved AS (
    UPDATE tasks t
       SET status = 'PICKED', attempt = t.attempt + 1, picked_at = now(), started_at = NULL,
           worker_id = taken.worker_id, coordinator_id = taken.coordinator_id, progress = 0,
           lease_expires_at = now() + taken.lease_ms * interval '1 millisecond', updated_at = now()
      FROM due JOIN taken ON taken.n = due.n
     WHERE t.id = due.id AND t.status = 'SCHEDULED'
    RETURNING t.id, t.attempt, t.command, t.payload, t.timeout_ms, taken.offer_id, taken.coordinator_id, taken.worker_id
  ), counted AS (
    INSERT INTO counters (name, value) SELECT 'tasks_handed_off', count(*) FROM moved HAVING count(*) > 0
    ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value
  )
  SELECT jsonb_agg(jsonb_build_object(
           'coordinator', coordinator_id, 'offer', offer_id::text, 'id', id::text, 'attempt', attempt,
           'worker', worker_id, 'command', command, 'payload', payload::text, 'timeout_ms', timeout_ms))
    INTO handed FROM moved;
  IF handed IS NULL THEN
    RETURN NULL;
  END IF;
  FOR per IN
    SELECT e->>'coordinator' AS coordinator, jsonb_agg(e - 'coordinator') AS tasks
      FROM jsonb_array_elements(handed) e GROUP BY 1
  LOOP
    body := jsonb_build_object('coordinator', per.coordinator, 'tasks', per.tasks)::text;
    -- A NOTIFY payload holds under 8000 bytes: over that, ids only (the coordinator reads the rest).
    IF octet_length(body) > 7500 THEN
      body := jsonb_build_object('coordinator', per.coordinator, 'tasks',
                (SELECT jsonb_agg(x - 'command' - 'payload' - 'timeout_ms') FROM jsonb_array_elements(per.tasks) x))::text;
    END IF;
    PERFORM pg_notify('taskmaster_handoff', body);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_hand_off AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_hand_off();
