import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANNELS } from "../prisma/mod.ts";
import { createCaller } from "./app_router.ts";
import { ACTIVITY_LOG_SIZE, createEventHub, type ActivityEntry, type TaskChangeEvent } from "./event_hub.ts";
import { captureLogger, getJson, postJson, startTestServer, type TestServer } from "./testing.ts";

/** Reads values from an async iterable until `predicate` holds (or throws after `timeoutMs`). */
async function until<T>(iterable: AsyncIterable<T>, predicate: (value: T) => boolean, timeoutMs = 15_000): Promise<T[]> {
  const seen: T[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)), remaining)),
      ]);
      if (next.done) throw new Error(`ended early; saw ${JSON.stringify(seen)}`);
      seen.push(next.value);
      if (predicate(next.value)) return seen;
    }
  } finally {
    void iterator.return?.(undefined);
  }
}

/** The data of a `tracked(id, data)` envelope (an `[id, data, marker]` tuple in-process). */
const unwrap = <T>(v: unknown): T => (Array.isArray(v) ? v[1] : v) as T;

describe("the event hub's activity log", () => {
  const hub = createEventHub({ log: captureLogger().log, now: () => new Date("2026-01-01T00:00:00Z") });
  const id = "0b7e8c2a-1111-4222-8333-444455556666";
  const task = (status: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ op: "U", n: 1, rows: [{ id, status, attempt: 1, worker_id: 7, command: "x", progress: 0, ...extra }] });

  it("`createEventHub()` derives one line per transition and none for progress updates", () => {
    hub.inject(CHANNELS.tasks, JSON.stringify({ op: "I", n: 3, rows: [1, 2, 3].map(() => ({ id, status: "SCHEDULED", attempt: 0, worker_id: null, command: "send-mail", progress: 0 })) }));
    hub.inject(CHANNELS.tasks, task("PICKED"));
    hub.inject(CHANNELS.tasks, task("RUNNING"));
    hub.inject(CHANNELS.tasks, task("RUNNING", { progress: 40 }));
    hub.inject(CHANNELS.tasks, task("SCHEDULED"));
    hub.inject(CHANNELS.tasks, task("DEAD", { attempt: 3 }));
    hub.inject(CHANNELS.workers, JSON.stringify({ id: 7, status: "ONLINE", address: "localhost:5000", previous_status: null }));
    hub.inject(CHANNELS.workers, JSON.stringify({ id: 7, status: "ONLINE", address: "localhost:5000", previous_status: "ONLINE" }));
    hub.inject(CHANNELS.workers, JSON.stringify({ id: 7, status: "OFFLINE", address: "localhost:5000", previous_status: "ONLINE" }));
    hub.inject(CHANNELS.tasks, "not json");
    expect(hub.activity().map((e) => [e.level, e.msg])).toEqual([
      ["info", "Scheduled 3 tasks: send-mail"],
      ["info", "Task 0b7e8c2a picked by Worker-7 (attempt 1)"],
      ["info", "Task 0b7e8c2a started on Worker-7"],
      ["info", "Task 0b7e8c2a requeued for a retry after attempt 1"],
      ["error", "Task 0b7e8c2a is dead after 3 attempts"],
      ["success", "Worker-7 joined (localhost:5000)"],
      ["error", "Worker-7 lost"],
    ]);
    expect(hub.activity()[0]?.ts).toBe("2026-01-01T00:00:00.000Z");
  });

  it("`createEventHub()` says a task inserted PICKED (handed to an idle worker's offer) was picked", () => {
    const h = createEventHub({ log: captureLogger().log });
    const handed = { id, status: "PICKED", attempt: 1, worker_id: 7, command: "x", progress: 0 };
    const other = { ...handed, id: "1c8f9d3b-1111-4222-8333-444455556666", status: "SCHEDULED", attempt: 0, worker_id: null };
    h.inject(CHANNELS.tasks, JSON.stringify({ op: "I", n: 2, rows: [handed, other] }));
    h.inject(CHANNELS.tasks, task("RUNNING"));
    expect(h.activity().map((e) => e.msg)).toEqual([
      "Scheduled 2 tasks: x",
      "Task 0b7e8c2a picked by Worker-7 (attempt 1)",
      "Task 0b7e8c2a started on Worker-7",
    ]);
  });

  it("`createEventHub()` names the operator when a task is cancelled or retried out of a terminal state", () => {
    const h = createEventHub({ log: captureLogger().log });
    const row = (taskId: string, status: string, attempt: number) =>
      JSON.stringify({ op: "U", n: 1, rows: [{ id: taskId, status, attempt, worker_id: 7, command: "x", progress: 0 }] });
    const [a, b, c, d] = ["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"].map((p) => `${p}-1111-4222-8333-444455556666`);
    h.inject(CHANNELS.tasks, row(a!, "RUNNING", 2));
    h.inject(CHANNELS.tasks, row(a!, "CANCELLED", 2));
    h.inject(CHANNELS.tasks, row(b!, "DEAD", 3));
    h.inject(CHANNELS.tasks, row(b!, "SCHEDULED", 3));
    // A task this hub never saw before: announced by the server that retries it...
    h.expectOperatorChange([c!], "SCHEDULED");
    h.inject(CHANNELS.tasks, row(c!, "SCHEDULED", 3));
    // ... or announced and then withdrawn (the retry was refused): no operator named.
    h.expectOperatorChange([d!], "SCHEDULED")();
    h.inject(CHANNELS.tasks, row(d!, "SCHEDULED", 1));
    h.inject(CHANNELS.tasks, row(d!, "DEAD", 3));
    expect(h.activity().map((e) => [e.level, e.msg])).toEqual([
      ["info", "Task aaaaaaaa started on Worker-7"],
      ["info", "Task aaaaaaaa cancelled by an operator (was RUNNING on Worker-7)"],
      ["error", "Task bbbbbbbb is dead after 3 attempts"],
      ["info", "Task bbbbbbbb retried by an operator after 3 attempts (was DEAD)"],
      ["info", "Task cccccccc retried by an operator after 3 attempts"],
      ["info", "Task dddddddd requeued for a retry after attempt 1"],
      ["error", "Task dddddddd is dead after 3 attempts"],
    ]);
  });

  it("`createEventHub()` keeps the last 250 entries", () => {
    for (let i = 0; i < 300; i++) hub.record("info", `line ${i}`);
    const log = hub.activity();
    expect(log).toHaveLength(ACTIVITY_LOG_SIZE);
    expect(log.at(-1)?.msg).toBe("line 299");
    expect(log[0]?.msg).toBe("line 50");
    expect(hub.activitySince(log.at(-3)!.id)?.map((e) => e.msg)).toEqual(["line 298", "line 299"]);
    expect(hub.activitySince(1)).toBeNull();
  });
});

