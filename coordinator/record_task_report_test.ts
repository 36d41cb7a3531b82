import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { toQuery } from "../prisma/mod.ts";
import { attemptHistory, type TestDb, useTestDatabase, withPlans } from "../prisma/testing.ts";
import { assignClaimedTasks, claimAndAssignDueTasks, claimDueTasks } from "./claim_due_tasks.ts";
import { completeTask, completeTasks, failTask, markTaskStarted, markTasksStarted, recordProgress } from "./record_task_report.ts";
import { requeueWorkerTasks, sweepExpiredLeases, UNSTARTED_LOSS_CAP } from "./requeue_lost_tasks.ts";

let db: TestDb;
beforeAll(async () => void (db = await useTestDatabase()));
afterAll(async () => await db.close());
beforeEach(async () => {
  await db.prisma.task.deleteMany();
  await db.prisma.worker.deleteMany();
  await db.prisma.counter.deleteMany();
});

/** A task claimed by coordinator "c" and bound to `workerId`; returns its id and attempt. */
async function dispatched(workerId: number, maxAttempts = 3): Promise<{ id: string; attempt: number }> {
  const task = await db.prisma.task.create({ data: { command: "x", scheduledAt: new Date(Date.now() - 1000), maxAttempts } });
  const claimed = await claimDueTasks(db.sql, { coordinatorId: "c", limit: 1, leaseMs: 30_000 });
  const attempt = claimed.find((t) => t.id === task.id)!.attempt;
  await assignClaimedTasks(db.sql, "c", [{ taskId: task.id, attempt, workerId }]);
  return { id: task.id, attempt };
}

describe("markTasksStarted() and completeTasks()", () => {
  test("finds each task by primary key, never by scanning the table, whatever the planner's estimates", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.sql.execute`INSERT INTO tasks (id, command, scheduled_at) SELECT uuidv7(), 'noop', now() - interval '1 s' FROM generate_series(1, 3000)`;
    const tasks = await claimAndAssignDueTasks(db.sql, { coordinatorId: "c", workers: Array(100).fill(7), leaseMs: 60_000 });
    for (let i = 0; i < 28; i++) tasks.push(...(await claimAndAssignDueTasks(db.sql, { coordinatorId: "c", workers: Array(100).fill(7), leaseMs: 60_000 })));
    expect(tasks).toHaveLength(2900);
    // What the coordinator sends, on one connection (plans are cached per session): 10 batches of 50.
    let captured: { text: string; values: unknown[] } | undefined;
    const capture = { query: async (strings: TemplateStringsArray, ...values: unknown[]) => ((captured = toQuery({ strings: [...strings], values })), []) };
    await withPlans(db.url, async (client, notices) => {
      // Costs under which a sequential scan looks cheaper than index probes, as it does to the
      // planner on a young table (after a TRUNCATE, a few thousand rows): a plan cached then would
      // read the whole table for every batch as the table grew.
      await client.query("SET random_page_cost = 1000");
      await client.query("SET cpu_operator_cost = 0");
      for (let batch = 0; batch < 10; batch++) {
        const reports = tasks.slice(batch * 50, batch * 50 + 50).map((t) => ({ taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null, startedAt: undefined }));
        await markTasksStarted(capture as never, reports, 60_000);
        const started = await client.query(captured!.text, captured!.values);
        expect(started.rows.filter((r: { changed: boolean }) => r.changed)).toHaveLength(50);
        await completeTasks(capture as never, reports);
        const { rows } = await client.query(captured!.text, captured!.values);
        expect(rows.filter((r: { changed: boolean }) => r.changed)).toHaveLength(50);
      }
      const plans = notices.filter((n) => n.includes("UPDATE tasks t"));
      expect(plans).toHaveLength(20);
      for (const plan of plans) {
        expect(plan).toMatch(/Index Scan using tasks_pkey/);
        expect(plan).not.toMatch(/Seq Scan on tasks/);
      }
    });
    expect(await db.prisma.task.count({ where: { status: "COMPLETED" } })).toBe(500);
  });
});

