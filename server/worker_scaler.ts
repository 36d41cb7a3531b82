/** A worker process this server started. */
export interface ManagedWorker {
  /** The uint32 id the server chose and passed as WORKER_ID. */
  id: number;
  /** "Worker-<id>". */
  name: string;
  pid: number;
  /** ISO 8601. */
  startedAt: string;
  /** True once the worker logged `ready`. */
  ready: boolean;
  /** "host:port" from its ready line. */
  address: string | null;
  /** True once it was asked to stop. */
  stopping: boolean;
  /**
   * How many workers in a row exited on their own, each replaced by the next, before this one
   * started (0: started by `scale`, or its predecessor ran long enough to count as healthy).
   */
  restarts: number;
  /** The container or pod name, for backends that run workers there (docker, kubernetes). */
  instance?: string;
}

/** What {@linkcode WorkerScaler.kill} did. */
export type KillResult = "killed" | "not_found" | "not_managed";

/**
 * Starts and stops workers; chosen by WORKER_SCALER. Backends: `local` child processes
 * (local_worker_scaler.ts), `docker` containers of a Compose project through the Docker Engine API
 * (docker_worker_scaler.ts), `kubernetes` the worker Deployment through the API server
 * (kubernetes_worker_scaler.ts), `none` (createDisabledWorkerScaler). On docker and kubernetes a
 * worker is found by the IP in the address it advertises (WORKER_ADDRESS = the container's or pod's IP).
 */
export interface WorkerScaler {
  /** "local", "docker", "kubernetes" or "none". */
  readonly kind: string;
  /**
   * Starts or stops (newest first, gracefully) workers until `count` run. The count then holds: a
   * backend replaces a worker that exits on its own (as a Kubernetes Deployment would).
   */
  scale(count: number): Promise<void>;
  /**
   * Kills one worker at once (no drain: the resilience demo). `name` is "Worker-<id>" or the id.
   * It is not replaced: the count of workers drops by one.
   * "not_managed": a worker the database knows that this backend did not start.
   */
  kill(name: string): Promise<KillResult>;
  /** The workers this backend runs. */
  list(): ManagedWorker[];
  /**
   * Shutdown: stops every worker it started and waits for them. None is replaced, and nothing is
   * started afterwards (`scale` throws {@linkcode WorkerScalingDisabledError}).
   */
  stopAll(): Promise<void>;
}

/** Thrown by a scaler that cannot start or stop workers (WORKER_SCALER=none). */
export class WorkerScalingDisabledError extends Error {
  constructor(message = "Worker scaling is disabled on this server (WORKER_SCALER=none); start workers where they run") {
    super(message);
    this.name = "WorkerScalingDisabledError";
  }
}

/**
 * Checks a `scale(count)` request before a scaler acts on it: a RangeError for a count that is not a
 * non-negative integer, WorkerScalingDisabledError once the scaler has been stopped.
 */
export function checkScaleRequest(count: number, stopped: boolean): void {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Cannot scale as 'count' must be a non-negative integer: current value is ${count}`);
  }
  if (stopped) throw new WorkerScalingDisabledError("Worker scaling has stopped: the server is shutting down");
}

const WORKER_NAME = /^(?:worker-)?(\d{1,10})$/i;

/** The worker id in "Worker-<id>" or "<id>" (1..4294967295), else null. */
export function parseWorkerName(name: string): number | null {
  const match = WORKER_NAME.exec(name.trim());
  if (!match?.[1]) return null;
  const id = Number(match[1]);
  return id >= 1 && id <= 0xffffffff ? id : null;
}

/**
 * A scaler for servers that do not manage workers (WORKER_SCALER=none): `scale` throws
 * {@linkcode WorkerScalingDisabledError}; `kill` says "not_managed" for workers `workerExists` knows.
 */
export function createDisabledWorkerScaler(workerExists: (id: number) => Promise<boolean>): WorkerScaler {
  return {
    kind: "none",
    scale: () => Promise.reject(new WorkerScalingDisabledError()),
    kill: async (name) => {
      const id = parseWorkerName(name);
      return id !== null && (await workerExists(id)) ? "not_managed" : "not_found";
    },
    list: () => [],
    stopAll: async () => {},
  };
}
