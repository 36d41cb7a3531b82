import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";
import { applyMigrations } from "./migrate.ts";

/** A PostgreSQL server for a test run, with a migrated template database to clone per test file. */
export interface TestPostgres {
  /** Where it came from: "TEST_DATABASE_URL", "testcontainers" or "embedded". */
  source: string;
  /** URL of a database on that server with the right to CREATE DATABASE. */
  adminUrl: string;
  /** Name of the migrated template database. */
  template: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 5000)),
    ]);
    return true;
  } catch {
    return false;
  }
}

/** Replaces the database name in a postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Finds PostgreSQL for tests: `TEST_DATABASE_URL` when set, else a testcontainers container when a
 * Docker engine answers, else an embedded server in a temporary folder. Then migrates a template
 * database once with `npm run db:migrate`'s own code.
 */
export async function startTestPostgres(env: Record<string, string | undefined>): Promise<TestPostgres> {
  let source: string;
  let adminUrl: string;
  let stopServer: () => Promise<void>;
  if (env["TEST_DATABASE_URL"]) {
    source = "TEST_DATABASE_URL";
    adminUrl = env["TEST_DATABASE_URL"];
    stopServer = async () => {};
  } else if (await dockerAnswers()) {
    source = "testcontainers";
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:16-alpine")
      .withCommand(["postgres", "-c", "max_connections=500", "-c", "fsync=off"])
      .start();
    adminUrl = container.getConnectionUri();
    stopServer = async () => void (await container.stop());
  } else {
    source = "embedded";
    const dataDir = await mkdtemp(join(tmpdir(), "taskmaster-test-pg-"));
    const server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      database: "postgres",
      postgresFlags: ["-c", "max_connections=500", "-c", "fsync=off", "-c", "synchronous_commit=off"],
    });
    adminUrl = server.url;
    stopServer = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const template = `taskmaster_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${template}"`);
    await admin.query(`CREATE DATABASE "${template}"`);
  } finally {
    await admin.end();
  }
  await applyMigrations(withDatabase(adminUrl, template));
  return {
    source,
    adminUrl,
    template,
    stop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect().then(() => c.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`)).catch(() => {});
      await c.end().catch(() => {});
      await stopServer();
    },
  };
}

/** A fresh, migrated database cloned from the template. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

let counter = 0;

/** Clones the migrated template into a new database of its own (fast: a file copy). */
export async function createTestDatabase(adminUrl: string, template: string): Promise<TestDatabase> {
  const name = `taskmaster_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
