// Figure 3, end-to-end throughput (and figure 6, the footprint during it): no-op tasks from scheduled
// to COMPLETED in the database, through a fresh coordinator and N fresh workers.
import { randomInt } from "node:crypto";
import pg from "pg";
import {
  type BenchPostgres,
  freePort,
  resetTables,
  sleep,
  startSystemProcess,
  type SystemProcess,
  tcpReady,
  workerOnline,
} from "./bench_cluster.ts";
import { type Footprint, readMemory, startFootprintSampler } from "./sample_footprint.ts";

/** The database's account of an end-to-end run (PostgreSQL's clock), and the exactly-once check. */
export interface EndToEndRun {
  workers: number;
  tasks: number;
  /** How the measured tasks arrived: see {@linkcode EndToEndOptions.arrival}. */
  arrival: Arrival;
  /**
   * The measured interval, s: from the instant the backlog fell due (its `scheduled_at`), or from
   * the first insert (min created_at) for `flow`, to the last completion (max completed_at).
   */
  seconds: number;
  tasksPerSecond: number;
  /** The 10th to the 90th percentile of completions: the rate once the pipeline is full. */
  steadyTasksPerSecond: number;
  /** Inserting all tasks took (min to max created_at), s. */
  insertSeconds: number;
  /** Start of the measured interval (see `seconds`) to the first completion, ms. */
  firstCompletionMs: number;
  /** Every task COMPLETED, at attempt 1, with exactly one attempt (`task_attempt_history`), itself COMPLETED. */
  exactlyOnce: boolean;
  check: Record<string, number>;
  /** Commits in the database per task (pg_stat_database.xact_commit), all processes together. */
  commitsPerTask: number;
  /** WAL written per task, bytes. */
  walBytesPerTask: number;
  /** From the start of the measured interval to the moment all were seen completed, µs of CLOCK_MONOTONIC
   * (`process.hrtime`), to cut CPU profiles to the measurement. */
  window: { startUs: number; endUs: number };
  /** Process ids by name (to match CPU profiles). */
  pids: Record<string, number>;
  /** Resident memory of each process once started and settled, before the first task, MB. */
  idleRssMb: Record<string, number>;
  /** CPU seconds per 1000 tasks, per process and for PostgreSQL. */
  cpuSecondsPer1000: Record<string, number>;
  footprint: Footprint;
  /** warn and error log lines of the processes: how many, and the first 20. */
  warningCount: number;
  warnings: string[];
}

/**
 * How the measured tasks reach the system:
 * - `backlog`: all inserted beforehand, due at one instant a moment later (BACKLOG_LEAD_MS); the
 *   clock starts when they fall due. The work the floor does (claim and complete rows already in
 *   the table), through the whole dispatch path: the figure held against the floor.
 * - `flow`: inserted while the system runs (`insertBatch` per statement, as fast as one connection
 *   inserts them, each due at once); the clock starts at the first insert, so the inserts' cost and
 *   the pipeline's filling are in the figure.
 */
export type Arrival = "backlog" | "flow";

/** Options for {@linkcode measureEndToEnd}. */
export interface EndToEndOptions {
  postgres: BenchPostgres;
  /** The bench's pool on `database`. */
  db: pg.Pool;
  database: string;
  workers: number;
  tasks: number;
  /** POOL_SIZE of each worker. */
  poolSize: number;
  /** Tasks per INSERT statement. */
  insertBatch: number;
  /** Default `backlog`. */
  arrival?: Arrival;
  /** The server, running against the same database (watched, not restarted). */
  server?: SystemProcess;
  /** LOG_LEVEL of the coordinator and workers. Default warn. */
  logLevel?: string;
  /** Node flags for the coordinator and the workers (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Extra environment for the coordinator. */
  coordinatorEnv?: Record<string, string>;
  /**
   * No-op tasks run through the same processes before the measured ones, and left in
   * the table (told apart by their payload), so that the figure is the system's steady state rather than
   * V8 compiling its hot paths: in a cold run of 20,000 tasks a quarter of the Node processes' CPU
   * was the optimizing compiler (perf, 2026-11-27). Default 0.
   */
  warmupTasks?: number;
  /** Called after the warm-up, just before the measured tasks are inserted. */
  onMeasureStart?: () => Promise<void>;
  /** Called once the tasks are all completed, before the processes stop. */
  onCompleted?: () => Promise<void>;
}

