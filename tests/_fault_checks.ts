// Private to tests/: the one checker every fault scenario ends with, and the figures it reports.
//
// After a scenario, from the database, the ledger and the connection samples:
//   (a) every accepted task reached a terminal state: COMPLETED, or DEAD where the scenario allows it;
//   (b) each task ran once (ledger), or more only where a fault touched it: the task has a LOST or
//       FAILED attempt in task_attempts, and every execution but the last was on such an attempt
//       (attempts as `task_attempt_history` lists them: the rows, and the attempt a task row holds);
//   (c) statuses only moved forward (the audit trigger's rows), and an attempt number never reached
//       a worker twice: each pick takes a number above every attempt ever bound to a worker;
//   (d) no lease is left expired (no PICKED/RUNNING row with lease_expires_at < now());
//   (e) the database connections stayed within the processes' pool limits;
//   (f) every attempt of a finished task is closed, and a COMPLETED task's last attempt says so.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { FaultCluster } from "./_fault_cluster.ts";
import { repoRoot } from "./_process.ts";

/** Where the suite writes every scenario's figures (git-ignored). */
export const FIGURES_PATH: string = join(repoRoot, "test-results", "fault-figures.json");

/** The transitions a task's status may make (operator retry of DEAD tasks is not used by the suite). */
const ALLOWED: Record<string, readonly string[]> = {
  SCHEDULED: ["PICKED", "CANCELLED", "DEAD"],
  PICKED: ["RUNNING", "SCHEDULED", "COMPLETED", "FAILED", "DEAD", "CANCELLED"],
  RUNNING: ["SCHEDULED", "COMPLETED", "FAILED", "DEAD", "CANCELLED"],
  COMPLETED: [],
  FAILED: [],
  DEAD: [],
  CANCELLED: [],
};
const TERMINAL = new Set(["COMPLETED", "FAILED", "DEAD", "CANCELLED"]);

/** A scenario's figures, printed as one line and written to {@linkcode FIGURES_PATH}. */
export interface ScenarioFigures {
  scenario: string;
  tasks: number;
  /** Handler executions the ledger recorded. */
  executions: number;
  /** Executions beyond one per task. */
  duplicates: number;
  /** Tasks that ran more than once. */
  duplicateTasks: number;
  /** Tasks with a LOST or FAILED attempt (a fault touched them). */
  faultTouchedTasks: number;
  /** From the fault to the scenario's recovery point (see the scenario), ms. */
  recoverMs: number | null;
  /** Status changes the audit trigger saw, and how many were claims given back unbound. */
  transitions: number;
  releasedClaims: number;
  maxConnections: number;
  connectionLimit: number;
  connectionSamples: number;
  counters: Record<string, number>;
  statuses: Record<string, number>;
  durationMs: number;
  extra: Record<string, unknown>;
}

/** What {@linkcode checkScenario} found. */
export interface ScenarioReport {
  figures: ScenarioFigures;
  /** Every violated guarantee, readable; empty when the scenario passed. */
  problems: string[];
  /** Ledger executions per task id. */
  executionsByTask: Map<string, LedgerEntry[]>;
}

/** One line of the ledger: a handler execution. */
export interface LedgerEntry {
  taskId: string;
  attempt: number;
  workerId: string;
  event: string;
}

/** Options of {@linkcode checkScenario}. */
export interface CheckOptions {
  scenario: string;
  /** Tasks that may end DEAD (every other task must end COMPLETED). */
  mayEndDead?: ReadonlySet<string>;
  recoverMs: number | null;
  extra?: Record<string, unknown>;
}

interface TaskRow {
  id: string;
  command: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  expired: boolean;
  last_error: string | null;
}

interface AttemptRow {
  task_id: string;
  attempt: number;
  outcome: string;
  worker_id: string | null;
  error: string | null;
}

interface AuditRow {
  task_id: string;
  old_status: string;
  new_status: string;
  old_attempt: number;
  new_attempt: number;
  old_worker_id: string | null;
  new_worker_id: string | null;
}

/** Reads the ledger the fault handlers append to: one `<taskId> <attempt> <workerId> <event>` line per execution. */
export function readLedger(path: string): LedgerEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [taskId = "", attempt = "", workerId = "", event = ""] = line.split(" ");
      return { taskId, attempt: Number(attempt), workerId, event };
    });
}

