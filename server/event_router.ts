import { tracked } from "@trpc/server";
import { z } from "zod";
import { iterateEvents } from "./_async_queue.ts";
import type { ActivityEntry, EventHub, HubEvent, TaskChangeEvent } from "./event_hub.ts";
import type { PrismaClient } from "../prisma/mod.ts";
import { coalesce } from "./_coalesce.ts";
import { guaranteeStats, type GuaranteeStats } from "./guarantee_stats.ts";
import type { WorkersSnapshot } from "./list_worker_snapshot.ts";
import { statsWithQueueSample } from "./stats_router.ts";
import type { TaskStats } from "./task_stats.ts";
import { publicProcedure, router, type ServerContext } from "./trpc.ts";
import { createWorkersFeed, type WorkersFeed } from "./workers_feed.ts";

const resumable = z.object({ lastEventId: z.string().max(100).nullish() }).default({});

/** "<epoch>:<n>" of this hub, or null when `lastEventId` came from elsewhere (another server process). */
function sequenceFrom(hub: EventHub, lastEventId: string | null | undefined): number | null {
  if (!lastEventId) return null;
  const [epoch, n] = lastEventId.split(":");
  if (epoch !== hub.epoch || !n || !/^\d+$/.test(n)) return null;
  return Number(n);
}

const eventId = (hub: EventHub, n: number) => `${hub.epoch}:${n}`;

/** What `events.onStats` yields: `stats.get`'s counts plus `stats.guarantees`'s figures. */
export type LiveStats = TaskStats & { guarantees: GuaranteeStats };

/**
 * The guarantee figures cost a pass over the tasks and the fault attempts (about 0.5 s at 1M tasks):
 * every `events.onStats` subscriber of one database shares a run that started after its change.
 */
const sharedGuarantees = new WeakMap<PrismaClient, (notBefore: number) => Promise<GuaranteeStats>>();

async function liveStats(ctx: ServerContext, notBefore: number): Promise<LiveStats> {
  let guarantees = sharedGuarantees.get(ctx.prisma);
  if (!guarantees) {
    guarantees = coalesce(() => guaranteeStats(ctx.prisma));
    sharedGuarantees.set(ctx.prisma, guarantees);
  }
  const [stats, figures] = await Promise.all([statsWithQueueSample(ctx), guarantees(notBefore)]);
  return { ...stats, guarantees: figures };
}

/** One workers feed per server (its hub): every `events.onWorkers` subscriber shares its reads. */
const workersFeeds = new WeakMap<EventHub, WorkersFeed>();

function workersFeedFor(ctx: ServerContext): WorkersFeed {
  let feed = workersFeeds.get(ctx.hub);
  if (!feed) {
    feed = createWorkersFeed({
      prisma: ctx.prisma,
      hub: ctx.hub,
      scaler: ctx.scaler,
      onlineWindowMs: ctx.onlineWindowMs,
      heartbeatIntervalMs: ctx.heartbeatIntervalMs ?? Math.max(100, Math.round(ctx.onlineWindowMs / 3)),
      throttleMs: ctx.statsThrottleMs ?? 500,
      log: ctx.log,
    });
    workersFeeds.set(ctx.hub, feed);
  }
  return feed;
}

