// `--diagnose`: where the end-to-end time goes. Extra end-to-end runs, each instrumented one way, whose
// throughput is not a figure (the instruments cost time): PostgreSQL's statement log (what runs per
// task, from which process, and PostgreSQL's time for it), CPU profiles of every process, and the
// cost of LOG_LEVEL=info.
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TRPCClient } from "@trpc/client";
import pg from "pg";
import type { AppRouter } from "../server/mod.ts";
import type { BenchPostgres } from "./bench_cluster.ts";
import { type EndToEndOptions, type EndToEndRun, measureEndToEnd } from "./measure_end_to_end.ts";
import { measureIdleLatency, startLatencyCluster } from "./measure_idle_latency.ts";
import { createStatementLog, groupStatements, type LoggedPlan, type LoggedStep, normalizeSql } from "./statement_log.ts";
import { percentile, round } from "./summarize.ts";
import { type ProfileSummary, summarizeCpuProfile } from "./summarize_cpu_profile.ts";

/** PostgreSQL's account of one end-to-end run. */
export interface StatementProfile {
  workers: number;
  tasks: number;
  /** Statements run per task, all processes. */
  statementsPerTask: number;
  /** PostgreSQL's time (parse+bind+execute) per task, ms. */
  serverMsPerTask: number;
  /** Per process: statements and PostgreSQL time per task. */
  byProcess: Record<string, { statementsPerTask: number; serverMsPerTask: number }>;
  /** The costliest statement shapes. */
  top: { app: string; sql: string; count: number; perTask: number; totalMs: number; avgMs: number }[];
  /** ERROR/FATAL lines PostgreSQL logged during the run (deadlocks, ...). */
  errors: string[];
  /** Statements slower than {@linkcode SLOW_PLAN_MS}, by shape: how many, and the slowest one's plan (auto_explain). */
  slowPlans: { app: string; sql: string; slowCount: number; maxMs: number; plan: string }[];
  throughputWhileLogging: number;
}

/** auto_explain logs the plan (with actual times) of statements slower than this, ms. */
export const SLOW_PLAN_MS = 10;

const AUTO_EXPLAIN = {
  session_preload_libraries: "auto_explain",
  "auto_explain.log_min_duration": `${SLOW_PLAN_MS}ms`,
  "auto_explain.log_analyze": "on",
  "auto_explain.log_buffers": "on",
  "auto_explain.log_triggers": "on",
  "auto_explain.log_nested_statements": "on",
};

/**
 * Runs end-to-end once with every statement logged (log_min_duration_statement = 0) and the plans of
 * slow ones (auto_explain, loaded into the run's fresh sessions), and groups what ran.
 */
