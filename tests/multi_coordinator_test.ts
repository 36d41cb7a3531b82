// Several coordinators at once, as real processes on one PostgreSQL: two coordinators, two workers
// registered with each (every worker knows both addresses: COORDINATOR="mine,other"). 2,000 tasks run
// exactly once each; then one coordinator is killed (SIGKILL) mid-run, its workers move to the other
// after three heartbeats without an answer, and every task still completes. Executions are counted in
// a ledger file (tests/testdata/fault_handlers.ts `ledger` handler).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type TestDb, useTestDatabase } from "../prisma/testing.ts";
import { eventually, killAll, type RunningProcess, startProcess } from "./_process.ts";

const TASKS = 2000;
// Heartbeats every 300 ms. A coordinator declares a worker dead after 6 misses (1.8 s): 3 (0.9 s) is
// shorter than a busy test machine's pauses, and a worker declared dead loses its tasks (they run
// again). A worker moves to its next coordinator after 3 heartbeats without an answer (the default).
const fast = { HEARTBEAT_INTERVAL_MS: "300", HEARTBEAT_MISSES: "6", LOG_LEVEL: "info" };

let db: TestDb;
let dir: string;
let ledger: string;
const coordinators: Record<"a" | "b", RunningProcess> = {} as never;
const addresses: Record<"a" | "b", string> = { a: "", b: "" };
const workers: { name: string; home: "a" | "b"; process: RunningProcess }[] = [];

function startCoordinator(id: "a" | "b"): Promise<RunningProcess> {
  return startProcess(
    "coordinator",
    { DATABASE_URL: db.url, COORDINATOR_PORT: "0", COORDINATOR_ID: `coord-${id}`, LEASE_MS: "2000", LEASE_SWEEP_INTERVAL_MS: "300", RETRY_BASE_MS: "100", ...fast },
    { name: `coord-${id}` },
  );
}

function startWorker(name: string, home: "a" | "b"): Promise<RunningProcess> {
  const other = home === "a" ? "b" : "a";
  return startProcess(
    "worker",
    {
      COORDINATOR: `${addresses[home]},${addresses[other]}`,
      WORKER_ADDRESS: "127.0.0.1",
      POOL_SIZE: "50",
      HANDLER_MODULES: "tests/testdata/fault_handlers.ts",
      LEDGER_PATH: ledger,
      DRAIN_TIMEOUT_MS: "1000",
      ...fast,
    },
    { name },
  );
}

/** Schedules `count` ledger tasks due now; returns their ids. */
async function schedule(count: number, payload: unknown): Promise<string[]> {
  const rows = await db.prisma.$queryRaw<{ id: string }[]>`
    INSERT INTO tasks (id, command, payload, scheduled_at, max_attempts)
    SELECT gen_random_uuid(), 'ledger', ${JSON.stringify(payload)}::jsonb, now(), 10 FROM generate_series(1, ${count})
    RETURNING id::text AS id`;
  return rows.map((r) => r.id);
}

/** How many times the ledger saw each task run. */
function runsByTask(): Map<string, number> {
  const runs = new Map<string, number>();
  for (const line of readFileSync(ledger, "utf8").split("\n")) {
    const [taskId, , , event] = line.split(" ");
    if (taskId && event === "run") runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
  }
  return runs;
}

