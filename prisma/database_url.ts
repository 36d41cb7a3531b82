import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where `npm start` keeps the embedded PostgreSQL server's files (git-ignored). */
export const defaultEmbeddedDataDir: string = join(fileURLToPath(new URL("..", import.meta.url)), ".data", "postgres");
/** The embedded server's default port (EMBEDDED_PG_PORT overrides it in the launcher). */
export const defaultEmbeddedPort = 54329;
/** The embedded server's database. */
export const defaultEmbeddedDatabase = "taskmaster";

/** URL of the embedded server `npm start` runs, for processes started on their own beside it. */
export function embeddedDatabaseUrl(port: number = defaultEmbeddedPort, database: string = defaultEmbeddedDatabase): string {
  return `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`;
}
