import type { PrismaClient } from "../prisma/mod.ts";
import { ACTIVE_STATUSES, TERMINAL_STATUSES, type TaskStatusName } from "../shared/mod.ts";
import { statusInSql } from "./_status_sql.ts";
import { taskSummarySelect, toTaskSummary, type TaskSummary } from "./_views.ts";
import { seedTaskSelect, toSeedTaskListEntry, type SeedTaskListEntry } from "./task_status_view.ts";

/** Filters shared by the task lists. */
export interface TaskFilter {
  /** Only tasks in one of these statuses. */
  statuses?: readonly TaskStatusName[] | undefined;
  /** Only tasks with exactly this command. */
  command?: string | undefined;
  /** Only tasks whose current attempt is on this worker. */
  workerId?: number | undefined;
}

/** Options for {@linkcode listTasks}. */
export interface ListTasksOptions extends TaskFilter {
  /** From {@linkcode TaskPage.nextCursor} of the previous page. */
  cursor?: string | undefined;
  /** Page size. */
  limit: number;
}

/** A page of tasks, newest first. */
export interface TaskPage {
  items: TaskSummary[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Where a page ends: the last row's (created_at, id). */
export interface TaskCursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Encodes a cursor as an opaque URL-safe string. */
export function encodeTaskCursor(cursor: TaskCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`, "utf8").toString("base64url");
}

/** Decodes {@linkcode encodeTaskCursor}'s output; null when `text` is not such a cursor. */
export function decodeTaskCursor(text: string): TaskCursor | null {
  const decoded = Buffer.from(text, "base64url").toString("utf8");
  const [iso, id, ...rest] = decoded.split("|");
  if (!iso || !id || rest.length > 0 || !UUID.test(id)) return null;
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) return null;
  return { createdAt, id };
}

/**
 * The list's three kinds of task, each listed from its own indexes (see the `tasks` model): finished
 * tasks and SCHEDULED ones from partial (created_at, id) indexes that a claim never writes to, tasks
 * in flight (at most the workers' capacity) from the index of tasks in flight (`tasks_active_idx`).
 */
const KINDS: readonly (readonly TaskStatusName[])[] = [TERMINAL_STATUSES, ["SCHEDULED"], ACTIVE_STATUSES];

/**
 * The statement that finds one page: the ids of the newest `limit` tasks the filter allows (older
 * than `cursor`), the newest `limit` of each kind merged (a UNION ALL of one ordered, limited index
 * scan per kind). The statuses are written into the SQL, not bound, so that the planner can prove each
 * part's partial index usable whatever plan it caches; everything the caller sent is bound.
 */
export function taskPageQuery(filter: TaskFilter, cursor: TaskCursor | null, limit: number): { text: string; values: unknown[] } | null {
  const values: unknown[] = [];
  const bind = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const conditions: string[] = [];
  if (filter.command !== undefined) conditions.push(`command = ${bind(filter.command, "text")}`);
  if (filter.workerId !== undefined) conditions.push(`worker_id = ${bind(filter.workerId, "bigint")}`);
  if (cursor) conditions.push(`(created_at, id) < (${bind(cursor.createdAt, "timestamptz")}, ${bind(cursor.id, "uuid")})`);
  const take = bind(limit, "int");
  const parts: string[] = [];
  for (const kind of KINDS) {
    const statuses = kind.filter((status) => !filter.statuses || filter.statuses.includes(status));
    if (statuses.length === 0) continue;
    // A SCHEDULED task has no worker (every way back to the queue clears it): nothing to list.
    if (filter.workerId !== undefined && kind.includes("SCHEDULED")) continue;
    parts.push(`(SELECT id, created_at FROM tasks WHERE ${[statusInSql("status", statuses), ...conditions].join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ${take})`);
  }
  if (parts.length === 0) return null;
  return {
    text: `SELECT id::text AS id FROM (${parts.join(" UNION ALL ")}) AS page ORDER BY created_at DESC, id DESC LIMIT ${take}`,
    values,
  };
}

async function pageIds(prisma: PrismaClient, filter: TaskFilter, cursor: TaskCursor | null, limit: number): Promise<string[]> {
  const query = taskPageQuery(filter, cursor, limit);
  if (!query) return [];
  const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(query.text, ...query.values);
  return rows.map((r) => r.id);
}

/** `ids`' rows, in `ids`' order. */
function inOrder<T extends { id: string }>(ids: string[], rows: T[]): T[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/**
 * One page of tasks, newest first, keyset-paginated on (created_at, id): whatever the table's size,
 * one statement of a few ordered index scans finds the page (`limit + 1` ids), and one primary-key
 * lookup reads its rows. Throws RangeError on a malformed cursor.
 */
export async function listTasks(prisma: PrismaClient, options: ListTasksOptions): Promise<TaskPage> {
  let cursor: TaskCursor | null = null;
  if (options.cursor !== undefined) {
    cursor = decodeTaskCursor(options.cursor);
    if (!cursor) throw new RangeError(`Invalid cursor: expected a nextCursor returned by a previous page, got "${options.cursor}"`);
  }
  const ids = await pageIds(prisma, options, cursor, options.limit + 1);
  const rows = inOrder(ids, await prisma.task.findMany({ where: { id: { in: ids.slice(0, options.limit) } }, select: taskSummarySelect }));
  const last = rows[rows.length - 1];
  return {
    items: rows.map(toTaskSummary),
    nextCursor: ids.length > options.limit && last ? encodeTaskCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}

/** The newest `limit` tasks as the seed's `GET /api/tasks` lists them. */
export async function listSeedTasks(prisma: PrismaClient, options: TaskFilter & { limit: number }): Promise<SeedTaskListEntry[]> {
  const ids = await pageIds(prisma, options, null, options.limit);
  const rows = inOrder(ids, await prisma.task.findMany({ where: { id: { in: ids } }, select: seedTaskSelect }));
  return rows.map(toSeedTaskListEntry);
}
