import { randomUUID } from "node:crypto";
import { CHANNELS, listenForNotifications, type NotificationListener } from "../prisma/mod.ts";
import { isTerminalStatus, TASK_STATUSES, type Logger, type TaskStatusName } from "../shared/mod.ts";
import { workerName } from "./_views.ts";

/** How an activity log entry reads in the dashboard. */
export type ActivityLevel = "info" | "success" | "error";

/** One line of the activity log (`GET /api/logs`). */
export interface ActivityEntry {
  /** Increasing within this server process; the SSE and tRPC event id. */
  id: number;
  /** ISO 8601. */
  ts: string;
  level: ActivityLevel;
  msg: string;
}

/** A task row as the `taskmaster_tasks` notification carries it. */
export interface TaskChangeRow {
  id: string;
  status: TaskStatusName;
  attempt: number;
  workerId: number | null;
  /** At most 80 characters. */
  command: string;
  progress: number;
}

/**
 * One `taskmaster_tasks` notification: an INSERT ("I") or UPDATE ("U") statement touching `n` rows
 * (`rows` null when n > 25), or "R" (resync) after the notification connection came back: changes
 * may have been missed, refetch.
 */
export interface TaskChangeEvent {
  id: number;
  op: "I" | "U" | "R";
  n: number;
  rows: TaskChangeRow[] | null;
}

/** One `taskmaster_workers` notification. */
export interface WorkerChangeEvent {
  id: number;
  workerId: number;
  status: "ONLINE" | "DRAINING" | "OFFLINE" | "DELETED";
  address: string | null;
  previousStatus: string | null;
}

/** What subscribers receive. */
export type HubEvent =
  | { kind: "task"; event: TaskChangeEvent }
  | { kind: "worker"; event: WorkerChangeEvent }
  | { kind: "activity"; entry: ActivityEntry }
  | { kind: "resync" };

