import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TaskStatus } from "../prisma/mod.ts";
import { createCaller } from "./app_router.ts";
import { cancelTask } from "./cancel_task.ts";
import { getJson, postJson, startTestServer, type TestServer } from "./testing.ts";

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

/**
 * A task in `status` as the coordinator would have left it: a PICKED or RUNNING one holds its open
 * attempt on the task row (its attempt row is written when it ends), or, with `legacyOpenRow`, also in
 * an attempt row with outcome RUNNING, as coordinators before 20261127 opened it at the claim.
 */
async function taskIn(status: TaskStatus, legacyOpenRow = false): Promise<string> {
  const held = status === "PICKED" || status === "RUNNING";
  const task = await t.db.prisma.task.create({
    data: {
      command: `in-${status}`,
      scheduledAt: new Date(),
      status,
      attempt: held ? 2 : 1,
      workerId: held ? 7n : null,
      coordinatorId: held ? "c1" : null,
      leaseExpiresAt: held ? new Date(Date.now() + 30_000) : null,
      pickedAt: held ? new Date() : null,
      startedAt: status === "RUNNING" ? new Date() : null,
      completedAt: status === "COMPLETED" ? new Date() : null,
      failedAt: status === "FAILED" || status === "DEAD" ? new Date() : null,
      progress: status === "RUNNING" ? 40 : 0,
    },
  });
  // An earlier attempt, long closed, that a cancel must leave alone.
  await t.db.prisma.taskAttempt.create({
    data: { taskId: task.id, attempt: 1, workerId: 5n, outcome: "LOST", error: "worker 5 lost: missed heartbeats", finishedAt: new Date(0) },
  });
  if (held && legacyOpenRow) await t.db.prisma.taskAttempt.create({ data: { taskId: task.id, attempt: 2, workerId: 7n, startedAt: status === "RUNNING" ? new Date() : null } });
  return task.id;
}

/** Every column of every task and attempt, to prove a refused request changed nothing. */
async function everything(): Promise<string> {
  const [tasks, attempts] = await Promise.all([
    t.db.prisma.task.findMany({ orderBy: { id: "asc" } }),
    t.db.prisma.taskAttempt.findMany({ orderBy: { id: "asc" } }),
  ]);
  return JSON.stringify({ tasks, attempts }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

describe("cancelTask()", () => {
  it.each([
    ["SCHEDULED", false],
    ["PICKED", false],
    ["RUNNING", false],
    ["PICKED", true],
    ["RUNNING", true],
  ] as const)(
    "`cancelTask()` cancels a %s task (attempt row opened at the claim: %s): CANCELLED, lease cleared, failed_at null, its attempt written as CANCELLED at the database's now()",
    async (status, legacyOpenRow) => {
      const id = await taskIn(status, legacyOpenRow);
      const result = await cancelTask(t.db.prisma, id);
      expect(result).toMatchObject({ outcome: "cancelled", previousStatus: status, task: { id, status: "CANCELLED" } });
      const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { attempt: "asc" } } } });
      expect(row).toMatchObject({ status: "CANCELLED", leaseExpiresAt: null, failedAt: null, completedAt: null });
      // What the worker and attempt were is kept for the timeline.
      expect(row.attempt).toBe(status === "SCHEDULED" ? 1 : 2);
      expect(row.workerId).toBe(status === "SCHEDULED" ? null : 7n);
      const [earlier, current] = row.attempts;
      expect(earlier).toMatchObject({ outcome: "LOST", finishedAt: new Date(0) });
      if (status === "SCHEDULED") {
        expect(current).toBeUndefined();
      } else {
        expect(row.attempts).toHaveLength(2);
        expect(current).toMatchObject({ attempt: 2, outcome: "CANCELLED", workerId: 7n });
        expect(current!.startedAt === null).toBe(status === "PICKED");
        // One statement, one now(): the attempt closed at the very instant the task changed.
        expect(current!.finishedAt).toEqual(row.updatedAt);
        const [clock] = await t.db.prisma.$queryRaw<{ drift: number }[]>`
          SELECT abs(extract(epoch FROM now() - ${current!.finishedAt}::timestamptz))::float8 AS drift`;
        expect(clock!.drift).toBeLessThan(60);
      }
    },
  );

  it.each(["COMPLETED", "FAILED", "DEAD", "CANCELLED"] as const)("`cancelTask()` refuses a %s task and changes nothing", async (status) => {
    const id = await taskIn(status);
    const before = await everything();
    expect(await cancelTask(t.db.prisma, id)).toEqual({ outcome: "terminal", status });
    expect(await everything()).toBe(before);
  });

  it("`cancelTask()` says not_found for an unknown id", async () => {
    expect(await cancelTask(t.db.prisma, MISSING)).toEqual({ outcome: "not_found" });
  });

  it("`cancelTask()` waits for a report holding the row and then sees its result: a completed task stays COMPLETED", async () => {
    const id = await taskIn("RUNNING");
    let cancel: Promise<unknown> | undefined;
    await t.db.prisma.$transaction(async (tx) => {
      // The coordinator's report: lock, then complete.
      await tx.$queryRaw`SELECT id FROM tasks WHERE id = ${id}::uuid FOR UPDATE`;
      cancel = cancelTask(t.db.prisma, id);
      await new Promise((r) => setTimeout(r, 300));
      await tx.$executeRaw`UPDATE tasks SET status = 'COMPLETED', completed_at = now(), lease_expires_at = NULL WHERE id = ${id}::uuid`;
      await tx.$executeRaw`INSERT INTO task_attempts (task_id, attempt, worker_id, finished_at, outcome) VALUES (${id}::uuid, 2, 7, now(), 'COMPLETED')`;
    });
    expect(await cancel).toEqual({ outcome: "terminal", status: "COMPLETED" });
    const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id }, include: { attempts: { where: { attempt: 2 } } } });
    expect(row.status).toBe("COMPLETED");
    expect(row.attempts[0]?.outcome).toBe("COMPLETED");
  });

  it("`cancelTask()` committed first wins: a late report (which only moves PICKED or RUNNING tasks) changes nothing", async () => {
    const id = await taskIn("RUNNING");
    expect((await cancelTask(t.db.prisma, id)).outcome).toBe("cancelled");
    // The shape of the coordinator's fenced report statement.
    const moved = await t.db.prisma.$executeRaw`
      UPDATE tasks SET status = 'COMPLETED', completed_at = now()
       WHERE id = ${id}::uuid AND status IN ('PICKED', 'RUNNING') AND attempt = 2`;
    expect(moved).toBe(0);
    expect((await t.db.prisma.task.findUniqueOrThrow({ where: { id } })).status).toBe("CANCELLED");
  });
});

