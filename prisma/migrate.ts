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
 * The SQL that takes a database at the latest migration to `schema.prisma` ("" when they agree).
 * Each migration folder keeps a copy of the schema it leads to (`schema.prisma` beside
 * `migration.sql`), so the diff is between two datamodels and needs no shadow database (the
 * WebAssembly engine cannot introspect one through the driver adapter).
 */
export async function pendingSchemaChange(databaseUrl: string, log: (line: string) => void = () => {}): Promise<string> {
  const schemaText = await readFile(schemaPath, "utf8");
  const migrations = await loadMigrations();
  const latest = migrations.migrationDirectories.at(-1);
  const snapshotPath = latest ? join(migrationsDir, latest.path, "schema.prisma") : undefined;
  const snapshot = snapshotPath ? await readFile(snapshotPath, "utf8") : undefined;
  return await withSchemaEngine(databaseUrl, schemaPath, schemaText, log, async (engine) => {
    const { stdout } = await engine.diff({
      from: snapshot === undefined || snapshotPath === undefined
        ? { tag: "empty" }
        : { tag: "schemaDatamodel", files: [{ path: snapshotPath, content: snapshot }] },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schemaText }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    const sql = stdout ?? "";
    return /\b(CREATE|ALTER|DROP)\b/.test(sql) ? sql : "";
  });
}

/**
 * Writes `prisma/migrations/<timestamp>_<name>/migration.sql` holding the SQL that takes the
 * database at the latest migration to `schema.prisma`, plus the schema snapshot it leads to.
 * Returns the new folder, or null when the schema has no change. `databaseUrl` names a database
 * the engine may connect to (it changes nothing there).
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
  const sql = await pendingSchemaChange(databaseUrl, log);
  if (sql === "") return null;
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const dir = join(migrationsDir, `${stamp}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "migration.sql"), sql);
  await writeFile(join(dir, "schema.prisma"), await readFile(schemaPath, "utf8"));
  return { dir, sql };
}
