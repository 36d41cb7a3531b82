import { useWorkersFeed } from "./live_events.tsx";
import type { LocalWorkers, WorkerEntry } from "./trpc.ts";

/** The worker panel's data: online workers, and the local scaler's processes. */
export interface WorkersState {
  workers: readonly WorkerEntry[];
  /** When `workers` arrived (epoch ms, browser clock); their `lastHeartbeatAgeMs` was true then. */
  receivedAt: number;
  /** "local" when this server starts workers, "none" when it cannot; null while loading. */
  scaler: LocalWorkers["scaler"] | null;
  /** Processes started by the scaler that have not registered with a coordinator yet. */
  starting: { id: number; name: string }[];
  /** Ids of workers the scaler asked to stop. */
  stopping: Set<number>;
  /** Workers the scaler runs and is not stopping (what "scale to N" counts). */
  managedCount: number;
  isLoading: boolean;
}

/** Online workers and the scaler's processes, from the live `events.onWorkers` feed (nothing polls). */
export function useWorkers(): WorkersState {
  const { snapshot, receivedAt } = useWorkersFeed();
  const workers = snapshot?.workers ?? [];
  const listed = new Set(workers.map((w) => w.id));
  const processes = snapshot?.local.workers ?? [];
  return {
    workers,
    receivedAt,
    scaler: snapshot?.local.scaler ?? null,
    starting: processes.filter((p) => !p.stopping && !listed.has(p.id)).map((p) => ({ id: p.id, name: p.name })),
    stopping: new Set(processes.filter((p) => p.stopping).map((p) => p.id)),
    managedCount: processes.filter((p) => !p.stopping).length,
    isLoading: snapshot === null,
  };
}
