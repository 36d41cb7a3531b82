import type { IncomingMessage, ServerResponse } from "node:http";
import type { PrismaClient, SqlClient } from "../prisma/mod.ts";
import { parseIsoTimestamp, statsBucket, TASK_STATUSES, unixSeconds, type Logger, type TaskStatusName } from "../shared/mod.ts";
import { asObject, HttpError, jsonType, optionalNumber, optionalString, sendJson, UUID_PATTERN } from "./_http.ts";
import type { ActivityEntry, EventHub } from "./event_hub.ts";
import { guaranteeStats, type GuaranteeStats } from "./guarantee_stats.ts";
import { listSeedTasks } from "./list_tasks.ts";
import { listWorkers, toSeedWorker } from "./list_workers.ts";
import {
  alreadyFinishedMessage,
  cancelTaskByOperator,
  cappedRetryMessage,
  notRetryableMessage,
  retryTaskByOperator,
  retryTasksByOperator,
} from "./operator_actions.ts";
import { RETRYABLE_STATUSES, type RetryableStatus } from "./retry_tasks.ts";
import { scheduleTask, scheduleTaskBatch } from "./schedule_tasks.ts";
import { getTaskStats } from "./task_stats.ts";
import { getTaskStatus } from "./task_status_view.ts";
import { notManagedMessage } from "./worker_router.ts";
import { WorkerScalingDisabledError, type WorkerScaler } from "./worker_scaler.ts";

/** The command `POST /api/schedule/batch` uses when the body names none (the seed README's example). */
export const DEFAULT_BATCH_COMMAND = "process-data";
/** Most tasks one `POST /api/schedule/batch` may create. */
export const MAX_BATCH_COUNT = 1000;
/** Latest a batch may be delayed: one year. */
export const MAX_DELAY_SECONDS = 31_536_000;

/** What a REST handler gets. */
export interface RestRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The `:name` segments of the route's path (`/api/tasks/:id/cancel`), as sent. */
  params: Record<string, string>;
  /** The JSON body (size-limited; `{}` when empty). */
  body(): Promise<unknown>;
}

export type RestHandler = (request: RestRequest) => Promise<void>;

/** A path with a handler per method, and what a 500 on it says (the seed's words where it had them). */
export interface RestRoute {
  methods: Partial<Record<"GET" | "POST", RestHandler>>;
  failurePrefix: string;
}

/** What the REST shims need. */
export interface RestDeps {
  prisma: PrismaClient;
  /** Raw SQL for scheduling (see ServerContext.sql). */
  sql: SqlClient;
  hub: EventHub;
  scaler: WorkerScaler;
  onlineWindowMs: number;
  log: Logger;
  /** Milliseconds between SSE keep-alive comments. */
  sseKeepAliveMs: number;
  /** Registers an open SSE response so shutdown can end it; returns the unregister function. */
  trackStream(res: ServerResponse): () => void;
}

const GENERIC_FAILURE = "Internal error: ";

function requireInt(value: number | undefined, fallback: number, min: number, max: number, message: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new HttpError(400, message);
  return v;
}

/** Optional extras accepted by `POST /schedule` beyond the seed's two fields. */
function scheduleExtras(body: Record<string, unknown>) {
  const priority = optionalNumber(body, "priority", "priority must be an integer between -1000 and 1000");
  const maxAttempts = optionalNumber(body, "max_attempts", "max_attempts must be an integer between 1 and 100");
  const timeoutMs = optionalNumber(body, "timeout_ms", "timeout_ms must be an integer between 1 and 86400000");
  const idempotencyKey = optionalString(body, "idempotency_key");
  if (priority !== undefined) requireInt(priority, 0, -1000, 1000, "priority must be an integer between -1000 and 1000");
  if (maxAttempts !== undefined) requireInt(maxAttempts, 3, 1, 100, "max_attempts must be an integer between 1 and 100");
  if (timeoutMs !== undefined) requireInt(timeoutMs, 1, 1, 86_400_000, "timeout_ms must be an integer between 1 and 86400000");
  if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 200)) {
    throw new HttpError(400, "idempotency_key must be 1 to 200 characters");
  }
  return { priority, maxAttempts, timeoutMs, idempotencyKey, payload: body["payload"] ?? undefined };
}

