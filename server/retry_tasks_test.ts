import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TaskStatus } from "../prisma/mod.ts";
import { createCaller } from "./app_router.ts";
import { retryTask, retryTasks } from "./retry_tasks.ts";
import { postJson, startTestServer, type TestServer } from "./testing.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.db.prisma.task.deleteMany();
});

const MISSING = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
const LONG_AGO = new Date("2026-01-01T00:00:00Z");

/** A task that ended in `status` after 3 attempts (or is still in it), with everything a retry must clear. */
async function taskIn(status: TaskStatus, command = "job", createdAt?: Date): Promise<string> {
  const ended = status === "DEAD" || status === "FAILED" || status === "CANCELLED" || status === "COMPLETED";
  const task = await t.db.prisma.task.create({
    data: {
      command,
      scheduledAt: LONG_AGO,
      status,
      attempt: 3,
      failures: status === "DEAD" ? 3 : 1,
      maxAttempts: 3,
      workerId: 7n,
      coordinatorId: "c1",
      leaseExpiresAt: status === "PICKED" || status === "RUNNING" ? new Date(Date.now() + 30_000) : null,
      pickedAt: LONG_AGO,
      startedAt: LONG_AGO,
      completedAt: status === "COMPLETED" ? LONG_AGO : null,
      failedAt: status === "DEAD" || status === "FAILED" ? LONG_AGO : null,
      progress: ended ? 60 : 10,
      lastError: "boom",
      ...(createdAt ? { createdAt } : {}),
    },
  });
  return task.id;
}

async function everything(): Promise<string> {
  const tasks = await t.db.prisma.task.findMany({ orderBy: { id: "asc" } });
  return JSON.stringify(tasks, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

async function databaseNow(): Promise<Date> {
  const [row] = await t.db.prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
  return row!.now;
}

/** Asserts `id` was sent back to the queue as a retry must: attempt kept, failures reset, due now. */
async function expectRequeued(id: string, since: Date) {
  const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id } });
  expect(row).toMatchObject({
    status: "SCHEDULED",
    attempt: 3,
    failures: 0,
    lastError: "boom",
    completedAt: null,
    failedAt: null,
    workerId: null,
    leaseExpiresAt: null,
    coordinatorId: null,
    progress: 0,
  });
  expect(row.scheduledAt.getTime()).toBeGreaterThanOrEqual(since.getTime());
  expect(row.scheduledAt.getTime()).toBeLessThanOrEqual((await databaseNow()).getTime());
}

describe("retryTask()", () => {
  it.each(["DEAD", "FAILED", "CANCELLED"] as const)(
    "`retryTask()` sends a %s task back to the queue due now, keeping attempt and last_error, resetting failures",
    async (status) => {
      const id = await taskIn(status);
      const since = await databaseNow();
      const result = await retryTask(t.db.prisma, id);
      expect(result).toMatchObject({ outcome: "retried", previousStatus: status, task: { id, status: "SCHEDULED", attempt: 3 } });
      await expectRequeued(id, since);
    },
  );

  it.each(["SCHEDULED", "PICKED", "RUNNING", "COMPLETED"] as const)("`retryTask()` refuses a %s task and changes nothing", async (status) => {
    const id = await taskIn(status);
    const before = await everything();
    expect(await retryTask(t.db.prisma, id)).toEqual({ outcome: "not_retryable", status });
    expect(await everything()).toBe(before);
  });

  it("`retryTask()` says not_found for an unknown id", async () => {
    expect(await retryTask(t.db.prisma, MISSING)).toEqual({ outcome: "not_found" });
  });
});

describe("retryTasks()", () => {
  it("`retryTasks()` retries every task in the status, optionally of one command, and nothing else", async () => {
    const deadA = [await taskIn("DEAD", "a"), await taskIn("DEAD", "a")];
    const deadB = await taskIn("DEAD", "b");
    const failedA = await taskIn("FAILED", "a");
    const running = await taskIn("RUNNING", "a");
    const since = await databaseNow();

    const onlyA = await retryTasks(t.db.prisma, { status: "DEAD", command: "a" });
    expect(onlyA).toEqual({ count: 2, taskIds: expect.arrayContaining(deadA), capped: false });
    for (const id of deadA) await expectRequeued(id, since);
    expect((await t.db.prisma.task.findUniqueOrThrow({ where: { id: deadB } })).status).toBe("DEAD");

    expect(await retryTasks(t.db.prisma, { status: "DEAD" })).toEqual({ count: 1, taskIds: [deadB], capped: false });
    expect(await retryTasks(t.db.prisma, { status: "FAILED" })).toEqual({ count: 1, taskIds: [failedA], capped: false });
    expect(await retryTasks(t.db.prisma, { status: "CANCELLED" })).toEqual({ count: 0, taskIds: [], capped: false });
    expect((await t.db.prisma.task.findUniqueOrThrow({ where: { id: running } })).status).toBe("RUNNING");
  });

  it("`retryTasks()` takes at most `limit`, the oldest first, and says it was capped", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await taskIn("DEAD", "job", new Date(LONG_AGO.getTime() + i * 1000)));
    const first = await retryTasks(t.db.prisma, { status: "DEAD", limit: 3 });
    expect(first).toEqual({ count: 3, taskIds: ids.slice(0, 3), capped: true });
    expect(await retryTasks(t.db.prisma, { status: "DEAD", limit: 2 })).toEqual({ count: 2, taskIds: ids.slice(3), capped: false });
  });

  it("`retryTasks()` rejects a limit outside 1..10000 with a RangeError", async () => {
    await expect(retryTasks(t.db.prisma, { status: "DEAD", limit: 0 })).rejects.toThrow(RangeError);
    await expect(retryTasks(t.db.prisma, { status: "DEAD", limit: 10_001 })).rejects.toThrow("from 1 to 10000");
  });
});

