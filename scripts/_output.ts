// How `npm start` prints its own lines and its children's: prefixed text for a terminal, or one JSON
// object a line (the children's own objects, tagged with `proc`) for machines.
import { createLogger, LOG_LEVELS, type LogFields, type Logger, type LogLevel } from "../shared/mod.ts";

/** Options for {@linkcode createLaunchOutput}. */
export interface LaunchOutputOptions {
  /** JSON lines (true) or prefixed text (false). */
  json: boolean;
  /** The launcher's own lines below this level are dropped (children filter their own). */
  level: LogLevel;
  /** ANSI colours for the text prefixes. */
  color: boolean;
  /** Where lines go, one call a line without the newline. */
  write: (line: string) => void;
}

/** The launcher's output. */
export interface LaunchOutput {
  json: boolean;
  /** The launcher's own logger. */
  log: Logger;
  /** Re-prints one line a child wrote; returns it parsed when it was a JSON object. */
  relay(proc: string, line: string, stream: "stdout" | "stderr"): Record<string, unknown> | undefined;
  /** Prints text as it is (terminal mode only: in JSON mode use `log`). */
  print(text: string): void;
}

const COLORS: Record<string, string> = {
  launcher: "\x1b[1;37m",
  coordinator: "\x1b[36m",
  server: "\x1b[35m",
  postgres: "\x1b[33m",
  web: "\x1b[32m",
};
const PREFIX_WIDTH = 12;

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function toLogFields(record: Record<string, unknown>): LogFields {
  const fields: LogFields = {};
  for (const [key, value] of Object.entries(record)) {
    fields[key] =
      value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean"
        ? value
        : JSON.stringify(value);
  }
  return fields;
}

/** Creates the launcher's output: its own logger plus the relay for its children's lines. */
export function createLaunchOutput(options: LaunchOutputOptions): LaunchOutput {
  const prefix = (proc: string) => {
    const text = `${proc.padEnd(PREFIX_WIDTH)}│ `;
    return options.color ? `${COLORS[proc] ?? ""}${text}\x1b[0m` : text;
  };
  const log = options.json
    ? createLogger({ json: true, level: options.level, fields: { proc: "launcher" }, write: options.write })
    : createLogger({ json: false, level: options.level, write: (line) => options.write(prefix("launcher") + line) });

  const relay = (proc: string, line: string, stream: "stdout" | "stderr") => {
    const parsed = parseObject(line);
    if (options.json) {
      if (parsed) options.write(JSON.stringify({ ...parsed, proc }));
      else log[stream === "stderr" ? "warn" : "info"](line, { proc, stream });
      return parsed;
    }
    if (!parsed || typeof parsed["msg"] !== "string") {
      options.write(prefix(proc) + line);
      return parsed;
    }
    const { time, level, msg, ...rest } = parsed;
    if (rest["service"] === proc) delete rest["service"]; // the prefix says it
    const when = typeof time === "string" && !Number.isNaN(Date.parse(time)) ? new Date(time) : new Date();
    const lineLevel = LOG_LEVELS.find((l) => l === level) ?? "info";
    createLogger({ json: false, level: "debug", now: () => when, write: (text) => options.write(prefix(proc) + text) })[
      lineLevel
    ](msg as string, toLogFields(rest));
    return parsed;
  };

  return {
    json: options.json,
    log,
    relay,
    print: (text) => {
      if (!options.json) for (const line of text.split("\n")) options.write(line);
    },
  };
}
