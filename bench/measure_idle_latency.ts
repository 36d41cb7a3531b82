// Figure 4, idle latency: tasks scheduled one at a time on an idle system, from acceptance to the
// handler's start and to completion visible in the database, all on one clock.
import { readFileSync, writeFileSync } from "node:fs";
import type { TRPCClient } from "@trpc/client";
import pg from "pg";
import type { AppRouter } from "../server/mod.ts";
import { type BenchPostgres, freePort, resetTables, sleep, startSystemProcess, tcpReady, workerOnline } from "./bench_cluster.ts";
import { percentile } from "./summarize.ts";
import { wallClockMs } from "./wall_clock.ts";

/** p50/p95/p99 of one set of latencies, ms. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function percentiles(values: number[]): Percentiles {
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: percentile(values, 100) };
}

/**
 * One latency run. Acceptance is the INSERT's commit, which happens somewhere between the request
 * leaving the bench (`sent`) and its response arriving (`answered`): each latency is reported from
 * both, so the truth lies between the two figures.
 */
export interface IdleLatencyRun {
  tasks: number;
  /** Schedule call itself (request sent to response), ms. */
  scheduleCall: Percentiles;
  /**
   * Handler start minus the INSERT's transaction start (`created_at`, PostgreSQL's clock, rounded to
   * the millisecond): the tight upper bound of acceptance to handler start (the commit follows the
   * transaction's start by the INSERT's execution and its WAL flush).
   */
  startFromInsertStart: Percentiles;
  /**
   * Handler start minus the moment the bench received the INSERT's NOTIFY (sent at its commit): the
   * tight lower bound (the commit precedes its notification's arrival by the delivery, well under a
   * millisecond here; the coordinator is woken by the same notification).
   */
  startFromCommitSeen: Percentiles;
  /** Handler start minus request sent: a loose upper bound (it includes the server's work before the INSERT). */
  startFromSent: Percentiles;
  /** Handler start minus response received: a lower bound (negative when the handler began first). */
  startFromAnswered: Percentiles;
  /** The COMPLETED update's NOTIFY reaching the bench (its commit) minus request sent / response received. */
  completedVisibleFromSent: Percentiles;
  completedVisibleFromAnswered: Percentiles;
  /** completed_at (PostgreSQL's clock, ms precision, the completing transaction's start) minus request sent. */
  completedAtFromSent: Percentiles;
  /** Date.now() minus the high-resolution wall clock in the worker, ms (should be within ±1). */
  workerClockSkewMs: number;
  /**
   * Where the time goes, from the task's own timestamps (PostgreSQL's clock: each the start of the
   * transaction that wrote it, ms precision) and the handler's start (same system clock), p50 and p99:
   * insert → claim, claim → handler start, handler start → STARTED applied, STARTED → COMPLETE applied,
   * COMPLETE → its commit seen (NOTIFY).
   */
  breakdown: Record<string, Percentiles>;
  /**
   * Tasks picked by the transaction that accepted them (the idle hand-off: `picked_at` is their
   * `created_at`, one `now()`), not by a later claim.
   */
  handedOff: number;
}

/**
 * Schedules `tasks` tasks of the `bench-latency` handler (bench/latency_handler.ts) through tRPC
 * `task.schedule`, one every `intervalMs` (start to start, never two at once), and reads their handler
 * start times from `latencyFile` and their completions from LISTEN taskmaster_tasks.
 */
