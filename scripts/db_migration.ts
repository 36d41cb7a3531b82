// `npm run db:migration -- <name>`: after editing prisma/schema.prisma, writes
// prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that takes a database built by the
// existing migrations to the schema, or says there is no change. The schema engine needs an empty
// scratch database: SHADOW_DATABASE_URL when set, else a temporary one created on the configured (or
// embedded) server and dropped afterwards. Review the SQL, then `npm run db:migrate`.
import { relative } from "node:path";
import pg from "pg";
import { z } from "zod";
import { createMigration } from "../prisma/mod.ts";
import { cliSettings, parseSettingsOrExit, runWithDatabase } from "./_cli.ts";
import { hidePassword, repoRoot } from "./_database.ts";

const name = process.argv[2] ?? "";
if (!/^[a-z0-9_]+$/.test(name) || process.argv.length > 3) {
  console.error(
    `Usage: npm run db:migration -- <name>\n  <name>: lower-case letters, digits and _ (e.g. add_task_tags); got ${
      process.argv.length > 3 ? process.argv.slice(2).join(" ") : JSON.stringify(name)
    }`,
  );
  process.exit(1);
}

/** Runs one statement on `url`'s server. */
async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const settings = parseSettingsOrExit({
  ...cliSettings,
  /** An empty database the schema engine may use, for a role that may not CREATE DATABASE. */
  SHADOW_DATABASE_URL: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.string().regex(/^postgres(?:ql)?:\/\//, { error: "expected a postgresql:// URL" }).optional(),
  ),
});

await runWithDatabase("db:migration", settings, async ({ database, log }) => {
  const shadowUrl = settings.SHADOW_DATABASE_URL;
  let scratchUrl: string;
  let dropScratch = async () => {};
  if (shadowUrl) {
    scratchUrl = shadowUrl;
    log.info(`scratch database: ${hidePassword(shadowUrl)} (SHADOW_DATABASE_URL)`);
  } else {
    const scratch = `taskmaster_migration_scratch_${process.pid}_${Date.now().toString(36)}`;
    try {
      await adminQuery(database.url, `CREATE DATABASE "${scratch}"`);
    } catch (error) {
      throw new Error(
        `Could not create a scratch database on ${database.displayUrl}: ${error instanceof Error ? error.message : String(error)}. ` +
          "Use a role that may CREATE DATABASE, or set SHADOW_DATABASE_URL to an empty database.",
      );
    }
    scratchUrl = database.urlFor(scratch);
    dropScratch = () => adminQuery(database.url, `DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`);
    log.info(`scratch database: ${scratch} (dropped afterwards)`);
  }
  try {
    const created = await createMigration(scratchUrl, name, new Date(), (line) => log.debug(line));
    if (!created) {
      console.log("No schema change: prisma/schema.prisma matches the migrations. Nothing written.");
      return;
    }
    console.log(`Created ${relative(repoRoot, created.dir)}/migration.sql:\n`);
    console.log(created.sql.trimEnd());
    console.log("\nReview it, then apply it with `npm run db:migrate`.");
  } finally {
    await dropScratch().catch((error: unknown) => log.warn(`could not drop the scratch database: ${String(error)}`));
  }
});