describe("subscriptions and streams on a real database", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ sseKeepAliveMs: 200, statsThrottleMs: 50 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("`events.onTaskChange` yields the row of a task inserted by anyone (LISTEN/NOTIFY)", async () => {
    const controller = new AbortController();
    const caller = createCaller(t.server.context, { signal: controller.signal });
    const events = await caller.events.onTaskChange({});
    const iterator = events[Symbol.asyncIterator]();
    // The subscription starts with the first next(); insert until the change arrives (the first
    // insert may commit before the procedure has subscribed).
    const first = iterator.next();
    let arrived = false;
    void first.then(() => (arrived = true));
    const ids: string[] = [];
    for (let i = 0; i < 20 && !arrived; i++) {
      ids.push((await t.db.prisma.task.create({ data: { command: "notify-me", scheduledAt: new Date() } })).id);
      await Promise.race([first, new Promise((r) => setTimeout(r, 500))]);
    }
    const value = (await first).value;
    const [trackedId, change] = value as unknown as [string, TaskChangeEvent];
    expect(trackedId).toMatch(/^[0-9a-f]{8}:\d+$/);
    expect(change.op).toBe("I");
    expect(change.rows).toHaveLength(1);
    expect(ids).toContain(change.rows![0]!.id);
    expect(change.rows![0]).toMatchObject({ status: "SCHEDULED", attempt: 0, workerId: null, command: "notify-me", progress: 0 });
    controller.abort();
    await iterator.return?.(undefined);
  });

  it("`events.onActivity` yields the backlog, then live entries", async () => {
    t.server.hub.record("info", "before subscribing");
    const controller = new AbortController();
    const caller = createCaller(t.server.context, { signal: controller.signal });
    const entries = await caller.events.onActivity({});
    setTimeout(() => void postJson(`${t.url}/api/schedule/batch`, { command: "live-one", count: 2 }), 50);
    const seen = (await until(entries, (e) => unwrap<ActivityEntry>(e).msg === "Scheduled 2 tasks: live-one")).map((e) => unwrap<ActivityEntry>(e).msg);
    expect(seen).toContain("before subscribing");
    expect(seen.indexOf("before subscribing")).toBeLessThan(seen.indexOf("Scheduled 2 tasks: live-one"));
    controller.abort();
  });

  it("`events.onActivity` resumes after lastEventId and ends when the caller aborts", async () => {
    const hub = t.server.hub;
    const a = hub.record("info", "resume-a");
    hub.record("info", "resume-b");
    const controller = new AbortController();
    const caller = createCaller(t.server.context, { signal: controller.signal });
    const iterator = (await caller.events.onActivity({ lastEventId: `${hub.epoch}:${a.id}` }))[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(unwrap<ActivityEntry>(first.value).msg).toBe("resume-b");
    const pending = iterator.next();
    controller.abort();
    expect((await pending).done).toBe(true);
  });

  it("`events.onStats` yields stats at once and again after a change", async () => {
    const controller = new AbortController();
    const caller = createCaller(t.server.context, { signal: controller.signal });
    const stats = await caller.events.onStats();
    const iterator = stats[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as { total: number };
    await t.db.prisma.task.create({ data: { command: "count-me", scheduledAt: new Date() } });
    const second = (await iterator.next()).value as { total: number };
    expect(second.total).toBe(first.total + 1);
    controller.abort();
    await iterator.return?.(undefined);
  });

  it("cancelling, retrying and a task going DEAD each show in the activity log", async () => {
    const caller = createCaller(t.server.context);
    const messages = () => t.server.hub.activity().map((e) => e.msg).join("\n");
    const running = await t.db.prisma.task.create({ data: { command: "op", scheduledAt: new Date(), status: "RUNNING", attempt: 1, workerId: 3n } });
    await caller.task.cancel({ id: running.id });
    await expect.poll(messages).toContain(`Task ${running.id.slice(0, 8)} cancelled by an operator (was RUNNING on Worker-3)`);
    await caller.task.retry({ id: running.id });
    await expect.poll(messages).toContain(`Task ${running.id.slice(0, 8)} retried by an operator after 1 attempt (was CANCELLED)`);
    // The coordinator gives up on a task (what failTask does on the last attempt).
    await t.db.prisma.$executeRaw`UPDATE tasks SET status = 'DEAD', attempt = 3, failed_at = now() WHERE id = ${running.id}::uuid`;
    await expect.poll(messages).toContain(`Task ${running.id.slice(0, 8)} is dead after 3 attempts`);
    await caller.task.retryMany({ command: "op" });
    await expect.poll(messages).toContain("Operator retried 1 DEAD task with command op");
  });

  it("`GET /api/logs` answers the activity log as [{ts, level, msg}]", async () => {
    await postJson(`${t.url}/api/schedule/batch`, { command: "logged", count: 1 });
    const { body } = await getJson(`${t.url}/api/logs`);
    await expect
      .poll(async () => ((await getJson(`${t.url}/api/logs`)).body as { msg: string }[]).map((e) => e.msg))
      .toContain("Scheduled 1 task: logged");
    const entry = (body as Record<string, unknown>[])[0]!;
    expect(Object.keys(entry)).toEqual(["ts", "level", "msg"]);
  });

  it("`GET /api/logs/stream` sends the backlog then live events as SSE, with keep-alive comments", async () => {
    t.server.hub.record("success", "in the backlog");
    const controller = new AbortController();
    const response = await fetch(`${t.url}/api/logs/stream`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 15_000;
      while (!text.includes(needle)) {
        if (Date.now() > deadline) throw new Error(`no "${needle}" in stream:\n${text}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended:\n${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil("in the backlog");
    await t.db.prisma.task.create({ data: { command: "streamed", scheduledAt: new Date() } });
    await readUntil("Scheduled 1 task: streamed");
    await readUntil(": keep-alive");
    const live = text.split("\n\n").find((block) => block.includes("streamed"))!;
    expect(live).toMatch(/^id: [0-9a-f]{8}:\d+\ndata: \{"ts":"[^"]+","level":"info","msg":"Scheduled 1 task: streamed"\}$/);
    controller.abort();
  });
});
