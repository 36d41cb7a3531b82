// The dashboard's live feeds, opened once for the whole app: stats, task changes and the activity
// log, each a tRPC subscription over SSE. Components read them from contexts; nothing polls.
import { skipToken, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useMemo, useRef, useState } from "react";
import type { LiveStats, TaskChangeEvent } from "../server/mod.ts";
import { type ActivityLine, prependActivity } from "./activity_lines.ts";
import { usePageActive } from "./page_visibility.ts";
import { addThroughputSample, type ThroughputSample } from "./throughput_series.ts";
import { trpc, type WorkersSnapshot } from "./trpc.ts";

/** The live feeds' state as the header shows it. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "paused";

/** The latest stats and when they arrived (epoch ms, browser clock). */
export interface StatsSnapshot {
  /** `events.onStats`: the counts, and the guarantee figures as `guarantees`. */
  stats: LiveStats | null;
  receivedAt: number;
}

/** The latest `events.onWorkers` value (workers and the scaler's processes) and when it arrived. */
export interface WorkersFeedState {
  snapshot: WorkersSnapshot | null;
  /** Epoch ms (browser clock): heartbeat ages are `lastHeartbeatAgeMs` plus the time since. */
  receivedAt: number;
}

/** Delivers task changes in bursts (at most one per `TASK_CHANGE_FLUSH_MS`). */
export interface TaskChangeFeed {
  subscribe(listener: (events: readonly TaskChangeEvent[]) => void): () => void;
}

/** Task changes arriving within this window reach listeners together (progress reports come fast). */
export const TASK_CHANGE_FLUSH_MS = 100;
/** Delay before re-opening a subscription that failed, doubling up to {@linkcode MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 10_000;

const StatsContext = createContext<StatsSnapshot>({ stats: null, receivedAt: 0 });
const ThroughputContext = createContext<readonly ThroughputSample[]>([]);
const ActivityContext = createContext<readonly ActivityLine[]>([]);
const ConnectionContext = createContext<ConnectionState>("connecting");
const WorkersContext = createContext<WorkersFeedState>({ snapshot: null, receivedAt: 0 });
const TaskChangeContext = createContext<TaskChangeFeed>({ subscribe: () => () => {} });

/** The latest stats (null until the first arrives). */
export function useLiveStats(): StatsSnapshot {
  return useContext(StatsContext);
}

/** One sample a second of completed and queued counts, the last five minutes. */
export function useThroughputSamples(): readonly ThroughputSample[] {
  return useContext(ThroughputContext);
}

/** The activity log, newest first, at most 250 entries. */
export function useActivity(): readonly ActivityLine[] {
  return useContext(ActivityContext);
}

/** Online workers and the scaler's processes, pushed on every change and once per heartbeat interval. */
export function useWorkersFeed(): WorkersFeedState {
  return useContext(WorkersContext);
}

/** Whether the live feeds are connected. */
export function useConnectionState(): ConnectionState {
  return useContext(ConnectionContext);
}

/** Calls `listener` with every burst of task changes while the component is mounted. */
export function useTaskChanges(listener: (events: readonly TaskChangeEvent[]) => void): void {
  const feed = useContext(TaskChangeContext);
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => feed.subscribe((events) => latest.current(events)), [feed]);
}

/** The feed behind {@linkcode useTaskChanges}: `push` events, listeners get them in bursts. */
export function createTaskChangeFeed(): TaskChangeFeed & { push(event: TaskChangeEvent): void } {
  const listeners = new Set<(events: readonly TaskChangeEvent[]) => void>();
  let pending: TaskChangeEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    const events = pending;
    pending = [];
    for (const listener of listeners) listener(events);
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    push(event) {
      pending.push(event);
      timer ??= setTimeout(flush, TASK_CHANGE_FLUSH_MS);
    },
  };
}

type SubscriptionStatus = "idle" | "connecting" | "pending" | "error";

