/**
 * @module
 * The idle hand-off's offers (table `task_offers`, migrations `idle_hand_off` and
 * `hand_off_before_insert`). A coordinator whose queue is empty offers some free worker slots; the
 * `tasks_hand_off` trigger gives each new task due now (without an idempotency key) to one of them as
 * it is inserted: the row is written PICKED, attempt 1, bound to the offer's worker and leased, in the
 * transaction that accepts it, and `taskmaster_handoff` is NOTIFYed with {@linkcode HandOff}: the
 * coordinator dispatches it at once, without a claim's round trip (the idle path's largest hop).
 */
import type { SqlClient } from "../prisma/mod.ts";

/** One offer: its id and the worker whose slot it is. */
export interface Offer {
  id: string;
  workerId: number;
}

/** A task the trigger handed to an offer, as its notification names it. */
export interface HandedTask {
  offer: string;
  id: string;
  attempt: number;
  worker: number;
  /** Absent when the notification was too large to carry them: see {@linkcode readHandedTasks}. */
  command?: string;
  payload?: string | null;
  timeout_ms?: number | null;
}

/**
 * A `taskmaster_handoff` notification: tasks handed to one coordinator's offers (one task each since
 * `hand_off_before_insert`; the first trigger sent all of a statement's at once, hence the list).
 */
export interface HandOff {
  coordinator: string;
  tasks: HandedTask[];
}

/** Offers the slots of `workers` (one offer each), lapsing `ttlMs` from now unless renewed. */
export async function offerSlots(
  db: SqlClient,
  coordinatorId: string,
  workers: number[],
  leaseMs: number,
  ttlMs: number,
): Promise<Offer[]> {
  if (workers.length === 0) return [];
  const rows = await db.query<{ id: bigint; worker_id: bigint }>`
    INSERT INTO task_offers (coordinator_id, worker_id, lease_ms, expires_at)
    SELECT ${coordinatorId}, w, ${leaseMs}::int, now() + ${ttlMs} * interval '1 millisecond'
      FROM unnest(${workers}::bigint[]) AS w
    RETURNING id, worker_id`;
  return rows.map((r) => ({ id: String(r.id), workerId: Number(r.worker_id) }));
}

/**
 * Takes back this coordinator's offers (only those of `workerId`, when given); returns the ids it
 * deleted. An offer not among them was used meanwhile: its task's notification is on its way.
 */
export async function withdrawOffers(db: SqlClient, coordinatorId: string, workerId?: number): Promise<string[]> {
  const rows = await db.query<{ id: bigint }>`
    DELETE FROM task_offers
     WHERE coordinator_id = ${coordinatorId} AND (${workerId ?? null}::bigint IS NULL OR worker_id = ${workerId ?? null}::bigint)
    RETURNING id`;
  return rows.map((r) => String(r.id));
}

/**
 * Renews this coordinator's offers for another `ttlMs`, and deletes lapsed offers of any
 * coordinator (one that died leaves its own). Returns the ids of this coordinator's offers still
 * standing.
 */
export async function renewOffers(db: SqlClient, coordinatorId: string, ttlMs: number): Promise<string[]> {
  const rows = await db.query<{ id: bigint }>`
    WITH lapsed AS (
      DELETE FROM task_offers WHERE expires_at < now() - interval '1 minute'
    )
    UPDATE task_offers SET expires_at = now() + ${ttlMs} * interval '1 millisecond'
     WHERE coordinator_id = ${coordinatorId}
    RETURNING id`;
  return rows.map((r) => String(r.id));
}

/** The command, payload and timeout of handed tasks still bound as handed (for an ids-only notification). */
export async function readHandedTasks(
  db: SqlClient,
  coordinatorId: string,
  tasks: HandedTask[],
): Promise<Required<HandedTask>[]> {
  if (tasks.length === 0) return [];
  const rows = await db.query<{ id: string; command: string; payload: string | null; timeout_ms: number | null }>`
    SELECT t.id::text AS id, t.command, t.payload::text AS payload, t.timeout_ms
      FROM tasks t JOIN unnest(${tasks.map((t) => t.id)}::uuid[], ${tasks.map((t) => t.attempt)}::int[]) AS h(id, attempt)
        ON h.id = t.id AND h.attempt = t.attempt
     WHERE t.status IN ('PICKED', 'RUNNING') AND t.coordinator_id = ${coordinatorId}`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return tasks.flatMap((t) => {
    const row = byId.get(t.id);
    return row ? [{ ...t, command: row.command, payload: row.payload, timeout_ms: row.timeout_ms }] : [];
  });
}
