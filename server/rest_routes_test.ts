import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getJson, postJson, startTestServer, taskTableSnapshot, type TestServer } from "./testing.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Runs `request` and asserts the tasks table is unchanged by it. */
async function changesNothing<T>(request: () => Promise<T>): Promise<T> {
  const before = await taskTableSnapshot(t.db);
  const result = await request();
  expect(await taskTableSnapshot(t.db)).toBe(before);
  return result;
}

describe("POST /schedule", () => {
  it("`POST /schedule` answers the seed's body: command, scheduled_at in Unix seconds, task_id", async () => {
    const { status, body } = await postJson(`${t.url}/schedule`, { command: "process-report", scheduled_at: "2026-01-23T15:30:00+00:00" });
    expect(status).toBe(200);
    expect(Object.keys(body as object)).toEqual(["command", "scheduled_at", "task_id"]);
    expect(body).toMatchObject({ command: "process-report", scheduled_at: 1769182200 });
    const id = (body as { task_id: string }).task_id;
    expect(id).toMatch(UUID);
    const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id } });
    expect(row.status).toBe("SCHEDULED");
    expect(row.scheduledAt.toISOString()).toBe("2026-01-23T15:30:00.000Z");
  });

  it("`POST /api/schedule` is an alias of /schedule", async () => {
    const { status, body } = await postJson(`${t.url}/api/schedule`, { command: "alias", scheduled_at: "2026-01-23T15:00:00Z" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ command: "alias", scheduled_at: 1769180400 });
  });

  it("`POST /schedule` accepts a time without an offset as UTC and keeps optional extras", async () => {
    const { status, body } = await postJson(`${t.url}/schedule`, {
      command: "extras",
      scheduled_at: "2026-03-01 10:00:00",
      priority: 7,
      max_attempts: 5,
      payload: { a: 1 },
    });
    expect(status).toBe(200);
    const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id: (body as { task_id: string }).task_id } });
    expect(row).toMatchObject({ priority: 7, maxAttempts: 5, payload: { a: 1 } });
    expect(row.scheduledAt.toISOString()).toBe("2026-03-01T10:00:00.000Z");
  });

  it("`POST /schedule` with the same idempotency_key returns the first task", async () => {
    const first = await postJson(`${t.url}/schedule`, { command: "once", scheduled_at: "2026-01-01T00:00:00Z", idempotency_key: "k-1" });
    const second = await changesNothing(() =>
      postJson(`${t.url}/schedule`, { command: "once", scheduled_at: "2026-01-01T00:00:00Z", idempotency_key: "k-1" }),
    );
    expect(second.status).toBe(200);
    expect((second.body as { task_id: string }).task_id).toBe((first.body as { task_id: string }).task_id);
  });

  it.each([
    ["no body", ""],
    ["an empty object", {}],
    ["no scheduled_at", { command: "x" }],
    ["no command", { scheduled_at: "2026-01-01T00:00:00Z" }],
    ["an empty command", { command: "", scheduled_at: "2026-01-01T00:00:00Z" }],
    ["an empty scheduled_at", { command: "x", scheduled_at: "" }],
  ])("`POST /schedule` with %s answers 400 'command and scheduled_at are required'", async (_what, body) => {
    const response = await changesNothing(() => postJson(`${t.url}/schedule`, body));
    expect(response).toMatchObject({ status: 400, body: { error: "command and scheduled_at are required" } });
  });

  it.each(["2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "tomorrow", "2026-01-01T25:00:00Z", "01/02/2026"])(
    "`POST /schedule` rejects the impossible or non-ISO date %s with the seed's message",
    async (date) => {
      const response = await changesNothing(() => postJson(`${t.url}/schedule`, { command: "x", scheduled_at: date }));
      expect(response).toMatchObject({ status: 400, body: { error: "Invalid date format. Use ISO 8601 format." } });
    },
  );

  it("`POST /schedule` answers 400 naming the field when command is not a string", async () => {
    const response = await changesNothing(() => postJson(`${t.url}/schedule`, { command: 42, scheduled_at: "2026-01-01T00:00:00Z" }));
    expect(response).toMatchObject({ status: 400, body: { error: "command must be a string, got a number" } });
  });

  it("`POST /schedule` answers 400 naming the field when scheduled_at is not a string", async () => {
    const response = await changesNothing(() => postJson(`${t.url}/schedule`, { command: "x", scheduled_at: 1737645000 }));
    expect(response).toMatchObject({ status: 400, body: { error: "scheduled_at must be an ISO 8601 string, got a number" } });
  });

  it("`POST /schedule` answers 400 for a command longer than 1000 characters", async () => {
    const response = await changesNothing(() =>
      postJson(`${t.url}/schedule`, { command: "x".repeat(1001), scheduled_at: "2026-01-01T00:00:00Z" }),
    );
    expect(response).toMatchObject({ status: 400, body: { error: "command must be at most 1000 characters" } });
  });

  it("`POST /schedule` answers 400 for malformed JSON instead of an HTML page", async () => {
    const response = await changesNothing(() => postJson(`${t.url}/schedule`, '{"command": "x", '));
    expect(response.status).toBe(400);
    expect((response.body as { error: string }).error).toMatch(/^Malformed JSON body: /);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it.each([
    ["an array", "[1,2]"],
    ["a string", '"hello"'],
    ["null", "null"],
    ["a number", "12"],
  ])("`POST /schedule` answers 400 when the body is %s", async (what, text) => {
    const response = await changesNothing(() => postJson(`${t.url}/schedule`, text));
    expect(response).toMatchObject({ status: 400, body: { error: `Request body must be a JSON object, got ${what}` } });
  });

  it("`POST /schedule` answers 413 for a body over 1 MiB", async () => {
    const big = JSON.stringify({ command: "x", scheduled_at: "2026-01-01T00:00:00Z", payload: "y".repeat(1_100_000) });
    const response = await changesNothing(() => postJson(`${t.url}/schedule`, big));
    expect(response).toMatchObject({ status: 413, body: { error: "Request body too large: limit is 1048576 bytes" } });
  });

  it("`GET /schedule` answers 405 with Allow: POST", async () => {
    const response = await getJson(`${t.url}/schedule`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect((response.body as { error: string }).error).toBe("Method GET not allowed on /schedule; use POST");
  });
});

describe("GET /status", () => {
  it("`GET /status` answers the seed's status object with seed-format times and worker_id", async () => {
    const task = await t.db.prisma.task.create({
      data: {
        command: "process-report",
        scheduledAt: new Date("2026-01-23T15:30:00Z"),
        pickedAt: new Date("2026-01-23T15:30:02Z"),
        startedAt: new Date("2026-01-23T15:30:03.400Z"),
        completedAt: new Date("2026-01-23T15:30:08Z"),
        status: "COMPLETED",
        attempt: 1,
        workerId: 4_000_000_000n,
      },
    });
    for (const path of ["/status", "/api/status"]) {
      const { status, body } = await getJson(`${t.url}${path}?task_id=${task.id}`);
      expect(status).toBe(200);
      expect(body).toStrictEqual({
        task_id: task.id,
        command: "process-report",
        scheduled_at: "2026-01-23 15:30:00",
        picked_at: "2026-01-23 15:30:02",
        started_at: "2026-01-23 15:30:03",
        completed_at: "2026-01-23 15:30:08",
        failed_at: "",
        worker_id: 4_000_000_000,
      });
    }
  });

  it("`GET /status` of a task not yet picked has empty times and worker_id null", async () => {
    const { body } = await postJson(`${t.url}/schedule`, { command: "later", scheduled_at: "2030-01-01T00:00:00Z" });
    const status = await getJson(`${t.url}/status?task_id=${(body as { task_id: string }).task_id}`);
    expect(status.body).toMatchObject({ scheduled_at: "2030-01-01 00:00:00", picked_at: "", started_at: "", completed_at: "", failed_at: "", worker_id: null });
  });

  it.each(["", "?task_id=", "?other=1"])("`GET /status%s` answers 400 'Task ID is required'", async (query) => {
    expect(await getJson(`${t.url}/status${query}`)).toMatchObject({ status: 400, body: { error: "Task ID is required" } });
  });

  it.each(["abc", "123", "f47ac10b-58cc-4372-a567-0e02b2c3d47", "'; DROP TABLE tasks; --"])(
    "`GET /status` of the non-UUID %s answers 400, never 500",
    async (id) => {
      const response = await getJson(`${t.url}/status?task_id=${encodeURIComponent(id)}`);
      expect(response).toMatchObject({ status: 400, body: { error: "Invalid task_id: expected a UUID" } });
    },
  );

  it("`GET /status` of an unknown UUID answers 404 'Task not found'", async () => {
    const response = await getJson(`${t.url}/status?task_id=f47ac10b-58cc-4372-a567-0e02b2c3d479`);
    expect(response).toMatchObject({ status: 404, body: { error: "Task not found" } });
  });
});

describe("POST /api/schedule/batch", () => {
  it("`POST /api/schedule/batch` creates count tasks and answers {count, scheduled_at, task_ids}", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await postJson(`${t.url}/api/schedule/batch`, { command: "test", count: 10, delay_seconds: 0 });
    expect(status).toBe(200);
    const b = body as { count: number; scheduled_at: number; task_ids: string[] };
    expect(Object.keys(b)).toEqual(["count", "scheduled_at", "task_ids"]);
    expect(b.count).toBe(10);
    expect(b.task_ids).toHaveLength(10);
    expect(new Set(b.task_ids).size).toBe(10);
    expect(Math.abs(b.scheduled_at - before)).toBeLessThan(60);
    expect(await t.db.prisma.task.count({ where: { id: { in: b.task_ids }, command: "test", status: "SCHEDULED" } })).toBe(10);
  });

  it("`POST /api/schedule/batch` defaults to one 'process-data' task due now", async () => {
    const { status, body } = await postJson(`${t.url}/api/schedule/batch`, {});
    expect(status).toBe(200);
    const b = body as { count: number; task_ids: string[] };
    expect(b.count).toBe(1);
    const row = await t.db.prisma.task.findUniqueOrThrow({ where: { id: b.task_ids[0]! } });
    expect(row.command).toBe("process-data");
  });

  it("`POST /api/schedule/batch` delays the tasks by delay_seconds", async () => {
    const { body } = await postJson(`${t.url}/api/schedule/batch`, { command: "later", count: 2, delay_seconds: 3600 });
    const b = body as { scheduled_at: number };
    expect(b.scheduled_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
  });

  it.each([
    [{ count: 0 }, "count must be an integer between 1 and 1000"],
    [{ count: 1001 }, "count must be an integer between 1 and 1000"],
    [{ count: 2.5 }, "count must be an integer between 1 and 1000"],
    [{ count: "10" }, "count must be an integer between 1 and 1000"],
    [{ delay_seconds: -1 }, "delay_seconds must be a number between 0 and 31536000"],
    [{ delay_seconds: "soon" }, "delay_seconds must be a number between 0 and 31536000"],
    [{ command: 5 }, "command must be a string, got a number"],
  ])("`POST /api/schedule/batch` with %j answers 400", async (input, error) => {
    const response = await changesNothing(() => postJson(`${t.url}/api/schedule/batch`, input));
    expect(response).toMatchObject({ status: 400, body: { error } });
  });
});

describe("GET /api/tasks", () => {
  beforeEach(async () => {
    await t.db.prisma.task.deleteMany();
  });

  it("`GET /api/tasks` lists status objects with status, attempt, progress and duration_ms, newest first", async () => {
    const old = await t.db.prisma.task.create({ data: { command: "old", scheduledAt: new Date(), createdAt: new Date(Date.now() - 60_000) } });
    const done = await t.db.prisma.task.create({
      data: {
        command: "done",
        scheduledAt: new Date("2026-01-01T00:00:00Z"),
        startedAt: new Date("2026-01-01T00:00:01Z"),
        completedAt: new Date("2026-01-01T00:00:06.500Z"),
        status: "COMPLETED",
        attempt: 1,
        progress: 100,
        workerId: 7n,
      },
    });
    const { status, body } = await getJson(`${t.url}/api/tasks`);
    expect(status).toBe(200);
    const list = body as Record<string, unknown>[];
    expect(list.map((e) => e["task_id"])).toEqual([done.id, old.id]);
    expect(list[0]).toStrictEqual({
      task_id: done.id,
      command: "done",
      scheduled_at: "2026-01-01 00:00:00",
      picked_at: "",
      started_at: "2026-01-01 00:00:01",
      completed_at: "2026-01-01 00:00:06",
      failed_at: "",
      worker_id: 7,
      status: "COMPLETED",
      attempt: 1,
      progress: 100,
      duration_ms: 5500,
    });
    expect(list[1]).toMatchObject({ status: "SCHEDULED", attempt: 0, progress: 0, duration_ms: null, worker_id: null });
  });

  it("`GET /api/tasks?limit=&status=` limits and filters (statuses or the seed's buckets)", async () => {
    await t.db.prisma.task.createMany({
      data: [
        { command: "a", scheduledAt: new Date(), status: "SCHEDULED" },
        { command: "b", scheduledAt: new Date(), status: "DEAD" },
        { command: "c", scheduledAt: new Date(), status: "FAILED" },
        { command: "d", scheduledAt: new Date(), status: "SCHEDULED" },
      ],
    });
    expect((await getJson(`${t.url}/api/tasks?limit=3`)).body).toHaveLength(3);
    const dead = (await getJson(`${t.url}/api/tasks?status=dead`)).body as { command: string }[];
    expect(dead.map((d) => d.command)).toEqual(["b"]);
    const failed = (await getJson(`${t.url}/api/tasks?status=failed`)).body as { command: string }[];
    expect(failed.map((d) => d.command).sort()).toEqual(["b", "c"]);
    const onlyFailed = (await getJson(`${t.url}/api/tasks?status=FAILED`)).body as { command: string }[];
    expect(onlyFailed.map((d) => d.command)).toEqual(["c"]);
  });

  it.each(["0", "1001", "abc", "1.5"])("`GET /api/tasks?limit=%s` answers 400", async (limit) => {
    expect(await getJson(`${t.url}/api/tasks?limit=${limit}`)).toMatchObject({
      status: 400,
      body: { error: "limit must be an integer between 1 and 1000" },
    });
  });

  it("`GET /api/tasks?status=bogus` answers 400 listing the statuses", async () => {
    const response = await getJson(`${t.url}/api/tasks?status=bogus`);
    expect(response.status).toBe(400);
    expect((response.body as { error: string }).error).toMatch(/^status must be one of SCHEDULED, PICKED/);
  });
});

describe("workers", () => {
  beforeEach(async () => {
    await t.db.prisma.worker.deleteMany();
  });

  it("`GET /api/workers` lists online workers with the seed's fields and the added ones", async () => {
    await t.db.prisma.worker.createMany({
      data: [
        { id: 3_000_000_001n, address: "localhost:5001", capacity: 5, tasksCompleted: 4, tasksFailed: 1, inFlight: 1 },
        { id: 2n, address: "localhost:5002", status: "OFFLINE" },
        { id: 3n, address: "localhost:5003", lastHeartbeatAt: new Date(Date.now() - 3_600_000) },
      ],
    });
    const task = await t.db.prisma.task.create({
      data: { command: "busy", scheduledAt: new Date(), status: "RUNNING", workerId: 3_000_000_001n, pickedAt: new Date() },
    });
    const { status, body } = await getJson(`${t.url}/api/workers`);
    expect(status).toBe(200);
    const list = body as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    const w = list[0]!;
    expect(w).toMatchObject({
      id: 3_000_000_001,
      name: "Worker-3000000001",
      status: "busy",
      current_task_id: task.id,
      tasks_completed: 4,
      address: "localhost:5001",
      capacity: 5,
      in_flight: 1,
      tasks_failed: 1,
      coordinator_id: null,
    });
    expect(w["last_active_at"]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(Object.keys(w).slice(0, 6)).toEqual(["id", "name", "status", "current_task_id", "tasks_completed", "last_active_at"]);
  });

  it.each([[{}], [{ count: 0 }], [{ count: 51 }], [{ count: "5" }], [{ count: 2.5 }]])(
    "`POST /api/workers/scale` with %j answers 400 'count must be between 1 and 50'",
    async (input) => {
      const response = await changesNothing(() => postJson(`${t.url}/api/workers/scale`, input));
      expect(response).toMatchObject({ status: 400, body: { error: "count must be between 1 and 50" } });
    },
  );

  it("`POST /api/workers/scale` answers 501 when this server does not manage workers", async () => {
    const response = await postJson(`${t.url}/api/workers/scale`, { count: 3 });
    expect(response.status).toBe(501);
    expect((response.body as { error: string }).error).toMatch(/WORKER_SCALER=none/);
  });

  it.each([[{}], [{ name: "" }], [{ name: "   " }]])("`POST /api/workers/kill` with %j answers 400 'name is required'", async (input) => {
    const response = await changesNothing(() => postJson(`${t.url}/api/workers/kill`, input));
    expect(response).toMatchObject({ status: 400, body: { error: "name is required" } });
  });

  it("`POST /api/workers/kill` of an unknown worker answers 404 'Worker not found: <name>'", async () => {
    for (const name of ["Worker-99", "taskmaster-master-worker-2"]) {
      const response = await changesNothing(() => postJson(`${t.url}/api/workers/kill`, { name }));
      expect(response).toMatchObject({ status: 404, body: { error: `Worker not found: ${name}` } });
    }
  });

  it("`POST /api/workers/kill` of a worker this server did not start answers 409", async () => {
    await t.db.prisma.worker.create({ data: { id: 42n, address: "elsewhere:1" } });
    const response = await postJson(`${t.url}/api/workers/kill`, { name: "Worker-42" });
    expect(response).toMatchObject({
      status: 409,
      body: { error: "Worker Worker-42 was not started by this server; stop it where it runs" },
    });
  });

  it("`POST /api/workers/kill` answers 400 naming the field when name is not a string", async () => {
    const response = await postJson(`${t.url}/api/workers/kill`, { name: 3 });
    expect(response).toMatchObject({ status: 400, body: { error: "name must be a string, got a number" } });
  });
});

describe("other paths", () => {
  it("an unknown /api path answers 404 JSON", async () => {
    expect(await getJson(`${t.url}/api/nope`)).toMatchObject({ status: 404, body: { error: "Not found: GET /api/nope" } });
  });

  it("a trailing slash reaches the same route", async () => {
    expect((await getJson(`${t.url}/api/stats/`)).status).toBe(200);
  });
});