/**
 * `?status=`: a status in capitals (`FAILED`), or one of the seed's lower-case buckets (`failed` =
 * FAILED, DEAD and CANCELLED; `running` = PICKED and RUNNING; `pending`; `completed`); other
 * lower-case status names (`dead`) mean that status.
 */
function statusesFromQuery(text: string | null): TaskStatusName[] | undefined {
  if (text === null || text.trim() === "") return undefined;
  const given = text.trim();
  const exact = TASK_STATUSES.find((s) => s === given);
  if (exact) return [exact];
  const bucket = TASK_STATUSES.filter((s) => statsBucket(s) === given);
  if (bucket.length > 0) return bucket;
  const anyCase = TASK_STATUSES.find((s) => s === given.toUpperCase());
  if (anyCase) return [anyCase];
  throw new HttpError(400, `status must be one of ${TASK_STATUSES.join(", ")} (or pending, running, completed, failed)`);
}

/** The `:id` of a task route, or a 400 when it is not a UUID. */
function taskIdParam(params: Record<string, string>): string {
  const id = params["id"] ?? "";
  if (!UUID_PATTERN.test(id)) throw new HttpError(400, `Invalid task id: expected a UUID, got "${id.slice(0, 100)}"`);
  return id;
}

/** `status` of `POST /api/tasks/retry`: DEAD (default), FAILED or CANCELLED, in any case. */
function retryableStatusField(body: Record<string, unknown>): RetryableStatus {
  const text = optionalString(body, "status");
  if (text === undefined) return "DEAD";
  const status = RETRYABLE_STATUSES.find((s) => s === text.trim().toUpperCase());
  if (!status) throw new HttpError(400, `status must be one of ${RETRYABLE_STATUSES.join(", ")}`);
  return status;
}

/** `GET /api/guarantees`: {@linkcode GuaranteeStats} with the REST API's snake_case names. */
export function toSeedGuarantees(g: GuaranteeStats) {
  return {
    accepted: g.accepted,
    finished: g.finished,
    in_flight: g.inFlight,
    queued: g.queued,
    lost: g.lost,
    ran_more_than_once: { total: g.ranMoreThanOnce.total, by_reason: g.ranMoreThanOnce.byReason },
    stale_reports_rejected: g.staleReportsRejected,
    leases_swept: g.leasesSwept,
    requeued_worker_lost: g.requeuedWorkerLost,
    dispatch_failures: g.dispatchFailures,
  };
}

function seedLogEntry(e: ActivityEntry) {
  return { ts: e.ts, level: e.level, msg: e.msg };
}

/**
 * The seed's REST API, path by path (aliases included), with its exact bodies and error strings,
 * and the operator's additions (cancel, retry, guarantees) in the same style.
 */
