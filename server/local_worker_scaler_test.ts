import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { repoRoot } from "./build_entry.ts";
import { createLocalWorkerScaler } from "./local_worker_scaler.ts";
import { markWorkerOffline, workerExists } from "./mark_worker_offline.ts";
import { captureLogger, postJson, startTestServer, type TestServer } from "./testing.ts";
import { processCommand } from "./process_command.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

/** Workers run as the server runs them: the built worker/main.ts, from the repository root. */
const workerLocation = { workerCommand: await processCommand("worker"), cwd: repoRoot };

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
      ...workerLocation,
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

describe("createLocalWorkerScaler() keeps the count: workers that exit on their own are replaced", () => {
  let db: TestDb;
  const { log, logs } = captureLogger();
  const activity: string[] = [];
  const scalers: WorkerScaler[] = [];
  const pids = new Set<number>();

  /** A scaler whose backoff is exact (no jitter): 300 ms, 600 ms, 1200 ms ..., starting over after 3 s of running. */
  function scalerWith(restartBackoff: { initialMs: number; maxMs: number; resetAfterMs: number }): WorkerScaler {
    const scaler = createLocalWorkerScaler({
      ...workerLocation,
      coordinator: "127.0.0.1:1",
      env: { ...process.env, POOL_SIZE: "1", HEARTBEAT_INTERVAL_MS: "1000" },
      log,
      stopTimeoutMs: 10_000,
      onExit: async (id) => void (await markWorkerOffline(db.prisma, id)),
      workerExists: (id) => workerExists(db.prisma, id),
      activity: (_level, msg) => activity.push(msg),
      restartBackoff,
      random: () => 1,
    });
    scalers.push(scaler);
    return scaler;
  }
  const replacing = (id: number) => logs.filter((l) => l["msg"] === "worker exited on its own; replacing it" && l["worker_id"] === id);
  const replacementOf = (id: number) =>
    logs.find((l) => l["msg"] === "worker process started to replace one that exited" && l["replaces"] === id);
  const track = (scaler: WorkerScaler) => {
    for (const w of scaler.list()) pids.add(w.pid);
    return scaler.list();
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    db = await useTestDatabase();
  });
  afterAll(async () => {
    for (const scaler of scalers) await scaler.stopAll();
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    await db?.close();
  });

  it("a worker SIGKILLed from outside is replaced by a new one after the backoff, doubling while it keeps dying and starting over after a healthy run", async () => {
    const scaler = scalerWith({ initialMs: 300, maxMs: 30_000, resetAfterMs: 3000 });
    await scaler.scale(2);
    await eventually(() => scaler.list().every((w) => w.ready), "two workers ready");
    const [victim, bystander] = track(scaler);

    process.kill(victim!.pid, "SIGKILL");
    const first = (await eventually(() => replacementOf(victim!.id), "a replacement for the killed worker"))!;
    expect(replacing(victim!.id)).toEqual([expect.objectContaining({ level: "warn", delay_ms: 300, restarts: 1 })]);
    const why = `Replacing ${victim!.name} in 0.3 s (it exited on its own: signal SIGKILL after `;
    expect(activity.filter((line) => line.startsWith(why))).toHaveLength(1);
    const second = scaler.list().find((w) => w.id === first["worker_id"])!;
    expect(second).toMatchObject({ restarts: 1, stopping: false });
    expect(activity).toContain(`Starting ${second.name} (pid ${second.pid}) to replace ${victim!.name}`);
    expect(scaler.list().map((w) => w.id)).toEqual([bystander!.id, second.id]);
    track(scaler);
    expect(alive(victim!.pid)).toBe(false);

    // Dies again at once: the delay doubles.
    process.kill(second.pid, "SIGKILL");
    const thirdLine = (await eventually(() => replacementOf(second.id), "a replacement for the replacement"))!;
    expect(replacing(second.id)).toEqual([expect.objectContaining({ delay_ms: 600, restarts: 2 })]);
    const third = scaler.list().find((w) => w.id === thirdLine["worker_id"])!;
    track(scaler);

    // Runs longer than resetAfterMs, then dies: back to the first delay.
    await sleep(Math.max(0, Date.parse(third.startedAt) + 3200 - Date.now()));
    process.kill(third.pid, "SIGKILL");
    await eventually(() => replacementOf(third.id), "a replacement after a healthy run");
    expect(replacing(third.id)).toEqual([expect.objectContaining({ delay_ms: 300, restarts: 1 })]);
    track(scaler);
    expect(scaler.list()).toHaveLength(2);
    await scaler.stopAll();
  });

  it("a worker killed through `kill()` or stopped by `scale()` is not replaced: the count drops", async () => {
    const scaler = scalerWith({ initialMs: 100, maxMs: 100, resetAfterMs: 60_000 });
    await scaler.scale(3);
    const [killed, kept, stopped] = track(scaler);
    expect(await scaler.kill(killed!.name)).toBe("killed");
    await scaler.scale(1); // stops the newest
    await eventually(() => scaler.list().length === 1 && !alive(stopped!.pid), "the newest worker stopped");
    await sleep(1000); // ten backoffs
    expect(scaler.list().map((w) => w.id)).toEqual([kept!.id]);
    for (const w of [killed!, stopped!]) {
      expect(replacing(w.id)).toEqual([]);
      expect(replacementOf(w.id)).toBeUndefined();
    }
    await scaler.stopAll();
  });

  it("`stopAll()` replaces nothing (neither the workers it stops nor one that died while its replacement waited) and ends scaling", async () => {
    const scaler = scalerWith({ initialMs: 500, maxMs: 500, resetAfterMs: 60_000 });
    await scaler.scale(2);
    const [crashed, other] = track(scaler);
    process.kill(crashed!.pid, "SIGKILL");
    await eventually(() => replacing(crashed!.id).length === 1, "the replacement scheduled");
    await scaler.stopAll();
    await sleep(1000);
    expect(scaler.list()).toEqual([]);
    expect(replacementOf(crashed!.id)).toBeUndefined();
    expect(replacing(other!.id)).toEqual([]);
    expect(alive(other!.pid)).toBe(false);
    // Shut down for good.
    await expect(scaler.scale(1)).rejects.toThrow("Worker scaling has stopped: the server is shutting down");
  });

  it("`scale()` counts a replacement waiting out its backoff, and cancels it first when scaling down", async () => {
    const scaler = scalerWith({ initialMs: 60_000, maxMs: 60_000, resetAfterMs: 60_000 });
    await scaler.scale(1);
    const [crashed] = track(scaler);
    process.kill(crashed!.pid, "SIGKILL");
    await eventually(() => replacing(crashed!.id).length === 1, "the replacement scheduled");
    await scaler.scale(1); // the pending replacement is the one worker: nothing to start
    expect(scaler.list()).toEqual([]);
    await scaler.scale(2); // one more than the pending replacement
    expect(track(scaler)).toHaveLength(1);
    await scaler.scale(1); // drops the pending replacement, keeps the running worker
    expect(scaler.list()).toHaveLength(1);
    await scaler.scale(2);
    expect(track(scaler)).toHaveLength(2);
    await scaler.stopAll();
    expect(replacementOf(crashed!.id)).toBeUndefined();
  });
});

describe("the REST API with the local scaler", () => {
  let t: TestServer;
  let scaler: WorkerScaler;
  beforeAll(async () => {
    const { log } = captureLogger();
    const db = await useTestDatabase();
    scaler = createLocalWorkerScaler({
      ...workerLocation,
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
