/**
 * Test fixtures for `*_test.ts` files: a fresh migrated database per test file on the PostgreSQL
 * server the test run started (see vitest_global_setup.ts).
 *
 * @module
 */
import pg from "pg";
import { inject } from "vitest";
import { createPrismaClient } from "./client.ts";
import type { PrismaClient } from "./_generated/client.ts";
import { createSqlClient, type SqlClient } from "./sql_client.ts";
import { createTestDatabase } from "./test_database.ts";

export { freePort } from "./test_database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

/** A migrated database of the test's own, with a Prisma Client on it. */
export interface TestDb {
  url: string;
  prisma: PrismaClient;
  /** Raw SQL on the same database (what the coordinator uses). */
  sql: SqlClient;
  /** Disconnects and drops the database. */
  close(): Promise<void>;
}

/** Creates a fresh migrated database (cloned from the run's template) and a client on it. */
export async function useTestDatabase(): Promise<TestDb> {
  const db = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  const prisma = createPrismaClient(db.url, { poolSize: 5 });
  const sql = createSqlClient(db.url, { poolSize: 5 });
  return {
    url: db.url,
    prisma,
    sql,
    close: async () => {
      await prisma.$disconnect();
      await sql.end();
      await db.drop();
    },
  };
}

/** The task status counts as the dashboard reads them (`task_status_counts`), and the truth, counted row by row. */
export async function statusCounts(sql: SqlClient): Promise<{ booked: Record<string, number>; truth: Record<string, number> }> {
  const booked = await sql.query<{ status: string; n: number }>`
    SELECT status::text AS status, sum(n)::int AS n FROM task_status_counts GROUP BY status HAVING sum(n) <> 0`;
  const truth = await sql.query<{ status: string; n: number }>`SELECT status::text AS status, count(*)::int AS n FROM tasks GROUP BY status`;
  const asRecord = (rows: { status: string; n: number }[]) => Object.fromEntries(rows.map((r) => [r.status, r.n]));
  return { booked: asRecord(booked), truth: asRecord(truth) };
}

/** A `taskmaster_tasks` change announcement, parsed. */
export interface TaskAnnouncement {
  op: string;
  n: number;
  cancelled: number;
  rows: Record<string, unknown>[] | null;
}

/** Listens on `taskmaster_tasks` (on the database at `url`) while `action` runs; the announcements it caused. */
export async function taskAnnouncements(url: string, action: () => Promise<unknown>): Promise<TaskAnnouncement[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const got: TaskAnnouncement[] = [];
  client.on("notification", (n) => got.push(JSON.parse(n.payload ?? "") as TaskAnnouncement));
  try {
    await client.query("LISTEN taskmaster_tasks");
    await action();
    await client.query("SELECT 1"); // a round trip: notifications committed before it have arrived
    await new Promise((r) => setTimeout(r, 50));
    return got;
  } finally {
    await client.end();
  }
}

/**
 * Runs `body` with a connection to `url` on which auto_explain reports the plan of every statement,
 * nested ones included (statements inside functions), as a notice collected in `notices`.
 */
export async function withPlans(url: string, body: (client: pg.Client, notices: string[]) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const notices: string[] = [];
    client.on("notice", (notice) => notices.push(notice.message ?? ""));
    await client.query("LOAD 'auto_explain'");
    await client.query("SET auto_explain.log_min_duration = 0");
    await client.query("SET auto_explain.log_nested_statements = on");
    await client.query("SET auto_explain.log_level = notice");
    await body(client, notices);
  } finally {
    await client.end();
  }
}

/** One attempt of a task as `task_attempt_history` lists it (a task_attempts row, or the attempt its task row holds). */
export interface HistoryAttempt {
  attempt: number;
  outcome: string;
  workerId: number | null;
  coordinatorId: string | null;
  pickedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

/** Every attempt of task `taskId`, oldest first, from the view `task_attempt_history`. */
export async function attemptHistory(sql: SqlClient, taskId: string): Promise<HistoryAttempt[]> {
  const rows = await sql.query<{
    attempt: number;
    outcome: string;
    worker_id: bigint | null;
    coordinator_id: string | null;
    picked_at: Date;
    started_at: Date | null;
    finished_at: Date | null;
    error: string | null;
  }>`
    SELECT attempt, outcome::text AS outcome, worker_id, coordinator_id, picked_at, started_at, finished_at, error
      FROM task_attempt_history WHERE task_id = ${taskId}::uuid ORDER BY attempt`;
  return rows.map((r) => ({
    attempt: r.attempt,
    outcome: r.outcome,
    workerId: r.worker_id === null ? null : Number(r.worker_id),
    coordinatorId: r.coordinator_id,
    pickedAt: r.picked_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
  }));
}
