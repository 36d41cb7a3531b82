import { describe, expect, it } from "vitest";
import { defineHandler, NonRetryableError, type TaskHandler } from "./handler.ts";
import { createTaskPool, type PoolTask, type TaskPool, type TaskPoolOptions } from "./task_pool.ts";
import { createRecordingReporter, createTestLogger, deferred, waitFor } from "./testing.ts";

/** A task as this coordinator dispatches it: a first attempt, which it counts as started on arrival. */
function task(taskId: string, overrides: Partial<PoolTask> = {}): PoolTask {
  return { taskId, attempt: 1, command: "test", payloadJson: "", timeoutMs: 0, startOnArrival: true, ...overrides };
}

/**
 * Makes every STARTED wait until the returned function is called (it accepts the latest one),
 * noting `accepted <taskId>` in `order` then.
 */
function holdStarted(reporter: ReturnType<typeof createRecordingReporter>, order: string[]): () => void {
  let accept = () => {};
  reporter.answer = (r) =>
    r.kind === "started"
      ? new Promise((resolve) => {
          accept = () => {
            order.push(`accepted ${r.ref.taskId}`);
            resolve("accepted");
          };
        })
      : "accepted";
  return () => accept();
}

/** A pool whose handler notes `run <taskId>` in `order`, with every STARTED held (see holdStarted). */
function poolHoldingStarted() {
  const order: string[] = [];
  const { pool: p, reporter } = pool(
    defineHandler("test", (ctx) => {
      order.push(`run ${ctx.taskId}`);
      return "ok";
    }),
  );
  return { p, reporter, order, accept: holdStarted(reporter, order) };
}

/**
 * Submits `submitted` and checks that its handler (which notes `run <taskId>` in `order`) runs only
 * once its STARTED is accepted by `accept` (from {@linkcode holdStarted}).
 */
async function expectRunOnlyOnceAccepted(
  held: { pool: TaskPool; reporter: ReturnType<typeof createRecordingReporter>; order: string[]; accept: () => void },
  submitted: PoolTask,
): Promise<void> {
  held.order.length = 0;
  held.pool.submit(submitted);
  await new Promise((r) => setTimeout(r, 100));
  expect(held.order).toEqual([]);
  held.accept();
  await waitFor(() => held.reporter.of(submitted.taskId).some((r) => r.kind === "completed"), "COMPLETE");
  expect(held.order).toEqual([`accepted ${submitted.taskId}`, `run ${submitted.taskId}`]);
}

function pool(handler: TaskHandler, overrides: Partial<TaskPoolOptions> = {}) {
  const reporter = createRecordingReporter();
  const logger = createTestLogger();
  const created = createTaskPool({
    size: 2,
    defaultTimeoutMs: 60_000,
    resolveHandler: () => handler,
    reporter,
    workerId: 7,
    logger,
    progressIntervalMs: 20,
    ...overrides,
  });
  return { pool: created, reporter, logger };
}