describe("markTasksStarted() and completeTasks() planned on an empty table", () => {
  test("search the primary key with the reported ids, also when the session planned them while the table was empty", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.sql.execute`ANALYZE tasks`; // the statistics of an empty table (a fresh install)
    let captured: { text: string; values: unknown[] } | undefined;
    const capture = { query: async (strings: TemplateStringsArray, ...values: unknown[]) => ((captured = toQuery({ strings: [...strings], values })), []) };
    const unknown = [{ taskId: "00000000-0000-7000-8000-000000000000", attempt: 1, workerId: 7, resultJson: null, startedAt: undefined }];
    await withPlans(db.url, async (client, notices) => {
      // A coordinator's session reports before the table fills (plans are cached per session).
      for (let i = 0; i < 6; i++) {
        await markTasksStarted(capture as never, unknown, 60_000);
        await client.query(captured!.text, captured!.values);
        await completeTasks(capture as never, unknown);
        await client.query(captured!.text, captured!.values);
      }
      await db.sql.execute`INSERT INTO tasks (id, command, scheduled_at) SELECT uuidv7(), 'noop', now() - interval '1 s' FROM generate_series(1, 3000)`;
      const tasks = [];
      for (let i = 0; i < 5; i++) tasks.push(...(await claimAndAssignDueTasks(db.sql, { coordinatorId: "c", workers: Array(100).fill(7), leaseMs: 60_000 })));
      notices.length = 0;
      for (let batch = 0; batch < 10; batch++) {
        const reports = tasks.slice(batch * 50, batch * 50 + 50).map((t) => ({ taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null, startedAt: undefined }));
        await markTasksStarted(capture as never, reports, 60_000);
        expect((await client.query(captured!.text, captured!.values)).rows.filter((r: { changed: boolean }) => r.changed)).toHaveLength(50);
        await completeTasks(capture as never, reports);
        expect((await client.query(captured!.text, captured!.values)).rows.filter((r: { changed: boolean }) => r.changed)).toHaveLength(50);
      }
      const plans = notices.filter((n) => n.includes("UPDATE tasks t"));
      expect(plans).toHaveLength(20);
      for (const plan of plans) {
        // The UPDATE reaches its rows by searching the key with the ids, never by walking it.
        expect(plan).toMatch(/Index Scan using tasks_pkey on tasks t[^\n]*\n\s*Index Cond: \(id = /);
        expect(plan).not.toMatch(/Rows Removed by Join Filter: [1-9]\d{3}|Seq Scan on tasks/);
      }
    });
  });
});

describe("reports of an attempt whose STARTED the coordinator accepted without writing it", () => {
  test("completeTask() records the start time it is given (kept between picked_at and now)", async () => {
    const t = await dispatched(7);
    const picked = (await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).pickedAt!;
    const startedAt = new Date(picked.getTime() + 1);
    expect((await completeTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null, startedAt })).outcome).toBe("applied");
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } });
    expect(row.startedAt).toEqual(startedAt); // the task row is also the completed attempt's record
  });

  test("requeueWorkerTasks() charges a failure for a PICKED task listed as started, and not for the others", async () => {
    const started = await dispatched(7);
    const queued = await dispatched(7);
    const lost = await requeueWorkerTasks(db.sql, 7, "worker lost", [started.id]);
    expect(lost.map((l) => l.id).sort()).toEqual([started.id, queued.id].sort());
    const rows = await db.prisma.task.findMany({ where: { id: { in: [started.id, queued.id] } }, include: { attempts: true } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(started.id)).toMatchObject({ status: "SCHEDULED", failures: 1 });
    expect(byId.get(started.id)!.attempts[0]).toMatchObject({ outcome: "LOST" });
    expect(byId.get(started.id)!.attempts[0]!.startedAt).not.toBeNull();
    expect(byId.get(queued.id)).toMatchObject({ status: "SCHEDULED", failures: 0 });
    expect(byId.get(queued.id)!.attempts[0]!.startedAt).toBeNull();
  });
});

