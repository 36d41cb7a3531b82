-- Task indexes for a table of millions (bench/FINDINGS.md F2, F7):
-- - The indexes that serve only queued or in-flight tasks hold only those rows (partial). A task's row
--   is written 4-5 times in its life, each write changes an indexed column (so none is HOT), and each
--   inserts an entry into every index whose WHERE the new row meets; finished rows, the bulk of the
--   table, are in none of these.
-- - The dashboard's lists are ordered created_at DESC, id DESC: the indexes are (created_at, id) now,
--   read backward in exactly that order, so a page of a batch inserted at one instant no longer sorts
--   the whole batch. Ascending, so new rows land at the right end of each index: B-tree splits there
--   leave full pages (descending ones were 40% larger when every row had its own time).
-- - tasks_worker_status_idx served stats' full count (replaced by task_status_counts, the next
--   migration) and workers' in-flight tasks: split into the in-flight rows (tasks_worker_active_idx)
--   and the dashboard's list by worker (tasks_worker_created_idx).
-- - tasks_failed_idx: failures per throughput bucket without reading every failed task.
-- - task_attempts_outcome_idx (outcome, task_id) served only the guarantee figures' LOST and FAILED
--   attempts: it holds only those now.
-- The unique index on idempotency_key stays whole: the previous release's schedule names it in
-- ON CONFLICT (idempotency_key), which a partial index would not match.
-- The indexes are built in the migration's transaction: writes to tasks wait meanwhile (about 15 s at
-- a million tasks on 2 cores).

-- DropIndex
DROP INDEX "tasks_claim_idx";

-- DropIndex
DROP INDEX "tasks_due_idx";

-- DropIndex
DROP INDEX "tasks_created_idx";

-- DropIndex
DROP INDEX "tasks_status_created_idx";

-- DropIndex
DROP INDEX "tasks_command_created_idx";

-- DropIndex
DROP INDEX "tasks_worker_status_idx";

-- DropIndex
DROP INDEX "tasks_lease_idx";

-- DropIndex
DROP INDEX "tasks_completed_idx";

-- DropIndex
DROP INDEX "task_attempts_outcome_idx";

-- CreateIndex
CREATE INDEX "tasks_claim_idx" ON "tasks"("priority" DESC, "scheduled_at") WHERE (status = 'SCHEDULED');

-- CreateIndex
CREATE INDEX "tasks_due_idx" ON "tasks"("scheduled_at") WHERE (status = 'SCHEDULED');

-- CreateIndex
CREATE INDEX "tasks_created_idx" ON "tasks"("created_at", "id");

-- CreateIndex
CREATE INDEX "tasks_status_created_idx" ON "tasks"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "tasks_command_created_idx" ON "tasks"("command", "created_at", "id");

-- CreateIndex
CREATE INDEX "tasks_worker_created_idx" ON "tasks"("worker_id", "created_at", "id") WHERE (worker_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_worker_active_idx" ON "tasks"("worker_id") WHERE (status IN ('PICKED', 'RUNNING') AND worker_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_lease_idx" ON "tasks"("lease_expires_at") WHERE (status IN ('PICKED', 'RUNNING'));

-- CreateIndex
CREATE INDEX "tasks_completed_idx" ON "tasks"("completed_at") WHERE (completed_at IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_failed_idx" ON "tasks"("failed_at") WHERE (failed_at IS NOT NULL);

-- CreateIndex
CREATE INDEX "task_attempts_fault_idx" ON "task_attempts"("task_id", "attempt") WHERE (outcome IN ('LOST', 'FAILED'));
