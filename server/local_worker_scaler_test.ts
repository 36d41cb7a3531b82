import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { createLocalWorkerScaler, defaultWorkerLocation } from "./local_worker_scaler.ts";
import { markWorkerOffline, workerExists } from "./mark_worker_offline.ts";
import { captureLogger, postJson, startTestServer, type TestServer } from "./testing.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("createLocalWorkerScaler() with real worker processes", () => {
  let db: TestDb;
  let scaler: WorkerScaler;
  const { log, logs } = captureLogger();
  const activity: string[] = [];
  const pids: number[] = [];

  beforeAll(async () => {
    db = await useTestDatabase();
    scaler = createLocalWorkerScaler({
      ...defaultWorkerLocation(),
      // No coordinator there: workers must start and say ready anyway.
      coordinator: "127.0.0.1:1",
      env: { ...process.env, WORKER_SCALER: "local", POOL_SIZE: "2", HEARTBEAT_INTERVAL_MS: "1000" },
      log,
      stopTimeoutMs: 10_000,
      onExit: async (id) => void (await markWorkerOffline(db.prisma, id)),
      workerExists: (id) => workerExists(db.prisma, id),
      activity: (_level, msg) => activity.push(msg),
    });
  });
  afterAll(async () => {
    await scaler?.stopAll();
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    await db?.close();
  });

  it("`scale(2)` starts two workers that log ready with the ids the server chose", async () => {
    await scaler.scale(2);
    const started = scaler.list();
    expect(started).toHaveLength(2);
    pids.push(...started.map((w) => w.pid));
    expect(started.every((w) => w.name === `Worker-${w.id}` && w.id >= 1 && w.id <= 0xffffffff)).toBe(true);
    await eventually(() => scaler.list().every((w) => w.ready), "both workers ready");
    for (const w of started) {
      expect(alive(w.pid)).toBe(true);
      const ready = logs.find((l) => l["msg"] === "ready" && l["worker_id"] === w.id);
      expect(ready?.["pid"]).toBe(w.pid);
    }
  });

  it("`kill(name)` SIGKILLs a managed worker and marks its row OFFLINE", async () => {
    const [victim, survivor] = scaler.list();
    // As a coordinator would have registered it.
    await db.prisma.worker.create({ data: { id: BigInt(victim!.id), address: victim!.address ?? "localhost:0" } });
    expect(await scaler.kill(victim!.name)).toBe("killed");
    expect(alive(victim!.pid)).toBe(false);
    expect(scaler.list().map((w) => w.id)).toEqual([survivor!.id]);
    const row = await db.prisma.worker.findUniqueOrThrow({ where: { id: BigInt(victim!.id) } });
    expect(row.status).toBe("OFFLINE");
    expect(activity).toContain(`Killing ${victim!.name} (SIGKILL)`);
  });

  it("`kill(name)` tells an unknown worker from one it did not start", async () => {
    await db.prisma.worker.create({ data: { id: 77n, address: "elsewhere:1" } });
    expect(await scaler.kill("Worker-77")).toBe("not_managed");
    expect(await scaler.kill("77")).toBe("not_managed");
    expect(await scaler.kill("Worker-78")).toBe("not_found");
    expect(await scaler.kill("taskmaster-master-worker-2")).toBe("not_found");
  });

  it("`scale(0)` stops every worker and leaves no process running", async () => {
    const left = scaler.list();
    await scaler.scale(0);
    await eventually(() => scaler.list().length === 0, "all workers exited");
    for (const pid of [...pids, ...left.map((w) => w.pid)]) expect(alive(pid)).toBe(false);
  });
});

describe("the REST API with the local scaler", () => {
  let t: TestServer;
  let scaler: WorkerScaler;
  beforeAll(async () => {
    const { log } = captureLogger();
    const db = await useTestDatabase();
    scaler = createLocalWorkerScaler({
      ...defaultWorkerLocation(),
      coordinator: "127.0.0.1:1",
      env: { ...process.env },
      log,
      stopTimeoutMs: 10_000,
      onExit: async (id) => void (await markWorkerOffline(db.prisma, id)),
      workerExists: (id) => workerExists(db.prisma, id),
    });
    await db.close();
    t = await startTestServer({ scaler });
  });
  afterAll(async () => {
    await scaler?.stopAll();
    await t?.close();
  });

  it("`POST /api/workers/scale` starts workers and `POST /api/workers/kill` kills one by name", async () => {
    expect(await postJson(`${t.url}/api/workers/scale`, { count: 1 })).toMatchObject({ status: 200, body: { ok: true, count: 1 } });
    const [worker] = scaler.list();
    expect(worker).toBeDefined();
    expect(await postJson(`${t.url}/api/workers/kill`, { name: worker!.name })).toMatchObject({
      status: 200,
      body: { ok: true, name: worker!.name },
    });
    expect(scaler.list()).toHaveLength(0);
    expect(alive(worker!.pid)).toBe(false);
  });
});