/**
 * Empties the tables, starts a coordinator and `workers` workers (`noop` handler built in), waits until
 * every worker is ONLINE and the processes have settled, then inserts `tasks` no-op tasks
 * (`insertBatch` per statement, as the server's batch endpoint does; due together a moment later, or
 * due at once as they come: see {@linkcode Arrival}) and waits until all are COMPLETED. Times come from
 * the rows (PostgreSQL's clock), so the polling that notices the end does not count.
 */
export async function measureEndToEnd(options: EndToEndOptions): Promise<EndToEndRun> {
  const { postgres, db, tasks } = options;
  await resetTables(db);
  const started: SystemProcess[] = [];
  const coordinatorPort = await freePort();
  const env = { LOG_LEVEL: options.logLevel ?? "warn" };
  try {
    const coordinator = await startSystemProcess(
      "coordinator",
      {
        ...env,
        DATABASE_URL: postgres.urlFor(options.database, "coordinator"),
        COORDINATOR_PORT: String(coordinatorPort),
        ...options.coordinatorEnv,
      },
      { name: "coordinator", ready: tcpReady(coordinatorPort), nodeFlags: options.nodeFlags },
    );
    started.push(coordinator);
    const ids = new Set<number>();
    while (ids.size < options.workers) ids.add(randomInt(1, 2 ** 31));
    started.push(
      ...(await Promise.all(
        [...ids].map((id, i) =>
          startSystemProcess(
            "worker",
            {
              ...env,
              COORDINATOR: `localhost:${coordinatorPort}`,
              WORKER_ID: String(id),
              POOL_SIZE: String(options.poolSize),
            },
            { name: `worker-${i + 1}`, ready: workerOnline(db, id), nodeFlags: options.nodeFlags },
          ),
        ),
      )),
    );
    // Let start-up compilation finish before the clock starts.
    await sleep(1500);
    const watched = [...started, ...(options.server ? [options.server] : [])].map((p) => ({ name: p.name, pid: p.pid }));
    const idleRssMb = Object.fromEntries(watched.map((p) => [p.name, readMemory(p.pid)?.rssMb ?? Number.NaN]));
    // Warm-up tasks carry a payload (the measured ones none) and stay in the table: a production
    // table has history too, and emptying it under the running processes changed PostgreSQL's plans
    // (its CPU per task doubled in the measured run after a TRUNCATE).
    const warmup = options.warmupTasks ?? 0;
    if (warmup > 0) {
      await insertNoopTasks(postgres.urlFor(options.database), warmup, options.insertBatch, WARMUP_PAYLOAD);
      await waitForCompletions(db, warmup, started, `warm-up (${options.workers} workers)`);
      await sleep(500);
    }
    await options.onMeasureStart?.();
    const arrival = options.arrival ?? "backlog";
    let dueAtMs: number | null = null;
    if (arrival === "backlog") {
      // Due together BACKLOG_LEAD_MS from now (one clock: PostgreSQL's and this process's are the
      // machine's); the coordinator's due timer wakes it then (the inserts announce the instant).
      dueAtMs = Date.now() + BACKLOG_LEAD_MS;
      await insertNoopTasks(postgres.urlFor(options.database), tasks, options.insertBatch, null, dueAtMs);
      const spareMs = dueAtMs - Date.now();
      if (spareMs < 100) {
        throw new Error(`the backlog's inserts ended ${Math.round(-spareMs + 100)} ms too late: due ${BACKLOG_LEAD_MS} ms after the first, they took longer`);
      }
      // The counters and samplers start just before the tasks fall due: the inserts are not measured.
      await sleep(spareMs - 50);
    }
    const statsBefore = await databaseCounters(db, options.database);
    const sampler = startFootprintSampler({
      processes: watched,
      postmasterPid: postgres.postmasterPid(),
      db,
      database: options.database,
    });

    const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
    const startUs = monotonicUs();
    if (arrival === "flow") await insertNoopTasks(postgres.urlFor(options.database), tasks, options.insertBatch);
    await waitForCompletions(db, warmup + tasks, started, `end-to-end (${options.workers} workers)`);
    const endUs = monotonicUs();
    const footprint = await sampler.stop();
    await options.onCompleted?.();

    const timing = (
      await db.query<{
        first_insert: number;
        last_insert: number;
        first_done: number;
        last_done: number;
        p10_done: number;
        p90_done: number;
      }>(`
        SELECT extract(epoch FROM min(created_at)) * 1000 AS first_insert,
               extract(epoch FROM max(created_at)) * 1000 AS last_insert,
               extract(epoch FROM min(completed_at)) * 1000 AS first_done,
               extract(epoch FROM max(completed_at)) * 1000 AS last_done,
               extract(epoch FROM percentile_disc(0.1) WITHIN GROUP (ORDER BY completed_at)) * 1000 AS p10_done,
               extract(epoch FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY completed_at)) * 1000 AS p90_done
          FROM tasks WHERE payload IS NULL`)
    ).rows[0]!;
    const check = (
      await db.query<Record<string, number>>(`
        WITH measured AS (SELECT * FROM tasks WHERE payload IS NULL),
             attempts AS (SELECT a.* FROM task_attempt_history a JOIN measured t ON t.id = a.task_id)
        SELECT (SELECT count(*) FROM measured)::int AS tasks,
               (SELECT count(*) FROM measured WHERE status = 'COMPLETED')::int AS completed,
               (SELECT count(*) FROM measured WHERE attempt <> 1)::int AS not_first_attempt,
               (SELECT count(*) FROM attempts)::int AS attempt_rows,
               (SELECT count(DISTINCT task_id) FROM attempts)::int AS tasks_with_attempts,
               (SELECT count(*) FROM attempts WHERE outcome <> 'COMPLETED')::int AS attempts_not_completed,
               (SELECT count(*) FROM tasks WHERE payload IS NOT NULL AND status <> 'COMPLETED')::int AS warmup_not_completed,
               (SELECT coalesce(sum(value), 0) FROM counters)::int AS fault_counters`)
    ).rows[0]!;
    const exactlyOnce =
      check["tasks"] === tasks &&
      check["completed"] === tasks &&
      check["not_first_attempt"] === 0 &&
      check["attempt_rows"] === tasks &&
      check["tasks_with_attempts"] === tasks &&
      check["attempts_not_completed"] === 0 &&
      check["warmup_not_completed"] === 0;

    const startMs = dueAtMs ?? Number(timing.first_insert);
    const seconds = (Number(timing.last_done) - startMs) / 1000;
    const steadySeconds = (Number(timing.p90_done) - Number(timing.p10_done)) / 1000;
    // Stop first: backends flush their statistics when their session ends.
    const ran = started.splice(0);
    await stopAll(ran);
    await sleep(300);
    const statsAfter = await databaseCounters(db, options.database);
    const cpuSecondsPer1000: Record<string, number> = { postgres: (footprint.postgresCpuSeconds / tasks) * 1000 };
    for (const [name, p] of Object.entries(footprint.processes)) cpuSecondsPer1000[name] = (p.cpuSeconds / tasks) * 1000;
    return {
      workers: options.workers,
      tasks,
      arrival,
      seconds,
      tasksPerSecond: tasks / seconds,
      steadyTasksPerSecond: steadySeconds > 0 ? (0.8 * tasks) / steadySeconds : Number.NaN,
      insertSeconds: (Number(timing.last_insert) - Number(timing.first_insert)) / 1000,
      firstCompletionMs: Number(timing.first_done) - startMs,
      exactlyOnce,
      check,
      commitsPerTask: (statsAfter.commits - statsBefore.commits) / tasks,
      walBytesPerTask: (statsAfter.walBytes - statsBefore.walBytes) / tasks,
      window: { startUs, endUs },
      pids: Object.fromEntries(watched.map((p) => [p.name, p.pid])),
      idleRssMb,
      cpuSecondsPer1000,
      footprint,
      ...(() => {
        const all = [...(options.server?.warnings.splice(0).map((w) => `[server] ${w}`) ?? []), ...warningsOf(ran)];
        return { warningCount: all.length, warnings: all.slice(0, 20) };
      })(),
    };
  } finally {
    await stopAll(started);
  }
}

