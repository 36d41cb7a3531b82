/**
 * The database layer: the Prisma schema and its migrations, Prisma Client on the pg driver adapter,
 * LISTEN/NOTIFY, and the embedded PostgreSQL server used when nothing else is configured.
 *
 * @module
 */
export { createPrismaClient } from "./client.ts";
export type { PrismaClientOptions } from "./client.ts";
export { Prisma, PrismaClient } from "./_generated/client.ts";
export type { Task, TaskAttempt, Worker } from "./_generated/client.ts";
export { AttemptOutcome, TaskStatus, WorkerStatus } from "./_generated/enums.ts";
export { applyMigrations, createMigration, migrationsDir, pendingSchemaChange, schemaPath } from "./migrate.ts";
export { startEmbeddedPostgres } from "./embedded_postgres.ts";
export type { EmbeddedPostgresOptions, EmbeddedPostgresServer } from "./embedded_postgres.ts";
export { createSqlClient, sql, toQuery } from "./sql_client.ts";
export { WRITE_ENDED_ATTEMPTS } from "./ended_attempts.ts";
export type { SqlClient, SqlClientOptions, SqlFragment } from "./sql_client.ts";
export { CHANNELS, listenForNotifications } from "./notifications.ts";
export type { ListenOptions, NotificationListener } from "./notifications.ts";
export {
  defaultEmbeddedDatabase,
  defaultEmbeddedDataDir,
  defaultEmbeddedPort,
  embeddedDatabaseUrl,
} from "./database_url.ts";