/** Live updates over SSE, pushed by PostgreSQL's NOTIFY (no polling). */
export const eventRouter = router({
  /**
   * Task rows as they change (op "I" insert, "U" update; `rows` null when a statement touched more
   * than 25). Resumes from `lastEventId` when the changes are still in memory; otherwise, and after a
   * database reconnect, yields op "R": refetch what you show.
   */
  onTaskChange: publicProcedure.input(resumable).subscription(async function* ({ ctx, input, signal }) {
    const hub = ctx.hub;
    const stream = iterateEvents<TaskChangeEvent>(
      (push) => hub.subscribe((e: HubEvent) => e.kind === "task" && push(e.event)),
      signal,
    );
    try {
      const since = sequenceFrom(hub, input.lastEventId);
      let last = 0;
      if (input.lastEventId) {
        const missed = since === null ? null : hub.taskChangesSince(since);
        if (missed === null) {
          yield tracked(eventId(hub, 0), { id: 0, op: "R", n: 0, rows: null } satisfies TaskChangeEvent);
        } else {
          last = since ?? 0;
          for (const e of missed) {
            last = e.id;
            yield tracked(eventId(hub, e.id), e);
          }
        }
      }
      for await (const e of stream) {
        if (e.id <= last) continue;
        yield tracked(eventId(hub, e.id), e);
      }
    } finally {
      stream.dispose();
    }
  }),

  /** The activity log: the backlog (last 250, or what followed `lastEventId`), then live entries. */
  onActivity: publicProcedure.input(resumable).subscription(async function* ({ ctx, input, signal }) {
    const hub = ctx.hub;
    const stream = iterateEvents<ActivityEntry>((push) => hub.subscribe((e) => e.kind === "activity" && push(e.entry)), signal);
    try {
      const since = sequenceFrom(hub, input.lastEventId);
      const backlog = (since !== null ? hub.activitySince(since) : null) ?? hub.activity();
      let last = 0;
      for (const entry of backlog) {
        last = entry.id;
        yield tracked(eventId(hub, entry.id), entry);
      }
      for await (const entry of stream) {
        if (entry.id <= last) continue;
        yield tracked(eventId(hub, entry.id), entry);
      }
    } finally {
      stream.dispose();
    }
  }),

  /**
   * `stats.get`'s counts with `stats.guarantees`'s figures as `guarantees`: now, then again whenever
   * tasks or workers change, at most every 500 ms. Not resumable (each value is complete), so it
   * yields plain values.
   */
  onStats: publicProcedure.input(z.object({}).optional()).subscription(async function* ({ ctx, signal }): AsyncGenerator<LiveStats> {
    const throttleMs = ctx.statsThrottleMs ?? 500;
    // Each change is pushed as the moment it arrived; the queue keeps only the latest.
    const changes = iterateEvents<number>(
      (push) =>
        ctx.hub.subscribe((e) => (e.kind === "task" || e.kind === "worker" || e.kind === "resync") && push(performance.now())),
      signal,
      1,
    );
    try {
      yield await liveStats(ctx, performance.now());
      let lastQuery = Date.now();
      for await (const changedAt of changes) {
        const wait = lastQuery + throttleMs - Date.now();
        if (wait > 0) await sleep(wait, signal);
        if (signal?.aborted) return;
        // Changes that arrived while waiting are covered by this query (the queue holds at most one).
        lastQuery = Date.now();
        yield await liveStats(ctx, changedAt);
      }
    } finally {
      changes.dispose();
    }
  }),

  /**
   * `worker.list`'s value as `workers` (online ones, or all with `includeOffline`) with
   * `worker.local`'s as `local`: now, then again whenever a worker row changes or the scaler reports
   * on its processes, and at least once per HEARTBEAT_INTERVAL_MS while any worker is online (so
   * `lastHeartbeatAgeMs` and `online` stay true); at most every 500 ms. One read serves every
   * subscriber. Not resumable (each value is complete), so it yields plain values.
   */
  onWorkers: publicProcedure
    .input(z.object({ includeOffline: z.boolean().default(false) }).default({ includeOffline: false }))
    .subscription(async function* ({ ctx, input, signal }): AsyncGenerator<WorkersSnapshot> {
      const feed = workersFeedFor(ctx);
      const view = (snapshot: WorkersSnapshot): WorkersSnapshot =>
        input.includeOffline ? snapshot : { ...snapshot, workers: snapshot.workers.filter((w) => w.online) };
      // Subscribed before the first read, so no change is missed; only the latest snapshot is kept.
      const updates = iterateEvents<WorkersSnapshot>((push) => feed.subscribe(push), signal, 1);
      try {
        const first = await feed.current();
        yield view(first);
        for await (const snapshot of updates) {
          if (snapshot === first) continue; // the feed's read that `current()` shared
          yield view(snapshot);
        }
      } finally {
        updates.dispose();
      }
    }),
});

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
