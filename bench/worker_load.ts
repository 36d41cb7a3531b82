// A worker's CPU per task, on its own: `npx tsx bench/worker_load.ts` (not part of `npm run bench`).
//
// Runs one real worker process (the compiled `.build/worker/main.js`, as `npm start` runs it) against
// a gRPC peer in this process that plays its coordinator: it keeps POOL no-op tasks dispatched to
// the worker (SubmitTaskStream), and answers each ReportBatch ACK_MS later (a coordinator's database
// commit). It reads the worker's CPU time from /proc before and after TASKS tasks and prints the CPU
// per 1,000 tasks, its tasks/s and its peak RSS. With many tasks in each dispatch and report batch,
// this is the worker's per-task cost; PostgreSQL and the coordinator are out of the picture.
//
// Variants alternate round by round (the machine's speed drifts; compare medians of one run):
//   VARIANTS="current /path/to/other/main.js"  worker files to run (current = this checkout's build;
//                                              another build must sit in .build/worker/ to find its packages)
//   VARIANTS="current current@big" FLAGS_big="--min-semi-space-size=8 --max-semi-space-size=8"
//                                              the same file with other node flags (without @, the worker's own)
//   TASKS (20000), POOL (50), ACK_MS (30), ROUNDS (3)
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import {
  type CoordinatorServiceHandlers,
  createStreamedCaller,
  loadGrpcApi,
  type ReportBatchRequest__Output,
  serveStreamedCalls,
  type TaskBatch,
  type TaskBatchResponse__Output,
} from "../proto/mod.ts";
import { processCommand } from "../server/mod.ts";

const TASKS = Number(process.env["TASKS"] ?? 20_000);
const POOL = Number(process.env["POOL"] ?? 50);
const ACK_MS = Number(process.env["ACK_MS"] ?? 30);
const ROUNDS = Number(process.env["ROUNDS"] ?? 3);

const built = await processCommand("worker", { repoRoot: process.cwd() });
const builtFile = built.args.at(-1)!;
const roleFlags = built.args.slice(0, -1);

/** CPU time (user + system) of a process so far, ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface Round {
  cpuPer1000: number;
  tasksPerSecond: number;
  peakRssMb: number;
  reportCalls: number;
  dispatchCalls: number;
}

async function runRound(variant: string): Promise<Round> {
  const [file, tag] = variant.split("@") as [string, string | undefined];
  const flags = tag === undefined ? roleFlags : (process.env[`FLAGS_${tag}`] ?? "").split(" ").filter(Boolean);
  const api = loadGrpcApi();
  const server = new grpc.Server();
  let workerAddress!: (address: string) => void;
  const registered = new Promise<string>((resolve) => (workerAddress = resolve));
  let inFlight = 0;
  let sent = 0;
  let done = 0;
  let reportCalls = 0;
  let dispatchCalls = 0;
  let sendMore = () => {};
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const answer = (request: ReportBatchRequest__Output) => {
    reportCalls++;
    for (const report of request.reports) {
      if (report.status === "COMPLETE" || report.status === "FAILED") {
        inFlight--;
        done++;
      }
    }
    if (done >= TASKS) finished();
    sendMore();
    return { results: request.reports.map((r) => ({ task_id: r.task_id, attempt: r.attempt, code: "ACCEPTED" as const, message: "" })) };
  };
  const handlers: CoordinatorServiceHandlers = {
    SendHeartbeat(call, callback) {
      workerAddress(call.request.address);
      callback(null, { acknowledged: true, coordinator_id: "worker-load" });
    },
    UpdateTaskStatus: (_call, callback) => callback(null, { success: true }),
    ReportBatch(call, callback) {
      const response = answer(call.request);
      setTimeout(() => callback(null, response), ACK_MS);
    },
    ReportStream(call) {
      serveStreamedCalls(call, (message) => message.request ?? undefined, (request, callback) => {
        const response = answer(request);
        setTimeout(() => callback(null, response), ACK_MS);
      });
    },
    ReportProgress: (_call, callback) => callback(null, { success: true }),
    SubmitTask: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not here" }),
  };
  server.addService(api.CoordinatorService.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  const child = spawn(process.execPath, [...flags, file === "current" ? builtFile : file], {
    env: {
      ...process.env,
      COORDINATOR: `127.0.0.1:${port}`,
      WORKER_ADDRESS: "127.0.0.1",
      POOL_SIZE: String(POOL),
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      HEARTBEAT_INTERVAL_MS: "1000",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    const client = new api.WorkerService(await registered, grpc.credentials.createInsecure());
    const submit = createStreamedCaller<TaskBatch, TaskBatchResponse__Output>({
      open: () => client.SubmitTaskStream(),
      wrap: (callId, batch) => ({ call_id: callId, batch }),
      unary: (batch, callOptions, callback) => client.SubmitTasks(batch, callOptions, callback),
    });
    let scheduled = false;
    sendMore = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        const n = Math.min(POOL - inFlight, TASKS - sent);
        if (n <= 0) return;
        inFlight += n;
        sent += n;
        dispatchCalls++;
        const tasks = Array.from({ length: n }, () => ({ task_id: randomUUID(), data: "noop", attempt: 1, payload_json: "", timeout_ms: 0, start_on_arrival: true }));
        submit({ tasks }, { deadline: Date.now() + 10_000 }, (error) => {
          if (error) console.error("dispatch failed:", error.message);
        });
      });
    };
    const cpuBefore = cpuMs(child.pid!);
    const started = performance.now();
    sendMore();
    await allDone;
    const ms = performance.now() - started;
    const cpu = cpuMs(child.pid!) - cpuBefore;
    const peakRssMb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;
    submit.close();
    client.close();
    return { cpuPer1000: (cpu / TASKS) * 1000, tasksPerSecond: (TASKS / ms) * 1000, peakRssMb, reportCalls, dispatchCalls };
  } finally {
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    child.kill("SIGKILL");
    server.forceShutdown();
  }
}

const variants = (process.env["VARIANTS"] ?? "current").split(" ").filter(Boolean);
const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of variants) {
    const r = await runRound(variant);
    results.set(variant, [...(results.get(variant) ?? []), r.cpuPer1000]);
    console.log(
      `round ${round + 1} ${variant}: ${r.cpuPer1000.toFixed(1)} ms CPU per 1,000 tasks, ${Math.round(r.tasksPerSecond)} tasks/s, ` +
        `peak RSS ${r.peakRssMb.toFixed(0)} MB, ${(TASKS / r.dispatchCalls).toFixed(1)} tasks per dispatch, ${(TASKS / r.reportCalls).toFixed(1)} reports per ReportBatch`,
    );
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [variant, values] of results) console.log(`median ${variant}: ${median(values).toFixed(1)} ms CPU per 1,000 tasks`);
process.exit(0);
