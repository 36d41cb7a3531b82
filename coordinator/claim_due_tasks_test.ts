import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import pg from "pg";
import { statusCounts, taskAnnouncements, type TestDb, useTestDatabase, withPlans } from "../prisma/testing.ts";
import { toQuery } from "../prisma/mod.ts";
import { assignClaimedTasks, claimAndAssignDueTasks, claimAndAssignStatement, claimDueTasks, releaseClaimedTasks } from "./claim_due_tasks.ts";

let db: TestDb;
beforeAll(async () => void (db = await useTestDatabase()));
afterAll(async () => await db.close());
beforeEach(async () => void (await db.prisma.task.deleteMany()));

const past = (s: number) => new Date(Date.now() - s * 1000);

/**
 * Runs `body` on a connection of its own whose every statement's plan, nested ones included (those
 * inside the database functions), comes back as a NOTICE (auto_explain) into `notices`.
 */
/** Three due tasks (claim order: new-high, old-low, mid-low) and one an hour ahead. */
async function createMixedTasks(): Promise<void> {
  await db.prisma.task.createMany({
    data: [
      { command: "old-low", scheduledAt: past(60), priority: 0 },
      { command: "new-high", scheduledAt: past(1), priority: 5 },
      { command: "mid-low", scheduledAt: past(30), priority: 0 },
      { command: "future", scheduledAt: new Date(Date.now() + 3_600_000), priority: 100 },
    ],
  });
}

describe("claimDueTasks()", () => {
  test("claims due tasks by priority then oldest scheduled_at, and never future ones", async () => {
    await createMixedTasks();
    const claimed = await claimDueTasks(db.sql, { coordinatorId: "c1", limit: 10, leaseMs: 30_000 });
    expect(claimed.map((t) => t.command)).toEqual(["new-high", "old-low", "mid-low"]);
    expect(claimed.every((t) => t.attempt === 1)).toBe(true);
    const rows = await db.prisma.task.findMany({ where: { status: "PICKED" } });
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.coordinatorId === "c1" && r.leaseExpiresAt !== null && r.pickedAt !== null)).toBe(true);
  });

  test("never claims more than the limit", async () => {
    await db.prisma.task.createMany({ data: Array.from({ length: 7 }, () => ({ command: "x", scheduledAt: past(1) })) });
    expect(await claimDueTasks(db.sql, { coordinatorId: "c1", limit: 3, leaseMs: 1000 })).toHaveLength(3);
    expect(await db.prisma.task.count({ where: { status: "SCHEDULED" } })).toBe(4);
  });

  test("two coordinators claiming at once never get the same task", async () => {
    await db.prisma.task.createMany({ data: Array.from({ length: 200 }, () => ({ command: "x", scheduledAt: past(1) })) });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimDueTasks(db.sql, { coordinatorId: `c${i}`, limit: 40, leaseMs: 1000 })),
    );
    const ids = results.flat().map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(200);
  });

  test("skips commands it is told to leave for busy specialised workers", async () => {
    await db.prisma.task.createMany({
      data: [
        { command: "gpu", scheduledAt: past(2) },
        { command: "plain", scheduledAt: past(1) },
      ],
    });
    const claimed = await claimDueTasks(db.sql, { coordinatorId: "c", limit: 5, leaseMs: 1000, excludeCommands: ["gpu"] });
    expect(claimed.map((t) => t.command)).toEqual(["plain"]);
  });
});

describe("assignClaimedTasks()", () => {
  test("binds the worker; the attempt's row waits for its end", async () => {
    const task = await db.prisma.task.create({ data: { command: "x", scheduledAt: past(1) } });
    const [claimed] = await claimDueTasks(db.sql, { coordinatorId: "c1", limit: 1, leaseMs: 1000 });
    await assignClaimedTasks(db.sql, "c1", [{ taskId: task.id, attempt: claimed!.attempt, workerId: 4_000_000_000 }]);
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: task.id }, include: { attempts: true } });
    expect(row).toMatchObject({ status: "PICKED", attempt: 1, coordinatorId: "c1" });
    expect(Number(row.workerId)).toBe(4_000_000_000);
    expect(row.attempts).toHaveLength(0);
  });

  test("does not bind a task another coordinator holds", async () => {
    const task = await db.prisma.task.create({ data: { command: "x", scheduledAt: past(1) } });
    await claimDueTasks(db.sql, { coordinatorId: "c1", limit: 1, leaseMs: 1000 });
    await assignClaimedTasks(db.sql, "c2", [{ taskId: task.id, attempt: 1, workerId: 7 }]);
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: task.id }, include: { attempts: true } });
    expect(row.workerId).toBeNull();
    expect(row.attempts).toHaveLength(0);
  });
});

