import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TASK_STATUSES } from "../shared/mod.ts";
import { createCaller } from "./app_router.ts";
import { getTaskStats } from "./task_stats.ts";
import { getJson, startTestServer, type TestServer } from "./testing.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  // 1 SCHEDULED, 2 PICKED, 3 RUNNING, 4 COMPLETED, 5 FAILED, 6 DEAD, 7 CANCELLED: 28 tasks.
  await t.db.prisma.task.createMany({
    data: TASK_STATUSES.flatMap((status, i) =>
      Array.from({ length: i + 1 }, () => ({
        command: `in-${status}`,
        scheduledAt: new Date(),
        status,
        completedAt: status === "COMPLETED" ? new Date() : null,
      })),
    ),
  });
  await t.db.prisma.worker.createMany({
    data: [
      { id: 1n, address: "a:1" },
      { id: 2n, address: "a:2", status: "DRAINING" },
      { id: 3n, address: "a:3", status: "OFFLINE" },
      { id: 4n, address: "a:4", lastHeartbeatAt: new Date(Date.now() - 3_600_000) },
    ],
  });
});
afterAll(async () => {
  await t?.close();
});

describe("task stats", () => {
  it("`getTaskStats()` counts every status and puts every task in exactly one seed bucket", async () => {
    const s = await getTaskStats(t.db.prisma, { onlineWindowMs: 15_000 });
    expect(s.byStatus).toEqual({ SCHEDULED: 1, PICKED: 2, RUNNING: 3, COMPLETED: 4, FAILED: 5, DEAD: 6, CANCELLED: 7 });
    expect(s).toMatchObject({ total: 28, pending: 1, running: 5, completed: 4, failed: 18, dead: 6, cancelled: 7 });
    expect(s.pending + s.running + s.completed + s.failed).toBe(s.total);
    expect(s.workersOnline).toBe(2);
    expect(s.noWorkers).toBe(false);
    expect(s.throughput.completedLastMinute).toBe(4);
  });

  it("`GET /api/stats` answers the seed's buckets and the online workers", async () => {
    const { status, body } = await getJson(`${t.url}/api/stats`);
    expect(status).toBe(200);
    const b = body as Record<string, unknown>;
    expect(Object.keys(b)).toEqual(["total_tasks", "pending_tasks", "running_tasks", "completed_tasks", "failed_tasks", "workers"]);
    expect(b).toMatchObject({ total_tasks: 28, pending_tasks: 1, running_tasks: 5, completed_tasks: 4, failed_tasks: 18 });
    expect((b["workers"] as { name: string; status: string }[]).map((w) => [w.name, w.status])).toEqual([
      ["Worker-1", "idle"],
      ["Worker-2", "draining"],
    ]);
  });

  it("`stats.get` answers the same counts through tRPC", async () => {
    const stats = await createCaller(t.server.context).stats.get();
    expect(stats).toMatchObject({ total: 28, failed: 18, workersOnline: 2, noWorkers: false });
  });

  it("`getTaskStats()` says noWorkers when no heartbeat is fresh", async () => {
    const s = await getTaskStats(t.db.prisma, { onlineWindowMs: 1 });
    expect(s.workersOnline).toBe(0);
    expect(s.noWorkers).toBe(true);
  });

  it("`GET /metrics` exposes tasks by status and workers online as Prometheus text", async () => {
    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
    const text = await response.text();
    expect(text).toContain('taskmaster_tasks{status="DEAD"} 6');
    expect(text).toContain('taskmaster_tasks{status="SCHEDULED"} 1');
    expect(text).toContain("taskmaster_workers_online 2");
    expect(text).toContain("taskmaster_database_up 1");
  });
});
