import type { SqlClient } from "../prisma/mod.ts";

/** What a heartbeat tells about a worker. */
export interface WorkerBeat {
  id: number;
  address: string;
  capacity: number;
  handlers: string[];
  inFlight: number;
  draining: boolean;
  /** It implements WorkerService.SubmitTasks. */
  batchDispatch?: boolean;
  /** The attempts it says it holds; undefined when it does not say (a seed worker). */
  holding?: { taskId: string; attempt: number }[];
  /** When the coordinator received it (its monotonic clock, ms). */
  receivedAt?: number;
}

/**
 * Mirrors a heartbeat into the `workers` table (insert on first sight; `started_at` reset when the
 * worker is new or was OFFLINE) and renews the leases of the tasks it holds: the attempts it listed,
 * or (a seed worker, which lists none) every task bound to it.
 *
 * Two statements, leases first, and the lease renewal skips task rows another statement has locked
 * (a report about to finish them, or a requeue): so a heartbeat never holds the worker row while
 * waiting for task rows, which a COMPLETE statement (task rows, then the worker's counter) would
 * otherwise deadlock against. A skipped lease is renewed by the next heartbeat.
 */
export async function recordHeartbeat(
  db: SqlClient,
  beat: WorkerBeat,
  coordinatorId: string,
  leaseMs: number,
): Promise<void> {
  const status = beat.draining ? "DRAINING" : "ONLINE";
  const listed = beat.holding !== undefined;
  const ids = (beat.holding ?? []).map((h) => h.taskId);
  const attempts = (beat.holding ?? []).map((h) => h.attempt);
  await db.execute`
    WITH held AS (
      SELECT * FROM unnest(${ids}::uuid[], ${attempts}::int[]) AS h(id, attempt)
    ), renew AS (
      SELECT t.id FROM tasks t
       WHERE t.worker_id = ${beat.id}::bigint AND t.status IN ('PICKED', 'RUNNING')
         AND (NOT ${listed}::boolean OR EXISTS (SELECT 1 FROM held WHERE held.id = t.id AND held.attempt = t.attempt))
       ORDER BY t.id FOR UPDATE SKIP LOCKED
    )
    UPDATE tasks t SET lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
      FROM renew WHERE t.id = renew.id`;
  await db.execute`
    INSERT INTO workers (id, address, capacity, handlers, status, coordinator_id, in_flight, started_at, last_heartbeat_at)
    VALUES (${beat.id}::bigint, ${beat.address}, ${beat.capacity}, ${beat.handlers}::text[], ${status}::"WorkerStatus",
            ${coordinatorId}, ${beat.inFlight}, now(), now())
    ON CONFLICT (id) DO UPDATE
       SET address = EXCLUDED.address, capacity = EXCLUDED.capacity, handlers = EXCLUDED.handlers,
           status = EXCLUDED.status, coordinator_id = EXCLUDED.coordinator_id, in_flight = EXCLUDED.in_flight,
           last_heartbeat_at = now(),
           started_at = CASE WHEN workers.status = 'OFFLINE' THEN now() ELSE workers.started_at END`;
}

/** Marks a worker OFFLINE (it missed its heartbeats, or its process exited). */
export async function markWorkerOffline(db: SqlClient, workerId: number): Promise<void> {
  await db.execute`
    UPDATE workers SET status = 'OFFLINE', in_flight = 0 WHERE id = ${workerId}::bigint AND status <> 'OFFLINE'`;
}

/**
 * Marks OFFLINE every worker whose last heartbeat is older than `silentMs` (its coordinator died
 * without saying so). Returns their ids.
 */
export async function markSilentWorkersOffline(db: SqlClient, silentMs: number): Promise<number[]> {
  const rows = await db.query<{ id: bigint }>`
    UPDATE workers SET status = 'OFFLINE', in_flight = 0
     WHERE status <> 'OFFLINE' AND last_heartbeat_at < now() - ${silentMs} * interval '1 millisecond'
    RETURNING id`;
  return rows.map((r) => Number(r.id));
}

/**
 * Milliseconds (by PostgreSQL's clock) until the earliest SCHEDULED task still in the future is
 * due, or null when there is none.
 */
export async function msUntilNextDueTask(db: SqlClient): Promise<number | null> {
  const rows = await db.query<{ ms: number | null }>`
    SELECT (extract(epoch FROM min(scheduled_at) - now()) * 1000)::float8 AS ms
      FROM tasks WHERE status = 'SCHEDULED' AND scheduled_at > now()`;
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : Math.max(0, Number(ms));
}
