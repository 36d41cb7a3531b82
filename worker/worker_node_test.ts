// End to end, in process: startWorker() against a small recording CoordinatorService (a protocol peer
// written here with @grpc/grpc-js), driven through the worker's real gRPC WorkerService.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CoordinatorServiceHandlers,
  type HeartbeatRequest__Output,
  loadGrpcApi,
  type ProgressReport__Output,
  type ReportBatchRequest__Output,
  type ReportBatchResponse,
  serveStreamedCalls,
  type TaskRequest,
  type TaskResponse__Output,
  type UpdateTaskStatusRequest__Output,
} from "../proto/mod.ts";
import { defineHandler } from "./handler.ts";
import { createTestLogger, deferred, waitFor } from "./testing.ts";
import { startWorker, type WorkerHandle, type WorkerOptions } from "./worker_node.ts";

interface RecordingCoordinator {
  target: string;
  heartbeats: HeartbeatRequest__Output[];
  updates: UpdateTaskStatusRequest__Output[];
  /** When each update arrived (Date.now()). */
  receivedAt: WeakMap<UpdateTaskStatusRequest__Output, number>;
  progress: ProgressReport__Output[];
  /** Answer to an UpdateTaskStatus: null = success, else a gRPC status code to fail it with. */
  answer: (request: UpdateTaskStatusRequest__Output) => grpc.status | null;
  updatesOf(taskId: string): UpdateTaskStatusRequest__Output[];
  /** ReportBatch calls received (each may carry many reports). */
  batchCalls: number;
  /** While true, ReportBatch answers wait (in `held`) until `release()`: a coordinator whose database commit is slow. */
  holdAnswers: boolean;
  release(): void;
  close(): void;
}

async function startRecordingCoordinator(batches = true): Promise<RecordingCoordinator> {
  const server = new grpc.Server();
  const held: (() => void)[] = [];
  const coordinator: RecordingCoordinator = {
    target: "",
    batchCalls: 0,
    holdAnswers: false,
    release: () => {
      coordinator.holdAnswers = false;
      for (const answer of held.splice(0)) answer();
    },
    heartbeats: [],
    updates: [],
    receivedAt: new WeakMap(),
    progress: [],
    answer: () => null,
    updatesOf: (taskId) => coordinator.updates.filter((u) => u.task_id === taskId),
    close: () => server.forceShutdown(),
  };
  const codeName = (code: grpc.status | null) =>
    code === null ? "ACCEPTED" : code === grpc.status.FAILED_PRECONDITION ? "STALE" : code === grpc.status.NOT_FOUND ? "NOT_FOUND" : code === grpc.status.INVALID_ARGUMENT ? "INVALID" : "RETRY";
  const answerBatch = (request: ReportBatchRequest__Output): ReportBatchResponse => {
    coordinator.batchCalls++;
    return {
      results: request.reports.map((report) => {
        coordinator.updates.push(report);
        coordinator.receivedAt.set(report, Date.now());
        const code = coordinator.answer(report);
        return { task_id: report.task_id, attempt: report.attempt, code: codeName(code), message: code === null ? "" : "test says no" };
      }),
    };
  };
  const handlers: CoordinatorServiceHandlers = {
    SendHeartbeat(call, callback) {
      coordinator.heartbeats.push(call.request);
      callback(null, { acknowledged: true, coordinator_id: "recording" });
    },
    UpdateTaskStatus(call, callback) {
      coordinator.updates.push(call.request);
      coordinator.receivedAt.set(call.request, Date.now());
      const code = coordinator.answer(call.request);
      if (code === null) callback(null, { success: true });
      else callback({ code, details: code === grpc.status.FAILED_PRECONDITION ? "stale attempt" : "test says no" });
    },
    ReportBatch(call, callback) {
      if (!batches) {
        callback({ code: grpc.status.UNIMPLEMENTED, details: "a seed coordinator has no ReportBatch" });
        return;
      }
      const response = answerBatch(call.request);
      if (coordinator.holdAnswers) held.push(() => callback(null, response));
      else callback(null, response);
    },
    ReportStream(call) {
      if (!batches) {
        call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "a seed coordinator has no ReportStream" });
        return;
      }
      serveStreamedCalls(call, (message) => message.request ?? undefined, (request, callback) => {
        const response = answerBatch(request);
        if (coordinator.holdAnswers) held.push(() => callback(null, response));
        else callback(null, response);
      });
    },
    ReportProgress(call, callback) {
      coordinator.progress.push(call.request);
      callback(null, { success: true });
    },
    SubmitTask(_call, callback) {
      callback({ code: grpc.status.UNIMPLEMENTED, details: "not in this test" });
    },
  };
  server.addService(loadGrpcApi().CoordinatorService.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  coordinator.target = `127.0.0.1:${port}`;
  return coordinator;
}

