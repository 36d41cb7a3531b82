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
  /** Whether lines of `level` are written: to skip building fields for lines that would be dropped. */
  enabled(level: LogLevel): boolean;
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
  const sink: Sink = {
    min: LOG_LEVELS.indexOf(options.level ?? "info"),
    json: options.json,
    write: options.write,
    now: options.now ?? (() => new Date()),
  };
  return new StructuredLogger(sink, options.fields ? [options.fields] : []);
}

interface Sink {
  min: number;
  json: boolean;
  write: (line: string) => void;
  now: () => Date;
}

/**
 * A logger and its children. A child only remembers its fields (they are merged when a line is
 * written, and only for a level that is on): the worker makes one per task, at every task.
 */
class StructuredLogger implements Logger {
  readonly #sink: Sink;
  readonly #fields: LogFields[];

  constructor(sink: Sink, fields: LogFields[]) {
    this.#sink = sink;
    this.#fields = fields;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.#sink.min <= 0) this.#emit("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#sink.min <= 1) this.#emit("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#sink.min <= 2) this.#emit("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.#sink.min <= 3) this.#emit("error", msg, fields);
  }
  enabled(level: LogLevel): boolean {
    return this.#sink.min <= LOG_LEVELS.indexOf(level);
  }
  child(fields: LogFields): Logger {
    return new StructuredLogger(this.#sink, [...this.#fields, fields]);
  }

  #emit(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    const all: LogFields = Object.assign({}, ...this.#fields, fields);
    for (const key of Object.keys(all)) if (all[key] === undefined) delete all[key];
    const { json, write, now } = this.#sink;
    if (json) {
      write(JSON.stringify({ time: now().toISOString(), level, msg, ...all }));
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
        .join(" ");
      write(`${now().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${extra}` : ""}`);
    }
  }
}
