// Prisma's own schema engine, as WebAssembly, bound to the pg driver adapter: migrations without the
// native binary Prisma would otherwise download. Private to prisma/.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type pg from "pg";
import * as bg from "@prisma/schema-engine-wasm/schema_engine_bg";

export type SchemaEngine = bg.SchemaEngine;
export type MigrationList = Parameters<bg.SchemaEngine["applyMigrations"]>[0]["migrationsList"];

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/**
 * `PrismaPg.executeScript` splits a migration on every ";", which breaks any function body
 * (`$$ ... ; ... $$`). PostgreSQL's simple query protocol runs a whole multi-statement script,
 * atomically, so this factory sends the script in one piece.
 */
class WholeScriptPg extends PrismaPg {
  /** Every adapter handed to the engine, to dispose of (close its pool) when the engine is done. */
  readonly opened: Adapter[] = [];
  readonly poolConfig: pg.PoolConfig;
  constructor(poolConfig: pg.PoolConfig) {
    super(poolConfig);
    this.poolConfig = poolConfig;
  }
  override async connect(): Promise<Adapter> {
    return this.track(wholeScript(await super.connect()));
  }
  /**
   * PrismaPg's own shadow database drops the database before closing the pool connected to it,
   * which PostgreSQL refuses; this one closes the pool first.
   */
  override async connectToShadowDb(): Promise<Adapter> {
    const main = await super.connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await main.underlyingDriver().query(`CREATE DATABASE "${database}"`);
    const shadow = wholeScript(await new PrismaPg({ ...this.poolConfig, database }).connect());
    const closeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closeShadow();
      await main.underlyingDriver().query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return this.track(shadow);
  }
  private track(adapter: Adapter): Adapter {
    this.opened.push(adapter);
    return adapter;
  }
}

function wholeScript(adapter: Adapter): Adapter {
  const pool = adapter.underlyingDriver();
  adapter.executeScript = async (script: string) => {
    await pool.query(script);
  };
  return adapter;
}

let wasmReady: Promise<void> | undefined;

/** Instantiates the engine's .wasm once per process (Node 20 cannot `import` a .wasm module). */
function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg"));
    const bytes = await readFile(join(pkgDir, "schema_engine_bg.wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": bg });
    const exports = instance.exports as unknown as { __wbindgen_start(): void };
    bg.__wbg_set_wasm(instance.exports);
    exports.__wbindgen_start();
  })();
  return wasmReady;
}

/**
 * Runs `use` with a schema engine on `databaseUrl` and the given schema, then frees the engine and
 * closes every connection it opened.
 */
export async function withSchemaEngine<T>(
  databaseUrl: string,
  schemaPath: string,
  schemaText: string,
  log: (line: string) => void,
  use: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  await loadWasm();
  // Discrete fields, not a connectionString: PrismaPg makes its shadow database by overriding
  // `database`, which a connectionString would silently win over.
  const url = new URL(databaseUrl);
  const factory = new WholeScriptPg({
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    max: 2,
  });
  const engine = await bg.SchemaEngine.new(
    { datamodels: [[schemaPath, schemaText]] },
    (message: string) => log(message),
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  try {
    return await use(engine);
  } finally {
    engine.free();
    // Newest first: a shadow database's adapter drops it through the connection opened before it.
    for (const adapter of factory.opened.reverse()) await adapter.dispose().catch(() => {});
  }
}
