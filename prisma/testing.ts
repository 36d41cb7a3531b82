/**
 * Test fixtures for `*_test.ts` files: a fresh migrated database per test file on the PostgreSQL
 * server the test run started (see vitest_global_setup.ts).
 *
 * @module
 */
import { inject } from "vitest";
import { createPrismaClient } from "./client.ts";
import type { PrismaClient } from "./_generated/client.ts";
import { createSqlClient, type SqlClient } from "./sql_client.ts";
import { createTestDatabase } from "./test_database.ts";

export { freePort } from "./test_database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

/** A migrated database of the test's own, with a Prisma Client on it. */
export interface TestDb {
  url: string;
  prisma: PrismaClient;
  /** Raw SQL on the same database (what the coordinator uses). */
  sql: SqlClient;
  /** Disconnects and drops the database. */
  close(): Promise<void>;
}

/** Creates a fresh migrated database (cloned from the run's template) and a client on it. */
export async function useTestDatabase(): Promise<TestDb> {
  const db = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  const prisma = createPrismaClient(db.url, { poolSize: 5 });
  const sql = createSqlClient(db.url, { poolSize: 5 });
  return {
    url: db.url,
    prisma,
    sql,
    close: async () => {
      await prisma.$disconnect();
      await sql.end();
      await db.drop();
    },
  };
}
