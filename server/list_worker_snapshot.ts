import type { PrismaClient } from "../prisma/mod.ts";
import { listWorkers, type WorkerView } from "./list_workers.ts";
import type { ManagedWorker, WorkerScaler } from "./worker_scaler.ts";

/** A `worker.list` entry: the database's view plus whether this server's scaler started it. */
export interface ListedWorker extends WorkerView {
  /** True when this server's scaler started the worker (it can be killed or scaled from here). */
  managed: boolean;
  /** The process id when `managed`, else null. */
  pid: number | null;
}

/** What `worker.local` returns: the scaler's kind and the worker processes it runs. */
export interface LocalWorkers {
  /** "local", "none", ... */
  scaler: string;
  /** Its processes, also those not yet registered with a coordinator (the "starting…" cards). */
  workers: ManagedWorker[];
}

/** What `events.onWorkers` yields. */
export interface WorkersSnapshot {
  /** `worker.list`'s value (online workers, or all with `includeOffline`). */
  workers: ListedWorker[];
  /** `worker.local`'s value, read right after the list. */
  local: LocalWorkers;
}

/** `worker.local`'s value. */
export function localWorkers(scaler: WorkerScaler): LocalWorkers {
  return { scaler: scaler.kind, workers: scaler.list() };
}

/** Marks each worker that `scaler` started as `managed`, with its pid. */
export function withScalerInfo(workers: readonly WorkerView[], scaler: WorkerScaler): ListedWorker[] {
  const managed = new Map(scaler.list().map((w) => [w.id, w]));
  return workers.map((w) => ({ ...w, managed: managed.has(w.id), pid: managed.get(w.id)?.pid ?? null }));
}

/** Options for {@linkcode listWorkerSnapshot}. */
export interface WorkerSnapshotOptions {
  /** HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES. */
  onlineWindowMs: number;
  /** Also list offline workers. Default false. */
  includeOffline?: boolean | undefined;
}

/** The workers (as `worker.list` gives them) and the scaler's processes (as `worker.local` does), together. */
export async function listWorkerSnapshot(prisma: PrismaClient, scaler: WorkerScaler, options: WorkerSnapshotOptions): Promise<WorkersSnapshot> {
  const workers = await listWorkers(prisma, options);
  return { workers: withScalerInfo(workers, scaler), local: localWorkers(scaler) };
}
