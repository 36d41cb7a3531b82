import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { attemptHistory, useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { createCaller } from "./app_router.ts";
import { createEventHub } from "./event_hub.ts";
import { createContext } from "./trpc.ts";
import { captureLogger } from "./testing.ts";
import { createDisabledWorkerScaler } from "./worker_scaler.ts";

let db: TestDb;
let caller: ReturnType<typeof createCaller>;

beforeAll(async () => {
  db = await useTestDatabase();
  const { log } = captureLogger();
  caller = createCaller(
    createContext({
      prisma: db.prisma,
      sql: db.sql,
      hub: createEventHub({ log }),
      scaler: createDisabledWorkerScaler(async () => false),
      onlineWindowMs: 15_000,
      log,
    }),
  );
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await db.prisma.task.deleteMany();
});

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe("task.schedule", () => {
  it("`task.schedule` creates a SCHEDULED task due now by the database's clock", async () => {
    const { task, created } = await caller.task.schedule({ command: "noop", payload: { x: [1, 2] }, priority: 5 });
    expect(created).toBe(true);
    expect(task).toMatchObject({ command: "noop", status: "SCHEDULED", priority: 5, attempt: 0, maxAttempts: 3, workerId: null });
    expect(Math.abs(new Date(task.scheduledAt).getTime() - Date.now())).toBeLessThan(60_000);
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row.payload).toEqual({ x: [1, 2] });
  });

  it("`task.schedule` accepts runAt as ISO text or epoch milliseconds", async () => {
    const a = await caller.task.schedule({ command: "a", runAt: "2030-05-01T12:00:00Z" });
    const b = await caller.task.schedule({ command: "b", runAt: Date.UTC(2030, 4, 1, 12) });
    expect(a.task.scheduledAt).toBe("2030-05-01T12:00:00.000Z");
    expect(b.task.scheduledAt).toBe("2030-05-01T12:00:00.000Z");
  });

  it("`task.schedule` with a used idempotencyKey returns the same task and creates nothing", async () => {
    const first = await caller.task.schedule({ command: "once", idempotencyKey: "invoice-17" });
    const second = await caller.task.schedule({ command: "once", idempotencyKey: "invoice-17" });
    expect(second.created).toBe(false);
    expect(second.task.id).toBe(first.task.id);
    expect(await db.prisma.task.count()).toBe(1);
  });

  it("`task.schedule` with concurrent calls on one idempotencyKey creates one task", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => caller.task.schedule({ command: "race", idempotencyKey: "k" })));
    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it.each([
    [{ command: "" }, "command must not be empty"],
    [{ command: "x".repeat(1001) }, "command must be at most 1000 characters"],
    [{ command: "x", runAt: "2026-02-30T00:00:00Z" }, "Invalid date format. Use ISO 8601 format."],
    [{ command: "x", priority: 1001 }, "priority"],
    [{ command: "x", maxAttempts: 0 }, "maxAttempts"],
    [{ command: 12 }, "command"],
  ])("`task.schedule` rejects %j as BAD_REQUEST with zod's message", async (input, message) => {
    const error = await rejection(caller.task.schedule(input as never));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain(message);
    expect(await db.prisma.task.count()).toBe(0);
  });
});

