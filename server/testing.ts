/**
 * Fixtures for server tests: a server on a fresh migrated database, listening on a free port.
 *
 * @module
 */
import { useTestDatabase, type TestDb } from "../prisma/testing.ts";
import { createLogger, type Logger } from "../shared/mod.ts";
import { createServer, type ServerOptions, type TaskMasterServer } from "./http_server.ts";

/** A server under test with its database and captured log lines. */
export interface TestServer {
  db: TestDb;
  server: TaskMasterServer;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  log: Logger;
  /** Parsed log lines so far. */
  logs: Record<string, unknown>[];
  /** Closes the server, then the database. */
  close(): Promise<void>;
}

/** A logger that keeps JSON lines in `logs` (printed too when TEST_PROCESS_LOGS is set). */
export function captureLogger(): { log: Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({
    json: true,
    level: "debug",
    write: (line) => {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env["TEST_PROCESS_LOGS"]) console.log(line);
    },
  });
  return { log, logs };
}

/** Starts a server on port 0 against a fresh database; waits until its LISTEN is in place. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const db = await useTestDatabase();
  const { log, logs } = captureLogger();
  const server = await createServer({ prisma: db.prisma, sql: db.sql, databaseUrl: db.url, log, port: 0, ...options });
  await server.hub.ready;
  return {
    db,
    server,
    url: server.url,
    log,
    logs,
    close: async () => {
      await server.close(200);
      await db.close();
    },
  };
}

/** POSTs `body` (a string is sent as is) and returns status and parsed JSON. */
export async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: response.headers };
}

/** GETs `url` and returns status and parsed JSON. */
export async function getJson(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: response.headers };
}

/** A snapshot of the tasks table, to prove a request changed nothing. */
export async function taskTableSnapshot(db: TestDb): Promise<string> {
  const rows = await db.prisma.task.findMany({ orderBy: { id: "asc" }, select: { id: true, status: true, updatedAt: true } });
  return JSON.stringify(rows);
}
