// Which PostgreSQL the launch scripts use: DATABASE_URL, else the seed's POSTGRES_*, else the embedded
// server (started for as long as the script runs, data in .data/postgres).
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { relative, resolve } from "node:path";
import { z } from "zod";
import pg from "pg";
import { databaseSettings, databaseUrlFromSettings, intSetting, type Logger } from "../shared/mod.ts";
import { defaultEmbeddedDatabase, defaultEmbeddedDataDir, defaultEmbeddedPort } from "../prisma/mod.ts";
import { PortInUseError } from "./_ports.ts";

/** Repository root. */
export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url));

/** Settings every launch script reads to find its database. */
export const launchDatabaseSettings = {
  ...databaseSettings,
  /** Port of the embedded server (used when neither DATABASE_URL nor POSTGRES_HOST/POSTGRES_DB is set). */
  EMBEDDED_PG_PORT: intSetting(defaultEmbeddedPort, 1, 65535),
  /** Folder of the embedded server's files (default .data/postgres in the repository). */
  EMBEDDED_PG_DATA: z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.string().optional()),
};

/** The database a launch script uses. */
export interface LaunchDatabase {
  url: string;
  /** Where it came from: "DATABASE_URL", "POSTGRES_*" or "embedded". */
  source: "DATABASE_URL" | "POSTGRES_*" | "embedded";
  /** `url` fit to print: a configured password is hidden (the embedded server's well-known one is not). */
  displayUrl: string;
  /** One line saying where the database is, for humans. */
  description: string;
  /** URL of another database on the same server, same credentials. */
  urlFor(database: string): string;
  /** Stops the embedded server when this script started it; otherwise does nothing. */
  stop(): Promise<void>;
}

/** Replaces the database name in a postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** A postgres URL with its password replaced by `***`. */
export function hidePassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

/** Throws a message naming the URL's source when PostgreSQL does not answer there. */
async function assertReachable(url: string, source: string, displayUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Cannot connect to PostgreSQL at ${displayUrl} (from ${source}): ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

type HelperMessage =
  | { type: "log"; line: string }
  | { type: "ready"; url: string; startedHere: boolean; dataDirectory: string | null }
  | { type: "error"; message: string; portInUse: boolean };

/**
 * Starts (or reuses) the embedded server in scripts/_embedded_postgres_process.ts, a process in a
 * group of its own so that Ctrl-C reaches it only through {@linkcode LaunchDatabase.stop}.
 */
async function startEmbedded(
  dataDirectory: string,
  port: number,
  portSettingValue: string | undefined,
  log: Logger,
): Promise<LaunchDatabase> {
  const helper = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      fileURLToPath(new URL("./_embedded_postgres_process.ts", import.meta.url)),
      JSON.stringify({ dataDir: dataDirectory, port, database: defaultEmbeddedDatabase }),
    ],
    { cwd: repoRoot, detached: true, stdio: ["ignore", "ignore", "inherit", "ipc"] },
  );
  const exited = new Promise<void>((resolve) => helper.once("exit", () => resolve()));
  const dataDir = relative(repoRoot, dataDirectory) || dataDirectory;
  let onEarlyExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  const ready = await new Promise<Extract<HelperMessage, { type: "ready" }>>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`The embedded PostgreSQL did not start within 120 s (data in ${dataDir}, port ${port}).`));
      helper.kill("SIGKILL");
    }, 120_000);
    onEarlyExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`The embedded PostgreSQL process exited during start (${signal ?? `code ${code}`}).`));
    };
    helper.once("exit", onEarlyExit);
    helper.on("message", (message: HelperMessage) => {
      if (message.type === "log") log.debug(message.line, { child: "postgres" });
      else if (message.type === "ready") {
        clearTimeout(timer);
        resolve(message);
      } else {
        clearTimeout(timer);
        reject(
          message.portInUse
            ? new PortInUseError(port, "EMBEDDED_PG_PORT", portSettingValue)
            : new Error(`The embedded PostgreSQL (data in ${dataDir}, port ${port}) failed to start: ${message.message}`),
        );
      }
    });
  }).finally(() => {
    if (onEarlyExit) helper.off("exit", onEarlyExit);
  });
  const same = ready.dataDirectory !== null && pathToFileURL(ready.dataDirectory).href === pathToFileURL(dataDirectory).href;
  if (ready.startedHere) {
    log.info("started the embedded PostgreSQL", { port, data: dataDir });
  } else if (same) {
    log.info("reusing the embedded PostgreSQL already running (it keeps running after this exits)", { port, data: dataDir });
  } else {
    log.warn(
      `EMBEDDED_PG_PORT ${port} is served by another PostgreSQL (data in ${ready.dataDirectory ?? "an unknown folder"}); using it`,
      { port },
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    url: ready.url,
    source: "embedded",
    displayUrl: ready.url,
    description: `embedded PostgreSQL on port ${port}, data in ${dataDir}${ready.startedHere ? "" : " (already running)"}`,
    urlFor: (database) => withDatabase(ready.url, database),
    stop: () =>
      (stopped ??= (async () => {
        if (!ready.startedHere) return;
        if (helper.exitCode === null && helper.signalCode === null) {
          helper.send("stop");
          const timer = setTimeout(() => {
            log.warn("the embedded PostgreSQL did not stop within 15 s: SIGKILL");
            try {
              process.kill(-helper.pid!, "SIGKILL");
            } catch {
              helper.kill("SIGKILL");
            }
          }, 15_000);
          await exited;
          clearTimeout(timer);
        }
        log.info("stopped the embedded PostgreSQL");
      })()),
  };
}

/**
 * Resolves the database from parsed {@linkcode launchDatabaseSettings}: DATABASE_URL, else
 * POSTGRES_* (checked to answer), else the embedded server, started when nothing serves its port.
 */
export async function openLaunchDatabase(
  settings: {
    DATABASE_URL?: string | undefined;
    POSTGRES_USER?: string | undefined;
    POSTGRES_PASSWORD?: string | undefined;
    POSTGRES_DB?: string | undefined;
    POSTGRES_HOST?: string | undefined;
    POSTGRES_PORT?: number | undefined;
    EMBEDDED_PG_PORT: number;
    EMBEDDED_PG_DATA?: string | undefined;
  },
  env: Record<string, string | undefined>,
  log: Logger,
): Promise<LaunchDatabase> {
  const configured = databaseUrlFromSettings(settings);
  if (configured === undefined) return await startEmbedded(
      settings.EMBEDDED_PG_DATA ? resolve(settings.EMBEDDED_PG_DATA) : defaultEmbeddedDataDir,
      settings.EMBEDDED_PG_PORT,
      env["EMBEDDED_PG_PORT"],
      log,
    );
  const source = settings.DATABASE_URL ? "DATABASE_URL" : "POSTGRES_*";
  const displayUrl = hidePassword(configured);
  await assertReachable(configured, source, displayUrl);
  return {
    url: configured,
    source,
    displayUrl,
    description: `${displayUrl} (from ${source})`,
    urlFor: (database) => withDatabase(configured, database),
    stop: async () => {},
  };
}
