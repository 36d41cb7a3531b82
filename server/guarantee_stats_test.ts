import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttemptOutcome, TaskStatus } from "../prisma/mod.ts";
import { createCaller } from "./app_router.ts";
import { guaranteeStats, type GuaranteeStats } from "./guarantee_stats.ts";
import { getJson, startTestServer, type TestServer } from "./testing.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** A task in `status` whose attempts ended as `attempts` say (the last one is its current attempt). */
async function task(status: TaskStatus, attempts: [AttemptOutcome, string | null][] = []): Promise<string> {
  const row = await t.db.prisma.task.create({
    data: { command: "figures", scheduledAt: new Date(), status, attempt: attempts.length },
  });
  await t.db.prisma.taskAttempt.createMany({
    data: attempts.map(([outcome, error], i) => ({
      taskId: row.id,
      attempt: i + 1,
      workerId: 9n,
      outcome,
      error,
      finishedAt: outcome === "RUNNING" ? null : new Date(),
    })),
  });
  return row.id;
}

describe("guaranteeStats()", () => {
  it("`guaranteeStats()` of an empty database is all zeros, lost included", async () => {
    expect(await guaranteeStats(t.db.prisma)).toEqual({
      accepted: 0,
      finished: 0,
      inFlight: 0,
      queued: 0,
      lost: 0,
      ranMoreThanOnce: {
        total: 0,
        byReason: { worker_lost: 0, lease_expired: 0, dispatch_failed: 0, worker_restarted: 0, retried_after_failure: 0, other: 0 },
      },
      staleReportsRejected: 0,
      leasesSwept: 0,
      requeuedWorkerLost: 0,
      dispatchFailures: 0,
    } satisfies GuaranteeStats);
  });

  it("`guaranteeStats()` counts tasks in every state, tasks run again by fault, and the coordinators' counters", async () => {
    // Run again after a fault (7 tasks):
    await task("COMPLETED", [["LOST", "worker 11 lost: missed 3 heartbeats"], ["COMPLETED", null]]); // worker_lost
    await task("COMPLETED", [["LOST", "lease expired"], ["FAILED", "boom"], ["COMPLETED", null]]); // lease_expired + retried_after_failure
    await task("RUNNING", [["LOST", "dispatch to worker 5 failed: 14 UNAVAILABLE: No connection established"], ["RUNNING", null]]); // dispatch_failed
    await task("PICKED", [["LOST", "worker 6 refused the task: draining"], ["RUNNING", null]]); // dispatch_failed
    await task("COMPLETED", [["LOST", "worker restarted"], ["COMPLETED", null]]); // worker_restarted
    await task("DEAD", [["FAILED", "boom"], ["FAILED", "boom"], ["FAILED", "boom"]]); // retried_after_failure
    await task("COMPLETED", [["LOST", "something the coordinator never wrote"], ["COMPLETED", null]]); // other
    // Hit by a fault but not run again (yet): not counted.
    await task("SCHEDULED", [["LOST", "worker restarted"]]);
    await task("DEAD", [["LOST", "worker 3 lost: process exited"]]);
    await task("FAILED", [["FAILED", "not retryable"]]);
    // Untouched by faults.
    await task("SCHEDULED");
    await task("RUNNING", [["RUNNING", null]]);
    await task("CANCELLED", [["CANCELLED", null]]);
    await t.db.prisma.counter.createMany({
      data: [
        { name: "stale_reports", value: 4n },
        { name: "requeued_lease_expired", value: 2n },
        { name: "requeued_worker_lost", value: 5n },
        { name: "requeued_dispatch_failed", value: 3n },
        { name: "some_other_counter", value: 99n },
      ],
    });

    const g = await guaranteeStats(t.db.prisma);
    expect(g).toEqual({
      accepted: 13,
      finished: 8, // COMPLETED 4, DEAD 2, FAILED 1, CANCELLED 1
      inFlight: 3, // RUNNING 2, PICKED 1
      queued: 2,
      lost: 0,
      ranMoreThanOnce: {
        total: 7,
        byReason: { worker_lost: 1, lease_expired: 1, dispatch_failed: 2, worker_restarted: 1, retried_after_failure: 2, other: 1 },
      },
      staleReportsRejected: 4,
      leasesSwept: 2,
      requeuedWorkerLost: 5,
      dispatchFailures: 3,
    } satisfies GuaranteeStats);
    // Computed, not assumed: every accepted task is finished, in flight or queued.
    expect(g.lost).toBe(g.accepted - g.finished - g.inFlight - g.queued);
  });

  it("`stats.guarantees` answers the same figures through tRPC", async () => {
    expect(await createCaller(t.server.context).stats.guarantees()).toEqual(await guaranteeStats(t.db.prisma));
  });

  it("`GET /api/guarantees` answers them with snake_case names", async () => {
    const { status, body } = await getJson(`${t.url}/api/guarantees`);
    expect(status).toBe(200);
    expect(body).toEqual({
      accepted: 13,
      finished: 8,
      in_flight: 3,
      queued: 2,
      lost: 0,
      ran_more_than_once: {
        total: 7,
        by_reason: { worker_lost: 1, lease_expired: 1, dispatch_failed: 2, worker_restarted: 1, retried_after_failure: 2, other: 1 },
      },
      stale_reports_rejected: 4,
      leases_swept: 2,
      requeued_worker_lost: 5,
      dispatch_failures: 3,
    });
  });

  it("`events.onStats` yields the stats with the guarantee figures as `guarantees`", async () => {
    const controller = new AbortController();
    const stream = await createCaller(t.server.context, { signal: controller.signal }).events.onStats();
    const iterator = stream[Symbol.asyncIterator]();
    try {
      const first = await iterator.next();
      expect(first.done).toBe(false);
      const value = first.value as { total: number; guarantees: GuaranteeStats };
      expect(value.total).toBe(13);
      expect(value.guarantees).toEqual(await guaranteeStats(t.db.prisma));
    } finally {
      controller.abort();
      await iterator.return?.(undefined);
    }
  });
});