describe("createTaskPool()", () => {
  it("runs no more attempts at once than it has slots, and the rest in turn", async () => {
    const release = deferred();
    let running = 0;
    let most = 0;
    const { pool: p, reporter } = pool(
      defineHandler("test", async () => {
        running++;
        most = Math.max(most, running);
        await release.promise;
        running--;
        return "done";
      }),
    );
    for (let i = 0; i < 5; i++) expect(p.submit(task(`t${i}`))).toBe("accepted");
    await waitFor(() => p.running === 2, "two running");
    expect(p.inFlight).toBe(5);
    release.resolve();
    await waitFor(() => reporter.reports.filter((r) => r.kind === "completed").length === 5, "five completed");
    expect(most).toBe(2);
    expect(p.inFlight).toBe(0);
    expect(p.running).toBe(0);
  });

  it("reports STARTED before the handler runs, then COMPLETE with the result as JSON", async () => {
    const { pool: p, reporter } = pool(
      defineHandler("test", () => {
        expect(reporter.of("a").map((r) => r.kind)).toEqual(["started"]);
        return { answer: 42 };
      }),
      { now: () => new Date("2026-01-02T03:04:05Z") },
    );
    p.submit(task("a", { attempt: 3 }));
    await waitFor(() => reporter.of("a").some((r) => r.kind === "completed"), "COMPLETE");
    expect(reporter.of("a")).toEqual([
      { kind: "started", ref: { taskId: "a", attempt: 3 }, at: 1767323045 },
      { kind: "completed", ref: { taskId: "a", attempt: 3 }, resultJson: '{"answer":42}', at: 1767323045 },
    ]);
  });

  it("sends an empty result_json when the handler returns undefined", async () => {
    const { pool: p, reporter } = pool(defineHandler("test", () => undefined));
    p.submit(task("a"));
    const done = await waitFor(() => reporter.of("a").find((r) => r.kind === "completed"), "COMPLETE");
    expect(done).toMatchObject({ resultJson: "" });
  });

  it("runs a long queue of handlers that return at once, one slot, without nesting a call per attempt", async () => {
    // Such a handler frees its slot before the pool's first await: each next attempt must start from
    // the pool's loop, not from inside the previous one (20,000 nested starts overflow the stack).
    const first = deferred();
    let ran = 0;
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => {
        if (ctx.taskId === "first") return first.promise;
        ran++;
        return ran;
      }),
      { size: 1, maxQueued: 20_000 },
    );
    p.submit(task("first"));
    for (let i = 0; i < 20_000; i++) expect(p.submit(task(`t${i}`))).toBe("accepted");
    first.resolve();
    await waitFor(() => reporter.reports.filter((r) => r.kind === "completed").length === 20_001, "20,001 COMPLETE", 20_000);
    expect(ran).toBe(20_000);
    expect(reporter.of("t19999").at(-1)).toMatchObject({ kind: "completed", resultJson: "20000" });
    expect(p.inFlight).toBe(0);
  });

  it("awaits a thenable that is not a Promise, as a promise", async () => {
    const { pool: p, reporter } = pool(
      defineHandler("test", () => ({
        then(resolve: (value: unknown) => void) {
          setTimeout(() => resolve({ late: true }), 30);
        },
      })),
    );
    p.submit(task("thenable"));
    await waitFor(() => reporter.of("thenable").some((r) => r.kind === "completed"), "COMPLETE");
    expect(reporter.of("thenable").at(-1)).toMatchObject({ kind: "completed", resultJson: '{"late":true}' });
  });

  it("accepts the same task and attempt once, also after it finished", async () => {
    let runs = 0;
    const { pool: p, reporter } = pool(defineHandler("test", () => void runs++));
    expect(p.submit(task("a"))).toBe("accepted");
    expect(p.submit(task("a"))).toBe("duplicate");
    await waitFor(() => reporter.of("a").some((r) => r.kind === "completed"), "COMPLETE");
    expect(p.submit(task("a"))).toBe("duplicate");
    expect(p.submit(task("a", { attempt: 2 }))).toBe("accepted");
    await waitFor(() => runs === 2, "the second attempt to run");
    await p.drain(5000);
    expect(runs).toBe(2);
  });

  it("remembers the last 2,048 finished attempts: an older one is forgotten, oldest first", async () => {
    const { pool: p } = pool(defineHandler("test", () => undefined), { size: 100, maxQueued: 5000 });
    for (let i = 0; i <= 2048; i++) expect(p.submit(task(`t${i}`))).toBe("accepted");
    await p.drain(10_000);
    // (the pool is draining now: a forgotten attempt is refused as "draining", a remembered one is a duplicate)
    expect(p.submit(task("t0"))).toBe("draining");
    expect(p.submit(task("t1"))).toBe("duplicate");
    expect(p.submit(task("t2048"))).toBe("duplicate");
  });

  it("runs a seed dispatch (attempt 0) again once the first run finished", async () => {
    let runs = 0;
    const { pool: p, reporter } = pool(defineHandler("test", () => void runs++));
    expect(p.submit(task("a", { attempt: 0 }))).toBe("accepted");
    expect(p.submit(task("a", { attempt: 0 }))).toBe("duplicate");
    await waitFor(() => reporter.of("a").some((r) => r.kind === "completed") && p.inFlight === 0, "COMPLETE");
    expect(p.submit(task("a", { attempt: 0 }))).toBe("accepted");
    await p.drain(5000);
    expect(runs).toBe(2);
  });

  it("aborts at the timeout and frees the slot of a handler that ignores the abort", async () => {
    let seen: AbortSignal | undefined;
    const handler = defineHandler("test", async (ctx) => {
      if (ctx.taskId === "stuck") {
        seen = ctx.signal;
        await new Promise(() => {}); // ignores its signal for ever
      }
      return "ok";
    });
    const { pool: p, reporter, logger } = pool(handler, { size: 1, abandonGraceMs: 50 });
    p.submit(task("stuck", { timeoutMs: 50 }));
    p.submit(task("next"));
    const failed = await waitFor(() => reporter.of("stuck").find((r) => r.kind === "failed"), "FAILED of the stuck task");
    expect(failed).toMatchObject({ error: "task timed out after 50 ms", notRetryable: false });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatchObject({ name: "TimeoutError" });
    await waitFor(() => reporter.of("next").some((r) => r.kind === "completed"), "the next task to complete");
    expect(logger.lines.some((l) => l["msg"] === "handler ignored its abort signal: abandoned, slot freed")).toBe(true);
    expect(p.inFlight).toBe(0);
  });

  it("uses its default timeout when the task sets none", async () => {
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))),
      { defaultTimeoutMs: 30 },
    );
    p.submit(task("a"));
    const failed = await waitFor(() => reporter.of("a").find((r) => r.kind === "failed"), "FAILED");
    expect(failed).toMatchObject({ error: "task timed out after 30 ms" });
  });

  it("never runs a retry's handler when its STARTED is answered stale, and reports nothing more", async () => {
    let ran = false;
    const { pool: p, reporter } = pool(
      defineHandler("test", () => {
        ran = true;
        return "ran";
      }),
    );
    reporter.answer = (r) => (r.kind === "started" ? "stale" : "accepted");
    p.submit(task("a", { attempt: 2 }));
    expect(await p.drain(5000)).toBe(true);
    expect(ran).toBe(false);
    expect(reporter.of("a").map((r) => r.kind)).toEqual(["started"]);
  });

  it("runs a retry (and a seed dispatch, attempt 0, and a first attempt its coordinator does not count as started on arrival) only once its STARTED is accepted", async () => {
    const { p, reporter, order, accept } = poolHoldingStarted();
    await expectRunOnlyOnceAccepted({ pool: p, reporter, order, accept }, task("retry", { attempt: 2 }));
    await expectRunOnlyOnceAccepted({ pool: p, reporter, order, accept }, task("seed", { attempt: 0 }));
    // An older coordinator sends no start_on_arrival: a crash before its STARTED would not be charged.
    await expectRunOnlyOnceAccepted({ pool: p, reporter, order, accept }, task("older", { startOnArrival: false }));
  });

  it("starts a first attempt at once; a quick one sends no STARTED, its COMPLETE carries the start time", async () => {
    const order: string[] = [];
    const clock = new Date("2026-01-02T03:04:05.678Z");
    const { pool: p, reporter } = pool(
      defineHandler("test", () => {
        order.push("run");
        return "ok";
      }),
      { now: () => clock },
    );
    p.submit(task("a"));
    await waitFor(() => reporter.of("a").some((r) => r.kind === "completed"), "COMPLETE");
    expect(order).toEqual(["run"]);
    expect(reporter.of("a")).toEqual([
      { kind: "completed", ref: { taskId: "a", attempt: 1 }, resultJson: '"ok"', at: 1767323045, startedAtMs: clock.getTime() },
    ]);
  });

  it("a first attempt still running after a moment sends STARTED, and reports its end only once that is accepted", async () => {
    const order: string[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const { pool: p, reporter } = pool(
      defineHandler("test", async () => {
        order.push("run");
        await finished;
        return "ok";
      }),
    );
    const accept = holdStarted(reporter, order);
    p.submit(task("a"));
    await waitFor(() => reporter.of("a").some((r) => r.kind === "started"), "STARTED while it runs");
    expect(order).toEqual(["run"]);
    finish();
    await new Promise((r) => setTimeout(r, 50));
    expect(reporter.of("a").map((r) => r.kind)).toEqual(["started"]);
    accept();
    await waitFor(() => reporter.of("a").some((r) => r.kind === "completed"), "COMPLETE");
    expect(order).toEqual(["run", "accepted a"]);
    expect(reporter.of("a")).toEqual([
      expect.objectContaining({ kind: "started" }),
      { kind: "completed", ref: { taskId: "a", attempt: 1 }, resultJson: '"ok"', at: expect.any(Number) },
    ]);
  });

  it("a first attempt arriving just after this process stalled (e.g. SIGSTOP) waits for its STARTED's answer", async () => {
    const { p, reporter, order, accept } = poolHoldingStarted();
    await new Promise((r) => setTimeout(r, 300)); // the pool's event-loop ticks are running
    const until = performance.now() + 1300;
    while (performance.now() < until) {
      // the event loop stands still, as in a paused process
    }
    // Submitted at once, before the event loop ticks again.
    await expectRunOnlyOnceAccepted({ pool: p, reporter, order, accept }, task("a"));
  });

  it("a first attempt whose STARTED is answered stale: its handler is aborted and nothing more is reported", async () => {
    let aborted = false;
    const { pool: p, reporter } = pool(
      defineHandler("test", async (ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        aborted = true;
        throw ctx.signal.reason;
      }),
    );
    reporter.answer = (r) => (r.kind === "started" ? "stale" : "accepted");
    p.submit(task("a"));
    expect(await p.drain(5000)).toBe(true);
    expect(aborted).toBe(true);
    expect(reporter.of("a").map((r) => r.kind)).toEqual(["started"]);
  });

  it("aborts the handler when a progress report is answered stale", async () => {
    let signal: AbortSignal | undefined;
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => {
        signal = ctx.signal;
        ctx.progress(10);
        return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      }),
    );
    reporter.answer = (r) => (r.kind === "progress" ? "stale" : "accepted");
    p.submit(task("a"));
    await waitFor(() => signal?.aborted, "the handler's signal to abort");
    expect(await p.drain(5000)).toBe(true);
    expect(reporter.of("a").map((r) => r.kind)).toEqual(["started", "progress"]);
  });

  it("fails without retry when payload_json is not JSON, without running the handler", async () => {
    let ran = false;
    const { pool: p, reporter } = pool(defineHandler("test", () => void (ran = true)));
    p.submit(task("a", { payloadJson: "{not json" }));
    const failed = await waitFor(() => reporter.of("a").find((r) => r.kind === "failed"), "FAILED");
    expect(failed).toMatchObject({ notRetryable: true });
    expect(failed.kind === "failed" && failed.error).toMatch(/^payload_json is not valid JSON/);
    expect(ran).toBe(false);
  });

  it("hands the parsed payload to the handler", async () => {
    const { pool: p, reporter } = pool(defineHandler("test", (ctx) => ctx.payload));
    p.submit(task("a", { payloadJson: '{"x":[1,2]}' }));
    const done = await waitFor(() => reporter.of("a").find((r) => r.kind === "completed"), "COMPLETE");
    expect(done).toMatchObject({ resultJson: '{"x":[1,2]}' });
  });

  it("marks a NonRetryableError not retryable, and any other error retryable", async () => {
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => {
        throw ctx.taskId === "fatal" ? new NonRetryableError("no such file") : new Error("flaky");
      }),
    );
    p.submit(task("fatal"));
    p.submit(task("flaky"));
    await p.drain(5000);
    expect(reporter.of("fatal").at(-1)).toMatchObject({ kind: "failed", error: "no such file", notRetryable: true });
    expect(reporter.of("flaky").at(-1)).toMatchObject({ kind: "failed", error: "flaky", notRetryable: false });
  });

  it("fails without retry when the result cannot be sent as JSON", async () => {
    const { pool: p, reporter } = pool(defineHandler("test", () => ({ big: 1n })));
    p.submit(task("a"));
    await p.drain(5000);
    expect(reporter.of("a").at(-1)).toMatchObject({ kind: "failed", notRetryable: true });
  });

  it("throttles progress reports and always sends the final value", async () => {
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => {
        for (let i = 0; i <= 100; i++) ctx.progress(i);
        return "ok";
      }),
      { progressIntervalMs: 250 },
    );
    p.submit(task("a"));
    await p.drain(5000);
    const progress = reporter.of("a").filter((r) => r.kind === "progress");
    expect(progress.length).toBeLessThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ percent: 100 });
    expect(reporter.of("a").map((r) => r.kind).slice(-2)).toEqual(["progress", "completed"]);
  });

  it("clamps and rounds progress values", async () => {
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => {
        ctx.progress(250.7);
        return "ok";
      }),
    );
    p.submit(task("a"));
    await p.drain(5000);
    expect(reporter.of("a").find((r) => r.kind === "progress")).toMatchObject({ percent: 100 });
  });

  it("drain() refuses new attempts and waits for the held ones and their reports", async () => {
    const release = deferred();
    const { pool: p, reporter } = pool(defineHandler("test", () => release.promise.then(() => "ok")));
    p.submit(task("a"));
    const drained = p.drain(10_000);
    expect(p.submit(task("b"))).toBe("draining");
    setTimeout(() => release.resolve(), 50);
    expect(await drained).toBe(true);
    expect(reporter.of("a").at(-1)).toMatchObject({ kind: "completed" });
    expect(reporter.of("b")).toEqual([]);
  });

  it("drain() resolves false when time runs out, and abortAll() then stops the handlers without reporting", async () => {
    let signal: AbortSignal | undefined;
    const { pool: p, reporter } = pool(
      defineHandler("test", (ctx) => {
        signal = ctx.signal;
        return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      }),
      { size: 1 },
    );
    p.submit(task("a"));
    p.submit(task("queued"));
    expect(await p.drain(50)).toBe(false);
    p.abortAll("worker closing");
    expect(signal?.reason).toMatchObject({ name: "WorkerShutdownError" });
    expect(await p.drain(5000)).toBe(true);
    expect(reporter.of("a").map((r) => r.kind)).toEqual(["started"]);
    expect(reporter.of("queued")).toEqual([]);
  });

  it("refuses a size that is not a positive integer", () => {
    expect(() => pool(defineHandler("test", () => 1), { size: 0 })).toThrow(
      "Cannot create task pool as 'size' must be a positive integer: current value is 0",
    );
  });

  it("cancel() aborts a running attempt and drops a waiting one, reporting nothing more for either", async () => {
    let sawAbort = false;
    const { pool: p, reporter } = pool(
      defineHandler("test", ({ signal }) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            sawAbort = true;
            resolve("late");
          });
        }),
      ),
      { size: 1 },
    );
    p.submit(task("run"));
    p.submit(task("wait"));
    await waitFor(() => p.running === 1 && reporter.of("run").length === 1, "one running");
    await new Promise((r) => setTimeout(r, 50)); // its STARTED accepted, the handler runs
    expect(p.cancel("wait", 1, "task cancelled")).toBe(true);
    expect(p.cancel("run", 0, "task cancelled")).toBe(true);
    expect(p.cancel("unknown", 0, "task cancelled")).toBe(false);
    await waitFor(() => p.inFlight === 0, "pool empty");
    expect(sawAbort).toBe(true);
    expect(reporter.of("run").map((r) => r.kind)).toEqual(["started"]);
    expect(reporter.of("wait")).toEqual([]);
  });
});
