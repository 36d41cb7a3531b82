import { sql, type SqlClient, type SqlFragment } from "../prisma/mod.ts";
import { uuidV7s } from "./_uuid_v7.ts";
import { taskSummarySelect, type TaskSummaryRow, toTaskSummary, type TaskSummary } from "./_views.ts";

/** What {@linkcode scheduleTask} inserts. Times are PostgreSQL's clock unless `runAt` is given. */
export interface ScheduleTaskInput {
  command: string;
  /** JSON handed to the handler. */
  payload?: unknown;
  /** When the task becomes due. Default: now (the database's clock). */
  runAt?: Date | undefined;
  /** Higher runs first among due tasks. Default 0. */
  priority?: number | undefined;
  /** Attempts before the task is DEAD. Default 3 (the column default). */
  maxAttempts?: number | undefined;
  /** Milliseconds an attempt may run; default: the worker's. */
  timeoutMs?: number | undefined;
  /** Scheduling twice with one key returns the first task (whatever its command). */
  idempotencyKey?: string | undefined;
}

/** The scheduled task, and whether this call created it (false: an existing idempotency key). */
export interface ScheduleTaskResult {
  task: TaskSummary;
  created: boolean;
}

function jsonOrNull(payload: unknown): string | null {
  return payload === undefined ? null : JSON.stringify(payload);
}

/**
 * Inserts one task (status SCHEDULED). With an `idempotencyKey` already used, inserts nothing and
 * returns the existing task; safe under concurrent calls with one key (ON CONFLICT DO NOTHING). The
 * conflict target names the keyed rows only, so it matches the unique index on `idempotency_key`
 * whether that holds every row or, as it may later, only those with a key.
 */
export async function scheduleTask(db: SqlClient, input: ScheduleTaskInput): Promise<ScheduleTaskResult> {
  const [id] = uuidV7s(1) as [string];
  const inserted = await db.query<TaskSummaryRow>`
    INSERT INTO tasks (id, command, payload, priority, max_attempts, timeout_ms, scheduled_at, idempotency_key)
    VALUES (${id}::uuid, ${input.command}, ${jsonOrNull(input.payload)}::jsonb, ${input.priority ?? 0}::int,
            ${input.maxAttempts ?? 3}::int, ${input.timeoutMs ?? null}::int,
            COALESCE(${input.runAt ?? null}::timestamptz, now()), ${input.idempotencyKey ?? null}::text)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING ${summaryColumns}`;
  // The new row comes back from the INSERT itself (one round trip on the path every task takes);
  // only a reused idempotency key reads the task it names.
  if (inserted.length === 1) return { task: toTaskSummary(inserted[0]!), created: true };
  const [existing] = await db.query<TaskSummaryRow>`SELECT ${summaryColumns} FROM tasks WHERE idempotency_key = ${input.idempotencyKey ?? null}::text`;
  if (!existing) throw new Error(`scheduleTask(): idempotency key ${JSON.stringify(input.idempotencyKey)} conflicted, but no task has it`);
  return { task: toTaskSummary(existing), created: false };
}

/**
 * The columns of a {@linkcode TaskSummaryRow}, named as Prisma names them: derived from
 * `taskSummarySelect` (every field of the tasks model is mapped to its snake_case column), so the
 * summary's fields are listed once. uuid and enum values come back from `pg` as strings.
 */
const summaryColumns: SqlFragment = {
  strings: [
    Object.keys(taskSummarySelect)
      .map((field) => `${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} AS "${field}"`)
      .join(", "),
  ],
  values: [],
};

/** What {@linkcode scheduleTaskBatch} inserts: `count` identical tasks due after `delaySeconds`. */
export interface ScheduleBatchInput {
  command: string;
  count: number;
  /** Seconds from now (the database's clock). Default 0. */
  delaySeconds?: number | undefined;
  priority?: number | undefined;
  payload?: unknown;
}

/** The batch: the tasks' ids and their common due time. */
export interface ScheduleBatchResult {
  count: number;
  scheduledAt: Date;
  taskIds: string[];
}

/**
 * Inserts `count` tasks in one statement (all or none), due at now() + delaySeconds. The ids are made
 * here (increasing UUIDv7s) and sent as one array, so the statement answers one row (the count and
 * the due time) instead of a row per task.
 */
export async function scheduleTaskBatch(db: SqlClient, input: ScheduleBatchInput): Promise<ScheduleBatchResult> {
  const taskIds = uuidV7s(input.count);
  const dueAt = sql`now() + make_interval(secs => ${input.delaySeconds ?? 0}::double precision)`;
  const [row] = await db.query<{ count: number; scheduled_at: Date }>`
    WITH inserted AS (
      INSERT INTO tasks (id, command, payload, priority, scheduled_at)
      SELECT id, ${input.command}, ${jsonOrNull(input.payload)}::jsonb, ${input.priority ?? 0}::int, ${dueAt}
        FROM unnest(${taskIds}::uuid[]) AS id
      RETURNING 1
    )
    -- The due time rounded as the column stores it (timestamptz(3)): the rows' own value.
    SELECT count(*)::int AS count, (${dueAt})::timestamptz(3) AS scheduled_at FROM inserted`;
  if (row?.count !== taskIds.length) {
    throw new Error(`scheduleTaskBatch() inserted ${row?.count ?? 0} rows for count ${input.count}`);
  }
  return { count: taskIds.length, scheduledAt: row.scheduled_at, taskIds };
}
