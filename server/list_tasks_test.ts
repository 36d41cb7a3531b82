import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";
import { listSeedTasks, listTasks, taskPageQuery, type TaskFilter } from "./list_tasks.ts";

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

/** One task of each status in turn, each created a second after the one before, on workers 1 and 2. */
async function tasksOfEveryStatus(rounds: number): Promise<{ id: string; status: TaskStatusName; command: string; workerId: number | null }[]> {
  const made: { id: string; status: TaskStatusName; command: string; workerId: number | null }[] = [];
  const base = Date.parse("2026-01-01T00:00:00Z");
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const status of TASK_STATUSES) {
      const workerId = status === "SCHEDULED" ? null : 1 + (n % 2);
      const command = n % 3 === 0 ? "x" : "y";
      const row = await db.prisma.task.create({
        data: { command, status, scheduledAt: new Date(base), createdAt: new Date(base + n * 1000), workerId: workerId === null ? null : BigInt(workerId) },
        select: { id: true },
      });
      made.push({ id: row.id, status, command, workerId });
      n++;
    }
  }
  return made.reverse(); // newest first
}

async function allPages(filter: TaskFilter, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await listTasks(db.prisma, { ...filter, limit, cursor });
    seen.push(...page.items.map((i) => i.id));
    if (!page.nextCursor) return seen;
    cursor = page.nextCursor;
  }
  throw new Error("more than 100 pages");
}

describe("listTasks", () => {
  it("merges finished, SCHEDULED and in-flight tasks newest first, page after page, whatever the filter", async () => {
    const made = await tasksOfEveryStatus(3);
    const expected = (keep: (t: (typeof made)[number]) => boolean) => made.filter(keep).map((t) => t.id);
    expect(await allPages({}, 4)).toEqual(expected(() => true));
    expect(await allPages({}, 100)).toEqual(expected(() => true));
    expect(await allPages({ command: "x" }, 2)).toEqual(expected((t) => t.command === "x"));
    expect(await allPages({ workerId: 2 }, 3)).toEqual(expected((t) => t.workerId === 2));
    expect(await allPages({ statuses: ["SCHEDULED", "RUNNING", "DEAD"] }, 2)).toEqual(
      expected((t) => ["SCHEDULED", "RUNNING", "DEAD"].includes(t.status)),
    );
    expect(await allPages({ statuses: ["PICKED"], workerId: 1, command: "y" }, 1)).toEqual(
      expected((t) => t.status === "PICKED" && t.workerId === 1 && t.command === "y"),
    );
    const seed = await listSeedTasks(db.prisma, { limit: 5 });
    expect(seed.map((t) => t.task_id)).toEqual(expected(() => true).slice(0, 5));
  });

  it("finds each page with index scans only, in the plan PostgreSQL caches too, among 20,000 finished tasks", async () => {
    await db.sql.execute`
      INSERT INTO tasks (id, command, status, scheduled_at, created_at, worker_id)
      SELECT gen_random_uuid(), 'c' || (i % 10), (ARRAY['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'DEAD'])[1 + i % 5]::"TaskStatus",
             now(), now() - i * interval '1 second', 1 + i % 3
        FROM generate_series(1, 20000) AS i`;
    await db.sql.execute`INSERT INTO tasks (id, command, scheduled_at) SELECT gen_random_uuid(), 'c1', now() FROM generate_series(1, 500)`;
    await db.sql.execute`ANALYZE tasks`;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const cursor = { createdAt: new Date(Date.now() - 600_000), id: "ffffffff-ffff-ffff-ffff-ffffffffffff" };
      const filters: TaskFilter[] = [{}, { statuses: ["FAILED"] }, { command: "c3" }, { workerId: 2 }, { statuses: ["COMPLETED", "RUNNING"], command: "c1" }];
      for (const mode of ["auto", "force_generic_plan"]) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        for (const filter of filters) {
          for (const at of [null, cursor]) {
            const query = taskPageQuery(filter, at, 51)!;
            const { rows } = await client.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values);
            const plan = JSON.stringify(rows[0]!["QUERY PLAN"]);
            expect(plan, `${mode} ${JSON.stringify(filter)} ${at ? "after a cursor" : ""}`).not.toContain("Seq Scan");
          }
        }
      }
    } finally {
      await client.end();
    }
  });
});
