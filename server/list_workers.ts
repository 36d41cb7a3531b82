import type { PrismaClient } from "../prisma/mod.ts";
import { formatSeedTime } from "../shared/mod.ts";
import { workerName } from "./_views.ts";

/** A worker as the dashboard shows it. */
export interface WorkerView {
  /** The worker's uint32 id. */
  id: number;
  /** "Worker-<id>". */
  name: string;
  address: string;
  status: "ONLINE" | "DRAINING" | "OFFLINE";
  /** ONLINE or DRAINING with a heartbeat younger than the online window. */
  online: boolean;
  capacity: number;
  inFlight: number;
  tasksCompleted: number;
  tasksFailed: number;
  handlers: string[];
  coordinatorId: string | null;
  startedAt: string;
  lastHeartbeatAt: string;
  /**
   * Milliseconds from `lastHeartbeatAt` to the database's `now()` when the list was read (never
   * negative): both times are the database's, so a browser on another machine with a skewed clock
   * still shows the true age (add the time since the value arrived to keep it ticking).
   */
  lastHeartbeatAgeMs: number;
  /** The most recently picked task the worker holds (PICKED or RUNNING), if any. */
  currentTaskId: string | null;
  /** Every task the worker holds. */
  currentTaskIds: string[];
}

/** The seed's `GET /api/workers` entry, plus address, capacity, in_flight and tasks_failed. */
export interface SeedWorker {
  id: number;
  name: string;
  /** "busy" (holds tasks), "idle", "draining" or "offline". */
  status: "busy" | "idle" | "draining" | "offline";
  current_task_id: string | null;
  tasks_completed: number;
  /** Last heartbeat, `YYYY-MM-DD HH:MM:SS` UTC. */
  last_active_at: string;
  address: string;
  capacity: number;
  in_flight: number;
  tasks_failed: number;
  /** The coordinator it is registered with (several may share one database). */
  coordinator_id: string | null;
}

/** Options for {@linkcode listWorkers}. */
export interface ListWorkersOptions {
  /** HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES. */
  onlineWindowMs: number;
  /** Also list workers that are offline (stopped, lost, or silent past the window). Default false. */
  includeOffline?: boolean | undefined;
}

const workerSelect = {
  id: true,
  address: true,
  status: true,
  capacity: true,
  inFlight: true,
  tasksCompleted: true,
  tasksFailed: true,
  handlers: true,
  coordinatorId: true,
  startedAt: true,
  lastHeartbeatAt: true,
} as const;

/** Workers ordered by id, online ones only unless `includeOffline`, each with the tasks it holds. */
export async function listWorkers(prisma: PrismaClient, options: ListWorkersOptions): Promise<WorkerView[]> {
  const [rows, [clock]] = await Promise.all([
    prisma.worker.findMany({
      where: options.includeOffline ? {} : { status: { in: ["ONLINE", "DRAINING"] } },
      orderBy: { id: "asc" },
      select: workerSelect,
    }),
    prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`,
  ]);
  const databaseNow = (clock?.now ?? new Date()).getTime();
  const cutoff = databaseNow - options.onlineWindowMs;
  const workers = rows
    .map((row) => ({ row, online: row.status !== "OFFLINE" && row.lastHeartbeatAt.getTime() > cutoff }))
    .filter((w) => options.includeOffline || w.online);
  const held = new Map<bigint, string[]>();
  const onlineIds = workers.filter((w) => w.online).map((w) => w.row.id);
  if (onlineIds.length > 0) {
    const tasks = await prisma.task.findMany({
      where: { workerId: { in: onlineIds }, status: { in: ["PICKED", "RUNNING"] } },
      orderBy: [{ pickedAt: "desc" }, { id: "desc" }],
      select: { id: true, workerId: true },
    });
    for (const t of tasks) {
      if (t.workerId === null) continue;
      const list = held.get(t.workerId) ?? [];
      list.push(t.id);
      held.set(t.workerId, list);
    }
  }
  return workers.map(({ row, online }) => {
    const ids = held.get(row.id) ?? [];
    return {
      id: Number(row.id),
      name: workerName(row.id),
      address: row.address,
      status: row.status,
      online,
      capacity: row.capacity,
      inFlight: row.inFlight,
      tasksCompleted: row.tasksCompleted,
      tasksFailed: row.tasksFailed,
      handlers: row.handlers,
      coordinatorId: row.coordinatorId,
      startedAt: row.startedAt.toISOString(),
      lastHeartbeatAt: row.lastHeartbeatAt.toISOString(),
      lastHeartbeatAgeMs: Math.max(0, databaseNow - row.lastHeartbeatAt.getTime()),
      currentTaskId: ids[0] ?? null,
      currentTaskIds: ids,
    };
  });
}

/** Converts a {@linkcode WorkerView} to the seed's shape. */
export function toSeedWorker(worker: WorkerView): SeedWorker {
  const status = !worker.online
    ? "offline"
    : worker.status === "DRAINING"
      ? "draining"
      : worker.currentTaskId !== null || worker.inFlight > 0
        ? "busy"
        : "idle";
  return {
    id: worker.id,
    name: worker.name,
    status,
    current_task_id: worker.currentTaskId,
    tasks_completed: worker.tasksCompleted,
    last_active_at: formatSeedTime(new Date(worker.lastHeartbeatAt)),
    address: worker.address,
    capacity: worker.capacity,
    coordinator_id: worker.coordinatorId,
    in_flight: worker.inFlight,
    tasks_failed: worker.tasksFailed,
  };
}