describe("task.scheduleBatch", () => {
  it("`task.scheduleBatch` inserts count tasks in one statement", async () => {
    const batch = await caller.task.scheduleBatch({ command: "bulk", count: 25, delaySeconds: 60 });
    expect(batch.count).toBe(25);
    expect(batch.taskIds).toHaveLength(25);
    expect(new Date(batch.scheduledAt).getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(await db.prisma.task.count({ where: { command: "bulk" } })).toBe(25);
  });

  it("`task.scheduleBatch` answers the ids of the rows it inserted and their exact due time", async () => {
    const batch = await caller.task.scheduleBatch({ command: "exact", count: 40, delaySeconds: 12.3456, priority: 7, payload: { n: 1 } });
    const rows = await db.prisma.task.findMany({ where: { command: "exact" }, select: { id: true, scheduledAt: true, priority: true, payload: true, status: true } });
    expect(new Set(batch.taskIds)).toEqual(new Set(rows.map((r) => r.id)));
    expect(new Set(batch.taskIds).size).toBe(40);
    for (const row of rows) {
      expect(row).toMatchObject({ priority: 7, payload: { n: 1 }, status: "SCHEDULED" });
      expect(row.scheduledAt.toISOString()).toBe(batch.scheduledAt);
    }
  });

  it.each([0, 1001])("`task.scheduleBatch` rejects count %i", async (count) => {
    const error = await rejection(caller.task.scheduleBatch({ command: "bulk", count }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(await db.prisma.task.count()).toBe(0);
  });
});

describe("task.get", () => {
  it("`task.get` returns the task with every attempt, oldest first, the one in flight read off the task row", async () => {
    const pickedAt = new Date(Date.now() - 2000);
    const startedAt = new Date(Date.now() - 1000);
    const task = await db.prisma.task.create({
      data: {
        command: "flaky", scheduledAt: new Date(), status: "RUNNING", attempt: 2, workerId: 4_294_967_295n, coordinatorId: "c9",
        pickedAt, startedAt, result: undefined,
      },
    });
    await db.prisma.taskAttempt.create({ data: { taskId: task.id, attempt: 1, workerId: 9n, outcome: "LOST", error: "worker lost", finishedAt: new Date() } });
    const detail = await caller.task.get({ id: task.id });
    expect(detail).toMatchObject({ id: task.id, status: "RUNNING", attempt: 2, workerId: 4_294_967_295, workerName: "Worker-4294967295" });
    expect(detail.attempts.map((a) => [a.attempt, a.outcome, a.workerId, a.error])).toEqual([
      [1, "LOST", 9, "worker lost"],
      [2, "RUNNING", 4_294_967_295, null],
    ]);
    expect(detail.attempts[1]).toMatchObject({ coordinatorId: "c9", pickedAt: pickedAt.toISOString(), startedAt: startedAt.toISOString(), finishedAt: null });
    expect(JSON.stringify(detail)).not.toContain("lease_expires_at");
  });

  it("`task.get` of a COMPLETED task shows the attempt that completed it, read off the task row, as task_attempt_history lists it", async () => {
    const pickedAt = new Date(Date.now() - 3000);
    const startedAt = new Date(Date.now() - 2000);
    const completedAt = new Date(Date.now() - 1000);
    const task = await db.prisma.task.create({
      data: { command: "flaky", scheduledAt: new Date(), status: "COMPLETED", attempt: 2, workerId: 5n, coordinatorId: "c2", pickedAt, startedAt, completedAt },
    });
    await db.prisma.taskAttempt.create({ data: { taskId: task.id, attempt: 1, workerId: 9n, outcome: "FAILED", error: "boom", finishedAt: pickedAt } });
    const detail = await caller.task.get({ id: task.id });
    expect(detail.attempts.map((a) => [a.attempt, a.outcome, a.workerId, a.coordinatorId, a.error])).toEqual([
      [1, "FAILED", 9, null, "boom"],
      [2, "COMPLETED", 5, "c2", null],
    ]);
    expect(detail.attempts[1]).toMatchObject({ pickedAt: pickedAt.toISOString(), startedAt: startedAt.toISOString(), finishedAt: completedAt.toISOString() });
    const history = await attemptHistory(db.sql, task.id);
    expect(history.map((h) => [h.attempt, h.outcome, h.workerId, h.finishedAt?.toISOString()])).toEqual(
      detail.attempts.map((a) => [a.attempt, a.outcome, a.workerId, a.finishedAt]),
    );
  });

  it("`task.get` shows an attempt row an older coordinator opened at its claim once, not twice", async () => {
    const task = await db.prisma.task.create({
      data: { command: "flaky", scheduledAt: new Date(), status: "PICKED", attempt: 1, workerId: 3n, pickedAt: new Date() },
    });
    await db.prisma.taskAttempt.create({ data: { taskId: task.id, attempt: 1, workerId: 3n, outcome: "RUNNING" } });
    const detail = await caller.task.get({ id: task.id });
    expect(detail.attempts.map((a) => [a.attempt, a.outcome, a.workerId])).toEqual([[1, "RUNNING", 3]]);
  });

  it("`task.get` of an unknown id is NOT_FOUND and of a non-UUID BAD_REQUEST", async () => {
    expect((await rejection(caller.task.get({ id: "f47ac10b-58cc-4372-a567-0e02b2c3d479" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller.task.get({ id: "nope" }))).code).toBe("BAD_REQUEST");
  });
});

describe("task.list", () => {
  it("`task.list` pages newest first with a cursor, across tasks created in one statement", async () => {
    await caller.task.scheduleBatch({ command: "page", count: 7 });
    const later = await caller.task.schedule({ command: "newest" });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof caller.task.list>> = await caller.task.list({ limit: 3, cursor });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    expect(seen[0]).toBe(later.task.id);
  });

  it("`task.list` filters by status, command and workerId", async () => {
    await db.prisma.task.createMany({
      data: [
        { command: "a", scheduledAt: new Date(), status: "RUNNING", workerId: 11n },
        { command: "a", scheduledAt: new Date(), status: "COMPLETED", workerId: 11n },
        { command: "b", scheduledAt: new Date(), status: "RUNNING", workerId: 12n },
      ],
    });
    expect((await caller.task.list({ status: "RUNNING" })).items).toHaveLength(2);
    expect((await caller.task.list({ command: "a" })).items).toHaveLength(2);
    const mine = await caller.task.list({ workerId: 11, status: "RUNNING" });
    expect(mine.items.map((i) => [i.command, i.workerId])).toEqual([["a", 11]]);
    expect(mine.nextCursor).toBeNull();
  });

  it("`task.list` keeps the tasks whose status is in `statuses`, with `status`, command and paging alike", async () => {
    await db.prisma.task.createMany({
      data: [
        { command: "a", scheduledAt: new Date(), status: "PICKED" },
        { command: "a", scheduledAt: new Date(), status: "RUNNING" },
        { command: "b", scheduledAt: new Date(), status: "RUNNING" },
        { command: "a", scheduledAt: new Date(), status: "COMPLETED" },
        { command: "a", scheduledAt: new Date(), status: "DEAD" },
        { command: "a", scheduledAt: new Date(), status: "SCHEDULED" },
      ],
    });
    const statusesOf = (page: { items: { status: string }[] }) => page.items.map((i) => i.status).sort();
    expect(statusesOf(await caller.task.list({ statuses: ["PICKED", "RUNNING"] }))).toEqual(["PICKED", "RUNNING", "RUNNING"]);
    expect(statusesOf(await caller.task.list({ statuses: ["COMPLETED", "FAILED", "DEAD", "CANCELLED"] }))).toEqual(["COMPLETED", "DEAD"]);
    expect(statusesOf(await caller.task.list({ statuses: ["RUNNING", "RUNNING"], command: "a" }))).toEqual(["RUNNING"]);
    // Both filters hold: the intersection.
    expect(statusesOf(await caller.task.list({ status: "RUNNING", statuses: ["PICKED", "RUNNING"] }))).toEqual(["RUNNING", "RUNNING"]);
    expect((await caller.task.list({ status: "DEAD", statuses: ["PICKED"] })).items).toEqual([]);
    const first = await caller.task.list({ statuses: ["PICKED", "RUNNING"], limit: 2 });
    expect(first.items).toHaveLength(2);
    const rest = await caller.task.list({ statuses: ["PICKED", "RUNNING"], limit: 2, cursor: first.nextCursor });
    expect(rest.items).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
  });

  it("`task.list` rejects an empty or unknown `statuses` as BAD_REQUEST", async () => {
    const empty = await rejection(caller.task.list({ statuses: [] }));
    expect(empty.code).toBe("BAD_REQUEST");
    expect(empty.message).toContain("statuses must name at least one status");
    expect((await rejection(caller.task.list({ statuses: ["DONE" as "DEAD"] }))).code).toBe("BAD_REQUEST");
  });

  it("`task.list` rejects a malformed cursor and a limit over 200 as BAD_REQUEST", async () => {
    expect((await rejection(caller.task.list({ cursor: "garbage" }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.task.list({ limit: 201 }))).code).toBe("BAD_REQUEST");
  });
});

describe("worker procedures", () => {
  it("`worker.list` returns online workers with numeric ids", async () => {
    await db.prisma.worker.deleteMany();
    await db.prisma.worker.create({ data: { id: 4_000_000_000n, address: "h:1", handlers: ["sleep"] } });
    const workers = await caller.worker.list();
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ id: 4_000_000_000, name: "Worker-4000000000", online: true, managed: false, handlers: ["sleep"] });
  });

  it("`worker.scale` validates count 1..50 and `worker.kill` answers NOT_FOUND for an unknown worker", async () => {
    expect((await rejection(caller.worker.scale({ count: 0 }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.worker.scale({ count: 51 }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.worker.scale({ count: 2 }))).code).toBe("NOT_IMPLEMENTED");
    const missing = await rejection(caller.worker.kill({ name: "Worker-5" }));
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.message).toBe("Worker not found: Worker-5");
  });
});
