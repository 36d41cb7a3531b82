import { eventRouter } from "./event_router.ts";
import { statsRouter } from "./stats_router.ts";
import { taskRouter } from "./task_router.ts";
import { createCallerFactory, router } from "./trpc.ts";
import { workerRouter } from "./worker_router.ts";

/** Every tRPC procedure the server offers at /trpc. */
export const appRouter = router({
  task: taskRouter,
  worker: workerRouter,
  stats: statsRouter,
  events: eventRouter,
});

/** The router's type: what the dashboard imports (type-only) for its client. */
export type AppRouter = typeof appRouter;

/** Calls procedures in-process: `createCaller(createContext({...})).task.list({})`. */
export const createCaller = createCallerFactory(appRouter);
