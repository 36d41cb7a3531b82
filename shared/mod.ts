/**
 * Code every part of TaskMaster shares, the browser included: configuration parsing, the seed's
 * time format, task statuses and the structured logger. Imports no `node:` module.
 *
 * @module
 */
export {
  boolSetting,
  ConfigError,
  databaseSettings,
  databaseUrlFromSettings,
  intSetting,
  listSetting,
  logSettings,
  parseConfig,
  portSetting,
} from "./config.ts";
export type { Env } from "./config.ts";
export { formatSeedTime, parseIsoTimestamp, unixSeconds } from "./seed_time.ts";
export {
  ACTIVE_STATUSES,
  isTerminalStatus,
  statsBucket,
  TASK_STATUSES,
  TERMINAL_STATUSES,
} from "./task_status.ts";
export type { StatsBucket, TaskStatusName } from "./task_status.ts";
export { createLogger, LOG_LEVELS } from "./logger.ts";
export type { LogFields, Logger, LoggerOptions, LogLevel } from "./logger.ts";
