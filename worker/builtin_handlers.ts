import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { parsePayload } from "./_parse_payload.ts";
import { defineHandler, NonRetryableError, type TaskContext, type TaskHandler } from "./handler.ts";

/** Options for {@linkcode builtinHandlers}. */
export interface BuiltinHandlerOptions {
  /** How long the simulated work of a command without a handler takes, ms (TASK_PROCESS_TIME). */
  taskProcessTimeMs: number;
  /** Programs the `shell` handler may run (SHELL_ALLOWLIST); empty = no `shell` handler at all. */
  shellAllowlist: readonly string[];
}

/** The built-in handlers and the fallback for commands that have none. */
export interface BuiltinHandlers {
  /** `sleep`, `noop`, `http`, and `shell` when the allow-list is not empty. */
  handlers: TaskHandler[];
  /** The seed's simulated work, run for any command without a handler. */
  fallback: TaskHandler;
}

/** Most bytes of a program's stdout kept in the `shell` result. */
export const SHELL_STDOUT_LIMIT = 4096;

/**
 * Creates the built-in handlers:
 * - fallback (`simulated`): `taskProcessTimeMs` of waiting in 10 progress steps, honours abort;
 *   result `{simulated_ms}`. Runs the seed's examples (any command) unchanged.
 * - `sleep` `{ms: 0..3600000}`: waits, honours abort; result `{slept_ms}`.
 * - `noop`: returns at once, no result (for benchmarks).
 * - `http` `{url (http/https), method? = GET, timeout_ms? = 10000, body?}`: one request with fetch;
 *   result `{status, ok}`; a 5xx or 429 fails (retryable), another non-2xx fails without retry.
 * - `shell` `{program, args?: string[]}`, only when `shellAllowlist` is not empty: runs an allow-listed
 *   program with `execFile` (never through a shell), killed on abort; result `{exit_code, stdout}`
 *   (stdout cut to 4 KB); a non-zero exit fails (retryable).
 */
export function builtinHandlers(options: BuiltinHandlerOptions): BuiltinHandlers {
  if (!Number.isInteger(options.taskProcessTimeMs) || options.taskProcessTimeMs < 0) {
    throw new RangeError(
      `Cannot create built-in handlers as 'taskProcessTimeMs' must be a non-negative integer: current value is ${options.taskProcessTimeMs}`,
    );
  }
  const handlers = [sleepHandler, noopHandler, httpHandler];
  if (options.shellAllowlist.length > 0) handlers.push(shellHandler(options.shellAllowlist));
  return { handlers, fallback: simulatedWork(options.taskProcessTimeMs) };
}

const SIMULATION_STEPS = 10;

function simulatedWork(totalMs: number): TaskHandler {
  return defineHandler("simulated", async (ctx) => {
    ctx.progress(0);
    for (let step = 1; step <= SIMULATION_STEPS; step++) {
      const due = Math.round((totalMs * step) / SIMULATION_STEPS) - Math.round((totalMs * (step - 1)) / SIMULATION_STEPS);
      await sleep(due, undefined, { signal: ctx.signal });
      ctx.progress((step * 100) / SIMULATION_STEPS);
    }
    return { simulated_ms: totalMs };
  });
}

const sleepPayload = z.object(
  {
    ms: z
      .number({ error: "expected an integer from 0 to 3600000" })
      .int({ error: "expected an integer from 0 to 3600000" })
      .min(0, { error: "expected an integer from 0 to 3600000" })
      .max(3_600_000, { error: "expected an integer from 0 to 3600000" }),
  },
  { error: 'expected an object such as {"ms": 1000}' },
);

const sleepHandler = defineHandler("sleep", async (ctx) => {
  const { ms } = parsePayload("sleep", sleepPayload, ctx.payload);
  await sleep(ms, undefined, { signal: ctx.signal });
  return { slept_ms: ms };
});

const noopHandler = defineHandler("noop", () => undefined);

