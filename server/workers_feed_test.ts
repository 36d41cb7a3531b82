import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { createCaller } from "./app_router.ts";
import { createEventHub, type InjectableEventHub } from "./event_hub.ts";
import type { WorkersSnapshot } from "./list_worker_snapshot.ts";
import { captureLogger } from "./testing.ts";
import { createContext } from "./trpc.ts";
import type { ManagedWorker, WorkerScaler } from "./worker_scaler.ts";
import { changesWorkers } from "./workers_feed.ts";

let db: TestDb;
let hub: InjectableEventHub;

beforeAll(async () => {
  db = await useTestDatabase();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await hub?.close();
  await db.prisma.worker.deleteMany();
  const { log } = captureLogger();
  hub = createEventHub({ databaseUrl: db.url, log }); // a new hub: a new feed per test
  await hub.ready;
});

/** A scaler that runs Worker-7 (pid 4242) and counts `list()` calls. */
function fakeScaler(): WorkerScaler & { lists: number } {
  const worker: ManagedWorker = {
    id: 7,
    name: "Worker-7",
    pid: 4242,
    startedAt: "2030-01-01T00:00:00.000Z",
    ready: true,
    address: "localhost:7",
    stopping: false,
    restarts: 0,
  };
  const scaler = {
    kind: "local",
    lists: 0,
    scale: async () => {},
    kill: async () => "not_found" as const,
    list: () => {
      scaler.lists++;
      return [worker];
    },
    stopAll: async () => {},
  };
  return scaler;
}

