import { initTRPC, TRPCError } from "@trpc/server";
import { z } from "zod";
import type { PrismaClient, SqlClient } from "../prisma/mod.ts";
import type { Logger } from "../shared/mod.ts";
import { describeDatabaseError, isDatabaseUnavailable } from "./_database_errors.ts";
import type { EventHub } from "./event_hub.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

/** What every procedure gets. Built without HTTP, so tests call procedures with `createCaller`. */
export interface ServerContext {
  prisma: PrismaClient;
  /** Raw SQL through `pg`, for the path every task takes (scheduling): no ORM work per call. */
  sql: SqlClient;
  hub: EventHub;
  scaler: WorkerScaler;
  /** HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES: a worker silent longer is not online. */
  onlineWindowMs: number;
  log: Logger;
  /** HEARTBEAT_INTERVAL_MS: `events.onWorkers` re-reads this often while a worker is online. Default onlineWindowMs / 3. */
  heartbeatIntervalMs?: number;
  /** How often `events.onStats` and `events.onWorkers` may re-query, at most. Default 500 ms. */
  statsThrottleMs?: number;
}

/** Builds the context from its parts (the HTTP handler and tests call this alike). */
export function createContext(parts: ServerContext): ServerContext {
  return { ...parts };
}

const t = initTRPC.context<ServerContext>().create({
  // No stack traces in responses, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const zodError = cause instanceof z.ZodError ? cause : undefined;
    return {
      ...shape,
      message: zodError ? z.prettifyError(zodError) : shape.message,
      data: {
        ...shape.data,
        zodIssues: zodError ? zodError.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })) : null,
      },
    };
  },
  sse: {
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 40_000 },
  },
});

/** Turns "database unreachable" into SERVICE_UNAVAILABLE (HTTP 503) instead of a 500. */
const databaseErrors = t.middleware(async ({ next, ctx }) => {
  const result = await next();
  if (!result.ok && !(result.error.cause instanceof TRPCError) && isDatabaseUnavailable(result.error.cause ?? result.error)) {
    const message = `Database unavailable: ${describeDatabaseError(result.error.cause ?? result.error)}`;
    ctx.log.warn("procedure failed: database unavailable", { error: message });
    throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message, cause: result.error });
  }
  return result;
});

/** Builds routers. */
export const router = t.router;
/** Every procedure starts here. */
export const publicProcedure = t.procedure.use(databaseErrors);
/** `createCallerFactory(appRouter)(context)` calls procedures in-process. */
export const createCallerFactory = t.createCallerFactory;