/** The payload of warm-up tasks, which tells them from the measured ones (payload NULL). */
const WARMUP_PAYLOAD = '{"warmup": true}';

/**
 * How long after the first insert a backlog falls due: inserting 20,000 tasks takes 0.2-0.5 s here
 * (figure 2), so the clock starts after the last insert has committed, with room for a slow hour.
 */
const BACKLOG_LEAD_MS = 2000;

/**
 * Inserts `tasks` no-op tasks due now (or at `dueAtMs`, Unix ms), `batch` per INSERT statement, with time-ordered ids (UUIDv7), as
 * the server's batch endpoint does (server/_uuid_v7.ts). Random ids (v4, which this used until
 * 2026-11-27) spread each statement's primary-key entries and lookups over the whole index: the same
 * lifecycle (insert, claim, complete) cost PostgreSQL 222 instead of 193 µs of CPU a task (medians of
 * 10 alternated rounds), a cost the system's own tasks do not pay.
 */
async function insertNoopTasks(url: string, tasks: number, batch: number, payload: string | null = null, dueAtMs: number | null = null): Promise<void> {
  const inserter = new pg.Client({ connectionString: url });
  await inserter.connect();
  try {
    for (let left = tasks; left > 0; left -= batch) {
      await inserter.query(
        `INSERT INTO tasks (id, command, payload, scheduled_at)
         SELECT uuidv7(), 'noop', $2::jsonb, coalesce(to_timestamp($3::float8 / 1000), now()) FROM generate_series(1, $1::int)`,
        [Math.min(batch, left), payload, dueAtMs],
      );
    }
  } finally {
    await inserter.end();
  }
}

