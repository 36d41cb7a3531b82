import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, test } from "vitest";
import { loadGrpcApi } from "./grpc_api.ts";
import { createStreamedCaller, serveStreamedCalls } from "./streamed_calls.ts";
import type { TaskBatch } from "./_generated/grpcapi/TaskBatch.ts";
import type { TaskBatchResponse__Output } from "./_generated/grpcapi/TaskBatchResponse.ts";
import type { WorkerServiceHandlers } from "./_generated/grpcapi/WorkerService.ts";

type Answer = (batch: TaskBatch, callback: (error: { code: grpc.status; details: string } | null, response?: TaskBatchResponse__Output) => void) => void;

/** A real WorkerService on a free port whose SubmitTasks / SubmitTaskStream answer through `answer`. */
async function startServer(options: { stream: boolean; answer: Answer }) {
  const counts = { unary: 0, streamed: 0, streams: 0 };
  const server = new grpc.Server();
  const handlers: WorkerServiceHandlers = {
    SubmitTask: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not in this test" }),
    CancelTask: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not in this test" }),
    SubmitTasks: (call, callback) => {
      counts.unary++;
      options.answer(call.request, (error, response) => (error ? callback(error) : callback(null, response)));
    },
    SubmitTaskStream: (call) => {
      if (!options.stream) {
        call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "an older worker" });
        return;
      }
      counts.streams++;
      serveStreamedCalls(call, (message) => message.batch ?? undefined, (batch, callback) => {
        counts.streamed++;
        options.answer(batch, callback);
      });
    },
  };
  server.addService(loadGrpcApi().WorkerService.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  const client = new (loadGrpcApi().WorkerService)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = createStreamedCaller<TaskBatch, TaskBatchResponse__Output>({
    open: () => client.SubmitTaskStream(),
    wrap: (callId, batch) => ({ call_id: callId, batch }),
    unary: (batch, callOptions, callback) => client.SubmitTasks(batch, callOptions, callback),
  });
  const send = (taskId: string, deadlineMs = 5000) =>
    new Promise<{ error: grpc.ServiceError | null; response?: TaskBatchResponse__Output }>((resolve) =>
      call({ tasks: [{ task_id: taskId, data: "noop" }] }, { deadline: Date.now() + deadlineMs }, (error, response) => resolve({ error, response })),
    );
  const stop = () => {
    call.close();
    client.close();
    server.forceShutdown();
  };
  cleanups.push(stop);
  /** The peer goes away (its server shuts down), the caller stays. */
  const kill = () => server.forceShutdown();
  return { counts, send, kill };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const stop of cleanups.splice(0)) stop();
});

const accept: Answer = (batch, callback) =>
  callback(null, { results: (batch.tasks ?? []).map((t) => ({ task_id: t.task_id ?? "", message: "accepted", success: true })) });

describe("createStreamedCaller / serveStreamedCalls", () => {
  test("many calls share one stream, each answered with its own reply even out of order", async () => {
    const held: (() => void)[] = [];
    const server = await startServer({
      stream: true,
      // The first call is answered only after the second.
      answer: (batch, callback) => {
        if (batch.tasks?.[0]?.task_id === "first") held.push(() => accept(batch, callback));
        else {
          accept(batch, callback);
          for (const release of held.splice(0)) release();
        }
      },
    });
    const first = server.send("first");
    await new Promise((r) => setTimeout(r, 50));
    const second = server.send("second");
    const [a, b] = await Promise.all([first, second]);
    expect(a.error).toBeNull();
    expect(a.response?.results[0]?.task_id).toBe("first");
    expect(b.response?.results[0]?.task_id).toBe("second");
    expect((await server.send("third")).response?.results[0]?.task_id).toBe("third");
    expect(server.counts).toEqual({ unary: 0, streamed: 3, streams: 1 });
  });

  test("an error answer reaches the caller with its status code and details, as a unary call's would", async () => {
    const server = await startServer({ stream: true, answer: (_batch, callback) => callback({ code: grpc.status.INVALID_ARGUMENT, details: "too many tasks" }) });
    const { error } = await server.send("x");
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toBe("too many tasks");
  });

  test("a peer without the stream (UNIMPLEMENTED) gets unary calls from then on, the waiting call included", async () => {
    const server = await startServer({ stream: false, answer: accept });
    const [a, b] = await Promise.all([server.send("a"), server.send("b")]);
    expect(a.response?.results[0]?.task_id).toBe("a");
    expect(b.response?.results[0]?.task_id).toBe("b");
    expect((await server.send("c")).error).toBeNull();
    expect(server.counts.unary).toBe(3);
    expect(server.counts.streamed).toBe(0);
  });

  test("a call unanswered by its deadline fails DEADLINE_EXCEEDED, and the next call goes over a new stream", async () => {
    let answerNext = false;
    const server = await startServer({
      stream: true,
      answer: (batch, callback) => {
        if (answerNext) accept(batch, callback); // else: never answered
      },
    });
    const late = await server.send("stuck", 200);
    expect(late.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    answerNext = true;
    const next = await server.send("next");
    expect(next.error).toBeNull();
    expect(next.response?.results[0]?.task_id).toBe("next");
    expect(server.counts.streams).toBe(2);
  });

  test("the peer going away fails the calls waiting on the stream (UNAVAILABLE or CANCELLED), not hangs them", async () => {
    const server = await startServer({ stream: true, answer: () => {} });
    const waiting = server.send("never", 30_000);
    await new Promise((r) => setTimeout(r, 100));
    server.kill();
    const { error } = await waiting;
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain(error?.code);
  });
});