/** Subscribes to `events.onWorkers` and records each value with when it came. */
async function subscribe(options: { heartbeatIntervalMs: number; statsThrottleMs: number; scaler?: WorkerScaler; includeOffline?: boolean }) {
  const { log } = captureLogger();
  const controller = new AbortController();
  const ctx = createContext({
    prisma: db.prisma,
    sql: db.sql,
    hub,
    scaler: options.scaler ?? fakeScaler(),
    onlineWindowMs: 15_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    statsThrottleMs: options.statsThrottleMs,
    log,
  });
  const stream = await createCaller(ctx, { signal: controller.signal }).events.onWorkers({ includeOffline: options.includeOffline ?? false });
  const iterator = stream[Symbol.asyncIterator]();
  const values: { at: number; value: WorkersSnapshot }[] = [];
  let waiting: (() => void) | undefined;
  const pump = (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      values.push({ at: performance.now(), value: next.value as WorkersSnapshot });
      waiting?.();
    }
  })();
  return {
    values,
    /** Waits until `count` values came (10 s at most). */
    async waitFor(count: number): Promise<WorkersSnapshot> {
      const deadline = performance.now() + 10_000;
      while (values.length < count) {
        if (performance.now() > deadline) throw new Error(`expected ${count} values, got ${values.length}`);
        await new Promise<void>((resolve) => {
          waiting = resolve;
          setTimeout(resolve, 100);
        });
      }
      return values[count - 1]!.value;
    },
    async close() {
      controller.abort();
      await iterator.return?.(undefined);
      await pump.catch(() => {});
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("events.onWorkers", () => {
  it("`events.onWorkers` yields the workers and the scaler's processes now, then again when a worker row changes", async () => {
    const sub = await subscribe({ heartbeatIntervalMs: 60_000, statsThrottleMs: 50 });
    try {
      const first = await sub.waitFor(1);
      expect(first.workers).toEqual([]);
      expect(first.local).toEqual({ scaler: "local", workers: [expect.objectContaining({ id: 7, name: "Worker-7", pid: 4242 })] });

      await db.prisma.$executeRaw`INSERT INTO workers (id, address, capacity) VALUES (7, 'localhost:7', 4)`;
      const joined = await sub.waitFor(2);
      expect(joined.workers).toEqual([
        expect.objectContaining({ id: 7, name: "Worker-7", status: "ONLINE", online: true, capacity: 4, managed: true, pid: 4242 }),
      ]);
      expect(joined.workers[0]?.lastHeartbeatAgeMs).toBeGreaterThanOrEqual(0);
      expect(joined.workers[0]?.lastHeartbeatAgeMs).toBeLessThan(5_000);

      await db.prisma.$executeRaw`UPDATE workers SET status = 'DRAINING' WHERE id = 7`;
      expect((await sub.waitFor(3)).workers[0]?.status).toBe("DRAINING");
    } finally {
      await sub.close();
    }
  });

  it("`events.onWorkers` yields once per heartbeat interval while a worker is online, with true heartbeat ages", async () => {
    await db.prisma.$executeRaw`INSERT INTO workers (id, address, last_heartbeat_at) VALUES (9, 'localhost:9', now() - interval '2 seconds')`;
    await sleep(300); // its notification reaches no subscriber
    const sub = await subscribe({ heartbeatIntervalMs: 300, statsThrottleMs: 50 });
    try {
      await sub.waitFor(1);
      // A heartbeat alone does not NOTIFY: only the cadence can show it.
      await db.prisma.$executeRaw`UPDATE workers SET last_heartbeat_at = now() WHERE id = 9`;
      await sub.waitFor(5);
      const gaps = sub.values.slice(1, 5).map((v, i) => v.at - sub.values[i]!.at);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(40); // the throttle
        expect(gap).toBeLessThan(300 + 400); // the interval, with room for a slow read
      }
      const ages = sub.values.map((v) => v.value.workers[0]?.lastHeartbeatAgeMs ?? -1);
      expect(ages[0]).toBeGreaterThanOrEqual(2_000);
      expect(ages[4]).toBeLessThan(2_000); // the silent heartbeat shows

      // No worker online: the cadence stops (the change itself is yielded).
      await db.prisma.$executeRaw`UPDATE workers SET status = 'OFFLINE' WHERE id = 9`;
      await sleep(1_000);
      const count = sub.values.length;
      expect(sub.values[count - 1]?.value.workers).toEqual([]);
      await sleep(1_000);
      expect(sub.values.length).toBe(count);
    } finally {
      await sub.close();
    }
  });

  it("`events.onWorkers` with includeOffline lists offline workers too", async () => {
    await db.prisma.$executeRaw`INSERT INTO workers (id, address, status) VALUES (11, 'localhost:11', 'OFFLINE')`;
    const sub = await subscribe({ heartbeatIntervalMs: 60_000, statsThrottleMs: 50, includeOffline: true });
    try {
      expect((await sub.waitFor(1)).workers).toEqual([expect.objectContaining({ id: 11, online: false, managed: false, pid: null })]);
    } finally {
      await sub.close();
    }
  });

  it("`events.onWorkers` shares one read among subscribers and yields at most twice a second", async () => {
    const scaler = fakeScaler();
    await db.prisma.$executeRaw`INSERT INTO workers (id, address) VALUES (7, 'localhost:7')`;
    const a = await subscribe({ heartbeatIntervalMs: 60_000, statsThrottleMs: 500, scaler });
    const b = await subscribe({ heartbeatIntervalMs: 60_000, statsThrottleMs: 500, scaler });
    try {
      await a.waitFor(1);
      await b.waitFor(1);
      await sleep(1_000); // the INSERT's notification may still come: let it pass, and the throttle
      const [seenA, seenB] = [a.values.length, b.values.length];
      const listsBefore = scaler.lists;
      await db.prisma.$executeRaw`UPDATE workers SET in_flight = 1 WHERE id = 7`;
      const [fromA, fromB] = await Promise.all([a.waitFor(seenA + 1), b.waitFor(seenB + 1)]);
      expect(fromA.workers[0]?.inFlight).toBe(1);
      expect(fromA.local).toBe(fromB.local); // the very same read
      expect(scaler.lists - listsBefore).toBe(2); // one read: withScalerInfo + localWorkers

      // 15 changes in 1.5 s: at most one value per 500 ms.
      for (let i = 2; i <= 16; i++) {
        await db.prisma.$executeRaw`UPDATE workers SET in_flight = ${i} WHERE id = 7`;
        await sleep(100);
      }
      await sleep(700);
      const later = a.values.slice(seenA);
      // 16 changes in ~2.2 s, throttled to one read per 500 ms: a handful of values, not 16. (The
      // gap between two values is not asserted: it depends on how long each read took.)
      expect(later.length).toBeLessThanOrEqual(7);
      expect(later[later.length - 1]?.value.workers[0]?.inFlight).toBe(16); // the last change is not lost
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("changesWorkers()", () => {
  const activity = (msg: string) => ({ kind: "activity" as const, entry: { id: 1, ts: "", level: "info" as const, msg } });

  it("`changesWorkers()` is true for worker rows, resyncs and the scaler's lines, false for task lines", () => {
    expect(changesWorkers({ kind: "resync" })).toBe(true);
    expect(changesWorkers({ kind: "worker", event: { id: 1, workerId: 7, status: "ONLINE", address: null, previousStatus: null } })).toBe(true);
    expect(changesWorkers(activity("Starting Worker-7 (pid 12)"))).toBe(true);
    expect(changesWorkers(activity("Worker-7 process exited (code 0)"))).toBe(true);
    expect(changesWorkers(activity("Killing Worker-7 (SIGKILL)"))).toBe(true);
    expect(changesWorkers(activity("Task 0b7e8c2a completed on Worker-7"))).toBe(false);
    expect(changesWorkers({ kind: "task", event: { id: 1, op: "U", n: 1, rows: null } })).toBe(false);
  });
});
