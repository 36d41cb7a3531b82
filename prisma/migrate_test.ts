import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { applyMigrations, pendingSchemaChange } from "./migrate.ts";
import { type TestDb, useTestDatabase } from "./testing.ts";

let db: TestDb;
beforeAll(async () => void (db = await useTestDatabase()));
afterAll(async () => await db.close());

describe("applyMigrations()", () => {
  test("records every migration in _prisma_migrations and applies nothing twice", async () => {
    expect(await applyMigrations(db.url)).toEqual([]);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query("SELECT migration_name, finished_at FROM _prisma_migrations");
    await c.end();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  test("installs the change-notification triggers", async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const got: string[] = [];
    c.on("notification", (n) => got.push(`${n.channel}:${n.payload}`));
    await c.query("LISTEN taskmaster_due");
    await db.prisma.task.create({ data: { command: "x", scheduledAt: new Date("2026-01-01T00:00:00Z") } });
    await new Promise((r) => setTimeout(r, 200));
    await c.end();
    expect(got).toContain(`taskmaster_due:${Date.parse("2026-01-01T00:00:00Z")}`);
  });

  test("a tasks notification counts the rows that became CANCELLED, and lists at most 25 rows, those whose status changed", async () => {
    await db.sql.execute`TRUNCATE tasks CASCADE`;
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const got: { op: string; n: number; cancelled: number; rows: { id: string; status: string }[] | null }[] = [];
    c.on("notification", (n) => got.push(JSON.parse(n.payload ?? "")));
    await c.query("LISTEN taskmaster_tasks");
    const wait = async (count: number) => {
      for (let i = 0; i < 100 && got.length < count; i++) await new Promise((r) => setTimeout(r, 20));
      return got.splice(0);
    };
    await db.sql.execute`INSERT INTO tasks (id, command, scheduled_at) SELECT gen_random_uuid(), 'x', now() FROM generate_series(1, 30)`;
    expect(await wait(1)).toEqual([expect.objectContaining({ op: "I", n: 30, cancelled: 0, rows: null })]);
    // 30 rows change, 10 of them to CANCELLED: too many to list, the cancellations still counted.
    await db.sql.execute`
      UPDATE tasks SET status = CASE WHEN id IN (SELECT id FROM tasks ORDER BY id LIMIT 10) THEN 'CANCELLED' ELSE 'PICKED' END::"TaskStatus"`;
    expect(await wait(1)).toEqual([expect.objectContaining({ op: "U", n: 30, cancelled: 10, rows: null })]);
    // Rows already CANCELLED that stay so are not counted again; a row whose scheduled_at alone
    // changes counts in n but is not listed.
    await db.sql.execute`
      UPDATE tasks SET status = CASE WHEN status = 'CANCELLED' THEN 'CANCELLED' ELSE 'SCHEDULED' END::"TaskStatus",
                       scheduled_at = now() + interval '1 hour'
       WHERE id IN (SELECT id FROM tasks ORDER BY id LIMIT 12)`;
    const [update] = await wait(1);
    expect(update).toMatchObject({ op: "U", n: 12, cancelled: 0 });
    expect(update!.rows!.map((r) => r.status)).toEqual(["SCHEDULED", "SCHEDULED"]);
    await c.end();
  });
});

describe("pendingSchemaChange()", () => {
  test("schema.prisma has no change that a migration does not cover", async () => {
    expect(await pendingSchemaChange(db.url)).toBe("");
  });
});
