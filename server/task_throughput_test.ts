import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import type { TaskStatusName } from "../shared/mod.ts";
import { createCaller } from "./app_router.ts";
import { createEventHub } from "./event_hub.ts";
import { createQueueDepthSamples } from "./queue_depth_samples.ts";
import { taskThroughput } from "./task_throughput.ts";
import { captureLogger } from "./testing.ts";
import { createContext } from "./trpc.ts";
import { createDisabledWorkerScaler } from "./worker_scaler.ts";

let db: TestDb;

beforeAll(async () => {
  db = await useTestDatabase();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await db.prisma.task.deleteMany();
});

const at = new Date("2030-01-01T00:10:02.500Z");
const time = (hhmmss: string) => new Date(`2030-01-01T00:${hhmmss}Z`);

async function insert(rows: { status: TaskStatusName; completedAt?: Date; failedAt?: Date }[]): Promise<void> {
  await db.prisma.task.createMany({
    data: rows.map((r, i) => ({ command: `t${i}`, scheduledAt: time("00:00"), ...r })),
  });
}

describe("taskThroughput()", () => {
  it("`taskThroughput()` counts completed_at and failed_at per bucket, bounds included, oldest first", async () => {
    await insert([
      { status: "COMPLETED", completedAt: time("10:01.000") },
      { status: "COMPLETED", completedAt: time("10:00.000") }, // first instant of the last bucket
      { status: "COMPLETED", completedAt: time("09:59.999") },
      { status: "COMPLETED", completedAt: time("09:05.000") }, // first instant of the window
      { status: "COMPLETED", completedAt: time("09:04.999") }, // before the window
      { status: "COMPLETED", completedAt: time("10:05.000") }, // after the window
      { status: "FAILED", failedAt: time("09:30.000") },
      { status: "DEAD", failedAt: time("09:34.999") },
      { status: "DEAD", failedAt: time("08:00.000") }, // before the window
      { status: "CANCELLED" },
      { status: "SCHEDULED" },
    ]);
    const buckets = await taskThroughput(db.prisma, { minutes: 1, bucketSeconds: 5, at });
    expect(buckets).toHaveLength(12);
    expect(buckets[0]?.t).toBe("2030-01-01T00:09:05.000Z");
    expect(buckets[11]?.t).toBe("2030-01-01T00:10:00.000Z");
    const byT = Object.fromEntries(buckets.filter((b) => b.completed || b.failed).map((b) => [b.t.slice(14, 19), [b.completed, b.failed]]));
    expect(byT).toEqual({ "09:05": [1, 0], "09:30": [0, 2], "09:55": [1, 0], "10:00": [2, 0] });
    expect(buckets.every((b) => b.queued === null)).toBe(true);
  });

  it("`taskThroughput()` gives ceil(minutes * 60 / bucketSeconds) buckets aligned on the epoch", async () => {
    const buckets = await taskThroughput(db.prisma, { minutes: 1, bucketSeconds: 7, at });
    expect(buckets).toHaveLength(9);
    for (const b of buckets) expect(new Date(b.t).getTime() % 7000).toBe(0);
    expect(new Date(buckets[8]!.t).getTime()).toBeLessThanOrEqual(at.getTime());
    expect(new Date(buckets[8]!.t).getTime() + 7000).toBeGreaterThan(at.getTime());
  });

  it("`taskThroughput()` takes `queued` from the last queue depth sample in each bucket, null where none", async () => {
    const samples = createQueueDepthSamples();
    samples.record(time("09:06.000").getTime(), 3);
    samples.record(time("09:08.000").getTime(), 5);
    samples.record(time("10:01.000").getTime(), 7);
    const buckets = await taskThroughput(db.prisma, { minutes: 1, bucketSeconds: 5, at, samples });
    expect(buckets.map((b) => b.queued)).toEqual([5, null, null, null, null, null, null, null, null, null, null, 7]);
  });

  it("`taskThroughput()` rejects a window or bucket out of range with a RangeError naming it", async () => {
    await expect(taskThroughput(db.prisma, { minutes: 0, bucketSeconds: 5 })).rejects.toThrow(
      new RangeError("Cannot compute throughput as 'minutes' must be an integer from 1 to 60: current value is 0"),
    );
    await expect(taskThroughput(db.prisma, { minutes: 5, bucketSeconds: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe("stats.throughput", () => {
  it("`stats.throughput` defaults to 5 minutes of 5 s buckets by the database's clock, `queued` sampled by stats.get", async () => {
    const { log } = captureLogger();
    const caller = createCaller(
      createContext({ prisma: db.prisma, sql: db.sql, hub: createEventHub({ log }), scaler: createDisabledWorkerScaler(async () => false), onlineWindowMs: 15_000, log }),
    );
    await db.prisma.$executeRaw`INSERT INTO tasks (id, command, scheduled_at, status, completed_at) VALUES (gen_random_uuid(), 'a', now(), 'COMPLETED', now() - interval '1 second')`;
    await insert([{ status: "SCHEDULED" }, { status: "SCHEDULED" }]);
    const stats = await caller.stats.get();
    expect(stats.byStatus.SCHEDULED).toBe(2);
    const buckets = await caller.stats.throughput();
    expect(buckets).toHaveLength(60);
    expect(Object.keys(buckets[0]!).sort()).toEqual(["completed", "failed", "queued", "t"]);
    expect(buckets.reduce((n, b) => n + b.completed, 0)).toBe(1);
    // The sample lands in the last bucket, or the one before when a bucket boundary passed meanwhile.
    expect(buckets.slice(-2).some((b) => b.queued === 2)).toBe(true);
    expect(buckets.slice(0, -2).every((b) => b.queued === null)).toBe(true);
  });

  it("`stats.throughput` answers BAD_REQUEST for minutes above 60", async () => {
    const { log } = captureLogger();
    const caller = createCaller(
      createContext({ prisma: db.prisma, sql: db.sql, hub: createEventHub({ log }), scaler: createDisabledWorkerScaler(async () => false), onlineWindowMs: 15_000, log }),
    );
    const error = await caller.stats.throughput({ minutes: 61 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
  });
});