function submit(worker: WorkerHandle, request: TaskRequest): Promise<TaskResponse__Output> {
  const client = new (loadGrpcApi().WorkerService)(`127.0.0.1:${worker.port}`, grpc.credentials.createInsecure());
  return new Promise<TaskResponse__Output>((resolve, reject) => {
    client.SubmitTask(request, { deadline: Date.now() + 10_000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else if (!response) reject(new Error("no response"));
      else resolve(response);
    });
  });
}

function submitMany(worker: WorkerHandle, tasks: TaskRequest[]): Promise<TaskResponse__Output[]> {
  const client = new (loadGrpcApi().WorkerService)(`127.0.0.1:${worker.port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.SubmitTasks({ tasks }, { deadline: Date.now() + 10_000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response?.results ?? []);
    });
  });
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup(options: Partial<WorkerOptions> = {}, batches = true) {
  const coordinator = await startRecordingCoordinator(batches);
  cleanup.push(() => coordinator.close());
  const logger = createTestLogger();
  const worker = await startWorker({
    coordinator: coordinator.target,
    workerId: 4_000_000_001, // above 2^31: the seed's workers crashed on such ids
    logger,
    poolSize: 3,
    heartbeatIntervalMs: 200,
    taskProcessTimeMs: 20,
    reportRetry: { initialDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 30_000 },
    ...options,
  });
  cleanup.push(() => worker.close());
  return { coordinator, worker, logger };
}

describe("startWorker()", () => {
  it("sends its first heartbeat before it resolves, with capacity and handlers", async () => {
    const { coordinator, worker } = await setup({ handlers: [defineHandler("greet", () => "hi")] });
    expect(coordinator.heartbeats[0]).toEqual({
      workerId: 4_000_000_001,
      address: `localhost:${worker.port}`,
      capacity: 3,
      handlers: ["greet", "http", "noop", "sleep"],
      in_flight: 0,
      draining: false,
      batch_dispatch: true,
      holding: [],
      reports_holding: true,
    });
    expect(worker.address).toBe(`localhost:${worker.port}`);
    await waitFor(() => coordinator.heartbeats.length >= 3, "more heartbeats on the timer");
  });

  it("reports STARTED then COMPLETE for a submitted task, with its attempt and worker id", async () => {
    const { coordinator, worker } = await setup();
    const taskId = randomUUID();
    const response = await submit(worker, { task_id: taskId, data: "sleep", attempt: 2, payload_json: '{"ms":10}' });
    expect(response).toEqual({ task_id: taskId, success: true, message: "accepted" });
    await waitFor(() => coordinator.updatesOf(taskId).some((u) => u.status === "COMPLETE"), "COMPLETE");
    const [started, complete, ...rest] = coordinator.updatesOf(taskId);
    expect(rest).toEqual([]);
    expect(started).toMatchObject({ status: "STARTED", attempt: 2, worker_id: 4_000_000_001 });
    expect(Number(started?.started_at)).toBeGreaterThan(1_600_000_000);
    expect(complete).toMatchObject({ status: "COMPLETE", attempt: 2, worker_id: 4_000_000_001, result_json: '{"slept_ms":10}' });
    expect(Number(complete?.completed_at)).toBeGreaterThanOrEqual(Number(started?.started_at));
  });

  it("sends the reports of many tasks finishing together in few ReportBatch calls", async () => {
    const { coordinator, worker } = await setup({ poolSize: 50 });
    const ids = Array.from({ length: 40 }, () => randomUUID());
    await submitMany(worker, ids.map((id) => ({ task_id: id, data: "noop", attempt: 1, start_on_arrival: true })));
    await waitFor(() => ids.every((id) => coordinator.updatesOf(id).some((u) => u.status === "COMPLETE")), "all COMPLETE");
    // Quick first attempts: no STARTED, their COMPLETE carries the start.
    expect(coordinator.updates).toHaveLength(40);
    expect(coordinator.batchCalls).toBeLessThan(40);
  });

  it("keeps two ReportBatch calls on the wire while the coordinator has not answered; the next report waits for one of them", async () => {
    const { coordinator, worker } = await setup({ poolSize: 10 });
    coordinator.holdAnswers = true;
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    // (Within 3 s: a held call's 5 s deadline would otherwise let the next report go after it.)
    for (const id of [a, b]) {
      await submit(worker, { task_id: id, data: "noop", attempt: 1, start_on_arrival: true });
      await waitFor(() => coordinator.updatesOf(id).length === 1, `the report of ${id} arrives unanswered`, 3000);
    }
    expect(coordinator.batchCalls).toBe(2);
    expect(coordinator.updatesOf(a)).toHaveLength(1); // not retried: its call is still open
    await submit(worker, { task_id: c, data: "noop", attempt: 1, start_on_arrival: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(coordinator.updatesOf(c)).toEqual([]); // two calls on the wire: it waits
    coordinator.release();
    await waitFor(() => coordinator.updatesOf(c).length === 1, "the third report once an answer came");
    expect(coordinator.batchCalls).toBe(3);
  });

  it("a quick first attempt sends no STARTED: its COMPLETE carries its start (unix ms); a longer one sends STARTED while it runs", async () => {
    const { coordinator, worker } = await setup();
    const quick = randomUUID();
    const before = Date.now();
    await submit(worker, { task_id: quick, data: "noop", attempt: 1, start_on_arrival: true });
    await waitFor(() => coordinator.updatesOf(quick).some((u) => u.status === "COMPLETE"), "COMPLETE");
    const [complete, ...rest] = coordinator.updatesOf(quick);
    expect(rest).toEqual([]);
    expect(complete).toMatchObject({ status: "COMPLETE", attempt: 1 });
    expect(Number(complete?.started_at_ms)).toBeGreaterThanOrEqual(before);
    expect(Number(complete?.started_at_ms)).toBeLessThanOrEqual(Date.now());

    const slow = randomUUID();
    const slowSubmitted = Date.now();
    await submit(worker, { task_id: slow, data: "sleep", attempt: 1, start_on_arrival: true, payload_json: '{"ms":300}' });
    await waitFor(() => coordinator.updatesOf(slow).length === 1, "STARTED while it runs");
    expect(coordinator.updatesOf(slow)[0]).toMatchObject({ status: "STARTED", attempt: 1 });
    await waitFor(() => coordinator.updatesOf(slow).some((u) => u.status === "COMPLETE"), "COMPLETE");
    const [started, completed] = coordinator.updatesOf(slow);
    // Its STARTED, sent once the handler had run 25 ms, says when the handler began (not when the
    // STARTED was sent); its end does not repeat it.
    expect(Number(started?.started_at_ms)).toBeGreaterThanOrEqual(slowSubmitted);
    expect(coordinator.receivedAt.get(started!)! - Number(started?.started_at_ms)).toBeGreaterThanOrEqual(24);
    expect(completed).toMatchObject({ status: "COMPLETE", started_at_ms: 0 });
  });

  it("falls back to one UpdateTaskStatus per report when the coordinator has no ReportBatch (the seed's)", async () => {
    const { coordinator, worker } = await setup({}, false);
    const taskId = randomUUID();
    await submit(worker, { task_id: taskId, data: "noop", attempt: 2 });
    await waitFor(() => coordinator.updatesOf(taskId).some((u) => u.status === "COMPLETE"), "COMPLETE");
    expect(coordinator.updatesOf(taskId).map((u) => u.status)).toEqual(["STARTED", "COMPLETE"]);
    expect(coordinator.batchCalls).toBe(0);
  });

  it("runs a seed dispatch (task_id and data only) as simulated work and reports without an attempt", async () => {
    const { coordinator, worker } = await setup();
    const taskId = randomUUID();
    expect(await submit(worker, { task_id: taskId, data: "send-newsletter" })).toMatchObject({ success: true });
    await waitFor(() => coordinator.updatesOf(taskId).some((u) => u.status === "COMPLETE"), "COMPLETE");
    expect(coordinator.updatesOf(taskId).map((u) => [u.status, u.attempt])).toEqual([
      ["STARTED", 0],
      ["COMPLETE", 0],
    ]);
    expect(coordinator.updatesOf(taskId)[1]?.result_json).toBe('{"simulated_ms":20}');
    expect(coordinator.progress.filter((p) => p.task_id === taskId).at(-1)?.progress).toBe(100);
  });

  it("accepts the same task and attempt once", async () => {
    const { coordinator, worker } = await setup();
    const taskId = randomUUID();
    const request = { task_id: taskId, data: "sleep", attempt: 1, start_on_arrival: true, payload_json: '{"ms":50}' };
    expect(await submit(worker, request)).toMatchObject({ success: true, message: "accepted" });
    expect(await submit(worker, request)).toMatchObject({ success: true, message: "already accepted" });
    await waitFor(() => coordinator.updatesOf(taskId).some((u) => u.status === "COMPLETE"), "COMPLETE");
    expect(await worker.drain(10_000)).toBe(true);
    expect(coordinator.updatesOf(taskId).filter((u) => u.status === "STARTED")).toHaveLength(1);
  });

  it("refuses a request without task_id with INVALID_ARGUMENT", async () => {
    const { worker } = await setup();
    const error: unknown = await submit(worker, { task_id: "", data: "noop" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((error as grpc.ServiceError).details).toMatch(/task_id is required/);
  });

  it("never runs a retry's handler and sends no COMPLETE when its STARTED is answered FAILED_PRECONDITION", async () => {
    let ran = false;
    const { coordinator, worker } = await setup({
      handlers: [
        defineHandler("wait", () => {
          ran = true;
          return "ran";
        }),
      ],
    });
    const taskId = randomUUID();
    coordinator.answer = (u) => (u.task_id === taskId && u.status === "STARTED" ? grpc.status.FAILED_PRECONDITION : null);
    await submit(worker, { task_id: taskId, data: "wait", attempt: 2 });
    expect(await worker.drain(10_000)).toBe(true);
    expect(ran).toBe(false);
    expect(coordinator.updatesOf(taskId).map((u) => u.status)).toEqual(["STARTED"]);
  });

  it("retries a COMPLETE answered UNAVAILABLE until it is accepted", async () => {
    const { coordinator, worker, logger } = await setup();
    const taskId = randomUUID();
    let refusals = 0;
    coordinator.answer = (u) => (u.task_id === taskId && u.status === "COMPLETE" && refusals++ < 3 ? grpc.status.UNAVAILABLE : null);
    await submit(worker, { task_id: taskId, data: "noop", attempt: 1, start_on_arrival: true });
    await waitFor(() => coordinator.updatesOf(taskId).filter((u) => u.status === "COMPLETE").length === 4, "the fourth COMPLETE");
    expect(await worker.drain(10_000)).toBe(true);
    expect(coordinator.updatesOf(taskId).map((u) => u.status)).toEqual(["COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE"]);
    expect(logger.lines.filter((l) => l["msg"] === "report failed, retrying")).toHaveLength(3);
  });

  it("drops a report answered NOT_FOUND without retrying it", async () => {
    const { coordinator, worker } = await setup();
    const taskId = randomUUID();
    coordinator.answer = (u) => (u.task_id === taskId && u.status === "COMPLETE" ? grpc.status.NOT_FOUND : null);
    await submit(worker, { task_id: taskId, data: "noop", attempt: 1, start_on_arrival: true });
    expect(await worker.drain(10_000)).toBe(true);
    expect(coordinator.updatesOf(taskId).map((u) => u.status)).toEqual(["COMPLETE"]);
  });

  it("while draining, says so in a heartbeat at once, refuses new tasks and finishes the held ones", async () => {
    const release = deferred();
    const { coordinator, worker } = await setup({
      handlers: [defineHandler("held", () => release.promise.then(() => "done"))],
    });
    const held = randomUUID();
    await submit(worker, { task_id: held, data: "held", attempt: 1, start_on_arrival: true });
    await waitFor(() => coordinator.updatesOf(held).length === 1, "STARTED");
    const drained = worker.drain(30_000);
    await waitFor(() => coordinator.heartbeats.find((h) => h.draining), "a heartbeat with draining true");
    expect(coordinator.heartbeats.find((h) => h.draining)?.in_flight).toBe(1);
    const refused = await submit(worker, { task_id: randomUUID(), data: "noop", attempt: 1, start_on_arrival: true });
    expect(refused).toMatchObject({ success: false, message: "draining" });
    release.resolve();
    expect(await drained).toBe(true);
    expect(coordinator.updatesOf(held).map((u) => u.status)).toEqual(["STARTED", "COMPLETE"]);
    const beats = coordinator.heartbeats.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(coordinator.heartbeats.length).toBe(beats); // heartbeats stopped
    await expect(submit(worker, { task_id: randomUUID(), data: "noop" })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("gives up waiting at the drain timeout and aborts what is left, reporting nothing for it", async () => {
    const aborted = deferred<unknown>();
    const { coordinator, worker } = await setup({
      handlers: [
        defineHandler("forever", (ctx) => {
          ctx.signal.addEventListener("abort", () => aborted.resolve(ctx.signal.reason));
          return new Promise(() => {});
        }),
      ],
      abandonGraceMs: 50,
    });
    const taskId = randomUUID();
    await submit(worker, { task_id: taskId, data: "forever", attempt: 1, start_on_arrival: true });
    await waitFor(() => coordinator.updatesOf(taskId).length === 1, "STARTED");
    expect(await worker.drain(100)).toBe(false);
    expect(await aborted.promise).toMatchObject({ name: "WorkerShutdownError" });
    expect(coordinator.updatesOf(taskId).map((u) => u.status)).toEqual(["STARTED"]);
  });
});
