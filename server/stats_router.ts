import { z } from "zod";
import { guaranteeStats } from "./guarantee_stats.ts";
import { queueDepthSamplesFor } from "./queue_depth_samples.ts";
import { taskThroughput } from "./task_throughput.ts";
import { getTaskStats, type TaskStats } from "./task_stats.ts";
import { publicProcedure, router, type ServerContext } from "./trpc.ts";

/**
 * Computes `stats.get`'s counts and records the queue depth (SCHEDULED tasks) in the server's
 * in-memory ring that `stats.throughput` reads for `queued`.
 */
export async function statsWithQueueSample(ctx: ServerContext): Promise<TaskStats> {
  const stats = await getTaskStats(ctx.prisma, { onlineWindowMs: ctx.onlineWindowMs });
  queueDepthSamplesFor(ctx.prisma).record(Date.now(), stats.byStatus.SCHEDULED);
  return stats;
}

/** Counts for the dashboard's header, its throughput chart and its guarantee panel. */
export const statsRouter = router({
  /** Tasks by status and by the seed's buckets, online workers, throughput over the last minute. */
  get: publicProcedure.input(z.object({}).optional()).query(({ ctx }) => statsWithQueueSample(ctx)),

  /**
   * Tasks completed and failed per bucket over the last `minutes` (the database's clock), oldest
   * first, the last bucket still filling; `queued` is the queue depth sampled in that bucket by a
   * stats computation of this server process (null before it started or when none ran then).
   */
  throughput: publicProcedure
    .input(
      z
        .object({
          minutes: z.number().int().min(1).max(60).default(5),
          bucketSeconds: z.number().int().min(1).max(60).default(5),
        })
        .default({ minutes: 5, bucketSeconds: 5 }),
    )
    .query(({ ctx, input }) => taskThroughput(ctx.prisma, { ...input, samples: queueDepthSamplesFor(ctx.prisma) })),

  /**
   * The figures that prove nothing accepted was lost: accepted, finished, in flight, queued, lost
   * (must be 0), tasks run more than once and why, stale reports rejected, leases swept, requeues.
   */
  guarantees: publicProcedure.input(z.object({}).optional()).query(({ ctx }) => guaranteeStats(ctx.prisma)),
});