export async function profileStatements(options: EndToEndOptions): Promise<StatementProfile> {
  const { postgres } = options;
  const log = createStatementLog();
  postgres.onLog(log.feed);
  let run: EndToEndRun;
  let steps: LoggedStep[] = [];
  let errors: string[] = [];
  let plans: LoggedPlan[] = [];
  await postgres.setDatabaseSettings(options.database, AUTO_EXPLAIN);
  await postgres.logStatements(true);
  try {
    log.take();
    log.takeErrors();
    log.takePlans();
    run = await measureEndToEnd({
      ...options,
      onMeasureStart: async () => {
        // The warm-up's statements are not the figure's.
        log.take();
        log.takeErrors();
        log.takePlans();
      },
      onCompleted: async () => {
        await new Promise((r) => setTimeout(r, 300));
        steps = log.take();
        errors = log.takeErrors();
        plans = log.takePlans();
      },
    });
  } finally {
    await postgres.logStatements(false);
    await postgres.setDatabaseSettings(options.database, Object.fromEntries(Object.keys(AUTO_EXPLAIN).map((k) => [k, null])));
    postgres.onLog(undefined);
  }
  const slow = new Map<string, StatementProfile["slowPlans"][number]>();
  for (const p of plans.filter((p) => p.app !== "taskmaster-bench")) {
    const key = `${p.app}\u0000${normalizeSql(p.sql, 120)}`;
    const entry = slow.get(key) ?? { app: p.app, sql: normalizeSql(p.sql, 120), slowCount: 0, maxMs: 0, plan: "" };
    entry.slowCount++;
    if (p.ms > entry.maxMs) {
      entry.maxMs = p.ms;
      entry.plan = p.plan;
    }
    slow.set(key, entry);
  }
  const system = steps.filter((s) => s.app !== "taskmaster-bench");
  const groups = groupStatements(system);
  const tasks = options.tasks;
  const byProcess: StatementProfile["byProcess"] = {};
  for (const g of groups) {
    const p = (byProcess[g.app] ??= { statementsPerTask: 0, serverMsPerTask: 0 });
    p.statementsPerTask += g.count / tasks;
    p.serverMsPerTask += g.totalMs / tasks;
  }
  for (const p of Object.values(byProcess)) {
    p.statementsPerTask = round(p.statementsPerTask, 3);
    p.serverMsPerTask = round(p.serverMsPerTask, 3);
  }
  const count = groups.reduce((n, g) => n + g.count, 0);
  const ms = groups.reduce((n, g) => n + g.totalMs, 0);
  return {
    workers: options.workers,
    tasks,
    statementsPerTask: round(count / tasks, 3),
    serverMsPerTask: round(ms / tasks, 3),
    byProcess,
    top: groups.slice(0, 15).map((g) => ({
      app: g.app,
      sql: g.sql,
      count: g.count,
      perTask: round(g.count / tasks, 4),
      totalMs: round(g.totalMs, 1),
      avgMs: round(g.count > 0 ? g.totalMs / g.count : Number.NaN, 3),
    })),
    errors: errors.slice(0, 20),
    slowPlans: [...slow.values()].sort((a, b) => b.slowCount * b.maxMs - a.slowCount * a.maxMs).slice(0, 12),
    throughputWhileLogging: round(run.tasksPerSecond, 0),
  };
}

/** CPU profiles of the coordinator and workers during one end-to-end run, cut to the measurement. */
export async function profileCpu(options: EndToEndOptions, dir: string): Promise<Record<string, ProfileSummary>> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const run = await measureEndToEnd({ ...options, nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  const byPid = new Map(Object.entries(run.pids).map(([name, pid]) => [pid, name]));
  const summaries: Record<string, ProfileSummary> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread.
    const [, pid, thread] = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\./.exec(file) ?? [];
    const name = byPid.get(Number(pid)) ?? `pid-${pid}`;
    summaries[thread === "0" ? name : `${name} (thread ${thread})`] = summarizeCpuProfile(join(dir, file), run.window);
  }
  return summaries;
}

/** The floor's loop run by several connections at once, with and without a NOTIFY per statement. */
export interface NotifyCommitRun {
  connections: number;
  notify: boolean;
  rows: number;
  rowsPerSecond: number;
}

/**
 * Whether NOTIFY serializes commits here: `connections` loops claim and complete one row at a time
 * (the batch-1 floor, in parallel) on a plain table, and on the same table with a statement-level
 * trigger that calls pg_notify() as TaskMaster's tasks trigger does. PostgreSQL makes every
 * transaction that notified take one database-wide lock from its pre-commit until after its commit
 * record is flushed, so with NOTIFY the parallel loops cannot share a WAL flush (group commit).
 */
