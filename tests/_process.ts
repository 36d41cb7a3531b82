// Spawning TaskMaster's real processes for integration tests. Private to tests/.
import { type ChildProcess, spawn } from "node:child_process";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { processCommand, type ProcessRole } from "../server/mod.ts";

/** Repository root. */
export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url));

/**
 * The command line that runs `role` in the Docker image (WORKDIR = the repository): `npm start`'s,
 * from {@linkcode processCommand}, with `node` and paths relative to the repository, as the Dockerfile,
 * docker-compose.yml and deploy/kubernetes must spell it (`node .build/worker/main.js`).
 */
export async function imageCommand(role: ProcessRole): Promise<string[]> {
  const { args } = await processCommand(role, { repoRoot });
  return ["node", ...args.map((arg) => (arg.startsWith(repoRoot) ? relative(repoRoot, arg) : arg))];
}

/** A process started by {@linkcode startProcess}. */
export interface RunningProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Fields of its `ready` log line (e.g. `port`, `worker_id`). */
  ready: Record<string, unknown>;
  /** Every log line so far (stdout and stderr). */
  lines: string[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Resolves with the first parsed JSON log line matching `predicate`. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const running = new Set<RunningProcess>();

/**
 * Starts `<folder>/main.ts` (coordinator, worker or server) as a real process, the way `npm start` and
 * the image run it ({@linkcode processCommand}: the built `.build/<folder>/main.js` on plain node),
 * with `env` on top of this one's, forces JSON logs, and resolves once it logs `{"msg":"ready",...}`.
 */
export async function startProcess(
  folder: "coordinator" | "worker" | "server",
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; name?: string } = {},
): Promise<RunningProcess> {
  const command = await processCommand(folder, { repoRoot });
  const child = spawn(command.file, command.args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  const onText = (chunk: Buffer, buffer: { rest: string }) => {
    buffer.rest += chunk.toString("utf8");
    let i: number;
    while ((i = buffer.rest.indexOf("\n")) >= 0) {
      const line = buffer.rest.slice(0, i);
      buffer.rest = buffer.rest.slice(i + 1);
      lines.push(line);
      if (process.env["TEST_PROCESS_LOGS"]) console.log(`[${options.name ?? folder}] ${line}`);
      if (line.startsWith("{")) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          for (const l of listeners) l(parsed);
        } catch {
          // not JSON: kept in `lines` only
        }
      }
    }
  };
  const out = { rest: "" };
  const err = { rest: "" };
  child.stdout!.on("data", (c: Buffer) => onText(c, out));
  child.stderr!.on("data", (c: Buffer) => onText(c, err));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (predicate(parsed)) return resolve(parsed);
        } catch {
          // skip
        }
      }
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`${options.name ?? folder}: no matching log line in ${timeoutMs} ms. Last lines:\n${lines.slice(-30).join("\n")}`));
      }, timeoutMs);
      const listener = (line: Record<string, unknown>) => {
        if (predicate(line)) {
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        }
      };
      listeners.add(listener);
      void exited.then((code) => {
        if (listeners.has(listener)) {
          clearTimeout(timer);
          listeners.delete(listener);
          reject(new Error(`${options.name ?? folder} exited (${code}) before the expected log line:\n${lines.slice(-30).join("\n")}`));
        }
      });
    });
  const ready = await waitForLog((l) => l["msg"] === "ready", options.readyTimeoutMs ?? 30_000).catch((e) => {
    child.kill("SIGKILL");
    throw e;
  });
  const proc: RunningProcess = {
    name: options.name ?? folder,
    child,
    pid: child.pid!,
    ready,
    lines,
    exited,
    waitForLog,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** Kills (SIGKILL) every process still running; for `afterAll`. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")));
}

/** Polls `probe` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${options.what ?? "condition"}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
