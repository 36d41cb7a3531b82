// Figure 5, the dashboard at scale: the server's queries with a million finished tasks in the table,
// through tRPC over HTTP and as the bare SQL Prisma sends (captured from PostgreSQL's log), and the
// coordinator's claim query with those rows present.
import type { TRPCClient } from "@trpc/client";
import type pg from "pg";
import { claimAndAssignStatement } from "../coordinator/mod.ts";
import { toQuery } from "../prisma/mod.ts";
import type { AppRouter } from "../server/mod.ts";
import type { BenchPostgres } from "./bench_cluster.ts";
import { resetTables } from "./bench_cluster.ts";
import { createStatementLog, type LoggedStep } from "./statement_log.ts";
import { summarize, type Summary } from "./summarize.ts";

/** Filling the table: how long the bulk load took (not a figure of the system, for the record). */
export interface DashboardLoad {
  finishedTasks: number;
  scheduledTasks: number;
  loadSeconds: number;
  vacuumAnalyzeSeconds: number;
  tableMb: number;
  indexesMb: number;
}

/** One dashboard query: through tRPC over HTTP, and its SQL through the bare driver. */
export interface DashboardQuery {
  name: string;
  trpcMs: Summary;
  /** The statements the procedure ran, re-run one after another through `pg`. */
  rawMs: Summary;
  /** PostgreSQL's own time for the procedure's statements, from its log (parse+bind+execute). */
  serverSqlMs: number;
  statements: string[];
  plan?: string;
}

/**
 * Bulk-loads `finished` finished tasks (96% COMPLETED, 2% FAILED, 1% DEAD, 1% CANCELLED, created over
 * the last 30 days, one attempt row each) and `scheduled` tasks due now, with the triggers off for
 * the load (session_replication_role = replica: no NOTIFY storm, as if they had accumulated over
 * time; the per-status counts are then recounted), then VACUUM ANALYZE (what autovacuum would have
 * done by then).
 */
export async function loadFinishedTasks(db: pg.Pool, finished: number, scheduled: number): Promise<DashboardLoad> {
  await resetTables(db);
  const client = await db.connect();
  const started = performance.now();
  try {
    await client.query("SET session_replication_role = replica");
    const chunk = 250_000;
    for (let from = 1; from <= finished; from += chunk) {
      const to = Math.min(finished, from + chunk - 1);
      await client.query(
        `WITH g AS (
           SELECT i, now() - (($3::int - i) * interval '30 days' / $3::int) AS created,
                  CASE WHEN i % 100 < 96 THEN 'COMPLETED' WHEN i % 100 < 98 THEN 'FAILED'
                       WHEN i % 100 < 99 THEN 'DEAD' ELSE 'CANCELLED' END::"TaskStatus" AS status
             FROM generate_series($1::int, $2::int) AS i
         ), t AS (
           INSERT INTO tasks (id, command, payload, status, attempt, failures, scheduled_at, picked_at, started_at,
                              completed_at, failed_at, worker_id, progress, last_error, created_at, updated_at)
           SELECT uuidv7(created - now()), (ARRAY['noop', 'send-email', 'resize-image', 'sync-account'])[1 + i % 4],
                  CASE WHEN i % 3 = 0 THEN jsonb_build_object('n', i) END, status,
                  CASE WHEN status = 'DEAD' THEN 3 WHEN status = 'CANCELLED' THEN 0 ELSE 1 END,
                  CASE WHEN status = 'DEAD' THEN 3 WHEN status = 'FAILED' THEN 1 ELSE 0 END,
                  created, created + interval '5 ms', created + interval '8 ms',
                  CASE WHEN status = 'COMPLETED' THEN created + (20 + i % 500) * interval '1 ms' END,
                  CASE WHEN status IN ('FAILED', 'DEAD') THEN created + interval '40 ms' END,
                  CASE WHEN status = 'CANCELLED' THEN NULL ELSE 1000 + i % 5 END,
                  CASE WHEN status = 'COMPLETED' THEN 100 ELSE 0 END,
                  CASE WHEN status IN ('FAILED', 'DEAD') THEN 'simulated failure' END,
                  created, created + interval '50 ms'
             FROM g
           RETURNING id, attempt, worker_id, picked_at, started_at, completed_at, failed_at, status
         )
         -- As the system writes them: a row for each attempt that failed; the attempt that completed
         -- a task is recorded by its task row (migration completed_attempt_in_task_row).
         INSERT INTO task_attempts (task_id, attempt, worker_id, coordinator_id, picked_at, started_at, finished_at, outcome, error)
         SELECT id, attempt, worker_id, 'bench', picked_at, started_at, failed_at, 'FAILED', 'simulated failure'
           FROM t WHERE attempt > 0 AND status <> 'COMPLETED'`,
        [from, to, finished],
      );
    }
    await client.query(
      `INSERT INTO tasks (id, command, scheduled_at) SELECT uuidv7(), 'noop', now() - interval '1 second'
         FROM generate_series(1, $1::int)`,
      [scheduled],
    );
    await client.query("RESET session_replication_role");
    // The triggers that keep task_status_counts were off too: count the loaded rows.
    await client.query("SELECT taskmaster_recount_tasks()");
  } finally {
    client.release();
  }
  const loaded = performance.now();
  await db.query("VACUUM ANALYZE tasks");
  await db.query("VACUUM ANALYZE task_attempts");
  const vacuumed = performance.now();
  const { rows } = await db.query<{ table_mb: number; indexes_mb: number }>(
    `SELECT pg_table_size('tasks') / 1048576.0 AS table_mb, pg_indexes_size('tasks') / 1048576.0 AS indexes_mb`,
  );
  return {
    finishedTasks: finished,
    scheduledTasks: scheduled,
    loadSeconds: (loaded - started) / 1000,
    vacuumAnalyzeSeconds: (vacuumed - loaded) / 1000,
    tableMb: Number(rows[0]!.table_mb),
    indexesMb: Number(rows[0]!.indexes_mb),
  };
}