/** Waits until the workers' completion counters add up to `tasks`; fails when they stop moving for 30 s. */
async function waitForCompletions(db: pg.Pool, tasks: number, processes: SystemProcess[], what: string): Promise<void> {
  const deadline = Date.now() + 60_000 + tasks * 10;
  let lastDone = -1;
  let lastProgressAt = Date.now();
  for (;;) {
    const { rows } = await db.query<{ done: number }>("SELECT coalesce(sum(tasks_completed), 0)::int AS done FROM workers");
    const done = rows[0]?.done ?? 0;
    if (done >= tasks) return;
    if (done !== lastDone) {
      lastDone = done;
      lastProgressAt = Date.now();
    }
    if (Date.now() > deadline || Date.now() - lastProgressAt > 30_000) {
      throw new Error(
        `${what}: ${done} of ${tasks} completed, no progress for ${Math.round((Date.now() - lastProgressAt) / 1000)} s.\n` +
          processes.flatMap((p) => p.warnings.slice(0, 5).map((w) => `[${p.name}] ${w}`)).join("\n"),
      );
    }
    await sleep(50);
  }
}

/** Stops the workers first (they drain and stop heartbeating), then the coordinator. */
async function stopAll(processes: SystemProcess[]): Promise<void> {
  await Promise.all(processes.filter((p) => p.name !== "coordinator").map((p) => p.stop()));
  await Promise.all(processes.filter((p) => p.name === "coordinator").map((p) => p.stop()));
}

function warningsOf(processes: SystemProcess[]): string[] {
  return processes.flatMap((p) => p.warnings.map((w) => `[${p.name}] ${w}`));
}

/** Commits so far in `database`, and WAL written so far (bytes since the cluster began). */
async function databaseCounters(db: pg.Pool, database: string): Promise<{ commits: number; walBytes: number }> {
  const { rows } = await db.query<{ commits: string; wal: string }>(
    `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1)::text AS commits,
            pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal`,
    [database],
  );
  return { commits: Number(rows[0]!.commits), walBytes: Number(rows[0]!.wal) };
}