describe("task.retry and task.retryMany", () => {
  async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TRPCError);
    return error as TRPCError;
  }

  it("`task.retry` retries a dead task; CONFLICT for a running one and NOT_FOUND for an unknown id, changing nothing", async () => {
    const caller = createCaller(t.server.context);
    const dead = await taskIn("DEAD");
    const answer = await caller.task.retry({ id: dead });
    expect(answer).toMatchObject({ previousStatus: "DEAD", task: { id: dead, status: "SCHEDULED", attempt: 3, failedAt: null } });

    const running = await taskIn("RUNNING");
    const before = await everything();
    const conflict = await rejection(caller.task.retry({ id: running }));
    expect(conflict.code).toBe("CONFLICT");
    expect(conflict.message).toBe(`Task ${running} is RUNNING: only DEAD, FAILED, CANCELLED tasks can be retried`);
    expect((await rejection(caller.task.retry({ id: MISSING }))).code).toBe("NOT_FOUND");
    expect(await everything()).toBe(before);
  });

  it("`task.retryMany` retries DEAD tasks by default, or the status and command given", async () => {
    const caller = createCaller(t.server.context);
    const dead = await taskIn("DEAD", "x");
    const cancelled = await taskIn("CANCELLED", "y");
    await taskIn("CANCELLED", "z");
    expect(await caller.task.retryMany()).toEqual({ count: 1, taskIds: [dead], capped: false, message: null });
    expect(await caller.task.retryMany({ status: "CANCELLED", command: "y" })).toMatchObject({ count: 1, taskIds: [cancelled] });
    expect((await rejection(caller.task.retryMany({ status: "RUNNING" as never }))).code).toBe("BAD_REQUEST");
  });
});

describe("POST /api/tasks/<id>/retry and POST /api/tasks/retry", () => {
  it("`POST /api/tasks/<id>/retry` answers {ok, task_id, status, previous_status}; 409, 404 and 400 change nothing", async () => {
    const failed = await taskIn("FAILED");
    expect(await postJson(`${t.url}/api/tasks/${failed}/retry`, {})).toMatchObject({
      status: 200,
      body: { ok: true, task_id: failed, status: "SCHEDULED", previous_status: "FAILED" },
    });
    const completed = await taskIn("COMPLETED");
    const before = await everything();
    expect(await postJson(`${t.url}/api/tasks/${completed}/retry`, {})).toMatchObject({
      status: 409,
      body: { error: `Task ${completed} is COMPLETED: only DEAD, FAILED, CANCELLED tasks can be retried` },
    });
    expect(await postJson(`${t.url}/api/tasks/${MISSING}/retry`, {})).toMatchObject({ status: 404, body: { error: "Task not found" } });
    expect((await postJson(`${t.url}/api/tasks/not-a-uuid/retry`, {})).status).toBe(400);
    expect(await everything()).toBe(before);
  });

  it("`POST /api/tasks/retry` answers {count, task_ids, capped}, DEAD by default", async () => {
    const dead = await taskIn("DEAD", "mail");
    const failed = await taskIn("FAILED", "mail");
    expect(await postJson(`${t.url}/api/tasks/retry`, "")).toMatchObject({ status: 200, body: { count: 1, task_ids: [dead], capped: false } });
    expect(await postJson(`${t.url}/api/tasks/retry`, { status: "failed", command: "mail" })).toMatchObject({
      status: 200,
      body: { count: 1, task_ids: [failed], capped: false },
    });
  });

  it.each([
    [{ status: "RUNNING" }, "status must be one of DEAD, FAILED, CANCELLED"],
    [{ status: 3 }, "status must be a string, got a number"],
    [{ command: "" }, "command must not be empty (omit it to retry tasks with any command)"],
    [{ command: ["a"] }, "command must be a string, got an array"],
    [{ command: "x".repeat(1001) }, "command must be at most 1000 characters"],
  ])("`POST /api/tasks/retry` with %j answers 400 and changes nothing", async (body, error) => {
    await taskIn("DEAD");
    const before = await everything();
    expect(await postJson(`${t.url}/api/tasks/retry`, body)).toMatchObject({ status: 400, body: { error } });
    expect(await everything()).toBe(before);
  });
});