describe("markTaskStarted() and completeTask()", () => {
  test("move a task PICKED -> RUNNING -> COMPLETED and close its attempt", async () => {
    await db.prisma.worker.create({ data: { id: 7n, address: "h:1" } });
    const t = await dispatched(7);
    expect((await markTaskStarted(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7 }, 30_000)).outcome).toBe("applied");
    expect((await completeTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: '{"ok":1}' })).outcome).toBe("applied");
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: t.id }, include: { attempts: true } });
    expect(row).toMatchObject({ status: "COMPLETED", progress: 100, result: { ok: 1 }, leaseExpiresAt: null });
    expect(row.startedAt!.getTime()).toBeLessThanOrEqual(row.completedAt!.getTime());
    expect(row.attempts).toEqual([]); // the task row records the attempt that completed it
    expect((await db.prisma.worker.findUniqueOrThrow({ where: { id: 7n } })).tasksCompleted).toBe(1);
  });

  test("write no attempt row for the attempt that completes its task: the task row is its record", async () => {
    const t = await dispatched(7);
    await markTaskStarted(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7 }, 30_000);
    expect(await db.prisma.taskAttempt.count({ where: { taskId: t.id } })).toBe(0); // the task row holds it
    await completeTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null });
    expect(await db.prisma.taskAttempt.count({ where: { taskId: t.id } })).toBe(0);
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } });
    const history = await attemptHistory(db.sql, t.id);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ attempt: 1, workerId: 7, coordinatorId: "c", outcome: "COMPLETED", error: null });
    expect(history[0]!.pickedAt).toEqual(row.pickedAt);
    expect(history[0]!.startedAt).toEqual(row.startedAt);
    expect(history[0]!.finishedAt).toEqual(row.completedAt);
  });

  test("close, on completion, an attempt row an older coordinator opened at its claim, and list it once", async () => {
    const t = await dispatched(7);
    const picked = (await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).pickedAt!;
    await db.prisma.taskAttempt.create({ data: { taskId: t.id, attempt: t.attempt, workerId: 7n, coordinatorId: "old", pickedAt: picked } });
    expect((await completeTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null })).outcome).toBe("applied");
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: t.id }, include: { attempts: true } });
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0]).toMatchObject({ attempt: 1, outcome: "COMPLETED", error: null, coordinatorId: "old" });
    expect(row.attempts[0]!.finishedAt).toEqual(row.completedAt);
    expect(row.attempts[0]!.startedAt).toEqual(row.startedAt);
    expect(await attemptHistory(db.sql, t.id)).toHaveLength(1);
  });

  test("close an attempt row an older coordinator opened at its claim, instead of writing a second", async () => {
    const t = await dispatched(7);
    const picked = (await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).pickedAt!;
    await db.prisma.taskAttempt.create({ data: { taskId: t.id, attempt: t.attempt, workerId: 7n, coordinatorId: "old", pickedAt: picked } });
    await failTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, error: "boom", notRetryable: false, retryDelayMs: 0 });
    const attempts = await db.prisma.taskAttempt.findMany({ where: { taskId: t.id } });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, outcome: "FAILED", error: "boom", coordinatorId: "old" });
    expect(attempts[0]!.finishedAt).not.toBeNull();
  });

  test("accept a seed worker's reports, which carry no attempt or worker id", async () => {
    const t = await dispatched(9);
    expect((await markTaskStarted(db.sql, { taskId: t.id, attempt: 0, workerId: 0 }, 30_000)).outcome).toBe("applied");
    expect((await completeTask(db.sql, { taskId: t.id, attempt: 0, workerId: 0, resultJson: null })).outcome).toBe("applied");
    expect((await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).status).toBe("COMPLETED");
  });

  test("treat a repeated report as a duplicate that changes nothing", async () => {
    const t = await dispatched(7);
    await completeTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null });
    const before = await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } });
    expect((await completeTask(db.sql, { taskId: t.id, attempt: t.attempt, workerId: 7, resultJson: null })).outcome).toBe("duplicate");
    expect(await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).toEqual(before);
  });

  test("reject a report from an attempt that is no longer current (fencing)", async () => {
    const t = await dispatched(7);
    await requeueWorkerTasks(db.sql, 7, "worker lost");
    const [again] = await claimDueTasks(db.sql, { coordinatorId: "c", limit: 1, leaseMs: 30_000 });
    expect(again).toMatchObject({ id: t.id, attempt: 2 });
    await assignClaimedTasks(db.sql, "c", [{ taskId: t.id, attempt: 2, workerId: 8 }]);
    const late = await completeTask(db.sql, { taskId: t.id, attempt: 1, workerId: 7, resultJson: null });
    expect(late).toMatchObject({ outcome: "stale", attempt: 2 });
    expect((await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).status).toBe("PICKED");
    expect((await markTaskStarted(db.sql, { taskId: t.id, attempt: 2, workerId: 7 }, 1000)).outcome).toBe("stale");
  });

  test("answer not_found for an unknown task", async () => {
    const r = await completeTask(db.sql, { taskId: "00000000-0000-4000-8000-000000000000", attempt: 1, workerId: 1, resultJson: null });
    expect(r.outcome).toBe("not_found");
  });
});

