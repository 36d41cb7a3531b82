// `npm run bench`: TaskMaster's benchmark (issue 5). Starts a PostgreSQL of its own and the real
// processes, measures, prints a table and writes bench/results/latest.json. See bench/README.md.
//
//   npm run bench                      the full run (about 10-15 minutes on 2 cores)
//   npm run bench -- --quick           a small smoke run (about 2 minutes)
//   npm run bench -- --diagnose        adds instrumented runs: statement profile, CPU profiles, info logging
//   npm run bench -- --only=floor,e2e  only some parts (floor, schedule, e2e, latency, dashboard; none: --only=)
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { DEFAULT_CLAIM_BATCH_SIZE } from "../coordinator/mod.ts";
import {
  createMigratedDatabase,
  freePort,
  httpReady,
  repoRoot,
  resetTables,
  sleep,
  startBenchPostgres,
  startSystemProcess,
  type SystemProcess,
  terminateSystemProcesses,
} from "./bench_cluster.ts";
import { measureNotifyCommits, profileCpu, profileIdleLatency, profileStatements } from "./diagnose_end_to_end.ts";
import { type Figure, figureJson, formatTable } from "./format_table.ts";
import {
  type ClaimQueryTiming,
  type DashboardLoad,
  type DashboardQuery,
  loadFinishedTasks,
  measureClaimQuery,
  measureDashboard,
} from "./measure_dashboard.ts";
import { type Arrival, type EndToEndRun, measureEndToEnd } from "./measure_end_to_end.ts";
import { createFloorTable, type FloorRun, measureFloor } from "./measure_floor.ts";
import { type IdleLatencyRun, measureIdleLatency, startLatencyCluster } from "./measure_idle_latency.ts";
import { measureSchedule, type ScheduleRun, type ScheduleVariant, trpcClient } from "./measure_schedule.ts";
import { postgresCpuSeconds } from "./sample_footprint.ts";
import { round, summarize, type Summary } from "./summarize.ts";

const PARTS = ["floor", "schedule", "e2e", "latency", "dashboard"] as const;
type Part = (typeof PARTS)[number];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const diagnose = args.includes("--diagnose");
const onlyArg = args.find((a) => a.startsWith("--only="));
const unknown = args.filter((a) => a !== "--quick" && a !== "--diagnose" && !a.startsWith("--only="));
const only = new Set((onlyArg?.slice("--only=".length).split(",") ?? PARTS).map((s) => s.trim()).filter((s) => s !== ""));
const badPart = [...only].find((p) => !PARTS.includes(p as Part));
if (unknown.length > 0 || badPart) {
  console.error(`bench: unknown ${badPart ? `part "${badPart}"` : `argument ${unknown.join(" ")}`}; expected --quick, --diagnose, --only=${PARTS.join(",")}`);
  process.exit(2);
}
const runs = (part: Part) => only.has(part);

/** Sizes of each measurement; --quick shrinks them for a smoke run. */
const config = quick
  ? {
      rounds: 1,
      floorRows: 2000,
      scheduleTasks: 4000,
      e2eTasks: 2000,
      e2eWarmupTasks: 1000,
      e2eWorkers: [1, 3],
      latencyTasks: 30,
      latencyRuns: 1,
      dashboardTasks: 50_000,
      dashboardRepeats: 3,
    }
  : {
      rounds: 3,
      floorRows: 20_000,
      scheduleTasks: 20_000,
      e2eTasks: 20_000,
      e2eWarmupTasks: 4000,
      e2eWorkers: [1, 3, 5],
      latencyTasks: 200,
      latencyRuns: 3,
      dashboardTasks: 1_000_000,
      dashboardRepeats: 10,
    };
const fixed = {
  poolSize: 50,
  /** The floor loop stops after this long (batch 1 with fsync on is slow); its rate is of the rows done. */
  floorMaxSeconds: 15,
  schedulePerCall: 1000,
  scheduleConcurrency: 4,
  insertBatch: 1000,
  latencyIntervalMs: 20,
  /** The coordinator claims at most DEFAULT_CLAIM_BATCH_SIZE (CLAIM_BATCH_SIZE) at once; 500 for reference. */
  claimLimits: [...new Set([1, 50, DEFAULT_CLAIM_BATCH_SIZE, 500])].sort((a, b) => a - b),
  dashboardScheduled: 1000,
};

