-- CreateIndex
CREATE INDEX "task_attempts_outcome_idx" ON "task_attempts"("outcome", "task_id");
