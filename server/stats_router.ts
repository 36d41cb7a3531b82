import { z } from "zod";
import { guaranteeStats } from "./guarantee_stats.ts";
import { getTaskStats } from "./task_stats.ts";
import { publicProcedure, router } from "./trpc.ts";

/** Counts for the dashboard's header and its guarantee panel. */
export const statsRouter = router({
  /** Tasks by status and by the seed's buckets, online workers, throughput over the last minute. */
  get: publicProcedure.input(z.object({}).optional()).query(({ ctx }) => getTaskStats(ctx.prisma, { onlineWindowMs: ctx.onlineWindowMs })),

  /**
   * The figures that prove nothing accepted was lost: accepted, finished, in flight, queued, lost
   * (must be 0), tasks run more than once and why, stale reports rejected, leases swept, requeues.
   */
  guarantees: publicProcedure.input(z.object({}).optional()).query(({ ctx }) => guaranteeStats(ctx.prisma)),
});