/** Fans database notifications out to the server's subscribers and keeps the activity log. */
export interface EventHub {
  /** Random per hub: event ids sent to clients carry it, so a resume from another process's id is detected. */
  readonly epoch: string;
  /** Resolves once LISTEN is in place (it may never, while the database is down). */
  readonly ready: Promise<void>;
  /** The last {@linkcode ACTIVITY_LOG_SIZE} activity entries, oldest first. */
  activity(): ActivityEntry[];
  /** Activity entries after `id`, or null when `id` is not from this process or fell out of the ring. */
  activitySince(id: number): ActivityEntry[] | null;
  /** Task changes after `id` kept in a short ring, or null when they are not all there any more. */
  taskChangesSince(id: number): TaskChangeEvent[] | null;
  /** Adds an entry to the activity log (e.g. the worker scaler's "started Worker-7"). */
  record(level: ActivityLevel, msg: string): ActivityEntry;
  /**
   * Says that an operator is about to move tasks `taskIds` to `status` (cancel: CANCELLED, retry:
   * SCHEDULED), so the line derived from that change's notification names the operator ("Task
   * 0b7e8c2a retried by an operator after 3 attempts") rather than guessing. Call it before making the
   * change; call the returned function when the change was refused. Unused marks lapse after 60 s.
   */
  expectOperatorChange(taskIds: readonly string[], status: TaskStatusName): () => void;
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: HubEvent) => void): () => void;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Entries the activity log keeps (the seed's MAX_LOG_EVENTS). */
export const ACTIVITY_LOG_SIZE = 250;
const TASK_CHANGE_RING = 500;
const TRACKED_TASKS = 20_000;
const OPERATOR_MARK_MS = 60_000;

/** Options for {@linkcode createEventHub}. */
export interface EventHubOptions {
  /** Where to LISTEN; omit for a hub fed only through `inject` (tests). */
  databaseUrl?: string | undefined;
  log: Logger;
  /** The clock for entry timestamps. Default `() => new Date()`. */
  now?: () => Date;
}

/** An {@linkcode EventHub} that can also be fed by hand (what the LISTEN connection does). */
export interface InjectableEventHub extends EventHub {
  /** Handles one notification as if it came from PostgreSQL. */
  inject(channel: string, payload: string): void;
}

function asNumberOrNull(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function parseTaskRow(v: unknown): TaskChangeRow | null {
  if (typeof v !== "object" || v === null) return null;
  const r = v as Record<string, unknown>;
  if (typeof r["id"] !== "string" || !TASK_STATUSES.includes(r["status"] as TaskStatusName)) return null;
  return {
    id: r["id"],
    status: r["status"] as TaskStatusName,
    attempt: asNumberOrNull(r["attempt"]) ?? 0,
    workerId: asNumberOrNull(r["worker_id"]),
    command: typeof r["command"] === "string" ? r["command"] : "",
    progress: asNumberOrNull(r["progress"]) ?? 0,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const shortId = (id: string) => id.slice(0, 8);
const onWorker = (workerId: number | null) => (workerId === null ? "" : ` on ${workerName(workerId)}`);

/**
 * Creates the hub: ONE LISTEN connection on taskmaster_tasks and taskmaster_workers (via
 * `listenForNotifications`, which reconnects by itself). On a reconnect it tells subscribers to
 * resynchronise, since notifications sent meanwhile are lost, and notes it in the activity log.
 */
export function createEventHub(options: EventHubOptions): InjectableEventHub {
  const now = options.now ?? (() => new Date());
  const log = options.log;
  const listeners = new Set<(event: HubEvent) => void>();
  const activityRing: ActivityEntry[] = [];
  const taskRing: TaskChangeEvent[] = [];
  /**
   * Last status seen per task (terminal ones too, so a retry out of DEAD is recognised), to tell a
   * status change from a progress update. Bounded: the oldest entries go first.
   */
  const lastStatus = new Map<string, TaskStatusName>();
  /** Changes an operator announced (`expectOperatorChange`), by task id. */
  const operatorMarks = new Map<string, { status: TaskStatusName; until: number }>();
  let nextActivityId = 1;
  let nextTaskEventId = 1;
  let nextWorkerEventId = 1;
  let disconnectedNoted = false;

  const emit = (event: HubEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        log.error("event subscriber failed", { error: String(error) });
      }
    }
  };

  const record = (level: ActivityLevel, msg: string): ActivityEntry => {
    const entry = { id: nextActivityId++, ts: now().toISOString(), level, msg };
    activityRing.push(entry);
    if (activityRing.length > ACTIVITY_LOG_SIZE) activityRing.shift();
    emit({ kind: "activity", entry });
    return entry;
  };

  const remember = (id: string, status: TaskStatusName) => {
    lastStatus.delete(id);
    lastStatus.set(id, status);
    if (lastStatus.size > TRACKED_TASKS) {
      const oldest = lastStatus.keys().next();
      if (!oldest.done) lastStatus.delete(oldest.value);
    }
  };

  /** True (once) when an operator announced this change. */
  const takeOperatorMark = (row: TaskChangeRow): boolean => {
    const mark = operatorMarks.get(row.id);
    if (!mark || mark.status !== row.status) return false;
    operatorMarks.delete(row.id);
    return mark.until >= Date.now();
  };

  const describeTaskRow = (row: TaskChangeRow): [ActivityLevel, string] | null => {
    const previous = lastStatus.get(row.id);
    remember(row.id, row.status);
    const byOperator = takeOperatorMark(row);
    if (previous === row.status) return null; // a progress update
    const task = `Task ${shortId(row.id)}`;
    const was = previous === undefined ? "" : ` (was ${previous})`;
    switch (row.status) {
      case "SCHEDULED":
        // Only an operator moves a task out of a terminal state.
        if (byOperator || (previous !== undefined && isTerminalStatus(previous))) {
          return ["info", `${task} retried by an operator after ${plural(row.attempt, "attempt")}${was}`];
        }
        return row.attempt > 0 ? ["info", `${task} requeued for a retry after attempt ${row.attempt}`] : null;
      case "PICKED":
        return ["info", `${task} picked${row.workerId === null ? "" : ` by ${workerName(row.workerId)}`} (attempt ${row.attempt})`];
      case "RUNNING":
        // Unseen and already progressing: a progress report whose start we did not see.
        if (previous === undefined && row.progress > 0) return null;
        return ["info", `${task} started${onWorker(row.workerId)}`];
      case "COMPLETED":
        return ["success", `${task} completed${onWorker(row.workerId)}`];
      case "FAILED":
        return ["error", `${task} failed${onWorker(row.workerId)} (not retryable)`];
      case "DEAD":
        return ["error", `${task} is dead after ${plural(row.attempt, "attempt")}`];
      case "CANCELLED":
        // Only an operator cancels (the server's task.cancel / POST /api/tasks/<id>/cancel).
        return ["info", `${task} cancelled by an operator${previous === undefined ? "" : ` (was ${previous}${onWorker(row.workerId)})`}`];
    }
  };

  const onTasks = (payload: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      log.warn("ignored a malformed taskmaster_tasks notification", { payload: payload.slice(0, 200) });
      return;
    }
    const p = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const op = p["op"] === "I" ? "I" : "U";
    const n = asNumberOrNull(p["n"]) ?? 0;
    const rows = Array.isArray(p["rows"]) ? p["rows"].map(parseTaskRow).filter((r): r is TaskChangeRow => r !== null) : null;
    const event: TaskChangeEvent = { id: nextTaskEventId++, op, n, rows };
    taskRing.push(event);
    if (taskRing.length > TASK_CHANGE_RING) taskRing.shift();
    emit({ kind: "task", event });
    if (op === "I") {
      const commands = new Set((rows ?? []).map((r) => r.command));
      const only = rows && rows.length === n && commands.size === 1 ? [...commands][0] : undefined;
      record("info", `Scheduled ${plural(n, "task")}${only ? `: ${only}` : ""}`);
      // A task an idle worker's offer took is inserted PICKED (the hand-off): say so, as for a claim.
      for (const row of rows ?? []) {
        if (row.status === "SCHEDULED") remember(row.id, row.status);
        else {
          const line = describeTaskRow(row);
          if (line) record(line[0], line[1]);
        }
      }
    } else if (rows === null) {
      record("info", `${plural(n, "task")} updated`);
    } else {
      for (const row of rows) {
        const line = describeTaskRow(row);
        if (line) record(line[0], line[1]);
      }
    }
  };

  const onWorkers = (payload: string) => {
    let p: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(payload);
      if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
      p = parsed as Record<string, unknown>;
    } catch {
      log.warn("ignored a malformed taskmaster_workers notification", { payload: payload.slice(0, 200) });
      return;
    }
    const workerId = asNumberOrNull(p["id"]);
    const status = p["status"];
    if (workerId === null || (status !== "ONLINE" && status !== "DRAINING" && status !== "OFFLINE" && status !== "DELETED")) return;
    const previousStatus = typeof p["previous_status"] === "string" ? p["previous_status"] : null;
    const address = typeof p["address"] === "string" ? p["address"] : null;
    emit({ kind: "worker", event: { id: nextWorkerEventId++, workerId, status, address, previousStatus } });
    const name = workerName(workerId);
    if (status === previousStatus) return; // counters changed, not the status
    if (status === "DELETED") record("info", `${name} removed`);
    else if (status === "ONLINE" && (previousStatus === null || previousStatus === "OFFLINE"))
      record("success", `${name} joined${address ? ` (${address})` : ""}`);
    else if (status === "DRAINING") record("info", `${name} draining`);
    else if (status === "OFFLINE" && previousStatus === "DRAINING") record("info", `${name} stopped`);
    else if (status === "OFFLINE") record("error", `${name} lost`);
  };

  const inject = (channel: string, payload: string) => {
    if (channel === CHANNELS.tasks) onTasks(payload);
    else if (channel === CHANNELS.workers) onWorkers(payload);
  };

  let listener: NotificationListener | undefined;
  let ready: Promise<void> = Promise.resolve();
  if (options.databaseUrl) {
    listener = listenForNotifications(options.databaseUrl, [CHANNELS.tasks, CHANNELS.workers], inject, {
      onConnected: (reconnected) => {
        disconnectedNoted = false;
        if (!reconnected) return;
        lastStatus.clear();
        log.info("notification connection restored; subscribers resynchronise");
        record("info", "Reconnected to the database: live updates resumed (changes made meanwhile are not in this log)");
        const event: TaskChangeEvent = { id: nextTaskEventId++, op: "R", n: 0, rows: null };
        taskRing.push(event);
        if (taskRing.length > TASK_CHANGE_RING) taskRing.shift();
        emit({ kind: "task", event });
        emit({ kind: "resync" });
      },
      onDisconnected: (error) => {
        if (disconnectedNoted) return;
        disconnectedNoted = true;
        log.warn("notification connection lost; reconnecting", { error: error.message });
        record("error", `Lost the database notification connection: ${error.message}`);
      },
    });
    ready = listener.ready;
  }

  return {
    epoch: randomUUID().slice(0, 8),
    ready,
    activity: () => [...activityRing],
    activitySince: (id) => {
      const first = activityRing[0];
      if (id >= nextActivityId || id < 0) return null;
      if (first && id < first.id - 1) return null;
      return activityRing.filter((e) => e.id > id);
    },
    taskChangesSince: (id) => {
      const first = taskRing[0];
      if (id >= nextTaskEventId || id < 0) return null;
      if (first && id < first.id - 1) return null;
      return taskRing.filter((e) => e.id > id);
    },
    record,
    expectOperatorChange: (taskIds, status) => {
      const until = Date.now() + OPERATOR_MARK_MS;
      for (const id of taskIds) operatorMarks.set(id, { status, until });
      if (operatorMarks.size > TRACKED_TASKS) {
        const now = Date.now();
        for (const [id, mark] of operatorMarks) if (mark.until < now) operatorMarks.delete(id);
      }
      return () => {
        for (const id of taskIds) if (operatorMarks.get(id)?.until === until) operatorMarks.delete(id);
      };
    },
    subscribe: (fn) => {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    inject,
    close: async () => {
      listeners.clear();
      await listener?.close();
    },
  };
}
