// Starts the server process (the seed's "scheduler"): parses the environment once, connects to
// PostgreSQL, serves HTTP, optionally starts local workers, and shuts down cleanly on SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
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
  processCommand,
  type ProcessCommand,
  type WorkerScaler,
} from "./mod.ts";
import { markWorkerOffline, workerExists } from "./mark_worker_offline.ts";
import { createDockerWorkerScaler, dockerEndpointFromHost, type KnownWorker } from "./docker_worker_scaler.ts";
import { createKubernetesWorkerScaler, inClusterEndpoint, SERVICE_ACCOUNT_DIR } from "./kubernetes_worker_scaler.ts";

const optionalText = z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.string().optional());

const serverSettings = {
  ...logSettings,
  ...databaseSettings,
  SCHEDULER_PORT: portSetting(8081),
  /** Local workers to start at once (WORKER_SCALER=local). */
  WORKERS: intSetting(0, 0, 50),
  WORKER_SCALER: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.enum(["local", "docker", "kubernetes", "none"], { error: 'expected "local", "docker", "kubernetes" or "none"' }).default("local"),
  ),
  /** WORKER_SCALER=docker: the Docker Engine (unix:///var/run/docker.sock or tcp://host:port). */
  DOCKER_HOST: optionalText,
  /** WORKER_SCALER=docker: the Compose project and service whose containers are the workers. */
  COMPOSE_PROJECT_NAME: z.preprocess((v) => (v === "" ? undefined : v), z.string().regex(/^[a-z0-9][a-z0-9_-]*$/).default("taskmaster")),
  DOCKER_WORKER_SERVICE: z.preprocess((v) => (v === "" ? undefined : v), z.string().regex(/^[a-zA-Z0-9._-]+$/).default("worker")),
  DOCKER_API_VERSION: z.preprocess((v) => (v === "" ? undefined : v), z.string().regex(/^v1\.\d+$/).default("v1.41")),
  /** WORKER_SCALER=kubernetes: where the worker Deployment is (namespace default: the service account's). */
  KUBERNETES_NAMESPACE: optionalText,
  KUBERNETES_WORKER_DEPLOYMENT: z.preprocess((v) => (v === "" ? undefined : v), z.string().default("taskmaster-worker")),
  KUBERNETES_WORKER_SELECTOR: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().default("app.kubernetes.io/name=taskmaster,app.kubernetes.io/component=worker"),
  ),
  /** WORKER_SCALER=kubernetes, outside a Pod or in tests: the API server and the credentials' files. */
  KUBERNETES_API_URL: optionalText,
  KUBERNETES_TOKEN_FILE: optionalText,
  KUBERNETES_CA_FILE: optionalText,
  KUBERNETES_SERVICE_HOST: optionalText,
  KUBERNETES_SERVICE_PORT: optionalText,
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

/** How local workers run (built now if missing or stale, so a build error stops the server at start). */
let localWorkerCommand: ProcessCommand | undefined;
if (settings.WORKER_SCALER === "local") {
  try {
    localWorkerCommand = await processCommand("worker");
  } catch (error) {
    log.error("cannot build the worker for WORKER_SCALER=local", { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

let activity: ((level: "info" | "success" | "error", msg: string) => void) | undefined;
/** Workers the database knows, for the docker and kubernetes scalers to find them by IP. */
const knownWorkers = async (): Promise<KnownWorker[]> =>
  (await prisma.worker.findMany({ where: { status: { not: "OFFLINE" } }, select: { id: true, address: true } })).map((w) => ({
    id: Number(w.id),
    address: w.address,
  }));
const scalerLog = log.child({ component: "worker_scaler" });
let scaler: WorkerScaler;
try {
  scaler =
  settings.WORKER_SCALER === "docker"
    ? createDockerWorkerScaler({
        endpoint: dockerEndpointFromHost(settings.DOCKER_HOST),
        project: settings.COMPOSE_PROJECT_NAME,
        service: settings.DOCKER_WORKER_SERVICE,
        apiVersion: settings.DOCKER_API_VERSION,
        knownWorkers,
        stopTimeoutSeconds: Math.ceil(settings.WORKER_STOP_TIMEOUT_MS / 1000),
        log: scalerLog,
        activity: (level, msg) => activity?.(level, msg),
      })
    : settings.WORKER_SCALER === "kubernetes"
    ? createKubernetesWorkerScaler({
        endpoint: inClusterEndpoint({
          apiUrl: settings.KUBERNETES_API_URL,
          serviceHost: settings.KUBERNETES_SERVICE_HOST,
          servicePort: settings.KUBERNETES_SERVICE_PORT,
          tokenFile: settings.KUBERNETES_TOKEN_FILE,
          caFile: settings.KUBERNETES_CA_FILE,
          readFile: (path) => readFileSync(path, "utf8"),
        }),
        namespace: settings.KUBERNETES_NAMESPACE ?? readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, "utf8").trim(),
        deployment: settings.KUBERNETES_WORKER_DEPLOYMENT,
        podSelector: settings.KUBERNETES_WORKER_SELECTOR,
        knownWorkers,
        log: scalerLog,
        activity: (level, msg) => activity?.(level, msg),
      })
    : localWorkerCommand
    ? createLocalWorkerScaler({
        workerCommand: localWorkerCommand,
        cwd: repoRoot,
        coordinator,
        env: process.env,
        log: scalerLog,
        stopTimeoutMs: settings.WORKER_STOP_TIMEOUT_MS,
        onExit: async (id) => {
          if (await markWorkerOffline(prisma, id)) log.info("marked an exited local worker offline", { worker_id: id });
        },
        workerExists: (id) => workerExists(prisma, id),
        activity: (level, msg) => activity?.(level, msg),
      })
    : createDisabledWorkerScaler((id) => workerExists(prisma, id));
} catch (error) {
  process.stderr.write(`WORKER_SCALER=${settings.WORKER_SCALER}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

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

// Only after the signals are listened for: whoever reads this line may signal at once.
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