const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const httpPayload = z
  .object(
    {
      url: z.string({ error: "expected an http:// or https:// URL" }).refine(
        (value) => {
          try {
            const url = new URL(value);
            return url.protocol === "http:" || url.protocol === "https:";
          } catch {
            return false;
          }
        },
        { error: "expected an http:// or https:// URL" },
      ),
      method: z
        .preprocess((v) => (typeof v === "string" ? v.toUpperCase() : v), z.enum(HTTP_METHODS, {
          error: `expected one of ${HTTP_METHODS.join(", ")}`,
        }))
        .default("GET"),
      timeout_ms: z
        .number({ error: "expected an integer from 1 to 3600000" })
        .int({ error: "expected an integer from 1 to 3600000" })
        .min(1, { error: "expected an integer from 1 to 3600000" })
        .max(3_600_000, { error: "expected an integer from 1 to 3600000" })
        .default(10_000),
      body: z.unknown().optional(),
    },
    { error: 'expected an object such as {"url": "https://example.com/"}' },
  )
  .refine((p) => p.body === undefined || (p.method !== "GET" && p.method !== "HEAD"), {
    error: "a GET or HEAD request cannot have a body",
    path: ["body"],
  });

const httpHandler = defineHandler("http", async (ctx) => {
  const { url, method, timeout_ms: timeoutMs, body } = parsePayload("http", httpPayload, ctx.payload);
  const timeout = AbortSignal.timeout(timeoutMs);
  const init: RequestInit = { method, signal: AbortSignal.any([ctx.signal, timeout]), redirect: "follow" };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    if (typeof body !== "string") init.headers = { "content-type": "application/json" };
  }
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timeout.aborted) throw new Error(`http: ${method} ${url} timed out after ${timeoutMs} ms`);
    throw new Error(`http: ${method} ${url} failed: ${describeFetchError(error)}`);
  }
  // The body is not part of the result: release the connection.
  await response.body?.cancel().catch(() => undefined);
  const { status, ok } = response;
  if (ok) return { status, ok };
  const message = `http: ${method} ${url} answered ${status}${response.statusText ? ` ${response.statusText}` : ""}`;
  if (status >= 400 && status < 500 && status !== 429) throw new NonRetryableError(message);
  throw new Error(message);
});

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = "code" in cause && typeof cause.code === "string" ? `${cause.code}: ` : "";
    return `${code}${cause.message}`;
  }
  return error.message;
}

const shellPayload = z.object(
  {
    program: z.string({ error: "expected the name of an allow-listed program" }).min(1, {
      error: "expected the name of an allow-listed program",
    }),
    args: z
      .array(z.string({ error: "expected strings" }), { error: "expected an array of strings" })
      .max(1000, { error: "expected at most 1000 arguments" })
      .default([]),
  },
  { error: 'expected an object such as {"program": "echo", "args": ["hello"]}' },
);

/** Grace between SIGTERM and SIGKILL when a `shell` task is aborted, ms. */
const SHELL_KILL_GRACE_MS = 1000;

function shellHandler(allowlist: readonly string[]): TaskHandler {
  const allowed = new Set(allowlist);
  return defineHandler("shell", (ctx: TaskContext) => {
    const { program, args } = parsePayload("shell", shellPayload, ctx.payload);
    if (!allowed.has(program)) {
      throw new NonRetryableError(`shell: program ${JSON.stringify(program)} is not in SHELL_ALLOWLIST`);
    }
    ctx.signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const child = execFile(
        program,
        args,
        { encoding: "buffer", maxBuffer: 16 * 1024 * 1024, windowsHide: true, shell: false },
        (error, stdout, stderr) => {
          ctx.signal.removeEventListener("abort", onAbort);
          clearTimeout(killTimer);
          if (ctx.signal.aborted) return reject(ctx.signal.reason);
          if (!error) {
            return resolve({ exit_code: 0, stdout: stdout.subarray(0, SHELL_STDOUT_LIMIT).toString("utf8") });
          }
          const code: unknown = (error as NodeJS.ErrnoException & { code?: unknown }).code;
          if (code === "ENOENT") return reject(new NonRetryableError(`shell: program ${JSON.stringify(program)} was not found`));
          if (code === "EACCES") {
            return reject(new NonRetryableError(`shell: program ${JSON.stringify(program)} is not executable`));
          }
          const tail = stderr.subarray(Math.max(0, stderr.length - 500)).toString("utf8").trim();
          const how =
            typeof code === "number"
              ? `exited with code ${code}`
              : error.signal
                ? `was killed by ${error.signal}`
                : `failed: ${error.message}`;
          reject(new Error(`shell: ${program} ${how}${tail ? `: ${tail}` : ""}`));
        },
      );
      let killTimer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        child.kill("SIGTERM");
        killTimer = setTimeout(() => child.kill("SIGKILL"), SHELL_KILL_GRACE_MS);
        killTimer.unref();
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });
    });
  });
}
