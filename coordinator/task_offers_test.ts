import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { type TestDb, useTestDatabase } from "../prisma/testing.ts";
import { type HandOff, offerSlots, readHandedTasks, renewOffers, withdrawOffers } from "./task_offers.ts";

let db: TestDb;
let listener: pg.Client;
const handOffs: HandOff[] = [];
const dashboardFeed: { op: string; rows: { id: string; status: string }[] | null }[] = [];
const dueFeed: string[] = [];

beforeAll(async () => {
  db = await useTestDatabase();
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on("notification", (n) => {
    if (n.channel === "taskmaster_handoff") handOffs.push(JSON.parse(n.payload ?? ""));
    else if (n.channel === "taskmaster_due") dueFeed.push(n.payload ?? "");
    else dashboardFeed.push(JSON.parse(n.payload ?? ""));
  });
  await listener.query("LISTEN taskmaster_handoff; LISTEN taskmaster_tasks; LISTEN taskmaster_due");
});
afterAll(async () => {
  await listener.end();
  await db.close();
});
beforeEach(async () => {
  await db.sql.execute`TRUNCATE tasks, task_offers, workers, counters CASCADE`;
  await db.sql.execute`INSERT INTO workers (id, address, status, coordinator_id)
                       VALUES (7, 'w7:1', 'ONLINE', 'c1'), (8, 'w8:1', 'ONLINE', 'c2'), (9, 'w9:1', 'OFFLINE', 'c1')`;
  handOffs.length = 0;
  dashboardFeed.length = 0;
  dueFeed.length = 0;
});

async function settle<T>(list: T[], count: number): Promise<T[]> {
  for (let i = 0; i < 100 && list.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 30)); // and nothing more
  return list.splice(0);
}

async function insertTasks(rows: { command: string; priority?: number; dueInMs?: number; payload?: unknown }[]): Promise<string[]> {
  const ids = rows.map(() => crypto.randomUUID());
  await db.sql.execute`
    INSERT INTO tasks (id, command, priority, scheduled_at, payload)
    SELECT id, command, priority, now() + due_ms * interval '1 millisecond', payload::jsonb
      FROM unnest(${ids}::uuid[], ${rows.map((r) => r.command)}::text[], ${rows.map((r) => r.priority ?? 0)}::int[],
                  ${rows.map((r) => r.dueInMs ?? 0)}::int[], ${rows.map((r) => (r.payload === undefined ? null : JSON.stringify(r.payload)))}::text[])
             AS r(id, command, priority, due_ms, payload)`;
  return ids;
}

