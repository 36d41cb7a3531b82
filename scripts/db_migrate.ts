// `npm run db:migrate`: applies the migrations in prisma/migrations that the database does not have
// yet (DATABASE_URL, else POSTGRES_*, else the embedded server, started for the duration) and prints
// what it applied. Safe to run again: a database that is up to date is left alone.
import { applyMigrations } from "../prisma/mod.ts";
import { cliSettings, parseSettingsOrExit, runWithDatabase } from "./_cli.ts";

await runWithDatabase("db:migrate", parseSettingsOrExit(cliSettings), async ({ database, log }) => {
  console.log(`Database: ${database.description}`);
  const applied = await applyMigrations(database.url, (line) => log.debug(line));
  if (applied.length === 0) {
    console.log("No pending migrations: the database is up to date.");
    return;
  }
  for (const name of applied) console.log(`Applied ${name}`);
  console.log(`${applied.length} migration${applied.length === 1 ? "" : "s"} applied.`);
});
