/**
 * The coordinator: worker registry from heartbeats, claims of due tasks with SKIP LOCKED, round-robin
 * dispatch over gRPC, fenced status reports, and recovery of lost work (dead workers, expired leases).
 *
 * @module
 */
export { DEFAULT_CLAIM_BATCH_SIZE, startCoordinator } from "./coordinator_node.ts";
export type { Coordinator, CoordinatorOptions } from "./coordinator_node.ts";
export { assignClaimedTasks, claimAndAssignDueTasks, claimAndAssignStatement, claimDueTasks, releaseClaimedTasks } from "./claim_due_tasks.ts";
export type { AssignedTask, Assignment, ClaimAndAssignOptions, ClaimedTask, ClaimOptions } from "./claim_due_tasks.ts";
export { completeTask, failTask, markTaskStarted, recordProgress } from "./record_task_report.ts";
export type { ReportOutcome, ReportResult, TaskReport } from "./record_task_report.ts";
export { requeueUndeliveredAttempt, requeueWorkerTasks, sweepExpiredLeases } from "./requeue_lost_tasks.ts";
export type { LostTask } from "./requeue_lost_tasks.ts";
export { retryDelayMs } from "./retry_delay.ts";
export type { RetryDelayOptions } from "./retry_delay.ts";
export { WorkerRegistry } from "./worker_registry.ts";
export type { BeatResult, RegisteredWorker } from "./worker_registry.ts";
