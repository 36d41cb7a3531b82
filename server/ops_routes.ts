import type { PrismaClient } from "../prisma/mod.ts";
import { TASK_STATUSES } from "../shared/mod.ts";
import { describeDatabaseError } from "./_database_errors.ts";
import { sendJson } from "./_http.ts";
import type { RestRoute } from "./rest_routes.ts";
import { getTaskStats } from "./task_stats.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

/** What the operational endpoints need. */
export interface OpsDeps {
  prisma: PrismaClient;
  scaler: WorkerScaler;
  onlineWindowMs: number;
}

/** `GET /healthz` (200 when PostgreSQL answers, else 503) and `GET /metrics` (Prometheus text). */
export function createOpsRoutes(deps: OpsDeps): Map<string, RestRoute> {
  const healthz: RestRoute = {
    failurePrefix: "Unhealthy: ",
    methods: {
      GET: async ({ res }) => {
        try {
          await deps.prisma.$queryRaw`SELECT 1`;
          sendJson(res, 200, { status: "ok", database: "ok" });
        } catch (error) {
          sendJson(res, 503, { status: "unavailable", database: describeDatabaseError(error) });
        }
      },
    },
  };

  const metrics: RestRoute = {
    failurePrefix: "Failed to collect metrics. Error: ",
    methods: {
      GET: async ({ res }) => {
        const lines: string[] = [];
        let up = 1;
        try {
          const s = await getTaskStats(deps.prisma, { onlineWindowMs: deps.onlineWindowMs });
          lines.push("# HELP taskmaster_tasks Tasks by status.", "# TYPE taskmaster_tasks gauge");
          for (const status of TASK_STATUSES) lines.push(`taskmaster_tasks{status="${status}"} ${s.byStatus[status]}`);
          lines.push(
            "# HELP taskmaster_workers_online Workers with a fresh heartbeat.",
            "# TYPE taskmaster_workers_online gauge",
            `taskmaster_workers_online ${s.workersOnline}`,
            "# HELP taskmaster_tasks_completed_last_minute Tasks completed in the last 60 seconds.",
            "# TYPE taskmaster_tasks_completed_last_minute gauge",
            `taskmaster_tasks_completed_last_minute ${s.throughput.completedLastMinute}`,
          );
        } catch {
          up = 0;
        }
        lines.push(
          "# HELP taskmaster_local_workers Worker processes this server started.",
          "# TYPE taskmaster_local_workers gauge",
          `taskmaster_local_workers ${deps.scaler.list().length}`,
          "# HELP taskmaster_database_up 1 when the last query reached PostgreSQL.",
          "# TYPE taskmaster_database_up gauge",
          `taskmaster_database_up ${up}`,
        );
        const text = `${lines.join("\n")}\n`;
        res.writeHead(up ? 200 : 503, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
          "content-length": Buffer.byteLength(text),
          "cache-control": "no-store",
        });
        res.end(text);
      },
    },
  };

  return new Map([
    ["/healthz", healthz],
    ["/metrics", metrics],
  ]);
}
