// A worker written against the seed's proto text alone (proto/testdata/seed_api.proto, unmodified),
// behaving as the seed's worker does: heartbeat with workerId + address only; STARTED then COMPLETE
// without worker_id or attempt; never FAILED. Private to tests/.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { seedProtoPath } from "../proto/mod.ts";

interface SeedTaskRequest {
  task_id: string;
  data: string;
}

interface SeedPackage {
  CoordinatorService: grpc.ServiceClientConstructor;
  WorkerService: grpc.ServiceClientConstructor;
}

/** Loads the seed's `grpcapi` package with the options its Node implementation used. */
export function loadSeedPackage(): SeedPackage {
  const definition = protoLoader.loadSync(seedProtoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as unknown as { grpcapi: SeedPackage }).grpcapi;
}

/** A running seed-style worker. */
export interface SeedWorker {
  id: number;
  /** Tasks received, in order. */
  received: SeedTaskRequest[];
  /** Tasks it reported COMPLETE. */
  completed: string[];
  stop(): Promise<void>;
}

/** Starts a seed-style worker on a random port against `coordinatorAddress`. */
export async function startSeedWorker(
  coordinatorAddress: string,
  options: { id: number; processMs: number; heartbeatMs: number },
): Promise<SeedWorker> {
  const pkg = loadSeedPackage();
  const coordinator = new pkg.CoordinatorService(coordinatorAddress, grpc.credentials.createInsecure());
  const received: SeedTaskRequest[] = [];
  const completed: string[] = [];
  const queue: SeedTaskRequest[] = [];
  let stopping = false;
  const server = new grpc.Server();
  server.addService(pkg.WorkerService.service, {
    SubmitTask: (call: grpc.ServerUnaryCall<SeedTaskRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      received.push(call.request);
      queue.push(call.request);
      callback(null, { task_id: call.request.task_id, message: "Task was submitted", success: true });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const call = (method: string, request: object) =>
    new Promise<void>((resolve) => {
      (coordinator as unknown as Record<string, (r: object, cb: (e: Error | null) => void) => void>)[method]!(request, () => resolve());
    });
  const heartbeat = () => call("SendHeartbeat", { workerId: options.id, address: `localhost:${port}` });
  await heartbeat();
  const beat = setInterval(() => void heartbeat(), options.heartbeatMs);
  const pool = Array.from({ length: 5 }, async () => {
    while (!stopping) {
      const task = queue.shift();
      if (!task) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      await call("UpdateTaskStatus", { task_id: task.task_id, status: "STARTED", started_at: Math.floor(Date.now() / 1000) });
      await new Promise((r) => setTimeout(r, options.processMs));
      await call("UpdateTaskStatus", { task_id: task.task_id, status: "COMPLETE", completed_at: Math.floor(Date.now() / 1000) });
      completed.push(task.task_id);
    }
  });
  return {
    id: options.id,
    received,
    completed,
    stop: async () => {
      stopping = true;
      clearInterval(beat);
      await Promise.all(pool);
      server.forceShutdown();
      coordinator.close();
    },
  };
}
