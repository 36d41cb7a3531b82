import { trpc, type LocalWorkers, type WorkerEntry } from "./trpc.ts";

/** The worker panel's data: online workers, and the local scaler's processes. */
export interface WorkersState {
  workers: readonly WorkerEntry[];
  /** When `workers` was fetched (epoch ms). */
  asOf: number;
  /** "local" when this server starts workers, "none" when it cannot; null while loading. */
  scaler: LocalWorkers["scaler"] | null;
  /** Processes started by the scaler that have not registered with a coordinator yet. */
  starting: { id: number; name: string }[];
  /** Ids of workers the scaler asked to stop. */
  stopping: Set<number>;
  /** Workers the scaler runs and is not stopping (what "scale to N" counts). */
  managedCount: number;
  isLoading: boolean;
  error: string | null;
}

/**
 * Online workers and the scaler's processes. Refetched when the live feeds see workers change
 * (LiveEventsProvider invalidates these queries); nothing polls.
 */
export function useWorkers(): WorkersState {
  const list = trpc.worker.list.useQuery(undefined, { staleTime: Infinity });
  const local = trpc.worker.local.useQuery(undefined, { staleTime: Infinity });
  const workers = list.data ?? [];
  const listed = new Set(workers.map((w) => w.id));
  const processes = local.data?.workers ?? [];
  return {
    workers,
    asOf: list.dataUpdatedAt,
    scaler: local.data?.scaler ?? null,
    starting: processes.filter((p) => !p.stopping && !listed.has(p.id)).map((p) => ({ id: p.id, name: p.name })),
    stopping: new Set(processes.filter((p) => p.stopping).map((p) => p.id)),
    managedCount: processes.filter((p) => !p.stopping).length,
    isLoading: list.isLoading,
    error: list.error?.message ?? null,
  };
}
