// `npm start`: the whole of TaskMaster on one machine, with no Docker and no installed database.
//
// 1. Settings are parsed once. The database is DATABASE_URL, else POSTGRES_*, else an embedded
//    PostgreSQL (data in .data/postgres, kept between runs) on EMBEDDED_PG_PORT.
// 2. Migrations are applied.
//    The dashboard is built into web/dist on the first run (npm run build:web), and the coordinator,
//    server and worker into .build/ when missing or older than their sources (processCommand).
// 3. coordinator, then server run as child processes on plain node, from .build/ (the server starts
//    WORKERS local workers, also from .build/, through its scaler). Their log lines are re-printed
//    with a prefix (JSON stays JSON when stdout is not a terminal). Once both log `{"msg":"ready"}`,
//    where to look is printed.
// 4. A child that crashes is restarted after a short jittered delay (try `kill -9` on the coordinator).
// 5. Ctrl-C / SIGTERM: server first (it drains its workers), then the coordinator; SIGKILL whatever is
//    left after 20 s; then the embedded PostgreSQL if this run started it. Exit code 0.
import { z } from "zod";
import { boolSetting, intSetting, portSetting } from "../shared/mod.ts";
import { applyMigrations } from "../prisma/mod.ts";
import { BUILD_DIR, type ProcessCommand, processCommand, type ProcessRole } from "../server/mod.ts";
import { cliSettings, parseSettingsOrExit } from "./_cli.ts";
import { buildDashboardIfMissing } from "./_dashboard.ts";
import { type LaunchDatabase, openLaunchDatabase, repoRoot } from "./_database.ts";
import { createLaunchOutput } from "./_output.ts";
import { assertPortsFree } from "./_ports.ts";
import { takeOverStopSignals, whenParentExits } from "./_signals.ts";
import { type Supervised, supervise } from "./_supervisor.ts";

const SHUTDOWN_TIMEOUT_MS = 45_000; // above the server's WORKER_STOP_TIMEOUT_MS (40 s): workers drain first
const READY_TIMEOUT_MS = 120_000;

const settingsShape = {
  ...cliSettings,
  COORDINATOR_PORT: portSetting(8080),
  SCHEDULER_PORT: portSetting(8081),
  /** Local workers the server starts (through its local scaler). */
  WORKERS: intSetting(3, 0, 50),
  /** Build web/dist when it is missing or older than its sources (false: serve what is there). */
  BUILD_DASHBOARD: boolSetting(true),
  /** https://no-color.org: any value turns colours off. */
  NO_COLOR: z.string().optional(),
};

const settings = parseSettingsOrExit(settingsShape);

const json = settings.LOG_FORMAT === "json" || (settings.LOG_FORMAT === "auto" && !process.stdout.isTTY);
const output = createLaunchOutput({
  json,
  level: settings.LOG_LEVEL,
  color: !json && process.stdout.isTTY === true && settings.NO_COLOR === undefined,
  write: (line) => process.stdout.write(`${line}\n`),
});
const log = output.log;

let database: LaunchDatabase | undefined;
let databaseStarting: Promise<LaunchDatabase> | undefined;
const children: Supervised[] = [];
let shuttingDown: Promise<void> | undefined;
const startAborted = new AbortController();