async function timeMs(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Times the dashboard's queries: `repeats` calls each through tRPC (after one warm-up call), then
 * captures the SQL of one more call from PostgreSQL's log and re-runs it `repeats` times through `pg`.
 */
export async function measureDashboard(options: {
  postgres: BenchPostgres;
  trpc: TRPCClient<AppRouter>;
  db: pg.Pool;
  repeats: number;
}): Promise<DashboardQuery[]> {
  const { trpc, db, postgres } = options;
  const ids = (await db.query<{ id: string }>("SELECT id::text AS id FROM tasks WHERE status = 'DEAD' ORDER BY random() LIMIT $1", [options.repeats + 2]))
    .rows.map((r) => r.id);
  let nextId = 0;
  const procedures: { name: string; call: () => Promise<unknown> }[] = [
    { name: "stats.get", call: () => trpc.stats.get.query() },
    { name: "task.list (first page, no filter)", call: () => trpc.task.list.query({ limit: 50 }) },
    { name: "task.list (first page, status COMPLETED)", call: () => trpc.task.list.query({ limit: 50, status: "COMPLETED" }) },
    { name: "task.list (first page, status FAILED)", call: () => trpc.task.list.query({ limit: 50, status: "FAILED" }) },
    { name: "task.get (task page)", call: () => trpc.task.get.query({ id: ids[nextId++ % ids.length]! }) },
  ];
  const trpcTimes = new Map<string, number[]>();
  for (const p of procedures) await p.call(); // warm-up: connections, plans, caches
  // Interleaved: each round calls every procedure once.
  for (let i = 0; i < options.repeats; i++) {
    for (const p of procedures) {
      const ms = await timeMs(p.call);
      trpcTimes.set(p.name, [...(trpcTimes.get(p.name) ?? []), ms]);
    }
  }

  const log = createStatementLog();
  const captured = new Map<string, LoggedStep[]>();
  postgres.onLog(log.feed);
  await postgres.logStatements(true);
  try {
    for (const p of procedures) {
      log.take();
      await p.call();
      await new Promise((r) => setTimeout(r, 200)); // the log arrives through the server's stderr
      captured.set(p.name, log.take().filter((s) => s.app === "server"));
    }
  } finally {
    await postgres.logStatements(false);
    postgres.onLog(undefined);
  }

  const results: DashboardQuery[] = [];
  for (const p of procedures) {
    const steps = captured.get(p.name) ?? [];
    const statements = steps.filter((s) => s.phase === "execute" || s.phase === "statement");
    const runRaw = async () => {
      for (const s of statements) await db.query(s.sql, s.params);
    };
    await runRaw();
    const raw: number[] = [];
    for (let i = 0; i < options.repeats; i++) raw.push(await timeMs(runRaw));
    // The plan of the costliest statement the call ran (by PostgreSQL's logged time).
    const main = statements.filter((s) => /^\s*SELECT/i.test(s.sql)).sort((a, b) => b.ms - a.ms)[0];
    let plan: string | undefined;
    if (main) {
      const explained = await db.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${main.sql}`, main.params);
      plan = explained.rows.map((r) => r["QUERY PLAN"]).join("\n");
    }
    results.push({
      name: p.name,
      trpcMs: summarize(trpcTimes.get(p.name) ?? []),
      rawMs: summarize(raw),
      serverSqlMs: steps.reduce((sum, s) => sum + s.ms, 0),
      statements: statements.map((s) => s.sql),
      ...(plan ? { plan } : {}),
    });
  }
  return results;
}

/** The claim query's cost with the big table: EXPLAIN ANALYZE of the coordinator's claim, committed. */
export interface ClaimQueryTiming {
  limit: number;
  /** PostgreSQL's execution time from EXPLAIN ANALYZE (the whole claim function: its update, counts and announcement), ms. */
  executionMs: Summary;
  /** The claim run plainly (its own transaction, so its commit included), as the client sees it, ms. */
  wallMs: Summary;
  plan: string;
}

/**
 * The coordinator's claim, exactly as it sends it when every worker can run every task
 * (claimAndAssignStatement: claim and bind to workers), for `limit` slots of one
 * worker.
 */
const coordinatorClaim = (limit: number): { text: string; values: unknown[] } =>
  toQuery(claimAndAssignStatement({ coordinatorId: "bench", workers: Array<number>(limit).fill(1), leaseMs: 30_000 }));

/**
 * Runs the coordinator's claim `repeats` times for each limit (after one unmeasured run), each one
 * committed, so that each takes the next due tasks, as the coordinator's claims do (rolled back,
 * as until the sixth pass, every repetition claimed the same rows again). The due tasks these
 * claims take are added first (newer than those loaded, so claimed after them), and are PICKED by
 * the end.
 */
export async function measureClaimQuery(
  db: pg.Pool,
  limits: number[],
  repeats: number,
): Promise<ClaimQueryTiming[]> {
  const client = await db.connect();
  try {
    // Each repetition runs the claim twice (EXPLAIN ANALYZE, then plainly for the client's time).
    const claimed = limits.reduce((sum, limit) => sum + 2 * (repeats + 1) * limit, 0);
    await client.query(
      `INSERT INTO tasks (id, command, scheduled_at) SELECT uuidv7(), 'noop', now() - interval '1 second'
         FROM generate_series(1, $1)`,
      [claimed],
    );
    const results: ClaimQueryTiming[] = [];
    for (const limit of limits) {
      const execution: number[] = [];
      const wall: number[] = [];
      let plan = "";
      for (let i = 0; i <= repeats; i++) {
        const { text, values } = coordinatorClaim(limit);
        const explained = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
        plan = explained.rows.map((r) => r["QUERY PLAN"]).join("\n");
        const ms = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1]);
        const started = performance.now();
        const run = await client.query(text, values);
        const elapsed = performance.now() - started;
        const explainedRows = Number(/Function Scan on taskmaster_claim_tasks[^\n]*actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(plan)?.[1]);
        if (explainedRows !== limit || run.rowCount !== limit) {
          throw new Error(`a claim of ${limit} claimed ${explainedRows} and ${run.rowCount} tasks: too few due tasks were added`);
        }
        if (i > 0) {
          execution.push(ms);
          wall.push(elapsed);
        }
      }
      results.push({ limit, executionMs: summarize(execution), wallMs: summarize(wall), plan });
    }
    return results;
  } finally {
    client.release();
  }
}
