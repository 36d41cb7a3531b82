import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { localWorkers, withScalerInfo } from "./list_worker_snapshot.ts";
import { listWorkers } from "./list_workers.ts";
import { publicProcedure, router } from "./trpc.ts";
import { WorkerScalingDisabledError } from "./worker_scaler.ts";

/** The scaler's refusal to manage a worker it did not start (REST answers 409 with the same words). */
export function notManagedMessage(name: string): string {
  return `Worker ${name} was not started by this server; stop it where it runs`;
}

/** Workers: list, scale the local ones, kill one (resilience demo). */
export const workerRouter = router({
  /**
   * Workers by id: online ones, or all with `includeOffline`; `managed` when this server started it;
   * `lastHeartbeatAgeMs` by the database's clock. `events.onWorkers` pushes the same value.
   */
  list: publicProcedure
    .input(z.object({ includeOffline: z.boolean().default(false) }).default({ includeOffline: false }))
    .query(async ({ ctx, input }) => {
      const workers = await listWorkers(ctx.prisma, { onlineWindowMs: ctx.onlineWindowMs, includeOffline: input.includeOffline });
      return withScalerInfo(workers, ctx.scaler);
    }),

  /** Worker processes this server started (also those not yet registered with a coordinator). */
  local: publicProcedure.input(z.object({}).optional()).query(({ ctx }) => localWorkers(ctx.scaler)),

  /** Starts or stops local workers until `count` run. */
  scale: publicProcedure.input(z.object({ count: z.number().int().min(1).max(50) })).mutation(async ({ ctx, input }) => {
    try {
      await ctx.scaler.scale(input.count);
    } catch (error) {
      if (error instanceof WorkerScalingDisabledError) throw new TRPCError({ code: "NOT_IMPLEMENTED", message: error.message });
      throw error;
    }
    return { ok: true as const, count: input.count };
  }),

  /** Kills a worker this server started ("Worker-<id>" or the id) at once, without draining. */
  kill: publicProcedure.input(z.object({ name: z.string().trim().min(1, { error: "name is required" }).max(100) })).mutation(
    async ({ ctx, input }) => {
      const result = await ctx.scaler.kill(input.name);
      if (result === "not_found") throw new TRPCError({ code: "NOT_FOUND", message: `Worker not found: ${input.name}` });
      if (result === "not_managed") throw new TRPCError({ code: "CONFLICT", message: notManagedMessage(input.name) });
      return { ok: true as const, name: input.name };
    },
  ),
});