/** Re-opens a subscription that failed for good (e.g. the server answered 5xx while restarting). */
function useReopenOnError(result: { status: SubscriptionStatus; reset: () => void }): void {
  const failures = useRef(0);
  const { status, reset } = result;
  useEffect(() => {
    if (status === "pending") failures.current = 0;
    if (status !== "error") return;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures.current);
    failures.current++;
    const timer = setTimeout(reset, delay);
    return () => clearTimeout(timer);
  }, [status, reset]);
}

/**
 * Opens the live feeds for everything inside it (needs the tRPC and React Query providers): four
 * SSE subscriptions (stats, task changes, activity, workers), re-opened by themselves after a
 * server restart, and let go while the tab is hidden for a while.
 */
export function LiveEventsProvider({ children }: { children: ReactNode }) {
  const active = usePageActive();
  const queryClient = useQueryClient();
  const [snapshot, setSnapshot] = useState<StatsSnapshot>({ stats: null, receivedAt: 0 });
  const [samples, setSamples] = useState<readonly ThroughputSample[]>([]);
  const [activity, setActivity] = useState<readonly ActivityLine[]>([]);
  const feed = useMemo(createTaskChangeFeed, []);
  const latestStats = useRef<LiveStats | null>(null);
  const statsStartedBefore = useRef(false);
  const everLive = useRef(false);

  const stats = trpc.events.onStats.useSubscription(active ? undefined : skipToken, {
    onStarted: () => {
      // A (re)connection: whatever the queries show may be stale (server restart, tab back from hiding).
      if (statsStartedBefore.current) void queryClient.invalidateQueries();
      statsStartedBefore.current = true;
    },
    onData: (next) => {
      latestStats.current = next;
      setSnapshot({ stats: next, receivedAt: Date.now() });
    },
  });

  const tasks = trpc.events.onTaskChange.useSubscription(active ? {} : skipToken, {
    onData: (tracked) => feed.push(tracked.data),
  });

  const pendingLines = useRef<ActivityLine[]>([]);
  const flushTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const activitySub = trpc.events.onActivity.useSubscription(active ? {} : skipToken, {
    onData: (tracked) => {
      pendingLines.current.push({ ...tracked.data, key: tracked.id });
      // The backlog arrives as up to 250 events at once: render them together.
      flushTimer.current ??= setTimeout(() => {
        flushTimer.current = undefined;
        const lines = pendingLines.current;
        pendingLines.current = [];
        setActivity((shown) => prependActivity(shown, lines));
      }, 50);
    },
  });
  useEffect(() => () => clearTimeout(flushTimer.current), []);

  const [workers, setWorkers] = useState<WorkersFeedState>({ snapshot: null, receivedAt: 0 });
  const workersSub = trpc.events.onWorkers.useSubscription(active ? {} : skipToken, {
    onData: (snapshot) => setWorkers({ snapshot, receivedAt: Date.now() }),
  });

  useReopenOnError(stats);
  useReopenOnError(workersSub);
  useReopenOnError(tasks);
  useReopenOnError(activitySub);

  // One sample a second, so the chart moves on even when nothing changes.
  useEffect(() => {
    if (!active) return;
    const take = () => {
      const s = latestStats.current;
      if (s) setSamples((series) => addThroughputSample(series, { t: Date.now(), completed: s.byStatus.COMPLETED, queued: s.pending }));
    };
    const timer = setInterval(take, 1000);
    return () => clearInterval(timer);
  }, [active]);

  const statuses = [stats.status, tasks.status, activitySub.status, workersSub.status];
  let connection: ConnectionState;
  if (!active) connection = "paused";
  else if (statuses.every((s) => s === "pending")) connection = "live";
  else connection = everLive.current ? "reconnecting" : "connecting";
  if (connection === "live") everLive.current = true;

  return (
    <ConnectionContext.Provider value={connection}>
      <StatsContext.Provider value={snapshot}>
        <ThroughputContext.Provider value={samples}>
          <ActivityContext.Provider value={activity}>
            <WorkersContext.Provider value={workers}>
              <TaskChangeContext.Provider value={feed}>{children}</TaskChangeContext.Provider>
            </WorkersContext.Provider>
          </ActivityContext.Provider>
        </ThroughputContext.Provider>
      </StatsContext.Provider>
    </ConnectionContext.Provider>
  );
}
