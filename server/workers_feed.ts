import type { PrismaClient } from "../prisma/mod.ts";
import type { Logger } from "../shared/mod.ts";
import { coalesce } from "./_coalesce.ts";
import type { EventHub, HubEvent } from "./event_hub.ts";
import { listWorkerSnapshot, type WorkersSnapshot } from "./list_worker_snapshot.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

/** Options for {@linkcode createWorkersFeed}. */
export interface WorkersFeedOptions {
  prisma: PrismaClient;
  hub: EventHub;
  scaler: WorkerScaler;
  /** HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES. */
  onlineWindowMs: number;
  /** HEARTBEAT_INTERVAL_MS: while a worker is online, a snapshot is taken at least this often. */
  heartbeatIntervalMs: number;
  /** The least time between two snapshots. */
  throttleMs: number;
  log: Logger;
}

/**
 * One stream of worker snapshots shared by every `events.onWorkers` subscriber of a server: one
 * query per change, however many subscribers there are.
 */
export interface WorkersFeed {
  /** A snapshot read now (a read already in flight is shared), offline workers included. */
  current(): Promise<WorkersSnapshot>;
  /**
   * Calls `listener` with each new snapshot (offline workers included) until the returned function
   * is called. The feed runs only while it has listeners.
   */
  subscribe(listener: (snapshot: WorkersSnapshot) => void): () => void;
}

/**
 * Activity lines about a worker process or row: the hub's ("Worker-7 joined", "... lost") and the
 * scaler's ("Starting Worker-7 (pid 12)", "Worker-7 process ready ...", "Killing Worker-7 ...",
 * "Replacing Worker-7 ..."). The scaler tells nothing else when its processes change, so these
 * lines are what refresh `local`. Task lines ("Task 0b7e8c2a completed on Worker-7") do not match.
 */
const WORKER_ACTIVITY = /^(?:Starting |Killing |Replacing )?Worker-\d+\b/;

/** True for the hub events after which the worker snapshot may differ. */
export function changesWorkers(event: HubEvent): boolean {
  switch (event.kind) {
    case "worker":
    case "resync":
      return true;
    case "activity":
      return WORKER_ACTIVITY.test(event.entry.msg);
    case "task":
      return false;
  }
}

/**
 * Creates the feed. It takes a snapshot when a worker row changes (the `taskmaster_workers` NOTIFY
 * via the hub), when the scaler reports on its processes, after a database reconnect, and, while
 * any worker is online, once per `heartbeatIntervalMs` (heartbeats do not NOTIFY, so this is what
 * keeps `lastHeartbeatAgeMs` and `online` true); never two within `throttleMs`. A failed read is
 * logged and retried on the next change or after `heartbeatIntervalMs`.
 */
export function createWorkersFeed(options: WorkersFeedOptions): WorkersFeed {
  const load = coalesce(() =>
    listWorkerSnapshot(options.prisma, options.scaler, { onlineWindowMs: options.onlineWindowMs, includeOffline: true }),
  );
  const listeners = new Set<(snapshot: WorkersSnapshot) => void>();
  let unsubscribeHub: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerDue = Infinity;
  let lastReadAt = -Infinity;
  /** `performance.now()` of the oldest change not covered by a read yet. */
  let changedSince: number | undefined;
  let reading = false;

  const schedule = (delayMs: number) => {
    if (!unsubscribeHub) return;
    const due = Date.now() + Math.max(0, delayMs);
    if (timer !== undefined && timerDue <= due) return;
    clearTimeout(timer);
    timerDue = due;
    timer = setTimeout(() => {
      timer = undefined;
      timerDue = Infinity;
      void read();
    }, Math.max(0, delayMs));
  };

  const read = async () => {
    if (reading) return; // the read in progress reschedules when it ends
    reading = true;
    const notBefore = changedSince ?? performance.now();
    changedSince = undefined;
    lastReadAt = Date.now();
    let anyOnline = true;
    try {
      const snapshot = await load(notBefore);
      anyOnline = snapshot.workers.some((w) => w.online);
      for (const listener of listeners) {
        try {
          listener(snapshot);
        } catch (error) {
          options.log.error("workers feed subscriber failed", { error: String(error) });
        }
      }
    } catch (error) {
      options.log.warn("workers feed: could not read the workers; retrying", { error: String(error) });
    } finally {
      reading = false;
    }
    if (changedSince !== undefined) schedule(lastReadAt + options.throttleMs - Date.now());
    else if (anyOnline) schedule(lastReadAt + options.heartbeatIntervalMs - Date.now());
  };

  const onChange = () => {
    changedSince ??= performance.now();
    if (!reading) schedule(lastReadAt + options.throttleMs - Date.now());
  };

  const start = () => {
    unsubscribeHub = options.hub.subscribe((event) => changesWorkers(event) && onChange());
    // Fresh subscribers share this read (see current()); it also starts the heartbeat cadence.
    void read();
  };

  const stop = () => {
    unsubscribeHub?.();
    unsubscribeHub = undefined;
    clearTimeout(timer);
    timer = undefined;
    timerDue = Infinity;
  };

  return {
    current: () => load(-Infinity),
    subscribe: (listener) => {
      listeners.add(listener);
      if (!unsubscribeHub) start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
  };
}
