// The whole system as real processes on a real PostgreSQL: server (REST), coordinator, workers.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { attemptHistory, type TestDb, useTestDatabase } from "../prisma/testing.ts";
import { eventually, killAll, type RunningProcess, startProcess } from "./_process.ts";

const fast = { HEARTBEAT_INTERVAL_MS: "300", HEARTBEAT_MISSES: "6" };

let db: TestDb;
let coordinator: RunningProcess;
let server: RunningProcess;
let baseUrl: string;
let coordinatorAddress: string;

async function startCoordinator(): Promise<RunningProcess> {
  return await startProcess("coordinator", {
    DATABASE_URL: db.url,
    COORDINATOR_PORT: coordinatorAddress ? coordinatorAddress.split(":")[1]! : "0",
    LEASE_MS: "3000",
    LEASE_SWEEP_INTERVAL_MS: "500",
    ...fast,
  });
}

function startWorker(name: string, processMs: number): Promise<RunningProcess> {
  return startProcess(
    "worker",
    { COORDINATOR: coordinatorAddress, TASK_PROCESS_TIME: String(processMs), WORKER_ADDRESS: "127.0.0.1", ...fast },
    { name },
  );
}

async function handedOff(): Promise<bigint> {
  const [row] = await db.sql.query<{ value: bigint }>`SELECT value FROM counters WHERE name = 'tasks_handed_off'`;
  return row?.value ?? 0n;
}

async function statusOf(taskId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseUrl}/status?task_id=${taskId}`);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  db = await useTestDatabase();
  coordinatorAddress = "";
  coordinator = await startCoordinator();
  coordinatorAddress = `127.0.0.1:${coordinator.ready["port"]}`;
  server = await startProcess("server", {
    DATABASE_URL: db.url,
    SCHEDULER_PORT: "0",
    WORKERS: "0",
    COORDINATOR: coordinatorAddress,
    ...fast,
  });
  baseUrl = `http://127.0.0.1:${server.ready["port"]}`;
});
afterAll(async () => {
  await killAll();
  await db.close();
});