export async function measureIdleLatency(options: {
  trpc: TRPCClient<AppRouter>;
  databaseUrl: string;
  db: pg.Pool;
  latencyFile: string;
  tasks: number;
  intervalMs: number;
}): Promise<IdleLatencyRun> {
  writeFileSync(options.latencyFile, "", { flag: "a" });
  const listener = new pg.Client({ connectionString: options.databaseUrl });
  await listener.connect();
  const completedSeen = new Map<string, number>();
  /** Task id -> when the bench received the NOTIFY of its INSERT. */
  const insertSeen = new Map<string, number>();
  const sent = new Map<string, { sent: number; answered: number }>();
  /** Tasks COMPLETED in the database but not yet seen, stamped with `seenAt`. */
  const stampCompleted = async (seenAt: number) => {
    const pending = [...sent.keys()].filter((id) => !completedSeen.has(id));
    if (pending.length === 0) return;
    const { rows } = await options.db.query<{ id: string }>(
      "SELECT id::text AS id FROM tasks WHERE id = ANY($1::uuid[]) AND status = 'COMPLETED'",
      [pending],
    );
    for (const row of rows) if (!completedSeen.has(row.id)) completedSeen.set(row.id, seenAt);
  };
  listener.on("notification", (message) => {
    const seenAt = wallClockMs();
    if (message.channel !== "taskmaster_tasks" || !message.payload) return;
    const change = JSON.parse(message.payload) as { op: string; rows: { id: string; status: string }[] | null };
    if (change.op === "I") for (const row of change.rows ?? []) if (!insertSeen.has(row.id)) insertSeen.set(row.id, seenAt);
    // Over 25 rows the payload names none ("rows": null): ask the database which of ours just completed.
    if (change.rows === null) void stampCompleted(seenAt).catch(() => {});
    for (const row of change.rows ?? []) if (row.status === "COMPLETED" && !completedSeen.has(row.id)) completedSeen.set(row.id, seenAt);
  });
  await listener.query("LISTEN taskmaster_tasks");
  try {
    for (let i = 0; i < options.tasks; i++) {
      const before = wallClockMs();
      const result = await options.trpc.task.schedule.mutate({ command: "bench-latency" });
      const after = wallClockMs();
      sent.set(result.task.id, { sent: before, answered: after });
      await sleep(Math.max(0, before + options.intervalMs - wallClockMs()));
    }
    const deadline = Date.now() + 60_000;
    while ([...sent.keys()].some((id) => !completedSeen.has(id))) {
      if (Date.now() > deadline) {
        const { rows } = await options.db.query<{ status: string; n: number }>(
          "SELECT status::text AS status, count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[]) GROUP BY 1",
          [[...sent.keys()]],
        );
        throw new Error(
          `idle latency: ${completedSeen.size} of ${sent.size} completions seen in 60 s; by status: ${rows.map((r) => `${r.status} ${r.n}`).join(", ")}`,
        );
      }
      await sleep(20);
    }
  } finally {
    await listener.end();
  }

  const starts = new Map<string, number>();
  let skew = Number.NaN;
  for (const line of readFileSync(options.latencyFile, "utf8").split("\n")) {
    const [a, b, c] = line.split(" ");
    if (a === "#" && b === "clock-check") skew = Number(c) - Number(line.split(" ")[3]);
    else if (a && b && sent.has(a)) starts.set(a, Number(b));
  }
  const { rows } = await options.db.query<{ id: string; created_ms: number; picked_ms: number; started_ms: number; completed_ms: number }>(
    `SELECT id::text AS id, extract(epoch FROM created_at) * 1000 AS created_ms, extract(epoch FROM picked_at) * 1000 AS picked_ms,
            extract(epoch FROM started_at) * 1000 AS started_ms, extract(epoch FROM completed_at) * 1000 AS completed_ms
       FROM tasks WHERE id = ANY($1::uuid[])`,
    [[...sent.keys()]],
  );
  const completedAt = new Map(rows.map((r) => [r.id, Number(r.completed_ms)]));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ids = [...sent.keys()];
  const missing = ids.filter((id) => !starts.has(id) || !completedAt.has(id) || !insertSeen.has(id));
  if (missing.length > 0) throw new Error(`idle latency: ${missing.length} tasks without a recorded start, completion or INSERT notification`);
  const from = (at: Map<string, number>, key: "sent" | "answered") => ids.map((id) => at.get(id)! - sent.get(id)![key]);
  return {
    tasks: ids.length,
    handedOff: rows.filter((r) => Number(r.picked_ms) === Number(r.created_ms)).length,
    scheduleCall: percentiles(ids.map((id) => sent.get(id)!.answered - sent.get(id)!.sent)),
    startFromInsertStart: percentiles(ids.map((id) => starts.get(id)! - Number(byId.get(id)!.created_ms))),
    startFromCommitSeen: percentiles(ids.map((id) => starts.get(id)! - insertSeen.get(id)!)),
    startFromSent: percentiles(from(starts, "sent")),
    startFromAnswered: percentiles(from(starts, "answered")),
    completedVisibleFromSent: percentiles(from(completedSeen, "sent")),
    completedVisibleFromAnswered: percentiles(from(completedSeen, "answered")),
    completedAtFromSent: percentiles(from(completedAt, "sent")),
    workerClockSkewMs: skew,
    breakdown: {
      "insert → claim": percentiles(ids.map((id) => Number(byId.get(id)!.picked_ms) - Number(byId.get(id)!.created_ms))),
      "claim → handler start": percentiles(ids.map((id) => starts.get(id)! - Number(byId.get(id)!.picked_ms))),
      "handler start → STARTED applied": percentiles(ids.map((id) => Number(byId.get(id)!.started_ms) - starts.get(id)!)),
      "STARTED → COMPLETE applied": percentiles(ids.map((id) => Number(byId.get(id)!.completed_ms) - Number(byId.get(id)!.started_ms))),
      "COMPLETE → commit seen": percentiles(ids.map((id) => completedSeen.get(id)! - Number(byId.get(id)!.completed_ms))),
    },
  };
}

/**
 * Empties the tables and starts the latency run's processes: a coordinator and one worker (POOL_SIZE
 * `poolSize`) that also loads bench/latency_handler.ts, writing handler starts to `latencyFile`.
 * Resolves once both serve and have settled.
 */
export async function startLatencyCluster(options: {
  postgres: BenchPostgres;
  db: pg.Pool;
  database: string;
  latencyFile: string;
  poolSize: number;
}): Promise<{ stop(): Promise<void> }> {
  await resetTables(options.db);
  writeFileSync(options.latencyFile, "");
  const coordinatorPort = await freePort();
  const coordinator = await startSystemProcess(
    "coordinator",
    { DATABASE_URL: options.postgres.urlFor(options.database, "coordinator"), COORDINATOR_PORT: String(coordinatorPort) },
    { name: "coordinator", ready: tcpReady(coordinatorPort) },
  );
  const workerId = 4242;
  const worker = await startSystemProcess(
    "worker",
    {
      COORDINATOR: `localhost:${coordinatorPort}`,
      WORKER_ID: String(workerId),
      POOL_SIZE: String(options.poolSize),
      HANDLER_MODULES: "bench/latency_handler.ts",
      BENCH_LATENCY_FILE: options.latencyFile,
    },
    { name: "worker", ready: workerOnline(options.db, workerId) },
  ).catch(async (error: unknown) => {
    await coordinator.stop();
    throw error;
  });
  await sleep(1500);
  return {
    stop: async () => {
      await worker.stop();
      await coordinator.stop();
    },
  };
}
