import * as grpc from "@grpc/grpc-js";
import { loadGrpcApi } from "../proto/mod.ts";
import type { Logger } from "../shared/mod.ts";
import type { RetryOptions } from "./_retry.ts";
import { builtinHandlers } from "./builtin_handlers.ts";
import { createCoordinatorLink } from "./coordinator_link.ts";
import type { TaskHandler } from "./handler.ts";
import { createHandlerRegistry } from "./handler_registry.ts";
import { createTaskPool } from "./task_pool.ts";
import { createWorkerService } from "./worker_service.ts";

/** Options for {@linkcode startWorker}; defaults are those of `worker/main.ts`'s settings. */
export interface WorkerOptions {
  /** The coordinator's gRPC address, `host:port` (COORDINATOR). */
  coordinator: string;
  /** This worker's uint32 id, 1..4294967295 (WORKER_ID). */
  workerId: number;
  logger: Logger;
  /** Host the coordinator reaches this worker at (WORKER_ADDRESS). Default "localhost". */
  advertisedHost?: string;
  /** Port to serve gRPC on (WORKER_PORT); 0 = a free one. Default 0. */
  port?: number;
  /** Interface to bind. Default "0.0.0.0". */
  bindHost?: string;
  /** Slots (POOL_SIZE). Default 5. */
  poolSize?: number;
  /** Simulated work of a command without a handler, ms (TASK_PROCESS_TIME). Default 5000. */
  taskProcessTimeMs?: number;
  /** Time between heartbeats, ms (HEARTBEAT_INTERVAL_MS). Default 5000. */
  heartbeatIntervalMs?: number;
  /** Timeout of an attempt whose task sets none, ms (TASK_TIMEOUT_MS). Default 600000. */
  taskTimeoutMs?: number;
  /** Programs the `shell` handler may run (SHELL_ALLOWLIST). Default none: no `shell` handler. */
  shellAllowlist?: readonly string[];
  /** Handlers of your own (from HANDLER_MODULES); they replace a built-in of the same name. */
  handlers?: readonly TaskHandler[];
  /** How long a handler that ignores its abort signal keeps its slot, ms. Default 2000. */
  abandonGraceMs?: number;
  /** Backoff of status reports. Defaults: 100 ms first, 5 s cap, 2 minutes in all. */
  reportRetry?: RetryOptions;
}

/** A running worker. */
export interface WorkerHandle {
  /** The worker's uint32 id. */
  readonly id: number;
  /** The port its gRPC server is bound to. */
  readonly port: number;
  /** `${advertisedHost}:${port}`, as sent in heartbeats. */
  readonly address: string;
  /** Commands with a handler of their own. */
  readonly handlerNames: readonly string[];
  /** True once drain or close began. */
  readonly draining: boolean;
  /**
   * Graceful stop: refuses new tasks, sends a heartbeat with `draining: true` at once, waits up to
   * `timeoutMs` for held tasks to finish and be reported (heartbeats go on meanwhile), then aborts what
   * is left (the coordinator requeues it), stops heartbeats and closes the server. Resolves true when
   * every task finished in time. Calling it again returns the same promise.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /** Immediate stop: aborts every task, cancels pending reports, closes the server and the channel. */
  close(): Promise<void>;
}

function bind(server: grpc.Server, hostPort: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(hostPort, grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(new Error(`Cannot bind the worker's gRPC server to ${hostPort}: ${error.message}`, { cause: error }));
      else resolve(port);
    });
  });
}

function shutdown(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Starts a worker: binds its gRPC WorkerService, sends the first heartbeat (resolves once it was
 * attempted, whether or not the coordinator answered) and keeps sending them on their own timer.
 * Throws when the port cannot be bound or an option is out of range.
 */
export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  if (!Number.isInteger(options.workerId) || options.workerId < 1 || options.workerId > 4_294_967_295) {
    throw new RangeError(
      `Cannot start worker as 'workerId' must be an integer from 1 to 4294967295: current value is ${options.workerId}`,
    );
  }
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 1) {
    throw new RangeError(
      `Cannot start worker as 'heartbeatIntervalMs' must be a positive integer: current value is ${heartbeatIntervalMs}`,
    );
  }
  const logger = options.logger.child({ worker_id: options.workerId });
  const builtins = builtinHandlers({
    taskProcessTimeMs: options.taskProcessTimeMs ?? 5000,
    shellAllowlist: options.shellAllowlist ?? [],
  });
  const registry = createHandlerRegistry({
    builtins: builtins.handlers,
    custom: options.handlers ?? [],
    fallback: builtins.fallback,
    onOverride: (name) => logger.info("custom handler replaces the built-in", { handler: name }),
  });

  const server = new grpc.Server();
  const port = await bind(server, `${options.bindHost ?? "0.0.0.0"}:${options.port ?? 0}`);
  const address = `${options.advertisedHost ?? "localhost"}:${port}`;

  // The link reads the pool's load and the pool reports through the link: tie them with a late binding.
  let pool!: ReturnType<typeof createTaskPool>;
  const link = createCoordinatorLink({
    target: options.coordinator,
    workerId: options.workerId,
    address,
    capacity: options.poolSize ?? 5,
    handlerNames: registry.names,
    heartbeatIntervalMs,
    load: () => ({
      inFlight: pool.inFlight,
      draining: pool.draining,
      holding: pool.holding().map((h) => `${h.taskId}/${h.attempt}`),
    }),
    logger,
    ...(options.reportRetry ? { retry: options.reportRetry } : {}),
  });
  try {
    pool = createTaskPool({
      size: options.poolSize ?? 5,
      defaultTimeoutMs: options.taskTimeoutMs ?? 600_000,
      resolveHandler: registry.resolve,
      reporter: link,
      workerId: options.workerId,
      logger,
      ...(options.abandonGraceMs !== undefined ? { abandonGraceMs: options.abandonGraceMs } : {}),
    });
  } catch (error) {
    link.close();
    server.forceShutdown();
    throw error;
  }
  server.addService(loadGrpcApi().WorkerService.service, createWorkerService({ pool, logger }));

  logger.info("worker serving", { port, address, coordinator: options.coordinator, handlers: registry.names.join(",") });
  await link.startHeartbeats();

  let drained: Promise<boolean> | undefined;
  let closed: Promise<void> | undefined;

  const close = () => {
    closed ??= (async () => {
      pool.abortAll("worker closing");
      link.close();
      await shutdown(server, 1000);
    })();
    return closed;
  };

  return {
    id: options.workerId,
    port,
    address,
    handlerNames: registry.names,
    get draining() {
      return pool.draining;
    },
    drain(timeoutMs) {
      drained ??= (async () => {
        pool.stopAccepting();
        logger.info("draining", { in_flight: pool.inFlight, timeout_ms: timeoutMs });
        const told = link.heartbeatNow(); // at once, while the wait runs
        const finished = await pool.drain(timeoutMs);
        await told;
        if (finished) logger.info("drained: every task finished");
        else logger.warn("drain timed out: leaving unfinished tasks to the coordinator", { in_flight: pool.inFlight });
        await close();
        return finished;
      })();
      return drained;
    },
    close,
  };
}