export function createRestRoutes(deps: RestDeps): Map<string, RestRoute> {
  const { prisma, hub, scaler } = deps;

  const schedule: RestRoute = {
    failurePrefix: "Failed to submit task. Error: ",
    methods: {
      POST: async ({ res, body }) => {
        const input = asObject(await body());
        const command = optionalString(input, "command");
        const scheduledAtValue = input["scheduled_at"];
        if (scheduledAtValue !== undefined && scheduledAtValue !== null && typeof scheduledAtValue !== "string") {
          throw new HttpError(400, `scheduled_at must be an ISO 8601 string, got ${jsonType(scheduledAtValue)}`);
        }
        const scheduledAtText = scheduledAtValue ?? undefined;
        if (!command?.trim() || !scheduledAtText?.trim()) throw new HttpError(400, "command and scheduled_at are required");
        if (command.length > 1000) throw new HttpError(400, "command must be at most 1000 characters");
        const runAt = parseIsoTimestamp(scheduledAtText);
        if (!runAt) throw new HttpError(400, "Invalid date format. Use ISO 8601 format.");
        const { task } = await scheduleTask(deps.sql, { command, runAt, ...scheduleExtras(input) });
        sendJson(res, 200, { command: task.command, scheduled_at: unixSeconds(new Date(task.scheduledAt)), task_id: task.id });
      },
    },
  };

  const status: RestRoute = {
    failurePrefix: "Failed to get task status. Error: ",
    methods: {
      GET: async ({ res, url }) => {
        const id = url.searchParams.get("task_id")?.trim();
        if (!id) throw new HttpError(400, "Task ID is required");
        if (!UUID_PATTERN.test(id)) throw new HttpError(400, "Invalid task_id: expected a UUID");
        const task = await getTaskStatus(prisma, id);
        if (!task) throw new HttpError(404, "Task not found");
        sendJson(res, 200, task);
      },
    },
  };

  const batch: RestRoute = {
    failurePrefix: "Failed to submit tasks. Error: ",
    methods: {
      POST: async ({ res, body }) => {
        const input = asObject(await body());
        const commandText = optionalString(input, "command");
        const command = commandText?.trim() ? commandText : DEFAULT_BATCH_COMMAND;
        if (command.length > 1000) throw new HttpError(400, "command must be at most 1000 characters");
        const countMessage = `count must be an integer between 1 and ${MAX_BATCH_COUNT}`;
        const count = requireInt(optionalNumber(input, "count", countMessage), 1, 1, MAX_BATCH_COUNT, countMessage);
        const delayMessage = `delay_seconds must be a number between 0 and ${MAX_DELAY_SECONDS}`;
        const delaySeconds = optionalNumber(input, "delay_seconds", delayMessage) ?? 0;
        if (delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) throw new HttpError(400, delayMessage);
        const result = await scheduleTaskBatch(deps.sql, { command, count, delaySeconds, payload: input["payload"] ?? undefined });
        sendJson(res, 200, { count: result.count, scheduled_at: unixSeconds(result.scheduledAt), task_ids: result.taskIds });
      },
    },
  };

  const tasks: RestRoute = {
    failurePrefix: "Failed to list tasks. Error: ",
    methods: {
      GET: async ({ res, url }) => {
        const limitText = url.searchParams.get("limit");
        const limit = limitText === null || limitText.trim() === "" ? 100 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, "limit must be an integer between 1 and 1000");
        const statuses = statusesFromQuery(url.searchParams.get("status"));
        sendJson(res, 200, await listSeedTasks(prisma, { limit, statuses }));
      },
    },
  };

  const seedWorkers = async () =>
    (await listWorkers(prisma, { onlineWindowMs: deps.onlineWindowMs })).map(toSeedWorker);

  const workers: RestRoute = {
    failurePrefix: "Failed to list workers. Error: ",
    methods: { GET: async ({ res }) => sendJson(res, 200, await seedWorkers()) },
  };

  const stats: RestRoute = {
    failurePrefix: "Failed to get stats. Error: ",
    methods: {
      GET: async ({ res }) => {
        const [s, w] = await Promise.all([getTaskStats(prisma, { onlineWindowMs: deps.onlineWindowMs }), seedWorkers()]);
        sendJson(res, 200, {
          total_tasks: s.total,
          pending_tasks: s.pending,
          running_tasks: s.running,
          completed_tasks: s.completed,
          failed_tasks: s.failed,
          workers: w,
        });
      },
    },
  };

  const scale: RestRoute = {
    failurePrefix: "Failed to scale workers. Error: ",
    methods: {
      POST: async ({ res, body }) => {
        const input = asObject(await body());
        const message = "count must be between 1 and 50";
        const count = requireInt(optionalNumber(input, "count", message), Number.NaN, 1, 50, message);
        try {
          await scaler.scale(count);
        } catch (error) {
          if (error instanceof WorkerScalingDisabledError) throw new HttpError(501, error.message);
          throw error;
        }
        sendJson(res, 200, { ok: true, count });
      },
    },
  };

  const kill: RestRoute = {
    failurePrefix: "Failed to kill worker. Error: ",
    methods: {
      POST: async ({ res, body }) => {
        const input = asObject(await body());
        const name = optionalString(input, "name")?.trim();
        if (!name) throw new HttpError(400, "name is required");
        const result = await scaler.kill(name);
        if (result === "not_found") throw new HttpError(404, `Worker not found: ${name}`);
        if (result === "not_managed") throw new HttpError(409, notManagedMessage(name));
        sendJson(res, 200, { ok: true, name });
      },
    },
  };

  const cancel: RestRoute = {
    failurePrefix: "Failed to cancel task. Error: ",
    methods: {
      POST: async ({ res, params, body }) => {
        const id = taskIdParam(params);
        asObject(await body());
        const result = await cancelTaskByOperator(deps, id);
        if (result.outcome === "not_found") throw new HttpError(404, "Task not found");
        if (result.outcome === "terminal") throw new HttpError(409, alreadyFinishedMessage(id, result.status));
        sendJson(res, 200, { ok: true, task_id: id, status: result.task.status, previous_status: result.previousStatus });
      },
    },
  };

  const retryOne: RestRoute = {
    failurePrefix: "Failed to retry task. Error: ",
    methods: {
      POST: async ({ res, params, body }) => {
        const id = taskIdParam(params);
        asObject(await body());
        const result = await retryTaskByOperator(deps, id);
        if (result.outcome === "not_found") throw new HttpError(404, "Task not found");
        if (result.outcome === "not_retryable") throw new HttpError(409, notRetryableMessage(id, result.status));
        sendJson(res, 200, { ok: true, task_id: id, status: result.task.status, previous_status: result.previousStatus });
      },
    },
  };

  const retryMany: RestRoute = {
    failurePrefix: "Failed to retry tasks. Error: ",
    methods: {
      POST: async ({ res, body }) => {
        const input = asObject(await body());
        const status = retryableStatusField(input);
        const command = optionalString(input, "command");
        if (command !== undefined && command.trim() === "") {
          throw new HttpError(400, "command must not be empty (omit it to retry tasks with any command)");
        }
        if (command !== undefined && command.length > 1000) throw new HttpError(400, "command must be at most 1000 characters");
        const result = await retryTasksByOperator(deps, { status, command });
        sendJson(res, 200, {
          count: result.count,
          task_ids: result.taskIds,
          capped: result.capped,
          ...(result.capped ? { message: cappedRetryMessage(result.count) } : {}),
        });
      },
    },
  };

  const guarantees: RestRoute = {
    failurePrefix: "Failed to get guarantees. Error: ",
    methods: { GET: async ({ res }) => sendJson(res, 200, toSeedGuarantees(await guaranteeStats(prisma))) },
  };

  const logs: RestRoute = {
    failurePrefix: GENERIC_FAILURE,
    methods: { GET: async ({ res }) => sendJson(res, 200, hub.activity().map(seedLogEntry)) },
  };

  const logStream: RestRoute = {
    failurePrefix: GENERIC_FAILURE,
    methods: { GET: async ({ req, res }) => streamActivity(req, res, deps) },
  };

  return new Map<string, RestRoute>([
    ["/schedule", schedule],
    ["/api/schedule", schedule],
    ["/status", status],
    ["/api/status", status],
    ["/api/schedule/batch", batch],
    ["/api/tasks", tasks],
    ["/api/tasks/retry", retryMany],
    ["/api/tasks/:id/cancel", cancel],
    ["/api/tasks/:id/retry", retryOne],
    ["/api/guarantees", guarantees],
    ["/api/workers", workers],
    ["/api/stats", stats],
    ["/api/workers/scale", scale],
    ["/api/workers/kill", kill],
    ["/api/logs", logs],
    ["/api/logs/stream", logStream],
  ]);
}