const resultsDir = join(repoRoot, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
const began = performance.now();
const progress = (message: string) =>
  console.error(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}`);

/** The code measured: the commit, and whether the processes' folders had uncommitted changes. */
const code = (() => {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  const dirty = git(["status", "--porcelain", "--", "coordinator", "worker", "server", "shared", "prisma", "proto"]);
  return { commit: git(["rev-parse", "--short", "HEAD"]) || "unknown", uncommittedChanges: dirty !== "" };
})();

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGb: round(totalmem() / 2 ** 30, 1),
  kernel: release(),
  node: process.version,
  loadAverageAtStart: loadavg().map((l) => round(l)),
};
progress(`${quick ? "quick" : "full"} run on ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadAverageAtStart.join(" ")}`);
if (machine.loadAverageAtStart[0]! > 1) {
  progress("warning: the machine is busy (load average above 1): figures will be noisier and lower than on an idle machine");
}

const floorRuns: (FloorRun & { round: number })[] = [];
const scheduleRuns: (ScheduleRun & { round: number })[] = [];
/**
 * The end-to-end variants, run and reported in this order: each worker count warmed up
 * (config.e2eWarmupTasks through the same processes first) on a backlog (the tasks inserted
 * beforehand, due together: the floor's work, through the whole system), and 3 workers also cold, as
 * a freshly started system runs its first tasks, and with the tasks inserted while it runs (full
 * mode only). See measure_end_to_end.ts, Arrival.
 */
const e2eVariants: { workers: number; cold: boolean; arrival: Arrival }[] = [
  ...config.e2eWorkers.map((workers) => ({ workers, cold: false, arrival: "backlog" as const })),
  ...(quick || !config.e2eWorkers.includes(3)
    ? []
    : [
        { workers: 3, cold: true, arrival: "backlog" as const },
        { workers: 3, cold: false, arrival: "flow" as const },
      ]),
];
/** `cold`: the processes ran no task before the measured ones (no warm-up). */
const e2eRuns: (EndToEndRun & { round: number; cold: boolean })[] = [];
const latencyRuns: IdleLatencyRun[] = [];
let dashboardLoad: DashboardLoad | undefined;
let dashboardQueries: DashboardQuery[] = [];
let claimTimings: ClaimQueryTiming[] = [];
const diagnostics: Record<string, unknown> = {};
/** Parts that failed: reported, and the rest of the bench still runs. */
const failures: { part: string; error: string }[] = [];
const guarded = async (part: string, run: () => Promise<void>) => {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push({ part, error: message });
    progress(`FAILED: ${part}: ${message.split("\n").slice(0, 6).join("\n")}`);
  }
};

const postgres = await startBenchPostgres();
// Interrupted (Ctrl-C, or a CI time limit's SIGTERM): stop what the bench started, PostgreSQL
// included, instead of leaving them running with their temporary data directory.
const interrupted = (signal: NodeJS.Signals) => {
  progress(`${signal}: stopping the bench's processes and PostgreSQL`);
  // Its connections end with it ("terminating connection due to administrator command"): expected now.
  process.on("uncaughtException", () => {});
  terminateSystemProcesses();
  void postgres
    .stop()
    .catch(() => {})
    .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
};
process.once("SIGINT", interrupted);
process.once("SIGTERM", interrupted);
progress(`PostgreSQL ${postgres.settings["server_version"]} on port ${postgres.port}: fsync=${postgres.settings["fsync"]}, synchronous_commit=${postgres.settings["synchronous_commit"]}, wal_sync_method=${postgres.settings["wal_sync_method"]}`);
let server: SystemProcess | undefined;
let db: pg.Pool | undefined;
let floorClient: pg.Client | undefined;
try {
  await postgres.createDatabase("floor");
  floorClient = new pg.Client({ connectionString: postgres.urlFor("floor") });
  await floorClient.connect();
  await createFloorTable(floorClient);
  const benchUrl = await createMigratedDatabase(postgres, "bench");
  db = new pg.Pool({ connectionString: benchUrl, max: 4 });
  const serverPort = await freePort();
  const baseUrl = `http://127.0.0.1:${serverPort}`;
  server = await startSystemProcess(
    "server",
    { DATABASE_URL: postgres.urlFor("bench", "server"), SCHEDULER_PORT: String(serverPort), WORKER_SCALER: "none" },
    { name: "server", ready: httpReady(`${baseUrl}/healthz`) },
  );
  const trpc = trpcClient(baseUrl);
  const e2eOptions = (workers: number) => ({
    postgres,
    db: db!,
    database: "bench",
    workers,
    tasks: config.e2eTasks,
    poolSize: fixed.poolSize,
    insertBatch: fixed.insertBatch,
    warmupTasks: config.e2eWarmupTasks,
    server,
  });

  // ---- rounds: floor, schedule and end-to-end variants interleaved, the order rotated each round ----
  type Step = { label: string; run: (round: number) => Promise<void> };
  const steps: Step[] = [];
  if (runs("floor")) {
    for (const batch of [1, 100]) {
      steps.push({
        label: `floor, batch ${batch}`,
        run: async (r) => {
          const result = await measureFloor(floorClient!, config.floorRows, batch, fixed.floorMaxSeconds, () =>
            postgresCpuSeconds(postgres.postmasterPid()),
          );
          floorRuns.push({ ...result, round: r });
          progress(`  ${round(result.rowsPerSecond, 0)} rows/s (${result.rows} rows in ${round(result.seconds, 1)} s, ${round(result.walBytesPerRow, 0)} B WAL/row, PostgreSQL ${round(result.postgresCpuMsPerRow, 3)} ms CPU/row)`);
        },
      });
    }
  }
  if (runs("schedule")) {
    for (const variant of ["trpc", "rest"] as ScheduleVariant[]) {
      steps.push({
        label: `schedule, ${variant}`,
        run: async (r) => {
          await resetTables(db!);
          const result = await measureSchedule({
            variant,
            baseUrl,
            trpc,
            db: db!,
            tasks: config.scheduleTasks,
            perCall: fixed.schedulePerCall,
            concurrency: fixed.scheduleConcurrency,
          });
          scheduleRuns.push({ ...result, round: r });
          progress(`  ${round(result.tasksPerSecond, 0)} tasks/s`);
        },
      });
    }
  }
  if (runs("e2e")) {
    for (const { workers, cold, arrival } of e2eVariants) {
      steps.push({
        label: `end-to-end, ${workers} worker${workers > 1 ? "s" : ""}${cold ? ", cold" : ""}${arrival === "flow" ? ", inserted while running" : ""}`,
        run: async (r) => {
          const result = await measureEndToEnd({ ...e2eOptions(workers), arrival, ...(cold ? { warmupTasks: 0 } : {}) });
          e2eRuns.push({ ...result, round: r, cold });
          progress(
            `  ${round(result.tasksPerSecond, 0)} tasks/s (steady ${round(result.steadyTasksPerSecond, 0)}), exactly once: ${result.exactlyOnce}, ` +
              `${round(result.commitsPerTask, 2)} commits/task, warnings: ${result.warningCount}`,
          );
        },
      });
    }
  }
  for (let r = 0; r < config.rounds; r++) {
    const order = [...steps.slice(r % Math.max(1, steps.length)), ...steps.slice(0, r % Math.max(1, steps.length))];
    for (const step of order) {
      progress(`round ${r + 1}/${config.rounds}: ${step.label}`);
      await guarded(`round ${r + 1}: ${step.label}`, () => step.run(r));
    }
  }

  // ---- idle latency ----
  const latencyFile = join(resultsDir, "latency-handler-starts.txt");
  if (runs("latency")) await guarded("idle latency", async () => {
    const cluster = await startLatencyCluster({ postgres, db: db!, database: "bench", latencyFile, poolSize: fixed.poolSize });
    try {
      progress("idle latency: warm-up (20 tasks, not counted)");
      await measureIdleLatency({ trpc, databaseUrl: benchUrl, db: db!, latencyFile, tasks: 20, intervalMs: fixed.latencyIntervalMs });
      for (let i = 0; i < config.latencyRuns; i++) {
        await sleep(500);
        progress(`idle latency: run ${i + 1}/${config.latencyRuns}, ${config.latencyTasks} tasks ${fixed.latencyIntervalMs} ms apart`);
        const result = await measureIdleLatency({
          trpc,
          databaseUrl: benchUrl,
          db: db!,
          latencyFile,
          tasks: config.latencyTasks,
          intervalMs: fixed.latencyIntervalMs,
        });
        latencyRuns.push(result);
        progress(`  ${result.handedOff} of ${result.tasks} picked by their own INSERT's transaction (the idle hand-off), the rest by a claim`);
        progress(
          `  handler start p50 ${round(result.startFromCommitSeen.p50)}..${round(result.startFromInsertStart.p50)} ms, ` +
            `p99 ${round(result.startFromCommitSeen.p99)}..${round(result.startFromInsertStart.p99)} ms`,
        );
        progress(`  p50 breakdown: ${Object.entries(result.breakdown).map(([k, v]) => `${k} ${round(v.p50, 1)}`).join(", ")} (ms)`);
      }
    } finally {
      await cluster.stop();
    }
  });

  // ---- dashboard at scale ----
  if (runs("dashboard")) await guarded("dashboard", async () => {
    const pool = db!;
    progress(`dashboard: loading ${config.dashboardTasks.toLocaleString("en-US")} finished tasks + ${fixed.dashboardScheduled} scheduled`);
    dashboardLoad = await loadFinishedTasks(pool, config.dashboardTasks, fixed.dashboardScheduled);
    progress(`  loaded in ${round(dashboardLoad.loadSeconds, 1)} s, VACUUM ANALYZE ${round(dashboardLoad.vacuumAnalyzeSeconds, 1)} s`);
    progress("dashboard: queries");
    dashboardQueries = await measureDashboard({ postgres, trpc, db: pool, repeats: config.dashboardRepeats });
    claimTimings = await measureClaimQuery(pool, fixed.claimLimits, config.dashboardRepeats);
    await resetTables(pool);
  });

  // ---- diagnostics: instrumented end-to-end runs, not figures ----
  if (diagnose) await guarded("diagnose", async () => {
    progress("diagnose: does NOTIFY serialize commits? the batch-1 floor on 1 and 4 connections, with and without a NOTIFY trigger");
    diagnostics["notifyCommits"] = [
      ...(await measureNotifyCommits(postgres.urlFor("floor"), quick ? 400 : 2000, 1)),
      ...(await measureNotifyCommits(postgres.urlFor("floor"), quick ? 800 : 4000, 4)),
    ];
    progress("diagnose: idle latency with every statement logged");
    diagnostics["idleLatencyStatements"] = await profileIdleLatency({
      postgres,
      db: db!,
      database: "bench",
      databaseUrl: benchUrl,
      trpc,
      latencyFile,
      poolSize: fixed.poolSize,
      tasks: quick ? 30 : 100,
      intervalMs: fixed.latencyIntervalMs,
    });
    const workers = config.e2eWorkers.includes(3) ? 3 : config.e2eWorkers[0]!;
    progress(`diagnose: end-to-end with ${workers} workers, every statement logged`);
    diagnostics["statements"] = await profileStatements(e2eOptions(workers));
    progress(`diagnose: end-to-end with ${workers} workers, CPU profiles`);
    diagnostics["cpu"] = await profileCpu(e2eOptions(workers), join(resultsDir, "cpu-profiles"));
    progress(`diagnose: end-to-end with ${workers} workers, LOG_LEVEL=info (warn in the figures)`);
    const warnRun = await measureEndToEnd(e2eOptions(workers));
    const infoRun = await measureEndToEnd({ ...e2eOptions(workers), logLevel: "info" });
    diagnostics["logLevel"] = {
      warnTasksPerSecond: round(warnRun.tasksPerSecond, 0),
      infoTasksPerSecond: round(infoRun.tasksPerSecond, 0),
      warnCpuSecondsPer1000: warnRun.cpuSecondsPer1000,
      infoCpuSecondsPer1000: infoRun.cpuSecondsPer1000,
    };
  });
} finally {
  await server?.stop().catch(() => {});
  await db?.end().catch(() => {});
  await floorClient?.end().catch(() => {});
  await postgres.stop().catch(() => {});
}