/** Lists at most 8 offenders and how many more there were. */
function summarise(what: string, offenders: string[]): string[] {
  if (offenders.length === 0) return [];
  const shown = offenders.slice(0, 8).join("; ");
  return [`${what} (${offenders.length}): ${shown}${offenders.length > 8 ? "; ..." : ""}`];
}

/**
 * Checks guarantees (a)-(f) (see the top of this file) against the scenario's database, ledger and
 * connection samples, and computes its figures. Call once every task should be terminal.
 */
export async function checkScenario(cluster: FaultCluster, options: CheckOptions): Promise<ScenarioReport> {
  const mayEndDead = options.mayEndDead ?? new Set<string>();
  const tasks = (
    await cluster.db.query<TaskRow>(
      `SELECT id::text AS id, command, status::text AS status, attempt, worker_id::text AS worker_id,
              (status IN ('PICKED', 'RUNNING') AND lease_expires_at < now()) AS expired, last_error
         FROM tasks`,
    )
  ).rows;
  const attempts = (
    await cluster.db.query<AttemptRow>(
      `SELECT task_id::text AS task_id, attempt, outcome::text AS outcome, worker_id::text AS worker_id, error
         FROM task_attempt_history ORDER BY task_id, attempt`,
    )
  ).rows;
  const audit = (
    await cluster.db.query<AuditRow>(
      `SELECT task_id::text AS task_id, old_status, new_status, old_attempt, new_attempt,
              old_worker_id::text AS old_worker_id, new_worker_id::text AS new_worker_id
         FROM fault_status_audit ORDER BY id`,
    )
  ).rows;
  const ledger = readLedger(cluster.ledgerPath);

  const byId = new Map(tasks.map((t) => [t.id, t]));
  const attemptsOf = new Map<string, Map<number, AttemptRow>>();
  for (const a of attempts) {
    let m = attemptsOf.get(a.task_id);
    if (!m) attemptsOf.set(a.task_id, (m = new Map()));
    m.set(a.attempt, a);
  }
  const touched = (taskId: string) =>
    [...(attemptsOf.get(taskId)?.values() ?? [])].some((a) => a.outcome === "LOST" || a.outcome === "FAILED");
  const problems: string[] = [];

  // (a) every accepted task is terminal: COMPLETED, or DEAD where allowed.
  problems.push(
    ...summarise(
      "(a) tasks not finished as expected",
      tasks
        .filter((t) => !(t.status === "COMPLETED" || (t.status === "DEAD" && mayEndDead.has(t.id))))
        .map((t) => `${t.id} ${t.status} attempt ${t.attempt} worker ${t.worker_id ?? "-"}${t.last_error ? ` (${t.last_error})` : ""}`),
    ),
  );

  // (b) executions per task, from the ledger, attributed to the database's attempts.
  const executionsByTask = new Map<string, LedgerEntry[]>();
  for (const entry of ledger) {
    let list = executionsByTask.get(entry.taskId);
    if (!list) executionsByTask.set(entry.taskId, (list = []));
    list.push(entry);
  }
  const unknown: string[] = [];
  const neverRan: string[] = [];
  const sameAttemptTwice: string[] = [];
  const unboundExecution: string[] = [];
  const unaccounted: string[] = [];
  const untouchedDuplicates: string[] = [];
  let duplicates = 0;
  let duplicateTasks = 0;
  for (const [taskId, runs] of executionsByTask) {
    const task = byId.get(taskId);
    if (!task) {
      unknown.push(taskId);
      continue;
    }
    const seen = new Set<number>();
    for (const run of runs) {
      if (seen.has(run.attempt)) sameAttemptTwice.push(`${taskId} attempt ${run.attempt}`);
      seen.add(run.attempt);
      const row = attemptsOf.get(taskId)?.get(run.attempt);
      if (!row) {
        unboundExecution.push(`${taskId} attempt ${run.attempt} on worker ${run.workerId}`);
        continue;
      }
      // Only the attempt the task finished with may have ended well; every other execution must
      // be on an attempt the database closed as LOST or FAILED.
      const isFinal = run.attempt === task.attempt && TERMINAL.has(task.status);
      if (!isFinal && row.outcome !== "LOST" && row.outcome !== "FAILED") {
        unaccounted.push(`${taskId} attempt ${run.attempt} ran on worker ${run.workerId} but is ${row.outcome}`);
      }
    }
    if (runs.length > 1) {
      duplicates += runs.length - 1;
      duplicateTasks++;
      if (!touched(taskId)) {
        untouchedDuplicates.push(`${taskId} ran ${runs.length}x (attempts ${runs.map((r) => `${r.attempt}@${r.workerId}`).join(",")})`);
      }
    }
  }
  for (const t of tasks) {
    if (t.status === "COMPLETED" && !executionsByTask.has(t.id)) neverRan.push(`${t.id} (attempt ${t.attempt})`);
  }
  problems.push(
    ...summarise("(b) ledger lines for tasks the database does not have", unknown),
    ...summarise("(b) tasks COMPLETED without any execution", neverRan),
    ...summarise("(b) one attempt executed twice", sameAttemptTwice),
    ...summarise("(b) executions of attempts never bound to a worker", unboundExecution),
    ...summarise("(b) executions not accounted for by a LOST or FAILED attempt", unaccounted),
    ...summarise("(b) duplicates on tasks no fault touched", untouchedDuplicates),
  );

  // (c) statuses only move forward; attempt numbers only grow past what a worker has seen.
  const auditOf = new Map<string, AuditRow[]>();
  for (const row of audit) {
    let list = auditOf.get(row.task_id);
    if (!list) auditOf.set(row.task_id, (list = []));
    list.push(row);
  }
  const badTransitions: string[] = [];
  const badAttempts: string[] = [];
  const auditGaps: string[] = [];
  let releasedClaims = 0;
  for (const task of tasks) {
    let status = "SCHEDULED";
    let attempt = 0;
    let highestBound = 0;
    for (const row of auditOf.get(task.id) ?? []) {
      const move = `${task.id} ${row.old_status}(${row.old_attempt})->${row.new_status}(${row.new_attempt})`;
      if (row.old_status !== status || row.old_attempt !== attempt) {
        auditGaps.push(`${move} after ${status}(${attempt})`);
      }
      if (row.old_status === row.new_status) {
        if (row.old_attempt !== row.new_attempt) badAttempts.push(`${move}: attempt changed without a status change`);
      } else if (!(ALLOWED[row.old_status] ?? []).includes(row.new_status)) {
        badTransitions.push(move);
      }
      if (row.new_status === "PICKED" && row.old_status !== "PICKED") {
        if (row.new_attempt !== row.old_attempt + 1) badAttempts.push(`${move}: a claim must add one to the attempt`);
        if (row.new_attempt <= highestBound) badAttempts.push(`${move}: attempt ${highestBound} already reached a worker`);
      } else if (row.old_status === "PICKED" && row.new_status === "SCHEDULED" && row.new_attempt === row.old_attempt - 1) {
        // A claim no worker could take, given back as it was (releaseClaimedTasks): allowed only if
        // that attempt was never bound to a worker, so its number never left the coordinator.
        releasedClaims++;
        if (row.old_worker_id !== null) badAttempts.push(`${move}: attempt taken back although worker ${row.old_worker_id} had it`);
      } else if (row.new_attempt !== row.old_attempt) {
        badAttempts.push(`${move}: attempt changed outside a claim`);
      }
      if ((row.old_status === "PICKED" || row.old_status === "RUNNING") && row.old_worker_id !== null) {
        highestBound = Math.max(highestBound, row.old_attempt);
      }
      status = row.new_status;
      attempt = row.new_attempt;
    }
    if (status !== task.status || attempt !== task.attempt) {
      auditGaps.push(`${task.id}: audit ends at ${status}(${attempt}) but the row is ${task.status}(${task.attempt})`);
    }
  }
  problems.push(
    ...summarise("(c) transitions that are not allowed", badTransitions),
    ...summarise("(c) attempt numbers that did not only grow", badAttempts),
    ...summarise("(c) audit trail does not chain", auditGaps),
  );

  // (d) no expired lease left behind.
  problems.push(
    ...summarise(
      "(d) PICKED/RUNNING tasks with an expired lease",
      tasks.filter((t) => t.expired).map((t) => `${t.id} ${t.status} attempt ${t.attempt}`),
    ),
  );

  // (e) connections bounded.
  const samples = cluster.sampler.samples;
  const over = samples.filter((s) => s.count > s.limit);
  const maxConnections = Math.max(0, ...samples.map((s) => s.count));
  const connectionLimit = Math.max(0, ...samples.map((s) => s.limit));
  if (samples.length === 0) problems.push("(e) no connection samples were taken");
  problems.push(
    ...summarise(
      "(e) samples with more connections than the pools allow",
      over.map((s) => `${s.count} > ${s.limit} at +${Math.round(s.at - cluster.startedAt)} ms`),
    ),
  );

  // (f) the attempt timeline is closed and agrees with the task.
  const openAttempts: string[] = [];
  const wrongFinal: string[] = [];
  for (const task of tasks) {
    if (!TERMINAL.has(task.status)) continue;
    for (const a of attemptsOf.get(task.id)?.values() ?? []) {
      if (a.outcome === "RUNNING") openAttempts.push(`${task.id} attempt ${a.attempt} on worker ${a.worker_id ?? "-"}`);
    }
    if (task.status === "COMPLETED") {
      const last = attemptsOf.get(task.id)?.get(task.attempt);
      if (last?.outcome !== "COMPLETED" || last.worker_id !== task.worker_id) {
        wrongFinal.push(`${task.id} COMPLETED at attempt ${task.attempt} on ${task.worker_id} but that attempt is ${last ? `${last.outcome} on ${last.worker_id}` : "missing"}`);
      }
    }
  }
  problems.push(
    ...summarise("(f) attempts left open on finished tasks", openAttempts),
    ...summarise("(f) COMPLETED tasks whose attempt row disagrees", wrongFinal),
  );

  const statuses: Record<string, number> = {};
  for (const t of tasks) statuses[t.status] = (statuses[t.status] ?? 0) + 1;
  const figures: ScenarioFigures = {
    scenario: options.scenario,
    tasks: tasks.length,
    executions: ledger.length,
    duplicates,
    duplicateTasks,
    faultTouchedTasks: tasks.filter((t) => touched(t.id)).length,
    recoverMs: options.recoverMs === null ? null : Math.round(options.recoverMs),
    transitions: audit.length,
    releasedClaims,
    maxConnections,
    connectionLimit,
    connectionSamples: samples.length,
    counters: await cluster.counters(),
    statuses,
    durationMs: Math.round(performance.now() - cluster.startedAt),
    extra: options.extra ?? {},
  };
  return { figures, problems, executionsByTask };
}

