import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { listWorkers } from "./list_workers.ts";

let db: TestDb;

beforeAll(async () => {
  db = await useTestDatabase();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await db.prisma.worker.deleteMany();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("listWorkers()", () => {
  it("`listWorkers()` computes lastHeartbeatAgeMs with the database's clock, not this process's", async () => {
    await db.prisma.$executeRaw`INSERT INTO workers (id, address, last_heartbeat_at) VALUES (7, 'localhost:1', now() - interval '4 seconds')`;
    // This process's clock an hour ahead: an age computed from it would be about 3,604,000 ms.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3_600_000);
    const [worker] = await listWorkers(db.prisma, { onlineWindowMs: 15_000 });
    expect(worker?.id).toBe(7);
    expect(worker?.online).toBe(true);
    expect(worker?.lastHeartbeatAgeMs).toBeGreaterThanOrEqual(4_000);
    expect(worker?.lastHeartbeatAgeMs).toBeLessThan(6_000);
  });

  it("`listWorkers()` gives an offline worker's heartbeat age too", async () => {
    await db.prisma.$executeRaw`INSERT INTO workers (id, address, status, last_heartbeat_at) VALUES (8, 'localhost:2', 'OFFLINE', now() - interval '1 hour')`;
    expect(await listWorkers(db.prisma, { onlineWindowMs: 15_000 })).toEqual([]);
    const [worker] = await listWorkers(db.prisma, { onlineWindowMs: 15_000, includeOffline: true });
    expect(worker?.online).toBe(false);
    expect(worker?.lastHeartbeatAgeMs).toBeGreaterThanOrEqual(3_600_000);
    expect(worker?.lastHeartbeatAgeMs).toBeLessThan(3_610_000);
  });
});