// ---- figures ----
const floorB1 = summarize(floorRuns.filter((r) => r.batchSize === 1).map((r) => r.rowsPerSecond));
const floorB100 = summarize(floorRuns.filter((r) => r.batchSize === 100).map((r) => r.rowsPerSecond));
/** The floor of a round (its own run), or the median when that round had none. */
const floorOf = (batch: number, r: number) =>
  floorRuns.find((f) => f.batchSize === batch && f.round === r)?.rowsPerSecond ?? (batch === 1 ? floorB1.median : floorB100.median);
/** Median over rounds of (figure / that round's floor). */
const rateRatio = (items: { value: number; round: number }[], batch: number) =>
  summarize(items.map((i) => i.value / floorOf(batch, i.round))).median;
const b1CycleMs = 1000 / floorB1.median;
const timeRatio = (ms: number) => (Number.isFinite(b1CycleMs) ? `${round(ms / b1CycleMs, 2)}× b1 cycle` : "");

const figures: Figure[] = [];
const add = (f: Figure) => figures.push(f);
if (floorRuns.length > 0) {
  const rowsOf = (batch: number) => Math.max(...floorRuns.filter((r) => r.batchSize === batch).map((r) => r.rows));
  add({ group: 1, name: `floor: pg loop claims+completes, batch 1 (${rowsOf(1).toLocaleString("en-US")} rows max, ≤ ${fixed.floorMaxSeconds} s)`, unit: "rows/s", summary: floorB1, ratio: "1× b1" });
  add({ group: 1, name: `floor: pg loop claims+completes, batch 100 (${rowsOf(100).toLocaleString("en-US")} rows)`, unit: "rows/s", summary: floorB100, ratio: "1× b100" });
}
for (const variant of ["trpc", "rest"] as const) {
  const mine = scheduleRuns.filter((r) => r.variant === variant);
  if (mine.length === 0) continue;
  const s = summarize(mine.map((r) => r.tasksPerSecond));
  add({
    group: 2,
    name: `schedule ${config.scheduleTasks.toLocaleString("en-US")} via ${variant === "trpc" ? "tRPC task.scheduleBatch" : "REST /api/schedule/batch"}`,
    unit: "tasks/s",
    summary: s,
    ratio: `${round(rateRatio(mine.map((r) => ({ value: r.tasksPerSecond, round: r.round })), 100), 2)}× b100`,
    target: "20,000 in < 1 s",
    pass: s.median >= 20_000,
  });
}
for (const { workers, cold, arrival } of e2eVariants) {
  const mine = e2eRuns.filter((r) => r.workers === workers && r.cold === cold && r.arrival === arrival);
  if (mine.length === 0) continue;
  const s = summarize(mine.map((r) => r.tasksPerSecond));
  const vsB100 = rateRatio(mine.map((r) => ({ value: r.tasksPerSecond, round: r.round })), 100);
  const vsB1 = rateRatio(mine.map((r) => ({ value: r.tasksPerSecond, round: r.round })), 1);
  const once = mine.every((r) => r.exactlyOnce);
  const warmup = cold ? "cold: the processes' first tasks" : `after ${config.e2eWarmupTasks.toLocaleString("en-US")} warm-up tasks`;
  const how = arrival === "backlog" ? "a backlog falling due" : "inserted while running";
  add({
    group: 3,
    name: `end-to-end ${config.e2eTasks.toLocaleString("en-US")} noop (${how}), 1 coordinator + ${workers} worker${workers > 1 ? "s" : ""}, ${warmup}${once ? "" : " (NOT exactly once!)"}`,
    unit: "tasks/s",
    summary: s,
    ratio: `${round(vsB100, 2)}× b100${workers === 1 ? `, ${round(vsB1, 2)}× b1` : ""}`,
    ...(workers === 3 && !cold && arrival === "backlog" ? { target: "≥ 0.25× b100", pass: vsB100 >= 0.25 && once } : {}),
    ...(workers === 1 && !cold && arrival === "backlog" ? { target: "≥ 1× b1", pass: vsB1 >= 1 && once } : {}),
  });
}
if (latencyRuns.length > 0) {
  const pick = (f: (r: IdleLatencyRun) => number) => summarize(latencyRuns.map(f));
  const latencyRow = (name: string, s: Summary, target?: { text: string; max: number }) =>
    add({
      group: 4,
      name,
      unit: "ms",
      summary: s,
      ratio: timeRatio(s.median),
      ...(target ? { target: target.text, pass: s.median <= target.max } : {}),
    });
  latencyRow("idle: schedule call (tRPC task.schedule), p50", pick((r) => r.scheduleCall.p50));
  latencyRow("idle: acceptance → handler start, p50 (upper bound: from the INSERT's start)", pick((r) => r.startFromInsertStart.p50), { text: "≤ 5 ms", max: 5 });
  latencyRow("idle: acceptance → handler start, p95 (upper bound)", pick((r) => r.startFromInsertStart.p95));
  latencyRow("idle: acceptance → handler start, p99 (upper bound)", pick((r) => r.startFromInsertStart.p99), { text: "≤ 15 ms", max: 15 });
  latencyRow("idle: acceptance → handler start, p50 (lower bound: from its commit's NOTIFY)", pick((r) => r.startFromCommitSeen.p50), { text: "≤ 5 ms", max: 5 });
  latencyRow("idle: acceptance → handler start, p99 (lower bound)", pick((r) => r.startFromCommitSeen.p99), { text: "≤ 15 ms", max: 15 });
  latencyRow("idle: acceptance → COMPLETED visible, p50 (from request sent)", pick((r) => r.completedVisibleFromSent.p50));
  latencyRow("idle: acceptance → COMPLETED visible, p95", pick((r) => r.completedVisibleFromSent.p95));
  latencyRow("idle: acceptance → COMPLETED visible, p99", pick((r) => r.completedVisibleFromSent.p99));
}
for (const q of dashboardQueries) {
  add({ group: 5, name: `${q.name} via tRPC/HTTP`, unit: "ms", summary: q.trpcMs, ratio: timeRatio(q.trpcMs.median), target: "< 50 ms", pass: q.trpcMs.median < 50 });
  add({ group: 5, name: `${q.name}, its SQL via pg`, unit: "ms", summary: q.rawMs, ratio: timeRatio(q.rawMs.median) });
}
for (const c of claimTimings) {
  add({
    group: 5,
    name: `claim query, LIMIT ${c.limit}${c.limit === DEFAULT_CLAIM_BATCH_SIZE ? " (CLAIM_BATCH_SIZE default)" : ""}${c.limit > DEFAULT_CLAIM_BATCH_SIZE ? " (larger than any claim by default)" : ""} (EXPLAIN ANALYZE execution)`,
    unit: "ms",
    summary: c.executionMs,
    ratio: timeRatio(c.executionMs.median),
    ...(c.limit <= DEFAULT_CLAIM_BATCH_SIZE ? { target: "< 5 ms", pass: c.executionMs.median < 5 } : {}),
  });
}
if (e2eRuns.length > 0) {
  const workersForTargets = config.e2eWorkers.includes(3) ? 3 : config.e2eWorkers[config.e2eWorkers.length - 1]!;
  const mine = e2eRuns.filter((r) => r.workers === workersForTargets && !r.cold);
  const peak = (r: EndToEndRun, prefix: string) =>
    Math.max(...Object.entries(r.footprint.processes).filter(([n]) => n.startsWith(prefix)).map(([, p]) => p.lifetimePeakRssMb));
  const coordinatorRss = summarize(mine.map((r) => peak(r, "coordinator")));
  const workerRss = summarize(mine.map((r) => peak(r, "worker")));
  add({ group: 6, name: `peak RSS coordinator (e2e, ${workersForTargets} workers)`, unit: "MB", summary: coordinatorRss, ratio: "", target: "< 200 MB", pass: coordinatorRss.median < 200 });
  add({ group: 6, name: `peak RSS worker, largest (e2e, ${workersForTargets} workers)`, unit: "MB", summary: workerRss, ratio: "", target: "< 120 MB", pass: workerRss.median < 120 });
  add({
    group: 6,
    name: "RSS server, highest sampled (during e2e)",
    unit: "MB",
    summary: summarize(e2eRuns.map((r) => r.footprint.processes["server"]?.sampledPeakRssMb ?? Number.NaN)),
    ratio: "",
  });
  add({
    group: 6,
    name: "idle RSS worker before the first task (e2e)",
    unit: "MB",
    summary: summarize(e2eRuns.map((r) => Math.max(...Object.entries(r.idleRssMb).filter(([n]) => n.startsWith("worker")).map(([, v]) => v)))),
    ratio: "",
  });
  for (const workers of config.e2eWorkers) {
    const runsFor = e2eRuns.filter((r) => r.workers === workers && !r.cold);
    add({
      group: 6,
      name: `PostgreSQL connections, max in pg_stat_activity (e2e, ${workers} worker${workers > 1 ? "s" : ""})`,
      unit: "conns",
      summary: summarize(runsFor.map((r) => r.footprint.maxPgBackends)),
      ratio: "",
    });
  }
}

