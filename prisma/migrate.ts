import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type MigrationList, withSchemaEngine } from "./_schema_engine.ts";

const prismaDir = dirname(fileURLToPath(import.meta.url));
/** `prisma/schema.prisma`. */
export const schemaPath: string = join(prismaDir, "schema.prisma");
/** `prisma/migrations`, in Prisma's format (`<timestamp>_<name>/migration.sql`). */
export const migrationsDir: string = join(prismaDir, "migrations");

const noFilters = { externalTables: [], externalEnums: [] };

async function loadMigrations(): Promise<MigrationList> {
  const entries = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    entries.map(async (name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok" as const, value: await readFile(join(migrationsDir, name, "migration.sql"), "utf8") },
      },
    })),
  );
  const lockPath = join(migrationsDir, "migration_lock.toml");
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: await readFile(lockPath, "utf8") },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

/**
 * Applies every migration in `prisma/migrations` not yet applied to `databaseUrl`, recording each in
 * `_prisma_migrations` exactly as `prisma migrate deploy` does. Returns the names it applied.
 */
export async function applyMigrations(databaseUrl: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const schemaText = await readFile(schemaPath, "utf8");
  const migrationsList = await loadMigrations();
  return await withSchemaEngine(databaseUrl, schemaPath, schemaText, log, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilters });
    return appliedMigrationNames;
  });
}

/**
 * Writes `prisma/migrations/<timestamp>_<name>/migration.sql` holding the SQL that takes the database
 * described by the existing migrations to `schema.prisma`. Returns the new folder, or null when the
 * schema has no change. `databaseUrl` names an empty scratch database the engine may use.
 */
export async function createMigration(
  databaseUrl: string,
  name: string,
  now: Date,
  log: (line: string) => void = () => {},
): Promise<{ dir: string; sql: string } | null> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new RangeError(`Cannot create migration: name must match [a-z0-9_]+, got "${name}"`);
  }
  const schemaText = await readFile(schemaPath, "utf8");
  const migrations = await loadMigrations();
  return await withSchemaEngine(databaseUrl, schemaPath, schemaText, log, async (engine) => {
    const { stdout: diffOut } = await engine.diff({
      from: migrations.migrationDirectories.length === 0 ? { tag: "empty" } : { tag: "migrations", ...migrations },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schemaText }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    const stdout = diffOut ?? "";
    if (!/\b(CREATE|ALTER|DROP)\b/.test(stdout)) return null;
    const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    const dir = join(migrationsDir, `${stamp}_${name}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "migration.sql"), stdout);
    return { dir, sql: stdout };
  });
}
