-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "TaskStatus" AS ENUM ('SCHEDULED', 'PICKED', 'RUNNING', 'COMPLETED', 'FAILED', 'DEAD', 'CANCELLED');

-- CreateEnum
CREATE TYPE "AttemptOutcome" AS ENUM ('RUNNING', 'COMPLETED', 'FAILED', 'LOST', 'CANCELLED');

-- CreateEnum
CREATE TYPE "WorkerStatus" AS ENUM ('ONLINE', 'DRAINING', 'OFFLINE');

-- CreateTable
CREATE TABLE "tasks" (
    "id" UUID NOT NULL,
    "command" TEXT NOT NULL,
    "payload" JSONB,
    "status" "TaskStatus" NOT NULL DEFAULT 'SCHEDULED',
    "priority" INTEGER NOT NULL DEFAULT 0,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 3,
    "timeout_ms" INTEGER,
    "scheduled_at" TIMESTAMPTZ(3) NOT NULL,
    "picked_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "worker_id" BIGINT,
    "coordinator_id" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "progress" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "last_error" TEXT,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_attempts" (
    "id" BIGSERIAL NOT NULL,
    "task_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "worker_id" BIGINT,
    "coordinator_id" TEXT,
    "picked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "outcome" "AttemptOutcome" NOT NULL DEFAULT 'RUNNING',
    "error" TEXT,

    CONSTRAINT "task_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workers" (
    "id" BIGINT NOT NULL,
    "address" TEXT NOT NULL,
    "capacity" INTEGER NOT NULL DEFAULT 5,
    "handlers" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "status" "WorkerStatus" NOT NULL DEFAULT 'ONLINE',
    "coordinator_id" TEXT,
    "in_flight" INTEGER NOT NULL DEFAULT 0,
    "tasks_completed" INTEGER NOT NULL DEFAULT 0,
    "tasks_failed" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "tasks_idempotency_key_key" ON "tasks"("idempotency_key");

-- CreateIndex
CREATE INDEX "tasks_claim_idx" ON "tasks"("status", "priority" DESC, "scheduled_at");

-- CreateIndex
CREATE INDEX "tasks_due_idx" ON "tasks"("status", "scheduled_at");

-- CreateIndex
CREATE INDEX "tasks_created_idx" ON "tasks"("created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "tasks_status_created_idx" ON "tasks"("status", "created_at" DESC);

-- CreateIndex
CREATE INDEX "tasks_command_created_idx" ON "tasks"("command", "created_at" DESC);

-- CreateIndex
CREATE INDEX "tasks_worker_status_idx" ON "tasks"("worker_id", "status");

-- CreateIndex
CREATE INDEX "tasks_lease_idx" ON "tasks"("lease_expires_at");

-- CreateIndex
CREATE INDEX "tasks_completed_idx" ON "tasks"("completed_at");

-- CreateIndex
CREATE UNIQUE INDEX "task_attempts_task_id_attempt_key" ON "task_attempts"("task_id", "attempt");

-- CreateIndex
CREATE INDEX "workers_status_idx" ON "workers"("status");

-- AddForeignKey
ALTER TABLE "task_attempts" ADD CONSTRAINT "task_attempts_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- Change notifications, hand-written (Prisma's schema language cannot declare triggers).
-- Every write to tasks or workers, from any process (or from Prisma Studio), is announced once per
-- statement, so the server's subscriptions and the coordinators' dispatch loops are pushed, not polled:
--   taskmaster_tasks   {"op":"I"|"U","n":<rows>,"rows":[{id,status,attempt,worker_id,command,progress}...]}
--                      (rows omitted when n > 25: NOTIFY payloads are capped at 8000 bytes)
--   taskmaster_due     <earliest scheduled_at, epoch ms> whenever tasks become SCHEDULED
--   taskmaster_workers {"id":..,"status":..}
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION taskmaster_announce_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed_count integer;
  sample jsonb;
  earliest_due timestamptz;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*), min(scheduled_at) FILTER (WHERE status = 'SCHEDULED') INTO changed_count, earliest_due FROM new_rows;
    SELECT jsonb_agg(jsonb_build_object('id', id, 'status', status, 'attempt', attempt, 'worker_id', worker_id,
                                        'command', left(command, 80), 'progress', progress))
      INTO sample FROM (SELECT * FROM new_rows LIMIT 25) s;
  ELSE
    SELECT count(*), min(n.scheduled_at) FILTER (WHERE n.status = 'SCHEDULED' AND o.status <> 'SCHEDULED')
      INTO changed_count, earliest_due
      FROM new_rows n JOIN old_rows o USING (id)
     WHERE n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
        OR n.worker_id IS DISTINCT FROM o.worker_id OR n.scheduled_at IS DISTINCT FROM o.scheduled_at;
    SELECT jsonb_agg(jsonb_build_object('id', n.id, 'status', n.status, 'attempt', n.attempt, 'worker_id', n.worker_id,
                                        'command', left(n.command, 80), 'progress', n.progress))
      INTO sample
      FROM (SELECT n.* FROM new_rows n JOIN old_rows o USING (id)
             WHERE n.status IS DISTINCT FROM o.status OR n.progress IS DISTINCT FROM o.progress
                OR n.worker_id IS DISTINCT FROM o.worker_id
             LIMIT 25) n;
  END IF;
  IF changed_count > 0 THEN
    PERFORM pg_notify('taskmaster_tasks', jsonb_build_object(
      'op', left(TG_OP, 1), 'n', changed_count,
      'rows', CASE WHEN changed_count <= 25 THEN coalesce(sample, '[]'::jsonb) ELSE NULL END)::text);
  END IF;
  IF earliest_due IS NOT NULL THEN
    PERFORM pg_notify('taskmaster_due', (extract(epoch FROM earliest_due) * 1000)::bigint::text);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER tasks_announce_insert AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_announce_tasks();
CREATE TRIGGER tasks_announce_update AFTER UPDATE ON tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_announce_tasks();

CREATE FUNCTION taskmaster_announce_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('taskmaster_workers', jsonb_build_object('id', OLD.id, 'status', 'DELETED')::text);
  ELSIF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status OR NEW.address IS DISTINCT FROM OLD.address
        OR NEW.tasks_completed IS DISTINCT FROM OLD.tasks_completed OR NEW.tasks_failed IS DISTINCT FROM OLD.tasks_failed
        OR NEW.in_flight IS DISTINCT FROM OLD.in_flight OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
    PERFORM pg_notify('taskmaster_workers', jsonb_build_object('id', NEW.id, 'status', NEW.status,
      'address', NEW.address, 'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status::text END)::text);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER workers_announce AFTER INSERT OR UPDATE OR DELETE ON workers
  FOR EACH ROW EXECUTE FUNCTION taskmaster_announce_workers();
