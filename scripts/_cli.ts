// The shape shared by the one-shot database scripts (db:migrate, db:migration, studio): parse
// settings, open the database like `npm start` does, run, and always stop what was started.
import type { z } from "zod";
import { ConfigError, createLogger, type Logger, logSettings, parseConfig } from "../shared/mod.ts";
import { type LaunchDatabase, launchDatabaseSettings, openLaunchDatabase } from "./_database.ts";
import { takeOverStopSignals } from "./_signals.ts";

/** Settings every database script reads (add its own with `{ ...cliSettings, ... }`). */
export const cliSettings = { ...logSettings, ...launchDatabaseSettings };
/** Parsed {@linkcode cliSettings}. */
export type CliSettings = z.infer<z.ZodObject<typeof cliSettings>>;

/** Parses the environment once against `shape`; on a bad setting prints which and why, and exits 1. */
export function parseSettingsOrExit<S extends z.ZodRawShape>(shape: S): z.infer<z.ZodObject<S>> {
  try {
    return parseConfig(shape, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/** What a database script's body gets. */
export interface CliContext {
  database: LaunchDatabase;
  log: Logger;
  /** Resolves when Ctrl-C / SIGTERM asked the script to stop. */
  stopRequested: Promise<NodeJS.Signals>;
}

/**
 * Runs `body` with the configured database (the embedded one started for the duration when nothing
 * is configured), then stops it and exits: 0 when `body` resolved (or the user stopped it), 1 when it
 * threw (its message printed). Logs go to stderr so stdout holds only what `body` prints.
 */
export async function runWithDatabase(
  name: string,
  settings: CliSettings,
  body: (context: CliContext) => Promise<void>,
): Promise<never> {
  const json = settings.LOG_FORMAT === "json";
  const log = createLogger({
    json,
    level: settings.LOG_LEVEL,
    fields: json ? { proc: name } : undefined,
    write: (line) => process.stderr.write(`${line}\n`),
  });
  let onStop!: (signal: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (onStop = resolve));
  takeOverStopSignals((signal) => onStop(signal));

  let database: LaunchDatabase | undefined;
  let exitCode = 0;
  try {
    database = await openLaunchDatabase(settings, process.env, log);
    await body({ database, log, stopRequested });
  } catch (error) {
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    exitCode = 1;
  } finally {
    await database?.stop().catch((error: unknown) => log.warn(`could not stop the embedded PostgreSQL: ${String(error)}`));
  }
  process.exit(exitCode);
}