/** Stops everything this launcher started, in order, then exits with `exitCode`. */
function shutdown(exitCode: number, reason: string): Promise<void> {
  if (shuttingDown) {
    log.info(`already stopping (anything left is killed ${SHUTDOWN_TIMEOUT_MS / 1000} s after the first request)`);
    return shuttingDown;
  }
  startAborted.abort();
  shuttingDown = (async () => {
    log.info(
      children.length > 0 ? `stopping (${reason}): server first (it drains its workers), then the coordinator` : `stopping (${reason})`,
    );
    const force = setTimeout(() => {
      log.warn(`still running after ${SHUTDOWN_TIMEOUT_MS / 1000} s: SIGKILL`);
      for (const child of children) child.kill();
    }, SHUTDOWN_TIMEOUT_MS);
    const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
    // Reverse start order: the server (and the workers it started) before the coordinator they report to.
    for (const child of [...children].reverse()) {
      const how = await child.stop();
      if (child.signalGroup("SIGTERM")) {
        log.warn(`${child.name} exited but left processes of its group running; sent them SIGTERM`);
        while (child.signalGroup(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      }
      log.info(`${child.name} stopped (${how})`);
    }
    clearTimeout(force);
    const db = database ?? (await databaseStarting?.catch(() => undefined));
    await db?.stop();
    log.info("stopped");
    process.exit(exitCode);
  })();
  return shuttingDown;
}

takeOverStopSignals((signal) => void shutdown(0, signal));
whenParentExits(() => void shutdown(0, "its parent process exited"));
process.on("uncaughtException", (error) => {
  log.error(`launcher failed: ${error.stack ?? error.message}`);
  void shutdown(1, "launcher error");
});

/** How the launcher runs `role`: built, with the preload that stops it when the launcher dies. */
function commandFor(role: ProcessRole): Promise<ProcessCommand> {
  return processCommand(role, {
    repoRoot,
    // Only the launcher's own children (the server's workers stop with the server: worker/main.ts).
    preload: role === "worker" ? [] : ["scripts/_exit_with_launcher.ts"],
    onBuilt: (built) => log.info(`built ${built.entry} into ${BUILD_DIR}/ (${built.reason})`),
  });
}

function spawnProcess(name: "coordinator" | "server", command: ProcessCommand, env: Record<string, string>): Supervised {
  const child = supervise(
    {
      name,
      file: command.file,
      args: command.args,
      cwd: repoRoot,
      env: { ...process.env, ...env, LOG_FORMAT: "json" },
    },
    {
      log,
      onLine: (line, stream) => output.relay(name, line, stream),
      // The server re-prints its workers' lines (service "worker"): only its own ready line counts.
      isReady: (line) => line["msg"] === "ready" && (line["service"] === undefined || line["service"] === name),
    },
  );
  children.push(child);
  return child;
}

/** Waits for `child`'s first ready line; fails naming it after READY_TIMEOUT_MS. */
async function ready(child: Supervised): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${child.name} did not log {"msg":"ready"} within ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([child.firstReady, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function printWhereToLook(coordinatorPort: number, serverPort: number, db: LaunchDatabase): void {
  const base = `http://localhost:${serverPort}`;
  const example = new Date(Date.now() + 10_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const workers = process.env["WORKER_SCALER"] === "none" ? "none started (WORKER_SCALER=none)" : String(settings.WORKERS);
  if (output.json) {
    log.info("TaskMaster is running", {
      dashboard: base,
      rest: `${base}/schedule`,
      stats: `${base}/api/stats`,
      grpc: `localhost:${coordinatorPort}`,
      workers,
      database: db.displayUrl,
      database_source: db.source,
      studio: "npm run studio",
    });
    return;
  }
  output.print(
    [
      "",
      "  TaskMaster is running. Ctrl-C stops everything.",
      "",
      `  Dashboard   ${base}`,
      `  REST        curl -X POST ${base}/schedule -H 'Content-Type: application/json' \\`,
      `                -d '{"command":"process-data","scheduled_at":"${example}"}'`,
      `              curl '${base}/status?task_id=<task_id from the answer>'`,
      `              curl ${base}/api/stats`,
      `  gRPC        localhost:${coordinatorPort} (coordinator); local workers: ${workers}`,
      `  Database    ${db.displayUrl}`,
      `              ${db.description}`,
      "  Browse it   npm run studio   (Prisma Studio on http://localhost:5555)",
      "",
    ].join("\n"),
  );
}

async function main(): Promise<void> {
  // Fail fast, naming the setting, before anything starts.
  await assertPortsFree([
    { port: settings.COORDINATOR_PORT, setting: "COORDINATOR_PORT", env: process.env },
    { port: settings.SCHEDULER_PORT, setting: "SCHEDULER_PORT", env: process.env },
  ]);

  // The dashboard builds (when missing or stale) while the database starts.
  const dashboardBuilt = !settings.BUILD_DASHBOARD ? Promise.resolve() : buildDashboardIfMissing({
    repoRoot,
    log,
    onLine: (line, stream) => output.relay("web", line, stream),
    npmCli: process.env["npm_execpath"],
    signal: startAborted.signal,
  });
  // The processes build (when missing or stale) meanwhile too; the worker for the server's scaler.
  const commandsBuilt = Promise.all([commandFor("coordinator"), commandFor("server"), commandFor("worker")]);
  commandsBuilt.catch(() => {}); // awaited below, after the database (whose failure is reported first)
  databaseStarting = openLaunchDatabase(settings, process.env, log);
  database = await databaseStarting;
  if (shuttingDown) return;
  log.info(`database: ${database.description}`);

  const applied = await applyMigrations(database.url, (line) => log.debug(line, { step: "migrate" }));
  log.info(applied.length > 0 ? `applied migrations: ${applied.join(", ")}` : "database schema is up to date");
  if (shuttingDown) return;

  await dashboardBuilt;
  const [coordinatorCommand, serverCommand] = await commandsBuilt;
  if (shuttingDown) return;

  const shared = { DATABASE_URL: database.url };
  const coordinator = spawnProcess("coordinator", coordinatorCommand, {
    ...shared,
    COORDINATOR_PORT: process.env["COORDINATOR_PORT"] || `:${settings.COORDINATOR_PORT}`,
  });
  const coordinatorReady = await ready(coordinator);
  const coordinatorPort = Number(coordinatorReady["port"] ?? settings.COORDINATOR_PORT);
  if (shuttingDown) return;

  const server = spawnProcess("server", serverCommand, {
    ...shared,
    SCHEDULER_PORT: process.env["SCHEDULER_PORT"] || `:${settings.SCHEDULER_PORT}`,
    WORKERS: String(settings.WORKERS),
    // What the workers the server starts connect to (the server prefers COORDINATOR_ADDRESS).
    COORDINATOR: `localhost:${coordinatorPort}`,
    COORDINATOR_ADDRESS: `localhost:${coordinatorPort}`,
  });
  const serverReady = await ready(server);
  if (shuttingDown) return;
  printWhereToLook(coordinatorPort, Number(serverReady["port"] ?? settings.SCHEDULER_PORT), database);
}

main().catch((error: unknown) => {
  if (shuttingDown) return;
  log.error(error instanceof Error ? error.message : String(error));
  void shutdown(1, "start failed");
});