describe("failTask()", () => {
  test("schedules a retry after the backoff while attempts remain", async () => {
    const t = await dispatched(7);
    const r = await failTask(db.sql, { taskId: t.id, attempt: 1, workerId: 7, error: "boom", notRetryable: false, retryDelayMs: 60_000 });
    expect(r).toMatchObject({ outcome: "applied", status: "SCHEDULED" });
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: t.id }, include: { attempts: true } });
    expect(row).toMatchObject({ status: "SCHEDULED", lastError: "boom", workerId: null, failedAt: null });
    expect(row.scheduledAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(row.attempts[0]).toMatchObject({ outcome: "FAILED", error: "boom" });
  });

  test("ends DEAD when the attempts are exhausted, and FAILED when not retryable", async () => {
    const a = await dispatched(7, 1);
    expect((await failTask(db.sql, { taskId: a.id, attempt: 1, workerId: 7, error: "e", notRetryable: false, retryDelayMs: 0 })).status).toBe("DEAD");
    const b = await dispatched(7, 5);
    expect((await failTask(db.sql, { taskId: b.id, attempt: 1, workerId: 7, error: "bad input", notRetryable: true, retryDelayMs: 0 })).status).toBe("FAILED");
    const rows = await db.prisma.task.findMany({ where: { id: { in: [a.id, b.id] } } });
    expect(rows.every((r) => r.failedAt !== null)).toBe(true);
  });
});

describe("recordProgress()", () => {
  test("records progress of the current attempt only", async () => {
    const t = await dispatched(7);
    expect(await recordProgress(db.sql, { taskId: t.id, attempt: 1, workerId: 7, progress: 40 })).toBe(true);
    expect(await recordProgress(db.sql, { taskId: t.id, attempt: 2, workerId: 7, progress: 90 })).toBe(false);
    expect((await db.prisma.task.findUniqueOrThrow({ where: { id: t.id } })).progress).toBe(40);
  });
});

