import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { parseIsoTimestamp, TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";
import { getTask } from "./get_task.ts";
import { listTasks } from "./list_tasks.ts";
import {
  alreadyFinishedMessage,
  cancelTaskByOperator,
  cappedRetryMessage,
  notRetryableMessage,
  retryTaskByOperator,
  retryTasksByOperator,
} from "./operator_actions.ts";
import { RETRYABLE_STATUSES } from "./retry_tasks.ts";
import { scheduleTask, scheduleTaskBatch } from "./schedule_tasks.ts";
import { publicProcedure, router } from "./trpc.ts";

/** A task id: any UUID PostgreSQL accepts (version not checked). */
export const taskIdSchema = z.guid({ error: "expected a UUID" });

const command = z.string().min(1, { error: "command must not be empty" }).max(1000, { error: "command must be at most 1000 characters" });
const priority = z.number().int().min(-1000).max(1000);

/** ISO 8601 text (strict: impossible dates rejected) or epoch milliseconds. */
const runAt = z.union([
  z.string().transform((text, ctx) => {
    const time = parseIsoTimestamp(text);
    if (!time) {
      ctx.addIssue({ code: "custom", message: "Invalid date format. Use ISO 8601 format." });
      return z.NEVER;
    }
    return time;
  }),
  z.number().int().min(0).max(8_640_000_000_000_000).transform((ms) => new Date(ms)),
]);

/** The statuses a task list keeps: both filters hold when both are given (their intersection, maybe empty). */
function statusFilter(status: TaskStatusName | undefined, statuses: readonly TaskStatusName[] | undefined): TaskStatusName[] | undefined {
  if (statuses === undefined) return status === undefined ? undefined : [status];
  const unique = [...new Set(statuses)];
  return status === undefined ? unique : unique.filter((s) => s === status);
}

/** Tasks: schedule, look up, list, cancel, retry. */
export const taskRouter = router({
  /** Schedules one task; an `idempotencyKey` already used returns that task (`created: false`). */
  schedule: publicProcedure
    .input(
      z.object({
        command,
        payload: z.json().optional(),
        runAt: runAt.optional(),
        priority: priority.optional(),
        maxAttempts: z.number().int().min(1).max(100).optional(),
        timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
        idempotencyKey: z.string().min(1).max(200).optional(),
      }),
    )
    .mutation(({ ctx, input }) => scheduleTask(ctx.sql, input)),

  /** Schedules `count` identical tasks due in `delaySeconds`, in one statement. */
  scheduleBatch: publicProcedure
    .input(
      z.object({
        command,
        count: z.number().int().min(1).max(1000),
        delaySeconds: z.number().min(0).max(31_536_000).default(0),
        priority: priority.optional(),
        payload: z.json().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const batch = await scheduleTaskBatch(ctx.sql, input);
      return { count: batch.count, scheduledAt: batch.scheduledAt.toISOString(), taskIds: batch.taskIds };
    }),

  /** A task with every attempt (the timeline). NOT_FOUND when there is none. */
  get: publicProcedure.input(z.object({ id: taskIdSchema })).query(async ({ ctx, input }) => {
    const task = await getTask(ctx.prisma, input.id);
    if (!task) throw new TRPCError({ code: "NOT_FOUND", message: `Task not found: ${input.id}` });
    return task;
  }),

  /**
   * Cancels a SCHEDULED, PICKED or RUNNING task: it ends CANCELLED and is never started again; a
   * running handler gets its abort signal (through the coordinator). CONFLICT when the task has
   * already ended, NOT_FOUND when there is none.
   */
  cancel: publicProcedure.input(z.object({ id: taskIdSchema })).mutation(async ({ ctx, input }) => {
    const result = await cancelTaskByOperator(ctx, input.id);
    if (result.outcome === "terminal") throw new TRPCError({ code: "CONFLICT", message: alreadyFinishedMessage(input.id, result.status) });
    if (result.outcome === "not_found") throw new TRPCError({ code: "NOT_FOUND", message: `Task not found: ${input.id}` });
    return { task: result.task, previousStatus: result.previousStatus };
  }),

  /**
   * Sends a DEAD, FAILED or CANCELLED task back to the queue, due now, with its `max_attempts` anew
   * (`attempt` keeps counting). CONFLICT for a task in another state, NOT_FOUND when there is none.
   */
  retry: publicProcedure.input(z.object({ id: taskIdSchema })).mutation(async ({ ctx, input }) => {
    const result = await retryTaskByOperator(ctx, input.id);
    if (result.outcome === "not_retryable") throw new TRPCError({ code: "CONFLICT", message: notRetryableMessage(input.id, result.status) });
    if (result.outcome === "not_found") throw new TRPCError({ code: "NOT_FOUND", message: `Task not found: ${input.id}` });
    return { task: result.task, previousStatus: result.previousStatus };
  }),

  /**
   * Sends every task in `status` (default DEAD), optionally only those with `command`, back to the
   * queue: at most 10,000 per call, the oldest first; when more match, `capped` is true and
   * `message` says so (call again for the rest).
   */
  retryMany: publicProcedure
    .input(
      z
        .object({
          status: z.enum(RETRYABLE_STATUSES).default("DEAD"),
          command: command.optional(),
        })
        .default({ status: "DEAD" }),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await retryTasksByOperator(ctx, input);
      return { ...result, message: result.capped ? cappedRetryMessage(result.count) : null };
    }),

  /**
   * Tasks newest first, one page at a time; pass `nextCursor` back as `cursor`. `status` and
   * `statuses` filter by status (a task matches when its status is in `statuses`, and is `status`
   * when that is given too); an empty `statuses` is rejected.
   */
  list: publicProcedure
    .input(
      z.object({
        cursor: z.string().max(200).nullish(),
        limit: z.number().int().min(1).max(200).default(50),
        status: z.enum(TASK_STATUSES).optional(),
        statuses: z
          .array(z.enum(TASK_STATUSES))
          .min(1, { error: "statuses must name at least one status (omit it for every status)" })
          .max(TASK_STATUSES.length * 2)
          .optional(),
        command: z.string().min(1).max(1000).optional(),
        workerId: z.number().int().min(1).max(0xffffffff).optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      try {
        return await listTasks(ctx.prisma, {
          cursor: input.cursor ?? undefined,
          limit: input.limit,
          statuses: statusFilter(input.status, input.statuses),
          command: input.command,
          workerId: input.workerId,
        });
      } catch (error) {
        if (error instanceof RangeError) throw new TRPCError({ code: "BAD_REQUEST", message: error.message });
        throw error;
      }
    }),
});
