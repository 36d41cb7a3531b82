// vitest globalSetup: one PostgreSQL server for the whole test run, and a migrated template database.
import type { TestProject } from "vitest/node";
import { startTestPostgres, type TestPostgres } from "./test_database.ts";

let server: TestPostgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  server = await startTestPostgres(process.env);
  console.log(`[taskmaster tests] PostgreSQL from ${server.source} (ready in ${Date.now() - started} ms)`);
  project.provide("pgAdminUrl", server.adminUrl);
  project.provide("pgTemplate", server.template);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
