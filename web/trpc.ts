// The dashboard's tRPC hooks, typed from the server's router (a type import: no server code is bundled).
import { createTRPCReact } from "@trpc/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../server/mod.ts";

/** `trpc.task.list.useQuery(...)`, `trpc.events.onStats.useSubscription(...)`, ... */
export const trpc = createTRPCReact<AppRouter>();

/** What each procedure returns, as the client receives it. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** A worker as `worker.list` and `events.onWorkers` give it (with `managed`: started by this server's scaler). */
export type WorkerEntry = RouterOutputs["worker"]["list"][number];

/** What `events.onWorkers` yields: the online workers and the scaler's processes. */
export type WorkersSnapshot = { workers: WorkerEntry[]; local: LocalWorkers };

/** `stats.throughput`: completed and failed per bucket, queue depth when sampled. */
export type ThroughputBucket = RouterOutputs["stats"]["throughput"][number];

/** `worker.local`: the scaler's kind and the worker processes it runs. */
export type LocalWorkers = RouterOutputs["worker"]["local"];