async function statusOf(ids: string[]) {
  const rows = await db.sql.query<{ id: string; status: string; attempt: number; worker_id: bigint | null; coordinator_id: string | null; lease_ms: number | null }>`
    SELECT id::text AS id, status::text AS status, attempt, worker_id, coordinator_id,
           round(extract(epoch FROM lease_expires_at - picked_at) * 1000)::int AS lease_ms
      FROM tasks WHERE id = ANY(${ids}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)!);
}

describe("the tasks_hand_off trigger", () => {
  test("inserts new due tasks PICKED by the offers, one each, in the order inserted; the rest stay SCHEDULED", async () => {
    const offers = await offerSlots(db.sql, "c1", [7, 7], 30_000, 60_000);
    expect(offers.map((o) => o.workerId)).toEqual([7, 7]);
    const [high, future, mid, low] = await insertTasks([
      { command: "high", priority: 5, payload: { n: 1 } },
      { command: "future", priority: 9, dueInMs: 60_000 },
      { command: "mid", priority: 3 },
      { command: "low", priority: 0 },
    ]);
    const [highRow, futureRow, midRow, lowRow] = await statusOf([high!, future!, mid!, low!]);
    expect(highRow).toMatchObject({ status: "PICKED", attempt: 1, worker_id: 7n, coordinator_id: "c1", lease_ms: 30_000 });
    expect(midRow).toMatchObject({ status: "PICKED", attempt: 1, worker_id: 7n, coordinator_id: "c1" });
    expect(lowRow).toMatchObject({ status: "SCHEDULED", attempt: 0, worker_id: null });
    expect(futureRow).toMatchObject({ status: "SCHEDULED", attempt: 0 });
    expect(await db.sql.query`SELECT id FROM task_offers`).toEqual([]);

    // One message per task handed off, sent at the INSERT's commit.
    const messages = await settle(handOffs, 2);
    expect(messages.map((m) => [m.coordinator, m.tasks.length])).toEqual([["c1", 1], ["c1", 1]]);
    const tasks = messages.flatMap((m) => m.tasks);
    expect(tasks.map((t) => [t.id, t.attempt, t.worker, t.command, t.payload, t.timeout_ms]).sort()).toEqual(
      [
        [high, 1, 7, "high", '{"n": 1}', null],
        [mid, 1, 7, "mid", null, null],
      ].sort(),
    );
    expect(tasks.map((t) => t.offer).sort()).toEqual(offers.map((o) => o.id).sort());
    // The dashboard's feed says the INSERT once, with the rows as inserted: no UPDATE follows.
    const feed = await settle(dashboardFeed, 1);
    expect(feed.map((f) => f.op)).toEqual(["I"]);
    expect(feed[0]!.rows!.map((r) => [r.id, r.status]).sort()).toEqual(
      [[high, "PICKED"], [future, "SCHEDULED"], [mid, "PICKED"], [low, "SCHEDULED"]].sort(),
    );
    const [counter] = await db.sql.query<{ value: bigint }>`SELECT value FROM counters WHERE name = 'tasks_handed_off'`;
    expect(counter?.value).toBe(2n);
    expect(await db.sql.query`SELECT status::text AS status, sum(n)::int AS n FROM task_status_counts GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1`).toEqual([
      { status: "PICKED", n: 2 },
      { status: "SCHEDULED", n: 2 },
    ]);
  });

  test("wakes no coordinator to claim a task it handed off, and does wake one for a task left SCHEDULED", async () => {
    await offerSlots(db.sql, "c1", [7], 30_000, 60_000);
    await insertTasks([{ command: "handed" }]);
    expect(await settle(handOffs, 1)).toHaveLength(1);
    expect(await settle(dueFeed, 0)).toEqual([]);
    await insertTasks([{ command: "left" }]);
    expect(await settle(handOffs, 0)).toEqual([]);
    expect(await settle(dueFeed, 1)).toHaveLength(1);
  });

  test("does nothing without usable offers: none, lapsed, or of a worker that is not ONLINE under the offering coordinator", async () => {
    const [first] = await insertTasks([{ command: "no-offers" }]);
    expect((await statusOf([first!]))[0]!.status).toBe("SCHEDULED");
    await offerSlots(db.sql, "c1", [7], 30_000, -1); // lapsed
    await offerSlots(db.sql, "c1", [9], 30_000, 60_000); // worker 9 is OFFLINE
    await offerSlots(db.sql, "c1", [8], 30_000, 60_000); // worker 8 belongs to coordinator c2 now
    const [second] = await insertTasks([{ command: "unusable-offers" }]);
    expect((await statusOf([second!]))[0]!.status).toBe("SCHEDULED");
    expect(await db.sql.query`SELECT id FROM task_offers`).toHaveLength(3);
    expect(await settle(handOffs, 0)).toEqual([]);
  });

  test("hands off no row the INSERT may skip (one with an idempotency key, or an id that exists): the offer stays", async () => {
    const [offer] = await offerSlots(db.sql, "c1", [7], 30_000, 60_000);
    const offerIds = async () => (await db.sql.query<{ id: bigint }>`SELECT id FROM task_offers`).map((r) => String(r.id));
    const keyed = crypto.randomUUID();
    const insertKeyed = (id: string) => db.sql.query<{ id: string }>`
      INSERT INTO tasks (id, command, scheduled_at, idempotency_key) VALUES (${id}::uuid, 'keyed', now(), 'key-1')
      ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id::text AS id`;
    expect(await insertKeyed(keyed)).toEqual([{ id: keyed }]);
    expect(await insertKeyed(crypto.randomUUID())).toEqual([]); // the key again: skipped
    // The same id again, without a key, skipped by ON CONFLICT (id).
    expect(await db.sql.query`INSERT INTO tasks (id, command, scheduled_at) VALUES (${keyed}::uuid, 'again', now()) ON CONFLICT (id) DO NOTHING RETURNING id`).toEqual([]);
    expect((await statusOf([keyed]))[0]).toMatchObject({ status: "SCHEDULED", attempt: 0 });
    expect(await settle(handOffs, 0)).toEqual([]);
    expect(await db.sql.query`SELECT value FROM counters WHERE name = 'tasks_handed_off'`).toEqual([]);
    expect(await offerIds()).toEqual([offer!.id]);
    // The offer is still good: the next plain task takes it.
    const [plain] = await insertTasks([{ command: "plain" }]);
    expect((await statusOf([plain!]))[0]).toMatchObject({ status: "PICKED", worker_id: 7n });
    expect((await settle(handOffs, 1))[0]!.tasks.map((t) => [t.id, t.offer])).toEqual([[plain, offer!.id]]);
    expect(await offerIds()).toEqual([]);
  });

  test("names only the id in a notification too large for its task, and readHandedTasks() reads the rest", async () => {
    await offerSlots(db.sql, "c1", [7, 7], 30_000, 60_000);
    const big = "x".repeat(8000);
    const ids = await insertTasks([{ command: "a", payload: { big } }, { command: "b" }]);
    const messages = await settle(handOffs, 2);
    const tasks = messages.flatMap((m) => m.tasks);
    expect(tasks).toHaveLength(2);
    const bigOne = tasks.find((t) => t.id === ids[0])!;
    expect(bigOne.command === undefined && bigOne.payload === undefined).toBe(true);
    expect(tasks.find((t) => t.id === ids[1])!.command).toBe("b");
    const read = await readHandedTasks(db.sql, "c1", [bigOne]);
    expect(read.map((t) => [t.id, t.command])).toEqual([[ids[0], "a"]]);
    expect(read[0]!.payload).toBe(JSON.stringify({ big }).replace(":", ": "));
    // Another coordinator reads none of them.
    expect(await readHandedTasks(db.sql, "c2", [bigOne])).toEqual([]);
  });
});

describe("offers", () => {
  test("withdrawOffers() deletes this coordinator's offers (or one worker's) and says which", async () => {
    const mine = await offerSlots(db.sql, "c1", [7, 7, 9], 30_000, 60_000);
    const theirs = await offerSlots(db.sql, "c2", [8], 30_000, 60_000);
    expect(await withdrawOffers(db.sql, "c1", 9)).toEqual([mine[2]!.id]);
    expect((await withdrawOffers(db.sql, "c1")).sort()).toEqual([mine[0]!.id, mine[1]!.id].sort());
    expect((await db.sql.query<{ id: bigint }>`SELECT id FROM task_offers`).map((r) => String(r.id))).toEqual([theirs[0]!.id]);
  });

  test("renewOffers() extends this coordinator's offers, returns those standing, and deletes long-lapsed ones of anyone", async () => {
    const [kept, used] = await offerSlots(db.sql, "c1", [7, 7], 30_000, 1_000);
    await offerSlots(db.sql, "c2", [8], 30_000, -120_000); // lapsed two minutes ago
    await db.sql.execute`DELETE FROM task_offers WHERE id = ${used!.id}::bigint`; // a task took it
    expect(await renewOffers(db.sql, "c1", 60_000)).toEqual([kept!.id]);
    const rows = await db.sql.query<{ coordinator_id: string; left_ms: number }>`
      SELECT coordinator_id, extract(epoch FROM expires_at - now()) * 1000 AS left_ms FROM task_offers`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.coordinator_id).toBe("c1");
    expect(Number(rows[0]!.left_ms)).toBeGreaterThan(50_000);
  });
});
