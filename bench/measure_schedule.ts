// Figure 2, schedule throughput: tasks accepted per second through the server's batch endpoints.
import { createTRPCClient, httpLink, type TRPCClient } from "@trpc/client";
import type pg from "pg";
import type { AppRouter } from "../server/mod.ts";

/** The two batch endpoints measured. */
export type ScheduleVariant = "trpc" | "rest";

/** One schedule run. */
export interface ScheduleRun {
  variant: ScheduleVariant;
  tasks: number;
  calls: number;
  concurrency: number;
  seconds: number;
  tasksPerSecond: number;
}

/** A tRPC client for the server at `baseUrl` (one HTTP request per call, as the dashboard's mutations). */
export function trpcClient(baseUrl: string): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${baseUrl}/trpc` })] });
}

/**
 * Schedules `tasks` `noop` tasks through one endpoint, `perCall` per call with `concurrency` calls in
 * flight, timed from the first request sent to the last response received; then checks the database
 * holds exactly that many tasks. `task.scheduleBatch` (tRPC, via @trpc/client) or
 * `POST /api/schedule/batch` (REST, the seed's shape). Each call inserts in one statement.
 */
export async function measureSchedule(options: {
  variant: ScheduleVariant;
  baseUrl: string;
  trpc: TRPCClient<AppRouter>;
  db: pg.Pool;
  tasks: number;
  perCall: number;
  concurrency: number;
  /** Scheduled this far ahead so a running coordinator would leave them alone. */
  delaySeconds?: number;
}): Promise<ScheduleRun> {
  const { variant, tasks, perCall } = options;
  const delaySeconds = options.delaySeconds ?? 0;
  const counts: number[] = [];
  for (let left = tasks; left > 0; left -= perCall) counts.push(Math.min(perCall, left));
  const call = async (count: number): Promise<number> => {
    if (variant === "trpc") {
      const result = await options.trpc.task.scheduleBatch.mutate({ command: "noop", count, delaySeconds });
      return result.taskIds.length;
    }
    const response = await fetch(`${options.baseUrl}/api/schedule/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "noop", count, delay_seconds: delaySeconds }),
    });
    if (response.status !== 200) throw new Error(`POST /api/schedule/batch: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { task_ids: string[] };
    return body.task_ids.length;
  };
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < counts.length) {
        const n = await call(counts[next++]!);
        accepted += n;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await options.db.query<{ n: number }>("SELECT count(*)::int AS n FROM tasks");
  if (accepted !== tasks || rows[0]?.n !== tasks) {
    throw new Error(`schedule (${variant}): ${accepted} accepted, ${rows[0]?.n} in the database, expected ${tasks}`);
  }
  return { variant, tasks, calls: counts.length, concurrency: options.concurrency, seconds, tasksPerSecond: tasks / seconds };
}
