import type { Prisma, PrismaClient } from "../prisma/mod.ts";
import type { TaskStatusName } from "../shared/mod.ts";
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
interface TaskCursor {
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

function filterWhere(filter: TaskFilter): Prisma.TaskWhereInput[] {
  const where: Prisma.TaskWhereInput[] = [];
  if (filter.statuses) where.push({ status: { in: [...filter.statuses] } });
  if (filter.command !== undefined) where.push({ command: filter.command });
  if (filter.workerId !== undefined) where.push({ workerId: BigInt(filter.workerId) });
  return where;
}

const newestFirst = [{ createdAt: "desc" }, { id: "desc" }] as const satisfies Prisma.TaskOrderByWithRelationInput[];

/**
 * One page of tasks, newest first, keyset-paginated on (created_at, id): each page is one indexed
 * query of `limit + 1` rows, whatever the table's size. Throws RangeError on a malformed cursor.
 */
export async function listTasks(prisma: PrismaClient, options: ListTasksOptions): Promise<TaskPage> {
  const where = filterWhere(options);
  if (options.cursor !== undefined) {
    const cursor = decodeTaskCursor(options.cursor);
    if (!cursor) throw new RangeError(`Invalid cursor: expected a nextCursor returned by a previous page, got "${options.cursor}"`);
    where.push({
      OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
    });
  }
  const rows = await prisma.task.findMany({
    where: { AND: where },
    orderBy: [...newestFirst],
    take: options.limit + 1,
    select: taskSummarySelect,
  });
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toTaskSummary),
    nextCursor: rows.length > options.limit && last ? encodeTaskCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}

/** The newest `limit` tasks as the seed's `GET /api/tasks` lists them. */
export async function listSeedTasks(prisma: PrismaClient, options: TaskFilter & { limit: number }): Promise<SeedTaskListEntry[]> {
  const rows = await prisma.task.findMany({
    where: { AND: filterWhere(options) },
    orderBy: [...newestFirst],
    take: options.limit,
    select: seedTaskSelect,
  });
  return rows.map(toSeedTaskListEntry);
}
