/**
 * TaskMaster's worker: runs tasks the coordinator dispatches over gRPC, in a pool of slots, through a
 * registry of handlers, and reports STARTED / progress / COMPLETE / FAILED back.
 *
 * Write handlers of your own with {@linkcode defineHandler}, export them as `handlers` from a module and
 * name it in HANDLER_MODULES; or embed a worker with {@linkcode startWorker}.
 *
 * @module
 */
export { defineHandler, isNonRetryable, NonRetryableError } from "./handler.ts";
export type { TaskContext, TaskHandler } from "./handler.ts";
export { builtinHandlers, SHELL_STDOUT_LIMIT } from "./builtin_handlers.ts";
export type { BuiltinHandlerOptions, BuiltinHandlers } from "./builtin_handlers.ts";
export { createHandlerRegistry } from "./handler_registry.ts";
export type { HandlerRegistry, HandlerRegistryOptions } from "./handler_registry.ts";
export { HandlerModuleError, loadHandlerModules } from "./load_handler_modules.ts";
export { attemptKey, createTaskPool } from "./task_pool.ts";
export type { PoolTask, SubmitOutcome, TaskPool, TaskPoolOptions } from "./task_pool.ts";
export { createCoordinatorLink } from "./coordinator_link.ts";
export type {
  AttemptRef,
  CoordinatorLink,
  CoordinatorLinkOptions,
  ReportOutcome,
  TaskReporter,
  WorkerLoad,
} from "./coordinator_link.ts";
export { createWorkerService, MAX_PAYLOAD_BYTES } from "./worker_service.ts";
export type { WorkerServiceOptions } from "./worker_service.ts";
export { startWorker } from "./worker_node.ts";
export type { WorkerHandle, WorkerOptions } from "./worker_node.ts";
export type { RetryOptions } from "./_retry.ts";
