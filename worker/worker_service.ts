import { type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, status as GrpcStatus } from "@grpc/grpc-js";
import { z } from "zod";
import {
  type CancelTaskRequest__Output,
  serveStreamedCalls,
  type TaskBatch__Output,
  type TaskBatchCall__Output,
  type TaskBatchReply,
  type TaskBatchResponse,
  type TaskRequest__Output,
  type TaskResponse,
  type WorkerServiceHandlers,
} from "../proto/mod.ts";
import type { Logger } from "../shared/mod.ts";
import type { TaskPool } from "./task_pool.ts";

/** Options for {@linkcode createWorkerService}. */
export interface WorkerServiceOptions {
  pool: TaskPool;
  logger: Logger;
}

/** Longest `payload_json` accepted, bytes. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export const taskRequest = z.object({
  task_id: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, { error: "task_id is required: 1-200 printable characters without spaces" }),
  data: z.string().max(1000, { error: "data (the command) must be at most 1000 characters" }),
  attempt: z.number().int().min(0).max(4_294_967_295),
  payload_json: z.string().refine((v) => Buffer.byteLength(v, "utf8") <= MAX_PAYLOAD_BYTES, {
    error: `payload_json must be at most ${MAX_PAYLOAD_BYTES} bytes`,
  }),
  timeout_ms: z
    .number()
    .int()
    .min(0)
    .max(2_147_483_647, { error: "timeout_ms must be at most 2147483647 (about 24.8 days)" }),
  start_on_arrival: z.boolean(),
});
type ValidTaskRequest = z.infer<typeof taskRequest>;

const PRINTABLE_ID = /^[\x21-\x7e]{1,200}$/;
const isIntIn = (v: unknown, max: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;

/**
 * What `taskRequest` returns for a request every field of which is plainly within it, checked without
 * zod (whose parse was ~5% of a worker's CPU per dispatched task); undefined otherwise, and the
 * schema then decides and words the refusal. Accepts nothing the schema refuses: a payload passes
 * here only when even 3 UTF-8 bytes per UTF-16 unit fit the limit.
 */
export function plainlyValid(raw: TaskRequest__Output): ValidTaskRequest | undefined {
  const { task_id, data, attempt, payload_json, timeout_ms, start_on_arrival } = raw;
  if (
    typeof task_id === "string" && PRINTABLE_ID.test(task_id) &&
    typeof data === "string" && data.length <= 1000 &&
    isIntIn(attempt, 4_294_967_295) &&
    typeof payload_json === "string" && payload_json.length * 3 <= MAX_PAYLOAD_BYTES &&
    isIntIn(timeout_ms, 2_147_483_647) &&
    typeof start_on_arrival === "boolean"
  ) {
    return { task_id, data, attempt, payload_json, timeout_ms, start_on_arrival };
  }
  return undefined;
}

/**
 * The WorkerService implementation: `SubmitTask` validates the request (INVALID_ARGUMENT naming the
 * problem), then hands it to the pool. Answers `{success: true, message: "accepted"}` (also, with
 * "already accepted", for a repeat of a task and attempt it holds or ran lately), `{success: false,
 * message: "draining"}` while shutting down, `{success: false, message: "busy"}` when its wait queue is
 * full. A seed coordinator sends no attempt (0): the task runs as attempt 0 and reports carry none.
 */
export function createWorkerService(options: WorkerServiceOptions): WorkerServiceHandlers {
  const { pool, logger } = options;

  /** Validates one task request and hands it to the pool: its answer, or why it is invalid. */
  function accept(raw: TaskRequest__Output): TaskResponse | { details: string } {
    let request = plainlyValid(raw);
    if (!request) {
      const parsed = taskRequest.safeParse(raw);
      if (!parsed.success) {
        const details = parsed.error.issues.map((issue) => issue.message).join("; ");
        logger.warn("SubmitTask refused: invalid request", { task_id: raw.task_id, error: details });
        return { details };
      }
      request = parsed.data;
    }
    const fields = () => ({ task_id: request.task_id, attempt: request.attempt, command: request.data });
    const outcome = pool.submit({
      taskId: request.task_id,
      attempt: request.attempt,
      command: request.data,
      payloadJson: request.payload_json,
      timeoutMs: request.timeout_ms,
      startOnArrival: request.start_on_arrival,
    });
    switch (outcome) {
      case "accepted":
        // (No fields object per accepted task when debug is off: this runs for every dispatch.)
        if (logger.enabled("debug")) logger.debug("task accepted", { ...fields(), in_flight: pool.inFlight });
        return { task_id: request.task_id, success: true, message: "accepted" };
      case "duplicate":
        logger.info("task already accepted: repeat ignored", fields());
        return { task_id: request.task_id, success: true, message: "already accepted" };
      case "draining":
        logger.info("task refused: draining", fields());
        return { task_id: request.task_id, success: false, message: "draining" };
      case "full":
        logger.warn("task refused: wait queue full", { ...fields(), in_flight: pool.inFlight });
        return { task_id: request.task_id, success: false, message: "busy" };
    }
  }

  /** SubmitTasks, unary or streamed: one answer per task, in order. */
  function submitTasks(batch: TaskBatch__Output, callback: (error: { code: GrpcStatus; details: string } | null, response?: TaskBatchResponse) => void) {
    const tasks = batch.tasks ?? [];
    if (tasks.length > 10_000) return callback({ code: GrpcStatus.INVALID_ARGUMENT, details: "a TaskBatch holds at most 10000 tasks" });
    callback(null, {
      results: tasks.map((task) => {
        const answer = accept(task);
        return "details" in answer ? { task_id: task.task_id, success: false, message: answer.details } : answer;
      }),
    });
  }

  return {
    SubmitTask(call: ServerUnaryCall<TaskRequest__Output, TaskResponse>, callback: sendUnaryData<TaskResponse>) {
      const answer = accept(call.request);
      if ("details" in answer) callback({ code: GrpcStatus.INVALID_ARGUMENT, details: answer.details });
      else callback(null, answer);
    },

    SubmitTasks(call: ServerUnaryCall<TaskBatch__Output, TaskBatchResponse>, callback: sendUnaryData<TaskBatchResponse>) {
      submitTasks(call.request, callback);
    },

    SubmitTaskStream(call: ServerDuplexStream<TaskBatchCall__Output, TaskBatchReply>) {
      serveStreamedCalls(call, (message) => message.batch ?? undefined, submitTasks);
    },

    CancelTask(call: ServerUnaryCall<CancelTaskRequest__Output, TaskResponse>, callback: sendUnaryData<TaskResponse>) {
      const { task_id, attempt, reason } = call.request;
      if (typeof task_id !== "string" || task_id.length === 0 || task_id.length > 200) {
        callback({ code: GrpcStatus.INVALID_ARGUMENT, details: "task_id is required (1-200 characters)" });
        return;
      }
      const held = pool.cancel(task_id, attempt, reason || "cancelled by the coordinator");
      logger.info(held ? "task cancelled" : "cancel for a task not held: nothing to do", { task_id, attempt, reason });
      callback(null, { task_id, success: held, message: held ? "cancelled" : "not held" });
    },
  };
}
