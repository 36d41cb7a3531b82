/** Log levels, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured fields carried by a log line (task_id, worker_id, ...). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A structured logger. `child` returns one that adds `fields` to every line. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** One JSON object a line (for machines), or `time level msg key=value` (for terminals). */
  json: boolean;
  /** Lines below this level are dropped. Default "info". */
  level?: LogLevel;
  /** Fields on every line, e.g. `{ service: "coordinator" }`. */
  fields?: LogFields;
  /** Where lines go (one call per line, without the newline). */
  write: (line: string) => void;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
}

/** Creates a structured logger; it reads nothing itself: output, clock and format are passed in. */
export function createLogger(options: LoggerOptions): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const now = options.now ?? (() => new Date());
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields: LogFields | undefined) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const all: LogFields = { ...base, ...fields };
    for (const key of Object.keys(all)) if (all[key] === undefined) delete all[key];
    if (options.json) {
      options.write(JSON.stringify({ time: now().toISOString(), level, msg, ...all }));
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
        .join(" ");
      options.write(`${now().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${extra}` : ""}`);
    }
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}