describe("requeueWorkerTasks() and sweepExpiredLeases()", () => {
  test("give a lost worker's tasks back at once, or DEAD when a started attempt was their last", async () => {
    const a = await dispatched(7, 3);
    const b = await dispatched(7, 1);
    await markTaskStarted(db.sql, { taskId: a.id, attempt: 1, workerId: 7 }, 30_000);
    await markTaskStarted(db.sql, { taskId: b.id, attempt: 1, workerId: 7 }, 30_000);
    const lost = await requeueWorkerTasks(db.sql, 7, "worker lost");
    expect(lost.map((l) => [l.id, l.status]).sort()).toEqual([[a.id, "SCHEDULED"], [b.id, "DEAD"]].sort());
    const attempt = await db.prisma.taskAttempt.findFirstOrThrow({ where: { taskId: a.id } });
    expect(attempt).toMatchObject({ outcome: "LOST", error: "worker lost" });
    expect((await db.prisma.counter.findUniqueOrThrow({ where: { name: "requeued_worker_lost" } })).value).toBe(2n);
  });

  test("do not count an attempt lost before it started against max_attempts", async () => {
    const a = await dispatched(7, 1);
    const [lost] = await requeueWorkerTasks(db.sql, 7, "worker lost");
    expect(lost).toMatchObject({ id: a.id, status: "SCHEDULED" });
    expect(await db.prisma.task.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({ attempt: 1, failures: 0 });
  });

  test("end a task DEAD after UNSTARTED_LOSS_CAP losses before start, so it cannot loop for ever", async () => {
    const a = await dispatched(7, 1);
    for (let i = 1; i < UNSTARTED_LOSS_CAP; i++) {
      expect((await requeueWorkerTasks(db.sql, 7, "worker lost"))[0]).toMatchObject({ id: a.id, status: "SCHEDULED" });
      const [again] = await claimDueTasks(db.sql, { coordinatorId: "c", limit: 1, leaseMs: 30_000 });
      await assignClaimedTasks(db.sql, "c", [{ taskId: a.id, attempt: again!.attempt, workerId: 7 }]);
    }
    const [lost] = await requeueWorkerTasks(db.sql, 7, "worker lost");
    expect(lost).toMatchObject({ id: a.id, status: "DEAD" });
    // An operator retry resets `failures` but not the losses already counted.
    expect(await db.prisma.taskAttempt.count({ where: { taskId: a.id, outcome: "LOST", startedAt: null } })).toBe(UNSTARTED_LOSS_CAP);
  });

  test("sweep only claims whose lease has expired", async () => {
    const a = await dispatched(7);
    const b = await dispatched(8);
    await db.prisma.task.update({ where: { id: a.id }, data: { leaseExpiresAt: new Date(Date.now() - 60_000) } });
    const swept = await sweepExpiredLeases(db.sql);
    expect(swept.map((s) => s.id)).toEqual([a.id]);
    expect((await db.prisma.task.findUniqueOrThrow({ where: { id: b.id } })).status).toBe("PICKED");
  });

  test("the sweep and a worker's tasks are read from the index of tasks in flight, never the whole table", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.sql.execute`
      INSERT INTO tasks (id, command, scheduled_at, status, completed_at)
      SELECT uuidv7(), 'done', now(), 'COMPLETED', now() FROM generate_series(1, 50000)`;
    await db.sql.execute`
      INSERT INTO tasks (id, command, scheduled_at, status, worker_id, picked_at, lease_expires_at)
      SELECT uuidv7(), 'x', now(), 'RUNNING', 1 + g % 10, now(), now() + CASE WHEN g % 10 = 0 THEN -1 ELSE 1 END * interval '1 minute'
        FROM generate_series(1, 2000) AS g`;
    await db.sql.execute`ANALYZE tasks`;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const plan = async (statement: string) =>
      (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${statement}`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
    const sweep = await plan(`SELECT id FROM tasks WHERE status IN ('PICKED', 'RUNNING') AND lease_expires_at < now()
                               ORDER BY lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED`);
    const byWorker = await plan(`SELECT id FROM tasks WHERE worker_id = 3 AND status IN ('PICKED', 'RUNNING')`);
    await client.end();
    for (const p of [sweep, byWorker]) {
      expect(p).toMatch(/tasks_active_idx/);
      expect(p).not.toMatch(/Seq Scan/);
    }
    expect(await sweepExpiredLeases(db.sql)).toHaveLength(200);
  });
});
