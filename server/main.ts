// Starts the server process (the seed's "scheduler"): parses the environment once, connects to
// PostgreSQL, serves HTTP, optionally starts local workers, and shuts down cleanly on SIGTERM/SIGINT.
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { createPrismaClient, embeddedDatabaseUrl } from "../prisma/mod.ts";
import {
  ConfigError,
  createLogger,
  databaseSettings,
  databaseUrlFromSettings,
  intSetting,
  logSettings,
  parseConfig,
  portSetting,
} from "../shared/mod.ts";
import {
  createDisabledWorkerScaler,
  createLocalWorkerScaler,
  createServer,
  defaultWorkerLocation,
  type WorkerScaler,
} from "./mod.ts";
import { markWorkerOffline, workerExists } from "./mark_worker_offline.ts";

const optionalText = z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.string().optional());

const serverSettings = {
  ...logSettings,
  ...databaseSettings,
  SCHEDULER_PORT: portSetting(8081),
  /** Local workers to start at once (WORKER_SCALER=local). */
  WORKERS: intSetting(0, 0, 50),
  WORKER_SCALER: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.enum(["local", "none"], { error: 'expected "local" or "none"' }).default("local"),
  ),
  /** What spawned workers connect to: COORDINATOR_ADDRESS (the seed's scheduler setting), else COORDINATOR. */
  COORDINATOR_ADDRESS: optionalText,
  COORDINATOR: optionalText,
  HEARTBEAT_INTERVAL_MS: intSetting(5000, 100, 600_000),
  HEARTBEAT_MISSES: intSetting(3, 1, 100),
  MAX_BODY_BYTES: intSetting(1_048_576, 1024, 100 * 1_048_576),
  /** How long a stopping local worker may drain before SIGKILL. */
  WORKER_STOP_TIMEOUT_MS: intSetting(40_000, 1000, 600_000),
  /** The built dashboard; default <repo>/web/dist. */
  WEB_DIST_DIR: optionalText,
};

let settings: z.infer<z.ZodObject<typeof serverSettings>>;
try {
  settings = parseConfig(serverSettings, process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

const log = createLogger({
  json: settings.LOG_FORMAT === "json" || (settings.LOG_FORMAT === "auto" && !process.stdout.isTTY),
  level: settings.LOG_LEVEL,
  fields: { service: "server" },
  write: (line) => process.stdout.write(`${line}\n`),
});

const databaseUrl = databaseUrlFromSettings(settings) ?? embeddedDatabaseUrl();
const prisma = createPrismaClient(databaseUrl, {
  poolSize: settings.DB_POOL_SIZE,
  onPoolError: (error) => log.warn("database connection dropped", { error: error.message }),
});
const coordinator = settings.COORDINATOR_ADDRESS ?? settings.COORDINATOR ?? "localhost:8080";
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

let activity: ((level: "info" | "success" | "error", msg: string) => void) | undefined;
const scaler: WorkerScaler =
  settings.WORKER_SCALER === "local"
    ? createLocalWorkerScaler({
        ...defaultWorkerLocation(),
        coordinator,
        env: process.env,
        log: log.child({ component: "worker_scaler" }),
        stopTimeoutMs: settings.WORKER_STOP_TIMEOUT_MS,
        onExit: async (id) => {
          if (await markWorkerOffline(prisma, id)) log.info("marked an exited local worker offline", { worker_id: id });
        },
        workerExists: (id) => workerExists(prisma, id),
        activity: (level, msg) => activity?.(level, msg),
      })
    : createDisabledWorkerScaler((id) => workerExists(prisma, id));

const server = await createServer({
  prisma,
  databaseUrl,
  log,
  port: settings.SCHEDULER_PORT,
  scaler,
  onlineWindowMs: settings.HEARTBEAT_INTERVAL_MS * settings.HEARTBEAT_MISSES,
  heartbeatIntervalMs: settings.HEARTBEAT_INTERVAL_MS,
  maxBodyBytes: settings.MAX_BODY_BYTES,
  webDistDir: settings.WEB_DIST_DIR ?? `${repoRoot}web/dist`,
}).catch((error: unknown) => {
  log.error("could not start the HTTP server", { port: settings.SCHEDULER_PORT, error: String(error) });
  process.exit(1);
});
activity = (level, msg) => void server.hub.record(level, msg);

log.info("ready", {
  port: server.port,
  worker_scaler: scaler.kind,
  coordinator,
  database: new URL(databaseUrl).host,
});

if (settings.WORKERS > 0) {
  if (scaler.kind === "none") log.warn("WORKERS is ignored: WORKER_SCALER=none", { workers: settings.WORKERS });
  else {
    scaler.scale(settings.WORKERS).catch((error: unknown) => log.error("could not start workers", { error: String(error) }));
  }
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    log.warn("second signal: exiting at once", { signal });
    process.exit(1);
  }
  stopping = true;
  log.info("shutting down", { signal });
  try {
    // At once and together: workers that got the signal too (Ctrl-C reaches the whole process group)
    // must not be replaced while the HTTP server waits out its grace period.
    await Promise.all([server.close(), scaler.stopAll()]);
    await prisma.$disconnect();
    log.info("stopped");
    process.exit(0);
  } catch (error) {
    log.error("shutdown failed", { error: String(error) });
    process.exit(1);
  }
}
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void shutdown(signal));
