import { sql, type SqlClient, type SqlFragment } from "../prisma/mod.ts";

/** A task this coordinator has just claimed (status PICKED, leased, not yet bound to a worker). */
export interface ClaimedTask {
  id: string;
  command: string;
  /** The payload as JSON text, or null. */
  payloadJson: string | null;
  /** The attempt number the worker will run (already incremented). */
  attempt: number;
  timeoutMs: number | null;
}

/** Options for {@linkcode claimDueTasks}. */
export interface ClaimOptions {
  coordinatorId: string;
  /** Most tasks to claim: the free slots of this coordinator's workers. */
  limit: number;
  /** How long the claim holds without renewal before any coordinator may sweep it back. */
  leaseMs: number;
  /** Commands not to claim now (only busy workers can run them). */
  excludeCommands?: string[];
}

interface ClaimRow {
  id: string;
  command: string;
  payload: string | null;
  attempt: number;
  timeout_ms: number | null;
  worker_id: bigint | null;
  n: bigint;
}

/**
 * Claims up to `limit` due tasks, highest priority then oldest `scheduled_at` first, with
 * `FOR UPDATE SKIP LOCKED` so several coordinators never claim the same task: each becomes PICKED,
 * its attempt number goes up by one (the fencing token its reports must carry) and its lease is set;
 * none is bound to a worker yet ({@linkcode assignClaimedTasks} does that once placed). In claim
 * order. The claim function of {@linkcode claimAndAssignDueTasks}, with no worker for any slot.
 */
export async function claimDueTasks(db: SqlClient, options: ClaimOptions): Promise<ClaimedTask[]> {
  if (options.limit <= 0) return [];
  const rows = await db.query<ClaimRow>(claimStatement(options.coordinatorId, Array<null>(options.limit).fill(null), options.leaseMs, options.excludeCommands));
  return inClaimOrder(rows).map(toClaimedTask);
}

const inClaimOrder = (rows: ClaimRow[]) => rows.sort((a, b) => Number(a.n) - Number(b.n));
const toClaimedTask = (row: ClaimRow): ClaimedTask => ({
  id: row.id,
  command: row.command,
  payloadJson: row.payload,
  attempt: row.attempt,
  timeoutMs: row.timeout_ms,
});

/**
 * The claim: the database function `taskmaster_claim_tasks` (see its migration,
 * `self_booked_claims`), which takes up to `workers.length` due tasks (its selection,
 * `taskmaster_due_tasks`, has its plan pinned to the claim index), binds the n-th to `workers[n]`
 * (none for a null), and books the claim's status counts and change announcement once per claim.
 * Raw SQL because Prisma cannot say SKIP LOCKED; times are PostgreSQL's.
 */
function claimStatement(coordinatorId: string, workers: (number | null)[], leaseMs: number, excludeCommands: string[] = []): SqlFragment {
  return sql`
    SELECT id, command, payload, attempt, timeout_ms, worker_id, n
      FROM taskmaster_claim_tasks(${workers}::bigint[], ${coordinatorId}::text, ${leaseMs}::int, ${excludeCommands}::text[])`;
}

/** A claimed task bound to the worker that will run it. */
export interface Assignment {
  taskId: string;
  attempt: number;
  workerId: number;
}

/**
 * Binds claimed tasks to workers (sets `worker_id`), in one statement. Only tasks still PICKED at
 * that attempt by this coordinator are bound. The attempt's row in `task_attempts` is written when
 * the attempt ends (see record_task_report.ts); until then the task row is the open attempt.
 */
export async function assignClaimedTasks(
  db: SqlClient,
  coordinatorId: string,
  assignments: Assignment[],
): Promise<void> {
  if (assignments.length === 0) return;
  const ids = assignments.map((a) => a.taskId);
  const attempts = assignments.map((a) => a.attempt);
  const workers = assignments.map((a) => a.workerId);
  await db.execute`
    UPDATE tasks t SET worker_id = a.worker_id, updated_at = now()
      FROM unnest(${ids}::uuid[], ${attempts}::int[], ${workers}::bigint[]) AS a(id, attempt, worker_id)
     WHERE t.id = a.id AND t.attempt = a.attempt AND t.status = 'PICKED' AND t.coordinator_id = ${coordinatorId}`;
}

/**
 * Gives claimed tasks that no worker could take back to the queue as they were (their attempt
 * number is returned too, so the claim leaves no trace).
 */
export async function releaseClaimedTasks(db: SqlClient, coordinatorId: string, tasks: ClaimedTask[]): Promise<void> {
  if (tasks.length === 0) return;
  const ids = tasks.map((t) => t.id);
  const attempts = tasks.map((t) => t.attempt);
  await db.execute`
    UPDATE tasks t SET status = 'SCHEDULED', attempt = t.attempt - 1, picked_at = NULL, worker_id = NULL,
           coordinator_id = NULL, lease_expires_at = NULL, updated_at = now()
      FROM unnest(${ids}::uuid[], ${attempts}::int[]) AS r(id, attempt)
     WHERE t.id = r.id AND t.attempt = r.attempt AND t.status = 'PICKED' AND t.coordinator_id = ${coordinatorId}`;
}

/** A task claimed and bound to its worker in one statement. */
export interface AssignedTask extends ClaimedTask {
  workerId: number;
}

/** Options for {@linkcode claimAndAssignDueTasks}. */
export interface ClaimAndAssignOptions {
  coordinatorId: string;
  /** The worker for each task to claim, in order (the first claimed task goes to `workers[0]`): as many tasks are claimed at most. */
  workers: number[];
  /** How long the claim holds without renewal before any coordinator may sweep it back. */
  leaseMs: number;
  /** Commands not to claim now. */
  excludeCommands?: string[];
}

/**
 * {@linkcode claimDueTasks} and {@linkcode assignClaimedTasks} in one statement, for when any of
 * the workers can run any task: claims up to `workers.length` due tasks (highest priority, then
 * oldest `scheduled_at`, first; SKIP LOCKED), binds the n-th to `workers[n]`. One write of each task
 * row and one commit instead of two. In claim order. No `task_attempts` row is written: the task row
 * holds the open attempt (number, worker, coordinator, picked_at, started_at) until it ends, when its
 * row is written once (a claim that inserted it, and its FK check, cost a third of the claim).
 */
export async function claimAndAssignDueTasks(db: SqlClient, options: ClaimAndAssignOptions): Promise<AssignedTask[]> {
  if (options.workers.length === 0) return [];
  const rows = await db.query<ClaimRow>(claimAndAssignStatement(options));
  // (A literal, not a spread of toClaimedTask's object: a spread per task cost the coordinator 1%.)
  return inClaimOrder(rows).map((row) => ({
    id: row.id,
    command: row.command,
    payloadJson: row.payload,
    attempt: row.attempt,
    timeoutMs: row.timeout_ms,
    workerId: Number(row.worker_id),
  }));
}

/** The statement {@linkcode claimAndAssignDueTasks} runs (the benchmark measures it as is). */
export function claimAndAssignStatement(options: ClaimAndAssignOptions): SqlFragment {
  return claimStatement(options.coordinatorId, options.workers, options.leaseMs, options.excludeCommands);
}
