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
});

describe("pendingSchemaChange()", () => {
  test("schema.prisma has no change that a migration does not cover", async () => {
    expect(await pendingSchemaChange(db.url)).toBe("");
  });
});