const table = formatTable(figures);
console.log(`\nTaskMaster bench (${quick ? "quick" : "full"}), ${new Date().toISOString()}, ${round((performance.now() - began) / 1000, 0)} s`);
console.log(
  `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Linux ${machine.kernel}, Node ${machine.node}; ` +
    `load average ${machine.loadAverageAtStart[0]} at start, ${round(loadavg()[0]!)} at end; code ${code.commit}${code.uncommittedChanges ? " + uncommitted changes" : ""}`,
);
console.log(
  `PostgreSQL ${postgres.settings["server_version"]} (embedded, fsync=${postgres.settings["fsync"]}, synchronous_commit=${postgres.settings["synchronous_commit"]}); ` +
    `workers POOL_SIZE=${fixed.poolSize}, LOG_LEVEL=warn; ${config.rounds} round(s), variants interleaved\n`,
);
console.log(table);

const summary = {
  when: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  seconds: round((performance.now() - began) / 1000, 0),
  code,
  machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => round(l)) },
  postgres: postgres.settings,
  config: { ...config, ...fixed, logLevel: "warn" },
  figures: figures.map(figureJson),
  details: {
    floor: floorRuns,
    schedule: scheduleRuns,
    endToEnd: e2eRuns,
    idleLatency: latencyRuns,
    dashboard: { load: dashboardLoad, queries: dashboardQueries, claim: claimTimings },
  },
  failures,
  ...(diagnose ? { diagnostics } : {}),
};
const jsonPath = join(resultsDir, "latest.json");
writeFileSync(jsonPath, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`\nJSON summary (medians, min-max, every run): ${jsonPath}`);
console.log(JSON.stringify({ when: summary.when, mode: summary.mode, figures: summary.figures.map(({ runs: _runs, ...f }) => f) }));
if (diagnose) console.log(`\ndiagnostics:\n${JSON.stringify(diagnostics, null, 2)}`);
if (failures.length > 0) {
  console.log(`\n${failures.length} part(s) FAILED (their figures are missing above):`);
  for (const f of failures) console.log(`- ${f.part}: ${f.error.split("\n")[0]}`);
}
process.exit(failures.length > 0 ? 1 : 0);
