import { z } from "zod";
import { getTaskStats } from "./task_stats.ts";
import { publicProcedure, router } from "./trpc.ts";

/** Counts for the dashboard's header. */
export const statsRouter = router({
  /** Tasks by status and by the seed's buckets, online workers, throughput over the last minute. */
  get: publicProcedure.input(z.object({}).optional()).query(({ ctx }) => getTaskStats(ctx.prisma, { onlineWindowMs: ctx.onlineWindowMs })),
});