describe("releaseClaimedTasks()", () => {
  test("puts an unplaced claim back as it was", async () => {
    const task = await db.prisma.task.create({ data: { command: "x", scheduledAt: past(1) } });
    const claimed = await claimDueTasks(db.sql, { coordinatorId: "c1", limit: 1, leaseMs: 1000 });
    await releaseClaimedTasks(db.sql, "c1", claimed);
    const row = await db.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(row).toMatchObject({ status: "SCHEDULED", attempt: 0, pickedAt: null, leaseExpiresAt: null, coordinatorId: null });
  });
});

describe("claimAndAssignDueTasks()", () => {
  test("claims in priority order and binds the n-th task to the n-th worker, in one statement", async () => {
    await createMixedTasks();
    const assigned = await claimAndAssignDueTasks(db.sql, { coordinatorId: "c1", workers: [7, 8, 7, 8, 7], leaseMs: 30_000 });
    expect(assigned.map((t) => [t.command, t.workerId, t.attempt])).toEqual([
      ["new-high", 7, 1],
      ["old-low", 8, 1],
      ["mid-low", 7, 1],
    ]);
    const rows = await db.prisma.task.findMany({ where: { status: "PICKED" }, include: { attempts: true } });
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const mine = assigned.find((t) => t.id === row.id)!;
      expect(Number(row.workerId)).toBe(mine.workerId);
      expect(row).toMatchObject({ coordinatorId: "c1", attempt: 1 });
      expect(row.leaseExpiresAt).not.toBeNull();
      expect(row.pickedAt).not.toBeNull();
      expect(row.attempts).toHaveLength(0); // written when the attempt ends
    }
  });

  test("claims no more tasks than workers given, and two coordinators at once never get the same task", async () => {
    await db.prisma.task.createMany({ data: Array.from({ length: 200 }, () => ({ command: "x", scheduledAt: past(1) })) });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => claimAndAssignDueTasks(db.sql, { coordinatorId: `c${i}`, workers: Array(40).fill(i + 1), leaseMs: 1000 })),
    );
    const ids = results.flat().map((t) => t.id);
    expect(results.every((r) => r.length <= 40)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(200);
    const rows = await db.prisma.task.findMany({ select: { status: true, attempt: true } });
    expect(rows.every((r) => r.status === "PICKED" && r.attempt === 1)).toBe(true);
  });
});