/** One table-like line of figures for the test output. */
export function formatFigures(f: ScenarioFigures): string {
  const extra = Object.entries(f.extra)
    .map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" | ");
  return [
    `[fault figures] ${f.scenario.padEnd(34)}`,
    `tasks ${String(f.tasks).padStart(5)}`,
    `executions ${String(f.executions).padStart(5)}`,
    `duplicates ${String(f.duplicates).padStart(3)} on ${f.duplicateTasks} tasks (fault-touched tasks ${f.faultTouchedTasks})`,
    `recover ${f.recoverMs === null ? "-" : `${f.recoverMs} ms`}`,
    `db conns max ${f.maxConnections}/${f.connectionLimit}`,
    `took ${(f.durationMs / 1000).toFixed(1)} s`,
    ...(extra ? [extra] : []),
  ].join(" | ");
}

/** Prints the figures and merges them into {@linkcode FIGURES_PATH} under the scenario's name. */
export function reportFigures(f: ScenarioFigures): void {
  console.log(formatFigures(f));
  mkdirSync(join(repoRoot, "test-results"), { recursive: true });
  const lock = `${FIGURES_PATH}.lock`;
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) break; // a stale lock: write anyway
      const until = Date.now() + 20;
      while (Date.now() < until) {
        // spin briefly: the holder writes one small file
      }
    }
  }
  try {
    let all: Record<string, ScenarioFigures> = {};
    try {
      all = JSON.parse(readFileSync(FIGURES_PATH, "utf8")) as Record<string, ScenarioFigures>;
    } catch {
      // first scenario of the run, or an unreadable file: start afresh
    }
    all[f.scenario] = { ...f, recordedAt: new Date().toISOString() } as ScenarioFigures;
    writeFileSync(FIGURES_PATH, `${JSON.stringify(all, null, 2)}\n`);
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      // already gone
    }
  }
}