describe("TaskMaster end to end", () => {
  test("the seed's POST /schedule example reaches completed_at, and GET /status shows every time in the seed's format", async () => {
    const worker = await startWorker("w-e2e", 300);
    const res = await fetch(`${baseUrl}/schedule`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "process-data", scheduled_at: new Date().toISOString() }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { task_id: string; command: string; scheduled_at: number };
    expect(body.command).toBe("process-data");
    expect(typeof body.scheduled_at).toBe("number");
    const done = await eventually(async () => {
      const s = await statusOf(body.task_id);
      return s["completed_at"] !== "" ? s : null;
    });
    const seedTime = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
    for (const key of ["scheduled_at", "picked_at", "started_at", "completed_at"]) expect(done[key]).toMatch(seedTime);
    expect(done["failed_at"]).toBe("");
    expect(done["worker_id"]).toBe(worker.ready["worker_id"]);
    await worker.stop();
  });

  test("a task's start time is its handler's, whether its STARTED was sent (60 ms task) or not (15 ms task): on the task and its attempt", async () => {
    const worker = await startWorker("w-start", 300);
    for (const ms of [15, 60]) {
      const [{ id }] = (await db.sql.query`
        INSERT INTO tasks (id, command, payload, scheduled_at) VALUES (gen_random_uuid(), 'sleep', ${JSON.stringify({ ms })}::jsonb, now())
        RETURNING id::text AS id`) as [{ id: string }];
      const row = await eventually(async () => {
        const [r] = await db.sql.query<{ status: string; result: string; picked: number; started: number; completed: number; attempt_started: number }>`
          SELECT t.status::text AS status, t.result::text AS result, extract(epoch FROM t.picked_at) * 1000 AS picked, extract(epoch FROM t.started_at) * 1000 AS started,
                 extract(epoch FROM t.completed_at) * 1000 AS completed, extract(epoch FROM a.started_at) * 1000 AS attempt_started
            FROM tasks t JOIN task_attempt_history a ON a.task_id = t.id AND a.attempt = t.attempt WHERE t.id = ${id}::uuid`;
        return r?.status === "COMPLETED" ? r : null;
      });
      expect(row.result).toBe(`{"slept_ms": ${ms}}`); // the sleep handler ran
      const [picked, started, completed] = [Number(row.picked), Number(row.started), Number(row.completed)];
      expect(started).toBeGreaterThanOrEqual(picked);
      // The handler slept `ms` after it started: the start is the worker's, neither the completion's
      // nor (60 ms: its STARTED went 25 ms in) the STARTED report's arrival.
      expect(completed - started).toBeGreaterThanOrEqual(ms - 5);
      expect(Number(row.attempt_started)).toBe(started);
    }
    await worker.stop();
  });

  test("an idle system hands a new task to a slot its coordinator offered: PICKED in the INSERT that accepted it, dispatched without a claim, run once", async () => {
    const worker = await startWorker("w-handoff", 20);
    const workerId = BigInt(worker.ready["worker_id"] as number);
    const offered = async () =>
      (await db.sql.query<{ n: number }>`SELECT count(*)::int AS n FROM task_offers WHERE worker_id = ${workerId}`)[0]!.n;
    await eventually(async () => (await offered()) > 0, { what: "the idle coordinator to offer the new worker's slots" });
    const handedBefore = await handedOff();
    const res = await fetch(`${baseUrl}/schedule`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "process-data", scheduled_at: new Date().toISOString() }),
    });
    const { task_id: id } = (await res.json()) as { task_id: string };
    // The INSERT's own transaction picked it: its picked_at is its created_at (one now()).
    const [row] = await db.sql.query<{ created: Date; picked: Date; worker_id: bigint }>`
      SELECT created_at AS created, picked_at AS picked, worker_id FROM tasks WHERE id = ${id}::uuid`;
    expect(row!.picked).toEqual(row!.created);
    expect(row!.worker_id).toBe(workerId);
    await eventually(async () => (await statusOf(id))["completed_at"] !== "", { what: "the handed-off task to complete" });
    expect(await handedOff()).toBe(handedBefore + 1n);
    const attempts = await attemptHistory(db.sql, id);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.workerId])).toEqual([[1, "COMPLETED", Number(workerId)]]);
    await eventually(async () => (await offered()) > 0, { what: "the used offer to be replaced" });
    await worker.stop();
    await eventually(async () => (await offered()) === 0, { what: "a stopped worker's offers to be withdrawn" });
  });

  test("a worker killed with SIGKILL mid-task loses the task to another worker, where it completes", async () => {
    const victim = await startWorker("victim", 60_000);
    const task = await db.prisma.task.create({ data: { command: "long-job", scheduledAt: new Date() } });
    await eventually(async () => (await db.prisma.task.findUniqueOrThrow({ where: { id: task.id } })).status === "RUNNING", {
      what: "the task to start on the victim",
    });
    const survivor = await startWorker("survivor", 200);
    victim.child.kill("SIGKILL");
    const row = await eventually(
      async () => {
        const r = await db.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
        return r.status === "COMPLETED" ? r : null;
      },
      { what: "the task to complete on the survivor" },
    );
    expect(Number(row.workerId)).toBe(survivor.ready["worker_id"]);
    expect((await attemptHistory(db.sql, task.id)).map((a) => [a.attempt, a.outcome, a.workerId])).toEqual([
      [1, "LOST", victim.ready["worker_id"]],
      [2, "COMPLETED", survivor.ready["worker_id"]],
    ]);
    await survivor.stop();
  });

  test("stopping everything mid-run loses nothing: after a restart every unfinished task completes", async () => {
    const workers = await Promise.all([startWorker("r1", 1500), startWorker("r2", 1500)]);
    const res = await fetch(`${baseUrl}/api/schedule/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "restart-job", count: 20, delay_seconds: 0 }),
    });
    expect(res.status).toBe(200);
    const { task_ids } = (await res.json()) as { task_ids: string[] };
    await eventually(async () => (await db.prisma.task.count({ where: { id: { in: task_ids }, status: "RUNNING" } })) > 0);
    // Everything dies at once, as in a power cut.
    for (const p of [...workers, coordinator, server]) p.child.kill("SIGKILL");
    await Promise.all([...workers, coordinator, server].map((p) => p.exited));
    const unfinished = await db.prisma.task.count({ where: { id: { in: task_ids }, status: { not: "COMPLETED" } } });
    expect(unfinished).toBeGreaterThan(0);

    coordinator = await startCoordinator();
    server = await startProcess("server", { DATABASE_URL: db.url, SCHEDULER_PORT: "0", WORKERS: "0", ...fast });
    baseUrl = `http://127.0.0.1:${server.ready["port"]}`;
    const again = await Promise.all([startWorker("r3", 200), startWorker("r4", 200)]);
    await eventually(
      async () => (await db.prisma.task.count({ where: { id: { in: task_ids }, status: "COMPLETED" } })) === 20,
      { timeoutMs: 60_000, what: "all 20 tasks to complete after the restart" },
    );
    const stats = (await (await fetch(`${baseUrl}/api/stats`)).json()) as Record<string, number>;
    expect(stats["completed_tasks"]).toBeGreaterThanOrEqual(20);
    await Promise.all(again.map((w) => w.stop()));
  });
});