describe("claimAndAssignDueTasks(): the claim books its own counts and announcement", () => {
  const counts = () => statusCounts(db.sql);
  const announced = (action: () => Promise<unknown>) => taskAnnouncements(db.url, action);

  test("the status counts stay exact, through claims, concurrent claims and other updates", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.prisma.task.createMany({ data: Array.from({ length: 300 }, () => ({ command: "x", scheduledAt: past(1) })) });
    await claimAndAssignDueTasks(db.sql, { coordinatorId: "c1", workers: Array(40).fill(1), leaseMs: 1000 });
    expect(await counts()).toEqual({ booked: { SCHEDULED: 260, PICKED: 40 }, truth: { SCHEDULED: 260, PICKED: 40 } });
    await Promise.all(Array.from({ length: 5 }, (_, i) => claimAndAssignDueTasks(db.sql, { coordinatorId: `c${i}`, workers: Array(50).fill(2), leaseMs: 1000 })));
    expect(await counts()).toEqual({ booked: { SCHEDULED: 10, PICKED: 290 }, truth: { SCHEDULED: 10, PICKED: 290 } });
    // A claim that finds nothing books nothing; an update after a claim in the same transaction is
    // counted by the trigger (the claim has switched its setting back off).
    expect(await claimAndAssignDueTasks(db.sql, { coordinatorId: "c1", workers: [1], leaseMs: 1000, excludeCommands: ["x"] })).toEqual([]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const claim = toQuery(claimAndAssignStatement({ coordinatorId: "c1", workers: [1, 1], leaseMs: 1000 }));
      await client.query("BEGIN");
      expect((await client.query(claim.text, claim.values)).rowCount).toBe(2);
      await client.query("UPDATE tasks SET status = 'RUNNING' WHERE id IN (SELECT id FROM tasks WHERE status = 'PICKED' LIMIT 5)");
      await client.query("COMMIT");
    } finally {
      await client.end();
    }
    expect(await counts()).toEqual({ booked: { SCHEDULED: 8, PICKED: 287, RUNNING: 5 }, truth: { SCHEDULED: 8, PICKED: 287, RUNNING: 5 } });
    // The claim that binds no worker yet (placed afterwards) is the same function.
    expect(await claimDueTasks(db.sql, { coordinatorId: "c1", limit: 3, leaseMs: 1000 })).toHaveLength(3);
    expect(await counts()).toEqual({ booked: { SCHEDULED: 5, PICKED: 290, RUNNING: 5 }, truth: { SCHEDULED: 5, PICKED: 290, RUNNING: 5 } });
  });

  test("finds the claimed rows by primary key, never by scanning the table, whatever the statistics say", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.sql.execute`ANALYZE tasks`; // the statistics of an empty table (a fresh install)
    const claim = toQuery(claimAndAssignStatement({ coordinatorId: "c1", workers: Array(100).fill(1), leaseMs: 1000 }));
    await withPlans(db.url, async (client, notices) => {
      // A coordinator that starts on an empty table claims nothing, and its session keeps the plan
      // of that first claim (a generic one) as the table fills: a plan that walked the whole primary
      // key for every claim, joining each row to the claimed ids, took 1.1 s a claim at 24,000 rows
      // (one end-to-end bench run in eight, 2026-11-27).
      expect((await client.query(claim.text, claim.values)).rowCount).toBe(0);
      await db.sql.execute`
        INSERT INTO tasks (id, command, scheduled_at) SELECT uuidv7(), 'burst', now() - interval '1 s' FROM generate_series(1, 5000)`;
      notices.length = 0;
      for (let i = 0; i < 8; i++) expect((await client.query(claim.text, claim.values)).rowCount).toBe(100);
      const updates = notices.filter((n) => n.includes("UPDATE tasks t"));
      expect(updates).toHaveLength(8);
      for (const plan of updates) {
        // Each claimed row looked up by its id: the index is searched with the ids, not walked.
        expect(plan).toMatch(/Index Scan using tasks_pkey on tasks t[^\n]*\n\s*Index Cond: \(id = /);
        expect(plan).not.toMatch(/Rows Removed by Join Filter|Seq Scan|Hash Join|Merge Join/);
      }
    });
  });

  test("announces a claim of up to 25 tasks with its rows, as the trigger lists them, and a larger one by its count", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.prisma.task.createMany({ data: Array.from({ length: 34 }, (_, i) => ({ command: `cmd-${i}`, scheduledAt: past(100 - i) })) });
    let small: Awaited<ReturnType<typeof claimAndAssignDueTasks>> = [];
    const smallNotes = await announced(async () => (small = await claimAndAssignDueTasks(db.sql, { coordinatorId: "c1", workers: [4, 5, 6], leaseMs: 1000 })));
    expect(smallNotes).toEqual([
      {
        op: "U",
        n: 3,
        cancelled: 0,
        rows: small.map((t) => ({ id: t.id, status: "PICKED", attempt: 1, worker_id: t.workerId, command: t.command, progress: 0 })),
      },
    ]);
    expect(small.map((t) => t.command)).toEqual(["cmd-0", "cmd-1", "cmd-2"]);
    // The same change made by a plain UPDATE (the trigger's announcement) lists the same fields.
    const plain = await announced(() => db.sql.execute`
      UPDATE tasks SET status = 'PICKED', attempt = attempt + 1, worker_id = 9 WHERE command = 'cmd-3'`);
    expect(Object.keys(plain[0]!.rows![0]!).sort()).toEqual(Object.keys(smallNotes[0]!.rows![0]!).sort());
    const large = await announced(() => claimAndAssignDueTasks(db.sql, { coordinatorId: "c1", workers: Array(30).fill(7), leaseMs: 1000 }));
    expect(large).toEqual([{ op: "U", n: 30, cancelled: 0, rows: null }]);
    const none = await announced(() => claimAndAssignDueTasks(db.sql, { coordinatorId: "c1", workers: [7], leaseMs: 1000 }));
    expect(none).toEqual([]);
  });
});

describe("taskmaster_due_tasks() (the selection every claim starts with)", () => {
  test("walks the claim index in order and stops at its limit, even when the statistics predate a burst of due tasks", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    await db.sql.execute`ANALYZE tasks`; // the statistics of an empty table (a fresh install)
    await db.sql.execute`
      INSERT INTO tasks (id, command, scheduled_at, priority)
      SELECT gen_random_uuid(), 'burst', now() - g * interval '1 ms', g % 3 FROM generate_series(1, 5000) AS g`;
    await withPlans(db.url, async (client, notices) => {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string }>("SELECT id FROM taskmaster_due_tasks(50, '{}')");
      await client.query("ROLLBACK");
      expect(rows).toHaveLength(50);
      const plan = notices.find((n) => n.includes("FOR UPDATE SKIP LOCKED"));
      expect(plan).toMatch(/Index Scan using tasks_claim_idx/);
      expect(plan).not.toMatch(/Sort|Bitmap|Seq Scan/);
    });
  });
});