export async function measureNotifyCommits(url: string, rows: number, connections: number): Promise<NotifyCommitRun[]> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`
    CREATE TABLE IF NOT EXISTS notify_jobs (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'queued', done_at timestamptz);
    CREATE INDEX IF NOT EXISTS notify_jobs_status_idx ON notify_jobs (status, id);
    CREATE OR REPLACE FUNCTION notify_jobs_announce() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('bench_notify_jobs', TG_OP); RETURN NULL; END $$;
    DROP TRIGGER IF EXISTS notify_jobs_announce ON notify_jobs`);
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const results: NotifyCommitRun[] = [];
  try {
    for (const notify of [false, true, false, true]) {
      await admin.query(
        notify
          ? "CREATE TRIGGER notify_jobs_announce AFTER UPDATE ON notify_jobs FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_announce()"
          : "DROP TRIGGER IF EXISTS notify_jobs_announce ON notify_jobs",
      );
      await admin.query("TRUNCATE notify_jobs");
      await admin.query("INSERT INTO notify_jobs (status) SELECT 'queued' FROM generate_series(1, $1::int)", [rows]);
      await admin.query("VACUUM ANALYZE notify_jobs");
      const started = performance.now();
      let done = 0;
      await Promise.all(
        clients.map(async (c) => {
          for (;;) {
            const claimed = await c.query<{ id: string }>(
              `UPDATE notify_jobs SET status = 'running' WHERE id = (
                 SELECT id FROM notify_jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id`,
            );
            if (claimed.rowCount === 0) return;
            await c.query("UPDATE notify_jobs SET status = 'done', done_at = now() WHERE id = $1", [claimed.rows[0]!.id]);
            done++;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      results.push({ connections, notify, rows: done, rowsPerSecond: round(done / seconds, 0) });
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    await admin.query("DROP TRIGGER IF EXISTS notify_jobs_announce ON notify_jobs").catch(() => {});
    await admin.end();
  }
  return results;
}

/** PostgreSQL's account of the idle-latency run: what each task costs in statements, and how long each takes. */
export interface LatencyStatementProfile {
  tasks: number;
  /** Per statement shape: how many per task, PostgreSQL's time for it (parse+bind+execute), ms. */
  statements: { app: string; sql: string; perTask: number; avgMs: number; maxMs: number }[];
  /** The run's own breakdown (p50, ms), measured while statements were logged. */
  breakdownP50: Record<string, number>;
  /**
   * Each task's way through the statements that carry its id, p50 over tasks, ms: a statement's
   * "exec" is PostgreSQL's execute time; a "gap" is from one statement's end to the next one's start
   * (the previous commit, the processes, the RPCs between them). Log times have ms precision.
   */
  timelineP50: Record<string, number>;
}

/**
 * One idle-latency run (after a warm-up) with every statement logged: the statements on a task's way
 * from the schedule call to COMPLETED, with their durations, beside the timestamp breakdown.
 */
export async function profileIdleLatency(options: {
  postgres: BenchPostgres;
  db: pg.Pool;
  database: string;
  databaseUrl: string;
  trpc: TRPCClient<AppRouter>;
  latencyFile: string;
  poolSize: number;
  tasks: number;
  intervalMs: number;
}): Promise<LatencyStatementProfile> {
  const { postgres } = options;
  const cluster = await startLatencyCluster(options);
  const log = createStatementLog();
  try {
    const measure = (tasks: number) => measureIdleLatency({ ...options, tasks });
    await measure(10);
    postgres.onLog(log.feed);
    await postgres.logStatements(true);
    log.take();
    const run = await measure(options.tasks);
    await new Promise((r) => setTimeout(r, 300));
    await postgres.logStatements(false);
    const steps = log.take().filter((s) => s.app !== "taskmaster-bench" && s.app !== "");
    const timelineP50 = taskTimelines(steps, latencyStarts(options.latencyFile));
    const groups = new Map<string, { app: string; sql: string; count: number; totalMs: number; maxMs: number }>();
    for (const step of steps) {
      const sql = normalizeSql(step.sql, 110);
      const key = `${step.app}\u0000${sql}`;
      const g = groups.get(key) ?? { app: step.app, sql, count: 0, totalMs: 0, maxMs: 0 };
      if (step.phase === "statement" || step.phase === "execute") g.count++;
      g.totalMs += step.ms;
      g.maxMs = Math.max(g.maxMs, step.ms);
      groups.set(key, g);
    }
    return {
      tasks: options.tasks,
      statements: [...groups.values()]
        .filter((g) => g.count > 0)
        .sort((a, b) => b.totalMs - a.totalMs)
        .slice(0, 15)
        .map((g) => ({ app: g.app, sql: g.sql, perTask: round(g.count / options.tasks, 2), avgMs: round(g.totalMs / g.count, 3), maxMs: round(g.maxMs, 3) })),
      breakdownP50: Object.fromEntries(Object.entries(run.breakdown).map(([k, v]) => [k, round(v.p50, 1)])),
      timelineP50,
    };
  } finally {
    await postgres.logStatements(false).catch(() => {});
    postgres.onLog(undefined);
    await cluster.stop();
  }
}

/** Handler start times (wall-clock ms) by task id, from bench/latency_handler.ts's file. */
function latencyStarts(file: string): Map<string, number> {
  const starts = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [id, at] = line.split(" ");
    if (id && at && id !== "#") starts.set(id, Number(at));
  }
  return starts;
}

/** p50 over tasks of each segment of a task's way through its statements (see LatencyStatementProfile). */
function taskTimelines(steps: LoggedStep[], handlerStarts: Map<string, number>): Record<string, number> {
  const executes = steps.filter((s) => s.phase === "execute" && Number.isFinite(s.at));
  const kind = (sql: string) =>
    /^\s*INSERT INTO tasks/.test(sql) ? "insert"
    : /WITH due AS/.test(sql) ? "claim"
    : /bound AS \(/.test(sql) ? "assign"
    : /status = 'RUNNING'/.test(sql) ? "started"
    : /status = 'COMPLETED'/.test(sql) ? "complete"
    : "";
  const byTask = new Map<string, Partial<Record<string, LoggedStep>>>();
  const claims: LoggedStep[] = [];
  for (const step of executes) {
    const k = kind(step.sql);
    if (k === "claim") claims.push(step);
    if (k === "" || k === "claim") continue;
    const ids = k === "insert" ? [step.params[0] ?? ""] : (step.params[0] ?? "").replace(/[{}]/g, "").split(",");
    for (const id of ids) {
      const entry = byTask.get(id) ?? {};
      entry[k] ??= step;
      byTask.set(id, entry);
    }
  }
  const segments = new Map<string, number[]>();
  const add = (name: string, value: number) => {
    if (Number.isFinite(value)) segments.set(name, [...(segments.get(name) ?? []), value]);
  };
  const start = (s: LoggedStep) => s.at - s.ms;
  for (const [id, t] of byTask) {
    const { insert, assign, started, complete } = t;
    if (!insert || !assign || !started || !complete) continue;
    // The claim that took this task: the coordinator's last claim ending before the assignment began.
    const claim = claims.filter((c) => c.at <= start(assign) + 1).at(-1);
    if (!claim) continue;
    const handler = handlerStarts.get(id);
    add("a. INSERT end → claim start (INSERT commit, NOTIFY, wake-up)", start(claim) - insert.at);
    add("b. claim exec", claim.ms);
    add("c. claim end → assign start (claim commit, placement)", start(assign) - claim.at);
    add("d. assign exec", assign.ms);
    add("e. assign end → STARTED start (commit, SubmitTasks, ReportBatch)", start(started) - assign.at);
    add("f. STARTED exec", started.ms);
    if (handler !== undefined) {
      add("g. STARTED end → handler start (commit, answer to the worker)", handler - started.at);
      add("h. handler start → COMPLETE start (ReportBatch)", start(complete) - handler);
    }
    add("i. COMPLETE exec", complete.ms);
    add("total: INSERT end → COMPLETE end", complete.at - insert.at);
  }
  return Object.fromEntries([...segments].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, round(percentile(v, 50), 2)]));
}
