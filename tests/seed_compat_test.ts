// The seed's own test scenarios, against a real coordinator process and workers written from the
// seed's proto text alone.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { attemptHistory, type TestDb, useTestDatabase } from "../prisma/testing.ts";
import { eventually, killAll, type RunningProcess, startProcess } from "./_process.ts";
import { loadSeedPackage, type SeedWorker, startSeedWorker } from "./_seed_worker.ts";

let db: TestDb;
let coordinator: RunningProcess;
let address: string;
const seedWorkers: SeedWorker[] = [];

beforeAll(async () => {
  db = await useTestDatabase();
  coordinator = await startProcess("coordinator", {
    DATABASE_URL: db.url,
    COORDINATOR_PORT: "0",
    HEARTBEAT_INTERVAL_MS: "300",
    HEARTBEAT_MISSES: "6",
  });
  address = `127.0.0.1:${coordinator.ready["port"]}`;
});
afterAll(async () => {
  await Promise.all(seedWorkers.map((w) => w.stop()));
  await killAll();
  await db.close();
});

function submit(data: string): Promise<{ task_id: string }> {
  const pkg = loadSeedPackage();
  const client = new pkg.CoordinatorService(address, grpc.credentials.createInsecure()) as unknown as {
    SubmitTask(r: object, cb: (e: grpc.ServiceError | null, v: { task_id: string }) => void): void;
    close(): void;
  };
  return new Promise((resolve, reject) =>
    client.SubmitTask({ data }, (error, value) => {
      client.close();
      if (error) reject(error);
      else resolve(value);
    }),
  );
}

describe("a coordinator serving workers built from the seed's proto", () => {
  test("Workers Not Available: SubmitTask answers the seed's error when no worker is registered", async () => {
    const error = await submit("echo hi").then(
      () => null,
      (e: grpc.ServiceError) => e,
    );
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error?.details).toBe("no workers available");
    expect(await db.prisma.task.count()).toBe(0);
  });

  test("E2E Success: a seed worker registers, receives a task and completes it", async () => {
    const worker = await startSeedWorker(address, { id: 3_000_000_001, processMs: 50, heartbeatMs: 300 });
    seedWorkers.push(worker);
    const task = await db.prisma.task.create({ data: { command: "process-data", scheduledAt: new Date() } });
    const done = await eventually(
      async () => {
        const row = await db.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
        return row.status === "COMPLETED" ? row : null;
      },
      { what: "the task to complete" },
    );
    expect(worker.received.map((r) => r.task_id)).toEqual([task.id]);
    expect(worker.received[0]!.data).toBe("process-data");
    expect(Number(done.workerId)).toBe(3_000_000_001);
    expect(done.pickedAt!.getTime()).toBeLessThanOrEqual(done.startedAt!.getTime());
    expect(done.startedAt!.getTime()).toBeLessThanOrEqual(done.completedAt!.getTime());
    expect(await attemptHistory(db.sql, task.id)).toMatchObject([{ attempt: 1, outcome: "COMPLETED", workerId: 3_000_000_001 }]);
    const row = await db.prisma.worker.findUniqueOrThrow({ where: { id: 3_000_000_001n } });
    expect(row).toMatchObject({ status: "ONLINE", capacity: 5, tasksCompleted: 1 });
    await worker.stop();
    seedWorkers.pop();
  });

  test("Task Load Balancing: 8 tasks submitted to 4 workers give each exactly 2", async () => {
    await eventually(async () => (await db.prisma.worker.count({ where: { status: "ONLINE" } })) === 0, {
      what: "the earlier worker to be declared dead",
    });
    const workers = await Promise.all(
      [11, 12, 13, 14].map((id) => startSeedWorker(address, { id, processMs: 100, heartbeatMs: 300 })),
    );
    seedWorkers.push(...workers);
    await eventually(async () => (await db.prisma.worker.count({ where: { status: "ONLINE" } })) === 4);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await submit(`task-${i}`)).task_id);
    await eventually(async () => (await db.prisma.task.count({ where: { id: { in: ids }, status: "COMPLETED" } })) === 8, {
      what: "8 tasks to complete",
    });
    expect(workers.map((w) => w.received.length)).toEqual([2, 2, 2, 2]);
    // A seed worker notes a completion once its COMPLETE call returns, just after the commit.
    await eventually(() => workers.flatMap((w) => w.completed).length === 8);
    expect(workers.flatMap((w) => w.completed).sort()).toEqual([...ids].sort());
  });
});
