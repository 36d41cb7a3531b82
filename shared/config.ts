import { z } from "zod";

/** Environment as a plain record (main.ts passes `process.env`). */
export type Env = Record<string, string | undefined>;

/** A setting that failed validation: names the variable and what was expected. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
    this.name = "ConfigError";
  }
}

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

/** An integer setting with bounds and a default. */
export function intSetting(defaultValue: number, min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int({ error: `expected an integer from ${min} to ${max}` })
      .min(min, { error: `expected an integer from ${min} to ${max}` })
      .max(max, { error: `expected an integer from ${min} to ${max}` })
      .default(defaultValue),
  );
}

/** A `[host]:port` setting as the seed writes it (":8081", "8081", "0.0.0.0:8081"); yields the port. */
export function portSetting(defaultPort: number) {
  return z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^(?:[^:]*:)?\d{1,5}$/, { error: 'expected a port such as ":8081" or "8081"' })
      .transform((v) => Number(v.slice(v.lastIndexOf(":") + 1)))
      .refine((p) => p >= 0 && p <= 65535, { error: "expected a port from 0 to 65535" })
      .default(defaultPort),
  );
}

/** A boolean setting: true/false/1/0/yes/no. */
export function boolSetting(defaultValue: boolean) {
  return z.preprocess(
    emptyToUndefined,
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { error: "expected true or false" })
      .transform((v) => v === "true" || v === "1" || v === "yes")
      .default(defaultValue),
  );
}

/** A comma-separated list setting. */
export function listSetting() {
  return z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s.length > 0))
      .default([]),
  );
}

/** Settings every process shares: logging. */
export const logSettings = {
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(["debug", "info", "warn", "error"]).default("info")),
  /** json, pretty, or auto (json unless stdout is a terminal). */
  LOG_FORMAT: z.preprocess(emptyToUndefined, z.enum(["auto", "json", "pretty"]).default("auto")),
};

/** Settings of processes that use the database. */
export const databaseSettings = {
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(?:ql)?:\/\//, { error: "expected a postgresql:// URL" })
      .optional(),
  ),
  POSTGRES_USER: z.preprocess(emptyToUndefined, z.string().optional()),
  POSTGRES_PASSWORD: z.preprocess(emptyToUndefined, z.string().optional()),
  POSTGRES_DB: z.preprocess(emptyToUndefined, z.string().optional()),
  POSTGRES_HOST: z.preprocess(emptyToUndefined, z.string().optional()),
  POSTGRES_PORT: z.preprocess(emptyToUndefined, intSetting(5432, 1, 65535).optional()),
  /** Most connections this process opens to PostgreSQL. */
  DB_POOL_SIZE: intSetting(10, 1, 200),
};

/**
 * Validates `env` against `shape` once, at start. Throws {@linkcode ConfigError} naming every bad
 * variable and what it expected.
 */
export function parseConfig<S extends z.ZodRawShape>(shape: S, env: Env): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      const value = env[name];
      return `${name}=${value === undefined ? "(unset)" : JSON.stringify(value)}: ${issue.message}`;
    }),
  );
}

/**
 * The database to use: `DATABASE_URL` when set, else a URL built from the seed's `POSTGRES_*`
 * when `POSTGRES_HOST` or `POSTGRES_DB` is set, else undefined (the embedded server).
 */
export function databaseUrlFromSettings(s: {
  DATABASE_URL?: string | undefined;
  POSTGRES_USER?: string | undefined;
  POSTGRES_PASSWORD?: string | undefined;
  POSTGRES_DB?: string | undefined;
  POSTGRES_HOST?: string | undefined;
  POSTGRES_PORT?: number | undefined;
}): string | undefined {
  if (s.DATABASE_URL) return s.DATABASE_URL;
  if (!s.POSTGRES_HOST && !s.POSTGRES_DB) return undefined;
  const user = encodeURIComponent(s.POSTGRES_USER ?? "postgres");
  const password = s.POSTGRES_PASSWORD ? `:${encodeURIComponent(s.POSTGRES_PASSWORD)}` : "";
  return `postgres://${user}${password}@${s.POSTGRES_HOST ?? "localhost"}:${s.POSTGRES_PORT ?? 5432}/${encodeURIComponent(
    s.POSTGRES_DB ?? "scheduler",
  )}`;
}