async function statusCounts(ids: string[]): Promise<Record<string, number>> {
  const rows = await db.prisma.$queryRaw<{ status: string; n: bigint }[]>`
    SELECT status::text AS status, count(*) AS n FROM tasks WHERE id = ANY(${ids}::uuid[]) GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function workerCoordinators(): Promise<Map<number, string | null>> {
  const rows = await db.prisma.$queryRaw<{ id: bigint; coordinator_id: string | null }[]>`
    SELECT id, coordinator_id FROM workers WHERE status <> 'OFFLINE'`;
  return new Map(rows.map((r) => [Number(r.id), r.coordinator_id]));
}

beforeAll(async () => {
  db = await useTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "multi-coordinator-"));
  ledger = join(dir, "ledger.txt");
  writeFileSync(ledger, "");
  [coordinators.a, coordinators.b] = await Promise.all([startCoordinator("a"), startCoordinator("b")]);
  addresses.a = `127.0.0.1:${coordinators.a.ready["port"]}`;
  addresses.b = `127.0.0.1:${coordinators.b.ready["port"]}`;
  const specs = [
    ["w-a1", "a"],
    ["w-a2", "a"],
    ["w-b1", "b"],
    ["w-b2", "b"],
  ] as const;
  const started = await Promise.all(specs.map(([name, home]) => startWorker(name, home)));
  specs.forEach(([name, home], i) => workers.push({ name, home, process: started[i]! }));
}, 90_000);

afterAll(async () => {
  await killAll();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const idOf = (w: (typeof workers)[number]) => Number(w.process.ready["worker_id"]);

describe("several coordinators against one database", () => {
  test("each worker registers with the first coordinator it is given, and the workers table says which", async () => {
    await eventually(
      async () => {
        const owners = await workerCoordinators();
        return workers.every((w) => owners.get(idOf(w)) === `coord-${w.home}`);
      },
      { what: "every worker registered with its own coordinator", timeoutMs: 20_000 },
    );
  });

  test(`${TASKS} tasks over two coordinators: each executed exactly once, none lost, both coordinators dispatching`, async () => {
    const ids = await schedule(TASKS, {});
    await eventually(async () => (await statusCounts(ids))["COMPLETED"] === TASKS, { what: "all tasks completed", timeoutMs: 45_000, intervalMs: 250 });
    const runs = runsByTask();
    const warnings = [coordinators.a, coordinators.b, ...workers.map((w) => w.process)].flatMap((p) =>
      p.lines.filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"')).slice(0, 5).map((l) => `[${p.name}] ${l}`),
    );
    expect(
      ids.filter((id) => runs.get(id) !== 1).map((id) => `${id} ran ${runs.get(id) ?? 0} times`),
      `the processes' first warnings:\n${warnings.join("\n")}`,
    ).toEqual([]);
    // Both coordinators' workers did a share of the work.
    const done = await db.prisma.$queryRaw<{ coordinator_id: string; n: bigint }[]>`
      SELECT w.coordinator_id, sum(w.tasks_completed)::bigint AS n FROM workers w GROUP BY w.coordinator_id`;
    const byCoordinator = Object.fromEntries(done.map((r) => [r.coordinator_id, Number(r.n)]));
    expect(byCoordinator["coord-a"]).toBeGreaterThan(0);
    expect(byCoordinator["coord-b"]).toBeGreaterThan(0);
    expect((byCoordinator["coord-a"] ?? 0) + (byCoordinator["coord-b"] ?? 0)).toBe(TASKS);
  }, 60_000);

  test(`a coordinator killed mid-run: its workers move to the other and all ${TASKS} tasks complete`, async () => {
    const ids = await schedule(TASKS, { ms: 20 });
    // Let a good part of the run happen with both coordinators.
    await eventually(async () => ((await statusCounts(ids))["COMPLETED"] ?? 0) >= TASKS / 4, { what: "a quarter done", timeoutMs: 30_000, intervalMs: 50 });
    expect(await coordinators.a.stop("SIGKILL")).toBe("SIGKILL");

    const moved = workers.filter((w) => w.home === "a");
    for (const w of moved) {
      await w.process.waitForLog((l) => l["msg"] === "registered with a coordinator" && l["coordinator_id"] === "coord-b", 20_000);
    }
    await eventually(async () => (await statusCounts(ids))["COMPLETED"] === TASKS, { what: "all tasks completed after the kill", timeoutMs: 60_000, intervalMs: 250 });
    const owners = await workerCoordinators();
    for (const w of workers) expect(owners.get(idOf(w)), w.name).toBe("coord-b");
    // Every worker process lived through it.
    for (const w of workers) expect(w.process.child.exitCode, w.name).toBeNull();

    // Every task ran; one that ran more than once was touched by the fault: it has more than one attempt.
    const runs = runsByTask();
    expect(ids.filter((id) => !runs.has(id))).toEqual([]);
    const repeated = ids.filter((id) => (runs.get(id) ?? 0) > 1);
    if (repeated.length > 0) {
      const attempts = await db.prisma.$queryRaw<{ id: string; attempt: number }[]>`
        SELECT id::text AS id, attempt FROM tasks WHERE id = ANY(${repeated}::uuid[])`;
      for (const t of attempts) expect(t.attempt, t.id).toBeGreaterThanOrEqual(runs.get(t.id)!);
    }
    console.log(`after the kill: ${repeated.length} of ${TASKS} tasks ran more than once (each with a new attempt)`);
  }, 90_000);
});