/**
 * `GET /api/logs/stream`: Server-Sent Events of the activity log, the backlog first (or what followed
 * the `Last-Event-ID` the browser resends on reconnect), then live, with keep-alive comments.
 */
async function streamActivity(req: IncomingMessage, res: ServerResponse, deps: RestDeps): Promise<void> {
  const { hub } = deps;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.write("retry: 3000\n\n");
  let last = 0;
  const send = (entry: ActivityEntry) => {
    if (entry.id <= last) return;
    last = entry.id;
    res.write(`id: ${hub.epoch}:${entry.id}\ndata: ${JSON.stringify(seedLogEntry(entry))}\n\n`);
  };
  const buffered: ActivityEntry[] = [];
  let live = false;
  const unsubscribe = hub.subscribe((e) => {
    if (e.kind !== "activity") return;
    if (live) send(e.entry);
    else buffered.push(e.entry);
  });
  const lastEventId = req.headers["last-event-id"];
  const [epoch, n] = typeof lastEventId === "string" ? lastEventId.split(":") : [];
  const since = epoch === hub.epoch && n && /^\d+$/.test(n) ? Number(n) : null;
  const backlog = (since !== null ? hub.activitySince(since) : null) ?? hub.activity();
  for (const entry of backlog) send(entry);
  for (const entry of buffered) send(entry);
  live = true;
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), deps.sseKeepAliveMs);
  const untrack = deps.trackStream(res);
  await new Promise<void>((resolve) => {
    const done = () => {
      clearInterval(keepAlive);
      unsubscribe();
      untrack();
      resolve();
    };
    res.once("close", done);
  });
}
