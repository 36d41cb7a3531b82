import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestDb, useTestDatabase } from "../prisma/testing.ts";
import { TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";
import { countTasksByStatus } from "./count_tasks_by_status.ts";
import { scheduleTaskBatch } from "./schedule_tasks.ts";

let db: TestDb;
beforeAll(async () => void (db = await useTestDatabase()));
afterAll(async () => await db.close());
beforeEach(async () => void (await db.sql.execute`TRUNCATE tasks CASCADE`));

/** The truth: the tasks counted one by one. */
async function countedRowByRow(): Promise<Record<TaskStatusName, number>> {
  const rows = await db.sql.query<{ status: TaskStatusName; n: number }>`SELECT status::text AS status, count(*)::int AS n FROM tasks GROUP BY status`;
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatusName, number>;
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

async function expectExact(): Promise<Record<TaskStatusName, number>> {
  const truth = await countedRowByRow();
  expect(await countTasksByStatus(db.prisma)).toEqual(truth);
  return truth;
}

describe("countTasksByStatus()", () => {
  it("`countTasksByStatus()` of an empty table is every status at zero", async () => {
    expect(await countTasksByStatus(db.prisma)).toEqual({ SCHEDULED: 0, PICKED: 0, RUNNING: 0, COMPLETED: 0, FAILED: 0, DEAD: 0, CANCELLED: 0 });
  });

  it("`countTasksByStatus()` stays exact through inserts, status updates and deletes", async () => {
    await scheduleTaskBatch(db.sql, { command: "a", count: 300 });
    await db.prisma.task.createMany({
      data: TASK_STATUSES.flatMap((status, i) => Array.from({ length: i + 2 }, () => ({ command: "b", scheduledAt: new Date(), status }))),
    });
    expect(await expectExact()).toMatchObject({ SCHEDULED: 302, PICKED: 3, CANCELLED: 8 });

    // A claim-shaped update, then updates that move rows between several statuses at once.
    await db.sql.execute`UPDATE tasks SET status = 'PICKED' WHERE id IN (SELECT id FROM tasks WHERE status = 'SCHEDULED' LIMIT 120)`;
    await expectExact();
    await db.sql.execute`
      UPDATE tasks SET status = CASE status WHEN 'PICKED' THEN 'RUNNING' WHEN 'RUNNING' THEN 'COMPLETED'
                                            WHEN 'FAILED' THEN 'SCHEDULED' ELSE status END::"TaskStatus"`;
    expect(await expectExact()).toMatchObject({ PICKED: 0, FAILED: 0 });
    // Updates that change no status, or no row at all.
    await db.sql.execute`UPDATE tasks SET progress = 50 WHERE status = 'RUNNING'`;
    await db.sql.execute`UPDATE tasks SET status = 'DEAD' WHERE command = 'nothing'`;
    await expectExact();
    // A statement that writes tasks twice (the update, then the insert it feeds).
    await db.sql.execute`
      WITH moved AS (UPDATE tasks SET status = 'CANCELLED' WHERE id IN (SELECT id FROM tasks WHERE status = 'SCHEDULED' LIMIT 7) RETURNING command)
      INSERT INTO tasks (id, command, scheduled_at) SELECT gen_random_uuid(), command, now() FROM moved`;
    await expectExact();
    // An insert that conflicts, and a transaction rolled back.
    await db.prisma.task.create({ data: { command: "keyed", scheduledAt: new Date(), idempotencyKey: "k" } });
    await db.sql.execute`INSERT INTO tasks (id, command, scheduled_at, idempotency_key) VALUES (gen_random_uuid(), 'keyed', now(), 'k')
                         ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`;
    await db.prisma.$transaction(async (tx) => {
      await tx.task.updateMany({ where: { status: "COMPLETED" }, data: { status: "FAILED" } });
      throw new Error("roll back");
    }).catch(() => {});
    await expectExact();

    await db.sql.execute`DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE status IN ('SCHEDULED', 'COMPLETED') LIMIT 50)`;
    await db.prisma.task.deleteMany({ where: { command: "b" } });
    await expectExact();
    await db.prisma.task.deleteMany();
    expect(await expectExact()).toEqual({ SCHEDULED: 0, PICKED: 0, RUNNING: 0, COMPLETED: 0, FAILED: 0, DEAD: 0, CANCELLED: 0 });
  });

  it("`countTasksByStatus()` is zero after TRUNCATE and counts what comes after", async () => {
    await scheduleTaskBatch(db.sql, { command: "a", count: 50 });
    await db.sql.execute`UPDATE tasks SET status = 'RUNNING' WHERE id IN (SELECT id FROM tasks LIMIT 20)`;
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    expect(await expectExact()).toMatchObject({ SCHEDULED: 0, RUNNING: 0 });
    await scheduleTaskBatch(db.sql, { command: "a", count: 5 });
    expect(await expectExact()).toMatchObject({ SCHEDULED: 5 });
  });

  it("`countTasksByStatus()` stays exact while many connections write at once", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 12 });
    try {
      await Promise.all(Array.from({ length: 12 }, () => pool.query("SELECT 1")));
      await Promise.all(
        Array.from({ length: 240 }, async (_, i) => {
          switch (i % 4) {
            case 0:
              return pool.query(`INSERT INTO tasks (id, command, scheduled_at) SELECT gen_random_uuid(), 'c', now() FROM generate_series(1, 25)`);
            case 1:
              return pool.query(`UPDATE tasks SET status = 'PICKED' WHERE id IN (SELECT id FROM tasks WHERE status = 'SCHEDULED' LIMIT 10 FOR UPDATE SKIP LOCKED)`);
            case 2:
              return pool.query(`UPDATE tasks SET status = 'COMPLETED' WHERE id IN (SELECT id FROM tasks WHERE status = 'PICKED' LIMIT 8 FOR UPDATE SKIP LOCKED)`);
            default:
              return pool.query(`DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE status = 'COMPLETED' LIMIT 3 FOR UPDATE SKIP LOCKED)`);
          }
        }),
      );
    } finally {
      await pool.end();
    }
    const truth = await expectExact();
    expect(Object.values(truth).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const [{ shards }] = (await db.sql.query<{ shards: number }>`SELECT count(DISTINCT shard)::int AS shards FROM task_status_counts`) as [{ shards: number }];
    expect(shards).toBeGreaterThan(1);
  });

  it("`taskmaster_recount_tasks()` counts rows written while the triggers were off", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query("SET session_replication_role = replica");
      await client.query(`INSERT INTO tasks (id, command, scheduled_at, status) SELECT gen_random_uuid(), 'loaded', now(), 'COMPLETED' FROM generate_series(1, 30)`);
    } finally {
      await client.end();
    }
    expect(await countTasksByStatus(db.prisma)).toMatchObject({ COMPLETED: 0 });
    await db.sql.query`SELECT taskmaster_recount_tasks()`;
    expect(await expectExact()).toMatchObject({ COMPLETED: 30 });
  });
});