describe("task.cancel", () => {
  async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TRPCError);
    return error as TRPCError;
  }

  it("`task.cancel` cancels a running task and answers it with the status it had", async () => {
    const id = await taskIn("RUNNING");
    const answer = await createCaller(t.server.context).task.cancel({ id });
    expect(answer.previousStatus).toBe("RUNNING");
    expect(answer.task).toMatchObject({ id, status: "CANCELLED", failedAt: null, workerId: 7 });
  });

  it("`task.cancel` of a finished task is CONFLICT 'Task <id> is already <STATUS>', and changes nothing", async () => {
    const id = await taskIn("COMPLETED");
    const before = await everything();
    const error = await rejection(createCaller(t.server.context).task.cancel({ id }));
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toBe(`Task ${id} is already COMPLETED`);
    expect(await everything()).toBe(before);
  });

  it("`task.cancel` of an unknown id is NOT_FOUND and of a non-UUID BAD_REQUEST", async () => {
    expect((await rejection(createCaller(t.server.context).task.cancel({ id: MISSING }))).code).toBe("NOT_FOUND");
    expect((await rejection(createCaller(t.server.context).task.cancel({ id: "nope" }))).code).toBe("BAD_REQUEST");
  });
});

describe("POST /api/tasks/<id>/cancel", () => {
  it("`POST /api/tasks/<id>/cancel` answers {ok, task_id, status, previous_status}", async () => {
    const id = await taskIn("PICKED");
    const response = await postJson(`${t.url}/api/tasks/${id}/cancel`, "");
    expect(response).toMatchObject({ status: 200, body: { ok: true, task_id: id, status: "CANCELLED", previous_status: "PICKED" } });
    expect((await getJson(`${t.url}/status?task_id=${id}`)).body).toMatchObject({ task_id: id, failed_at: "" });
  });

  it("`POST /api/tasks/<id>/cancel` answers 409 for a finished task, 404 for an unknown one, 400 for a bad id, changing nothing", async () => {
    const id = await taskIn("DEAD");
    const before = await everything();
    expect(await postJson(`${t.url}/api/tasks/${id}/cancel`, {})).toMatchObject({ status: 409, body: { error: `Task ${id} is already DEAD` } });
    expect(await postJson(`${t.url}/api/tasks/${MISSING}/cancel`, {})).toMatchObject({ status: 404, body: { error: "Task not found" } });
    expect(await postJson(`${t.url}/api/tasks/12/cancel`, {})).toMatchObject({
      status: 400,
      body: { error: 'Invalid task id: expected a UUID, got "12"' },
    });
    expect((await postJson(`${t.url}/api/tasks/${id}/cancel`, "{oops")).status).toBe(400);
    expect(await everything()).toBe(before);
  });

  it("`GET /api/tasks/<id>/cancel` answers 405 naming POST", async () => {
    const response = await getJson(`${t.url}/api/tasks/${MISSING}/cancel`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
