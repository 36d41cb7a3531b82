/**
 * The server process (the seed's "scheduler"): the tRPC API the dashboard uses, the seed's REST API,
 * health, metrics and the built dashboard on one node:http server, plus the local worker scaler, and
 * how TaskMaster's processes are run (`processCommand`: compiled into .build/, run on plain node).
 * The dashboard imports `type AppRouter` only.
 *
 * @module
 */
export { appRouter, createCaller } from "./app_router.ts";
export type { AppRouter } from "./app_router.ts";
export { createContext } from "./trpc.ts";
export type { ServerContext } from "./trpc.ts";
export { createServer, DEV_ORIGINS } from "./http_server.ts";
export type { ServerOptions, TaskMasterServer } from "./http_server.ts";
export { ACTIVITY_LOG_SIZE, createEventHub } from "./event_hub.ts";
export type {
  ActivityEntry,
  ActivityLevel,
  EventHub,
  EventHubOptions,
  HubEvent,
  InjectableEventHub,
  TaskChangeEvent,
  TaskChangeRow,
  WorkerChangeEvent,
} from "./event_hub.ts";
export { createDisabledWorkerScaler, parseWorkerName, WorkerScalingDisabledError } from "./worker_scaler.ts";
export type { KillResult, ManagedWorker, WorkerScaler } from "./worker_scaler.ts";
export { createLocalWorkerScaler } from "./local_worker_scaler.ts";
export type { LocalWorkerScalerOptions } from "./local_worker_scaler.ts";
export { processCommand } from "./process_command.ts";
export type { ProcessCommand, ProcessCommandOptions, ProcessRole } from "./process_command.ts";
export { BUILD_DIR, buildEntry } from "./build_entry.ts";
export type { BuildEntryOptions, BuiltEntry } from "./build_entry.ts";
export { DEFAULT_BATCH_COMMAND, MAX_BATCH_COUNT, MAX_DELAY_SECONDS } from "./rest_routes.ts";
export { CANCELLABLE_STATUSES } from "./cancel_task.ts";
export type { CancellableStatus } from "./cancel_task.ts";
export { MAX_RETRY_BATCH, RETRYABLE_STATUSES } from "./retry_tasks.ts";
export type { RetryableStatus, RetryTasksResult } from "./retry_tasks.ts";
export { RERUN_REASONS } from "./guarantee_stats.ts";
export type { GuaranteeStats, RerunReason } from "./guarantee_stats.ts";
export type { LiveStats } from "./event_router.ts";
export type { TaskSummary } from "./_views.ts";
export type { TaskAttemptView, TaskDetail } from "./get_task.ts";
export type { TaskPage } from "./list_tasks.ts";
export type { TaskStats } from "./task_stats.ts";
export type { WorkerView, SeedWorker } from "./list_workers.ts";
export type { SeedTaskListEntry, SeedTaskStatus } from "./task_status_view.ts";
