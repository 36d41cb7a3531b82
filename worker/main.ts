// The worker process: `npm run worker` (tsx worker/main.ts). Settings: see workerSettings below.
import { randomInt } from "node:crypto";
import { z } from "zod";
import {
  ConfigError,
  createLogger,
  intSetting,
  listSetting,
  logSettings,
  parseConfig,
  portSetting,
} from "../shared/mod.ts";
import { loadHandlerModules } from "./load_handler_modules.ts";
import type { TaskHandler } from "./handler.ts";
import { startWorker, type WorkerHandle } from "./worker_node.ts";

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

const workerSettings = {
  /**
   * The coordinator's gRPC address, or several separated by commas ("coord-a:8080,coord-b:8080"):
   * the worker registers with the first and moves to the next after 3 heartbeats without an answer.
   * One name resolving to several addresses (a headless Service) also works: gRPC picks one at random.
   */
  COORDINATOR: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^\s*(?:\[[0-9A-Fa-f:.]+\]|[^\s:/[\],]+):\d{1,5}\s*(?:,\s*(?:\[[0-9A-Fa-f:.]+\]|[^\s:/[\],]+):\d{1,5}\s*)*$/, {
        error: 'expected host:port such as "localhost:8080", or several separated by commas',
      })
      .default("localhost:8080"),
  ),
  /** Host the coordinator reaches this worker at. */
  WORKER_ADDRESS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+)$/, { error: 'expected a host name or IP without port, such as "localhost"' })
      .default("localhost"),
  ),
  /** Port to serve gRPC on; empty = a free one. */
  WORKER_PORT: portSetting(0),
  /** The worker's uint32 id; default random. */
  WORKER_ID: intSetting(randomInt(1, 2 ** 32), 1, 4_294_967_295),
  POOL_SIZE: intSetting(5, 1, 1000),
  TASK_PROCESS_TIME: intSetting(5000, 0, 3_600_000),
  HEARTBEAT_INTERVAL_MS: intSetting(5000, 100, 3_600_000),
  TASK_TIMEOUT_MS: intSetting(600_000, 1, 2_147_483_647),
  DRAIN_TIMEOUT_MS: intSetting(30_000, 0, 2_147_483_647),
  SHELL_ALLOWLIST: listSetting(),
  HANDLER_MODULES: listSetting(),
  ...logSettings,
};

let settings: ReturnType<typeof parseConfig<typeof workerSettings>>;
try {
  settings = parseConfig(workerSettings, process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

// When the parent that reads our stdout dies, writes fail with EPIPE: keep working (and draining)
// without logs rather than crash on an unhandled stream error.
let stdoutOpen = true;
process.stdout.on("error", () => {
  stdoutOpen = false;
});

const logger = createLogger({
  json: settings.LOG_FORMAT === "json" || (settings.LOG_FORMAT === "auto" && !process.stdout.isTTY),
  level: settings.LOG_LEVEL,
  fields: { service: "worker", worker_id: settings.WORKER_ID },
  write: (line) => {
    if (stdoutOpen) process.stdout.write(`${line}\n`);
  },
});

process.on("unhandledRejection", (reason) => {
  // A handler's stray promise must not take every other task down with it.
  logger.error("unhandled rejection", { error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason) });
});

let handlers: TaskHandler[];
try {
  handlers = await loadHandlerModules(settings.HANDLER_MODULES, process.cwd());
} catch (error) {
  logger.error("cannot load HANDLER_MODULES", { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

let worker: WorkerHandle | undefined;
let stopping = false;
if (typeof process.send === "function") {
  // Started by a parent with an IPC channel (the server's local scaler): when the parent goes away,
  // even killed with SIGKILL, the channel closes; drain and exit rather than run on as an orphan.
  // Listened for before anything slow, so a parent that dies while this worker starts is noticed too.
  process.on("disconnect", () => void stop("parent process gone", false));
  process.channel?.unref();
}

try {
  worker = await startWorker({
    coordinator: settings.COORDINATOR,
    workerId: settings.WORKER_ID,
    logger,
    advertisedHost: settings.WORKER_ADDRESS,
    port: settings.WORKER_PORT,
    poolSize: settings.POOL_SIZE,
    taskProcessTimeMs: settings.TASK_PROCESS_TIME,
    heartbeatIntervalMs: settings.HEARTBEAT_INTERVAL_MS,
    taskTimeoutMs: settings.TASK_TIMEOUT_MS,
    shellAllowlist: settings.SHELL_ALLOWLIST,
    handlers,
  });
} catch (error) {
  logger.error("cannot start the worker", { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

// Listened for before the ready line: whoever reads it may signal at once.
process.on("SIGTERM", () => void stop("SIGTERM", true));
process.on("SIGINT", () => void stop("SIGINT", true));
logger.info("ready", { port: worker.port, worker_id: worker.id, address: worker.address });
if (typeof process.send === "function" && !process.connected) void stop("parent process gone", false);

/** Drains then exits 0; a second signal while draining stops at once (exit 1). */
async function stop(why: string, isSignal: boolean): Promise<void> {
  if (stopping) {
    if (!isSignal) return;
    logger.warn("second stop signal: exiting now", { why });
    await worker?.close();
    process.exit(1);
  }
  stopping = true;
  if (!worker) {
    logger.info("stopping before the worker started", { why });
    process.exit(0);
  }
  logger.info("stopping", { why, drain_timeout_ms: settings.DRAIN_TIMEOUT_MS });
  await worker.drain(settings.DRAIN_TIMEOUT_MS);
  logger.info("stopped");
  process.exit(0);
}

